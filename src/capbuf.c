/* capbuf.c - a capped, growing byte buffer (capbuf.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "capbuf.h"
#include "heap.h"

size_t capbuf_size_for(const struct capbuf *b, size_t need, size_t max)
{
	if (need > max)
		return 0;
	if (need <= b->cap)
		return b->cap;
	size_t n = b->cap ? b->cap : 256;
	while (n < need)
		n = n > SIZE_MAX / 2 ? SIZE_MAX : n * 2;
	return n > max ? max : n;
}

bool capbuf_reserve(struct capbuf *b, size_t need, size_t max)
{
	if (need <= b->cap)
		return true;
	size_t n = capbuf_size_for(b, need, max);
	if (n < need)
		return false;
	uint8_t *np = realloc(b->p, n);
	if (np == NULL)
		return false;
	b->p = np;
	b->cap = n;
	return true;
}

bool capbuf_add(struct capbuf *b, const void *p, size_t n, size_t max)
{
	if (n > max || b->len > max - n || !capbuf_reserve(b, b->len + n, max))
		return false;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return true;
}

uint8_t *capbuf_take(struct capbuf *b, size_t *len)
{
	uint8_t *p = b->p;
	*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void capbuf_free(struct capbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

uint64_t capbuf_mem(const struct capbuf *b)
{
	return heap_cost(b->cap);
}
