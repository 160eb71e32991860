#include "config.h"
#include "suites.h"
Suite *suite_cursor(void) { Suite *s = suite_create("cursor"); return s; }
