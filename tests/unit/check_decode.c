#include "config.h"
#include "suites.h"
Suite *suite_decode(void) { Suite *s = suite_create("decode"); return s; }
