/*
 * check_alloc.c -- allocation discipline: after the first step, forward + backward make no
 * heap allocation; failing the N-th allocation, for every N, while building a graph and
 * running a step gives TG_ERR_NOMEM, leaks nothing (ASan/valgrind runs check that) and leaves
 * a graph that frees cleanly.
 */
#include <stdlib.h>
#include "tests.h"

static long n_calls;      /* malloc + realloc calls seen */
static long fail_at = -1; /* fail the call with this number (0-based), -1 = never */

static void *count_malloc(size_t n, void *u)
{
    (void)u;
    if (n_calls++ == fail_at)
        return NULL;
    return malloc(n);
}
static void *count_realloc(void *p, size_t n, void *u)
{
    (void)u;
    if (n_calls++ == fail_at)
        return NULL;
    return realloc(p, n);
}
static void count_free(void *p, void *u)
{
    (void)u;
    free(p);
}
static const tg_allocator counting = { count_malloc, count_realloc, count_free, NULL };

static void setup(void)
{
    n_calls = 0;
    fail_at = -1;
    tg_set_allocator(&counting);
}
static void teardown(void) { tg_set_allocator(NULL); }

/* A 3-layer MLP from raw ops with a size-1 loss; returns the status of the first failure. */
static tg_status build_and_step(tg_graph **out, tg_tensor **loss_out, float *xbuf)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x, *h, *loss, *w, *b, *r, *c;
    int l, in = 8, sizes[3] = { 16, 16, 4 };
    *out = g;
    if (!g)
        return tg_last_status();
    x = tg_input(g, "x", 2, (const int[]){ 5, 8 });
    h = x;
    for (l = 0; l < 3; ++l) {
        w = tg_param(g, "w", 2, (const int[]){ sizes[l], in });
        b = tg_param(g, "b", 1, (const int[]){ sizes[l] });
        if (w) {
            size_t i;
            for (i = 0; i < w->size; ++i)
                w->data[i] = 0.1f * (float)((i * 7) % 11) - 0.5f;
        }
        h = tg_tanh(g, tg_linear(g, h, w, b));
        in = sizes[l];
    }
    r = tg_const(g, "r", 2, (const int[]){ 1, 5 }, (const float[]){ 1, 1, 1, 1, 1 });
    c = tg_const(g, "c", 2, (const int[]){ 4, 1 }, (const float[]){ 1, -1, 1, -1 });
    loss = tg_matmul(g, tg_matmul(g, r, h, 0, 0), c, 0, 0);
    *loss_out = loss;
    if (!loss)
        return tg_last_status();
    if (tg_tensor_bind(x, xbuf) != TG_OK)
        return tg_last_status();
    if (tg_graph_forward(g) != TG_OK)
        return tg_last_status();
    return tg_backward(g, loss);
}

START_TEST(test_alloc_zero_per_step)
{
    tg_graph *g;
    tg_tensor *loss;
    float xbuf[40];
    long before;
    int i, step;
    for (i = 0; i < 40; ++i)
        xbuf[i] = 0.05f * (float)i - 1.0f;
    ck_assert_int_eq(build_and_step(&g, &loss, xbuf), TG_OK);
    before = n_calls;
    ck_assert(before > 0);
    for (step = 0; step < 100; ++step) {
        xbuf[step % 40] += 0.01f;
        tg_graph_set_step(g, step, 0);
        ck_assert_int_eq(tg_graph_forward(g), TG_OK);
        ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    }
    ck_assert_int_eq(n_calls, before);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_alloc_fail_every_nth)
{
    float xbuf[40] = { 0 };
    long total, n;
    tg_graph *g;
    tg_tensor *loss;
    ck_assert_int_eq(build_and_step(&g, &loss, xbuf), TG_OK);
    total = n_calls;
    tg_graph_free(g);
    for (n = 0; n < total; ++n) {
        tg_status s;
        n_calls = 0;
        fail_at = n;
        tg_error_clear();
        s = build_and_step(&g, &loss, xbuf);
        ck_assert_msg(s == TG_ERR_NOMEM, "allocation %ld of %ld failed: got %d (%s)", n, total,
                      s, tg_last_error());
        /* the graph (if any) is still usable once memory is back */
        fail_at = -1;
        if (g && loss) {
            ck_assert_int_eq(tg_graph_forward(g), TG_OK);
            ck_assert_int_eq(tg_backward(g, loss), TG_OK);
        }
        tg_graph_free(g);
    }
}
END_TEST

Suite *suite_alloc(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("alloc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_alloc_zero_per_step);
    tcase_add_test(tc, test_alloc_fail_every_nth);
    suite_add_tcase(s, tc);
    return s;
}
