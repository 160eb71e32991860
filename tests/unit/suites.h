/* suites.h - every unit-test suite; check_main.c runs them all. */
#ifndef WSCOPE_SUITES_H
#define WSCOPE_SUITES_H

#include <check.h>

Suite *suite_cursor(void);
Suite *suite_decode(void);
Suite *suite_ipfrag(void);
Suite *suite_reasm(void);
Suite *suite_flow(void);
Suite *suite_ws(void);
Suite *suite_tls(void);
Suite *suite_ui(void);
Suite *suite_termsafe(void);
Suite *suite_json(void);
Suite *suite_keylog(void);
Suite *suite_app(void);

#endif
