/*
 * check_errors.c -- status texts, the per-thread last error, NULL and misuse handling in the
 * engine: composed expressions carry the root cause, tensors from another graph, bad op
 * descriptors, no node recorded on failure.
 */
#include <pthread.h>
#include "tests.h"

START_TEST(test_errors_strerror_distinct)
{
    int a, b;
    for (a = TG_ERR_RANGE; a <= TG_OK; ++a) {
        ck_assert_ptr_nonnull(tg_strerror(a));
        ck_assert(strlen(tg_strerror(a)) > 1);
        for (b = a + 1; b <= TG_OK; ++b)
            ck_assert_str_ne(tg_strerror(a), tg_strerror(b));
    }
    ck_assert_str_eq(tg_strerror((tg_status)-99), "unknown status");
    ck_assert_str_eq(tg_strerror(TG_ERR_UNAVAILABLE), "not available in this build");
}
END_TEST

START_TEST(test_errors_set_and_clear)
{
    ck_assert_int_eq(tg_error_set(TG_ERR_RANGE, "label %d", 12), TG_ERR_RANGE);
    ck_assert_error(TG_ERR_RANGE, "label 12");
    tg_error_clear();
    ck_assert_int_eq(tg_last_status(), TG_OK);
    ck_assert_str_eq(tg_last_error(), "");
}
END_TEST

static void *other_thread(void *arg)
{
    (void)arg;
    tg_error_set(TG_ERR_IO, "from the other thread");
    return NULL;
}

START_TEST(test_errors_per_thread)
{
    pthread_t th;
    tg_error_set(TG_ERR_SHAPE, "mine");
    ck_assert_int_eq(pthread_create(&th, NULL, other_thread, NULL), 0);
    pthread_join(th, NULL);
    ck_assert_error(TG_ERR_SHAPE, "mine");
}
END_TEST

START_TEST(test_errors_composed_keeps_root_cause)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 2, (const int[]){ 2, 3 });
    tg_tensor *w = tg_param(g, "w", 2, (const int[]){ 4, 5 });
    tg_tensor *y;
    tg_error_clear();
    y = tg_tanh(g, tg_tanh(g, tg_matmul(g, x, w, 0, 0)));
    ck_assert_ptr_null(y);
    ck_assert_error(TG_ERR_SHAPE, "matmul: inner dims 3 vs 4");
    ck_assert_error(TG_ERR_SHAPE, "tanh: input 0 is NULL after an earlier failure");
    ck_assert_error(TG_ERR_SHAPE, "'x' [2,3]");
    ck_assert_error(TG_ERR_SHAPE, "'w' [4,5]");
    ck_assert_int_eq(tg_graph_n_nodes(g), 0);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_errors_null_input_alone)
{
    tg_graph *g = tg_graph_new();
    tg_error_clear();
    ck_assert_ptr_null(tg_tanh(g, NULL));
    ck_assert_error(TG_ERR_ARG, "tanh: input 0 is NULL");
    ck_assert_ptr_null(tg_tanh(NULL, NULL));
    ck_assert_ptr_null(tg_input(NULL, "x", 1, (const int[]){ 1 }));
    ck_assert_error(TG_ERR_ARG, "graph is NULL");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_errors_other_graph)
{
    tg_graph *g1 = tg_graph_new(), *g2 = tg_graph_new();
    tg_tensor *x = tg_input(g1, "x", 2, (const int[]){ 2, 3 });
    tg_tensor *w = tg_param(g2, "w", 2, (const int[]){ 3, 2 });
    ck_assert_ptr_null(tg_matmul(g1, x, w, 0, 0));
    ck_assert_error(TG_ERR_ARG, "input 1 'w' belongs to another graph");
    ck_assert_ptr_null(tg_tanh(g2, x));
    ck_assert_error(TG_ERR_ARG, "'x' belongs to another graph");
    ck_assert_int_eq(tg_backward(g2, x), TG_ERR_ARG);
    ck_assert_int_eq(tg_graph_n_nodes(g1) + tg_graph_n_nodes(g2), 0);
    tg_graph_free(g1);
    tg_graph_free(g2);
}
END_TEST

static tg_status bad_shape(tg_node *n)
{
    (void)n;
    return TG_ERR_SHAPE; /* no message: the engine supplies one */
}
static tg_status ok_forward(tg_node *n)
{
    (void)n;
    return TG_OK;
}

START_TEST(test_errors_bad_op_descriptors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 1, (const int[]){ 3 });
    tg_op_def no_fwd = { "nofwd", 1, 0, bad_shape, NULL, NULL };
    tg_op_def silent = { "silent", 1, 0, bad_shape, ok_forward, NULL };
    ck_assert_ptr_null(tg_apply(g, NULL, &x, 1, NULL, 0, NULL));
    ck_assert_error(TG_ERR_ARG, "op descriptor is NULL");
    ck_assert_ptr_null(tg_apply(g, &no_fwd, &x, 1, NULL, 0, NULL));
    ck_assert_error(TG_ERR_ARG, "nofwd: op descriptor is NULL or lacks shape/forward");
    ck_assert_ptr_null(tg_apply(g, &tg_op_tanh, &x, 2, NULL, 0, NULL));
    ck_assert_error(TG_ERR_ARG, "tanh: given 2 inputs, takes 1");
    ck_assert_ptr_null(tg_apply(g, &tg_op_tanh, &x, 1, NULL, 8, NULL));
    ck_assert_error(TG_ERR_ARG, "args is NULL with args_size 8");
    tg_error_clear();
    ck_assert_ptr_null(tg_apply(g, &silent, &x, 1, NULL, 0, NULL));
    ck_assert_error(TG_ERR_SHAPE, "silent: shape check failed");
    ck_assert_int_eq(tg_graph_n_nodes(g), 0);
    ck_assert_int_eq(tg_graph_n_tensors(g), 1);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_errors_no_backward)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *w = tg_param(g, "w", 2, (const int[]){ 1, 1 });
    tg_op_def fwd_only = { "fwd_only", 1, 0, NULL, ok_forward, NULL };
    tg_tensor *y;
    fwd_only.shape = tg_op_tanh.shape;
    y = tg_apply(g, &fwd_only, &w, 1, NULL, 0, NULL);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_backward(g, y), TG_ERR_STATE);
    ck_assert_error(TG_ERR_STATE, "op 'fwd_only' (node 0) has no backward");
    tg_graph_free(g);
}
END_TEST

Suite *suite_errors(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("status");
    tcase_add_test(tc, test_errors_strerror_distinct);
    tcase_add_test(tc, test_errors_set_and_clear);
    tcase_add_test(tc, test_errors_per_thread);
    suite_add_tcase(s, tc);
    tc = tcase_create("misuse");
    tcase_add_test(tc, test_errors_composed_keeps_root_cause);
    tcase_add_test(tc, test_errors_null_input_alone);
    tcase_add_test(tc, test_errors_other_graph);
    tcase_add_test(tc, test_errors_bad_op_descriptors);
    tcase_add_test(tc, test_errors_no_backward);
    suite_add_tcase(s, tc);
    return s;
}
