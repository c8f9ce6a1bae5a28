/*
 * check_main.c -- runs every suite; exits non-zero on any failure.
 */
#include <stdlib.h>
#include "tests.h"

const char *test_tmpdir(void)
{
    const char *d = getenv("TG_TEST_TMPDIR");
    return d && *d ? d : "/tmp";
}

const char *test_shared_data(void)
{
    const char *d = getenv("TG_SHARED_DATA");
    return d && *d ? d : "../shared/data";
}

int main(void)
{
    SRunner *sr = srunner_create(suite_tensor());
    int failed;
    srunner_add_suite(sr, suite_tape());
    srunner_add_suite(sr, suite_ops());
    srunner_add_suite(sr, suite_grad());
    srunner_add_suite(sr, suite_errors());
    srunner_add_suite(sr, suite_alloc());
    srunner_add_suite(sr, suite_dot());
    srunner_add_suite(sr, suite_idx());
    srunner_add_suite(sr, suite_params());
    srunner_add_suite(sr, suite_nn());
    srunner_add_suite(sr, suite_train());
    srunner_add_suite(sr, suite_monitor());
    srunner_add_suite(sr, suite_cli());
    srunner_add_suite(sr, suite_diagnose());
    srunner_add_suite(sr, suite_fused());
    srunner_add_suite(sr, suite_mutants());
    srunner_add_suite(sr, suite_limits());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
