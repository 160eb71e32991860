/* util.h - tiny helpers shared across layers. */
#ifndef WSCOPE_UTIL_H
#define WSCOPE_UTIL_H

#include <stdlib.h>
#include <string.h>

/* A malloc'd copy of s (the caller frees it), or NULL for NULL or on
 * allocation failure. */
static inline char *str_dup_opt(const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d != NULL)
		memcpy(d, s, n + 1);
	return d;
}

#endif
