/* warn.c - names of the warning codes. */
#include "config.h"
#include "warn.h"

static const struct {
	const char *name;
	const char *summary;
} warn_table[WARN__COUNT] = {
#define WARN_ROW(e, n, s) [e] = { n, s },
	WARN_LIST(WARN_ROW)
#undef WARN_ROW
};

const char *warn_name(enum warn_code code)
{
	if ((unsigned)code >= WARN__COUNT)
		return "unknown";
	return warn_table[code].name;
}

const char *warn_summary(enum warn_code code)
{
	if ((unsigned)code >= WARN__COUNT)
		return "unknown warning";
	return warn_table[code].summary;
}
