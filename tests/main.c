/*
 * main.c — the one test runner. Every tests/unit/test_NAME.c defines
 * `Suite *suite_NAME(void)`; the Makefile lists them in suites.h. Run one suite with
 * CK_RUN_SUITE=NAME, one case with CK_RUN_CASE=NAME (Check's own variables).
 */
#include <check.h>
#include <stdlib.h>

#define TG_SUITE(name) Suite *suite_##name(void);
#include "suites.h"
#undef TG_SUITE

int main(void)
{
    /* Fixture-based cases decode real video: give them room (Check's default is 4 s). */
    setenv("CK_DEFAULT_TIMEOUT", "300", 0);
    SRunner *sr = srunner_create(NULL);
#define TG_SUITE(name) srunner_add_suite(sr, suite_##name());
#include "suites.h"
#undef TG_SUITE
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
