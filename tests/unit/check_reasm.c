#include "config.h"
#include "suites.h"
Suite *suite_reasm(void) { Suite *s = suite_create("reasm"); return s; }
