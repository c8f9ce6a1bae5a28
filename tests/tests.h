/*
 * tests.h -- the suites of check_tapegrad and small helpers shared by the test files.
 */
#ifndef TAPEGRAD_TESTS_H
#define TAPEGRAD_TESTS_H

#include <check.h>
#include <string.h>
#include "tapegrad.h"

Suite *suite_tensor(void);
Suite *suite_tape(void);
Suite *suite_ops(void);
Suite *suite_grad(void);
Suite *suite_errors(void);
Suite *suite_alloc(void);
Suite *suite_dot(void);
Suite *suite_idx(void);
Suite *suite_params(void);
Suite *suite_nn(void);
Suite *suite_train(void);
Suite *suite_monitor(void);
Suite *suite_cli(void);
Suite *suite_diagnose(void);
Suite *suite_fused(void);
Suite *suite_mutants(void);
Suite *suite_limits(void);

/* Assert that the last error has status s and its message contains `needle`. */
#define ck_assert_error(s, needle)                                                        \
    do {                                                                                  \
        ck_assert_int_eq(tg_last_status(), (s));                                          \
        ck_assert_msg(strstr(tg_last_error(), (needle)) != NULL,                          \
                      "message \"%s\" lacks \"%s\"", tg_last_error(), (needle));          \
    } while (0)

/* A directory for test outputs (TG_TEST_TMPDIR from make check, else /tmp). */
const char *test_tmpdir(void);
/* ../shared/data (TG_SHARED_DATA from make check): holds mnist-10k/ with real MNIST digits. */
const char *test_shared_data(void);

#endif
