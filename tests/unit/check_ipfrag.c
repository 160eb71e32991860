#include "config.h"
#include "suites.h"
Suite *suite_ipfrag(void) { Suite *s = suite_create("ipfrag"); return s; }
