#include "config.h"
#include "suites.h"
Suite *suite_flow(void) { Suite *s = suite_create("flow"); return s; }
