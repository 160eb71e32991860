/* check_main.c - runs every unit-test suite. */
#include "config.h"

#include <stdlib.h>

#include "suites.h"

int main(void)
{
	SRunner *sr = srunner_create(suite_cursor());
	srunner_add_suite(sr, suite_decode());
	srunner_add_suite(sr, suite_ipfrag());
	srunner_add_suite(sr, suite_reasm());
	srunner_add_suite(sr, suite_flow());
	srunner_add_suite(sr, suite_ws());
	srunner_add_suite(sr, suite_tls());
	srunner_add_suite(sr, suite_ui());
	srunner_add_suite(sr, suite_termsafe());
	srunner_add_suite(sr, suite_json());
	srunner_add_suite(sr, suite_keylog());
	srunner_add_suite(sr, suite_app());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
