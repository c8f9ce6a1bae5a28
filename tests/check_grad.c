/*
 * check_grad.c -- gradient checks: every row of gradcheck_cases.c with several seeds, a row
 * for every built-in op, aliased inputs (x*x, x+x, matmul(x, x^T): accumulation, not
 * overwrite), mutant backwards the checker must reject (RELIABILITY 79), and re-entrant
 * backward (82): twice gives bitwise-identical gradients, even over poisoned buffers.
 */
#include <math.h>
#include <stdlib.h>
#include "tests.h"

/* The table, in gradcheck_cases.c. */
int gc_case_count(void);
const tg_op_def *gc_case_op(int i);
const char *gc_case_what(int i);
tg_status gc_case_check(int i, uint64_t seed, tg_gradcheck_report *r, double *atol,
                        double *rtol);
tg_tensor *gc_case_build(int i, tg_graph *g, uint64_t seed, tg_tensor *in[3], int all_grad);

static const uint64_t seeds[] = { 1, 7, 20240601 };
#define N_SEEDS (int)(sizeof seeds / sizeof seeds[0])

/* ---- the table ------------------------------------------------------------------------ */
START_TEST(test_builtin_grad)
{
    int s;
    for (s = 0; s < N_SEEDS; ++s) {
        tg_gradcheck_report r;
        double atol, rtol;
        tg_status st = gc_case_check(_i, seeds[s], &r, &atol, &rtol);
        ck_assert_msg(st == TG_OK, "%s %s: gradcheck did not run: %s", gc_case_op(_i)->name,
                      gc_case_what(_i), tg_last_error());
        ck_assert_int_gt((int)r.n_checked, 0);
        ck_assert_msg(r.passed, "%s %s seed %llu: max abs %.3g, max rel %.3g (atol %g, rtol %g); "
                      "worst: input %d [%zu] analytic %.6g numeric %.6g", gc_case_op(_i)->name,
                      gc_case_what(_i), (unsigned long long)seeds[s], r.max_abs_err,
                      r.max_rel_err, atol, rtol, r.worst_input, r.worst_index,
                      r.worst_analytic, r.worst_numeric);
    }
}
END_TEST

START_TEST(test_builtin_every_op_has_row)
{
    int i, k;
    ck_assert_ptr_null(tg_builtin_ops[TG_BUILTIN_OP_COUNT]);
    for (i = 0; i < TG_BUILTIN_OP_COUNT; ++i) {
        int rows = 0;
        for (k = 0; k < gc_case_count(); ++k)
            rows += gc_case_op(k) == tg_builtin_ops[i];
        ck_assert_msg(rows > 0, "built-in op '%s' has no row in gradcheck_cases.c",
                      tg_builtin_ops[i]->name);
    }
}
END_TEST

/* Backward twice over grads poisoned with NaN: an op with TG_OP_GRAD_ASSIGN must write every
 * element of every input gradient (zeros for targets and labels), so both runs agree bitwise
 * and hold no NaN. */
START_TEST(test_builtin_backward_reentrant)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *in[3], *out = gc_case_build(_i, g, 99, in, 1);
    float *w, *first[3];
    uint64_t rng = 5;
    size_t j;
    int k, n_in = out ? out->producer->n_in : 0;
    ck_assert_msg(out != NULL, "%s: %s", gc_case_what(_i), tg_last_error());
    w = malloc(out->size * sizeof *w);
    for (j = 0; j < out->size; ++j)
        w[j] = (float)tg_rand_uniform(&rng, -1, 1);
    ck_assert_int_eq(tg_backward_seed(g, out, w), TG_OK);
    for (k = 0; k < n_in; ++k) {
        first[k] = malloc(in[k]->size * sizeof(float));
        for (j = 0; j < in[k]->size; ++j)
            in[k]->grad[j] = NAN;
    }
    ck_assert_int_eq(tg_backward_seed(g, out, w), TG_OK);
    for (k = 0; k < n_in; ++k) {
        for (j = 0; j < in[k]->size; ++j)
            ck_assert_msg(!isnan(in[k]->grad[j]), "%s %s: input %d grad[%zu] not written",
                          gc_case_op(_i)->name, gc_case_what(_i), k, j);
        memcpy(first[k], in[k]->grad, in[k]->size * sizeof(float));
        for (j = 0; j < in[k]->size; ++j)
            in[k]->grad[j] = NAN;
    }
    ck_assert_int_eq(tg_backward_seed(g, out, w), TG_OK);
    for (k = 0; k < n_in; ++k) {
        ck_assert_msg(!memcmp(first[k], in[k]->grad, in[k]->size * sizeof(float)),
                      "%s %s: input %d grads differ between two backward runs",
                      gc_case_op(_i)->name, gc_case_what(_i), k);
        free(first[k]);
    }
    free(w);
    tg_graph_free(g);
}
END_TEST

/* ---- aliasing: the same tensor as both inputs ------------------------------------------- */
static tg_tensor *filled_input(tg_graph *g, const char *name, int rows, int cols, uint64_t seed)
{
    tg_tensor *x = tg_input(g, name, 2, (const int[]){ rows, cols });
    size_t i;
    for (i = 0; i < x->size; ++i)
        x->data[i] = (float)tg_rand_uniform(&seed, 0.5, 1.5);
    tg_tensor_requires_grad(x);
    return x;
}

/* Gradcheck out w.r.t. x and return the report (tolerance of TOL_SUMS in the table). */
static tg_gradcheck_report check_wrt(tg_graph *g, tg_tensor *out, tg_tensor *x)
{
    tg_gradcheck_opts o = { 0 };
    tg_gradcheck_report r;
    o.atol = 1e-3;
    o.rtol = 2e-3;
    o.seed = 3;
    ck_assert_int_eq(tg_gradcheck_graph(g, out, &x, 1, &o, &r), TG_OK);
    return r;
}

START_TEST(test_alias_mul_self)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = filled_input(g, "x", 3, 4, 11), *y = tg_mul(g, x, x);
    tg_gradcheck_report r = check_wrt(g, y, x);
    size_t i;
    ck_assert_msg(r.passed, "x*x: max abs %g", r.max_abs_err);
    /* d sum(x*x) / dx = x + x = 2x, exactly in float */
    ck_assert_int_eq(tg_backward(g, tg_sum(g, y)), TG_OK);
    for (i = 0; i < x->size; ++i)
        ck_assert_float_eq(x->grad[i], 2.0f * x->data[i]);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_alias_add_self)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = filled_input(g, "x", 2, 5, 12), *y = tg_add(g, x, x);
    tg_gradcheck_report r = check_wrt(g, y, x);
    size_t i;
    ck_assert_msg(r.passed, "x+x: max abs %g", r.max_abs_err);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, y)), TG_OK);
    for (i = 0; i < x->size; ++i)
        ck_assert_float_eq(x->grad[i], 2.0f);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_alias_sub_div_concat_mse_self)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = filled_input(g, "x", 2, 3, 13);
    tg_tensor *parts[] = { tg_sub(g, x, x), tg_div(g, x, x), tg_concat(g, (tg_tensor *[]){ x, x },
                                                                       2, 0),
                           tg_mse(g, x, x, TG_REDUCE_SUM) };
    const float expect[] = { 0.0f, 0.0f, 2.0f, 0.0f }; /* d/dx of x-x, x/x, [x;x], |x-x|^2 */
    size_t i;
    int p;
    for (p = 0; p < 4; ++p) {
        tg_gradcheck_report r = check_wrt(g, parts[p], x);
        ck_assert_msg(r.passed, "%s(x, x): max abs %g", parts[p]->producer->op->name,
                      r.max_abs_err);
        ck_assert_int_eq(tg_backward(g, tg_sum(g, parts[p])), TG_OK);
        for (i = 0; i < x->size; ++i)
            ck_assert_float_eq_tol(x->grad[i], expect[p], 1e-6);
    }
    tg_graph_free(g);
}
END_TEST

START_TEST(test_alias_matmul_self_transposed)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = filled_input(g, "x", 3, 4, 14);
    tg_tensor *a = tg_matmul(g, x, x, 0, 1), *b = tg_matmul(g, x, tg_transpose(g, x), 0, 0);
    tg_gradcheck_report ra = check_wrt(g, a, x), rb = check_wrt(g, b, x);
    ck_assert_msg(ra.passed, "matmul(x, x^T flag): max abs %g", ra.max_abs_err);
    ck_assert_msg(rb.passed, "matmul(x, transpose(x)): max abs %g", rb.max_abs_err);
    /* d sum(x x^T) / dx[i,k] = 2 sum_j x[j,k] */
    ck_assert_int_eq(tg_backward(g, tg_sum(g, a)), TG_OK);
    ck_assert_float_eq_tol(x->grad[1],
                           2.0f * (x->data[1] + x->data[5] + x->data[9]), 1e-5);
    tg_graph_free(g);
}
END_TEST

/* ---- mutants: the checker must fail a wrong backward ------------------------------------ */
enum { M_NONE, M_SCALE, M_SIGN, M_ZERO_ONE, M_TRANSPOSE };

/* y = x^2 on a square [S,S] matrix; dx = 2 x dy, then the mutation */
static tg_status sq_shape(tg_node *n)
{
    return tg_node_set_shape(n, n->in[0]->rank, n->in[0]->shape);
}

static tg_status sq_forward(tg_node *n)
{
    size_t i;
    for (i = 0; i < n->out->size; ++i)
        n->out->data[i] = n->in[0]->data[i] * n->in[0]->data[i];
    return TG_OK;
}

static tg_status sq_backward(tg_node *n)
{
    const int m = *(const int *)n->user, S = n->in[0]->shape[0];
    const float *x = n->in[0]->data, *dy = n->out->grad;
    float *dx = n->in[0]->grad;
    size_t i, big = 0;
    int r, c;
    for (i = 0; i < n->out->size; ++i)
        if (fabsf(x[i] * dy[i]) > fabsf(x[big] * dy[big]))
            big = i;
    for (r = 0; r < S; ++r) {
        for (c = 0; c < S; ++c) {
            size_t at = (size_t)r * S + c, to = m == M_TRANSPOSE ? (size_t)c * S + r : at;
            float d = 2.0f * x[at] * dy[at];
            if (m == M_SCALE)
                d *= 1.01f;
            else if (m == M_SIGN)
                d = -d;
            else if (m == M_ZERO_ONE && at == big) /* the element surest to exceed tol */
                d = 0.0f;
            dx[to] += d;
        }
    }
    return TG_OK;
}

static const tg_op_def sq_op = { "sq", 1, 0, sq_shape, sq_forward, sq_backward };

/* round-off of x^2 <= 2.25 in float: about 6e-8 * 2.25 / 1e-3 = 1.4e-4 */
static tg_gradcheck_report check_mutant(int m)
{
    const int rank = 2, shape[1][TG_MAX_RANK] = { { 4, 4 } };
    tg_gradcheck_opts o = { 0 };
    tg_gradcheck_report r;
    o.atol = 2e-4;
    o.rtol = 1e-3;
    o.lo = 0.5;
    o.hi = 1.5;
    o.seed = 21;
    ck_assert_int_eq(tg_gradcheck_op(&sq_op, 1, &rank, shape, NULL, 0, &m, &o, &r), TG_OK);
    ck_assert_int_eq((int)r.n_checked, 16);
    return r;
}

START_TEST(test_mutant_control_passes)
{
    tg_gradcheck_report r = check_mutant(M_NONE);
    ck_assert_msg(r.passed, "correct backward failed: max abs %g", r.max_abs_err);
}
END_TEST

START_TEST(test_mutant_fails)
{
    static const char *const names[] = { "", "scaled by 1.01", "sign flipped",
                                         "one element zeroed", "transposed" };
    tg_gradcheck_report r = check_mutant(_i);
    ck_assert_msg(r.passed == 0, "mutant '%s' passed (max abs %g, max rel %g)", names[_i],
                  r.max_abs_err, r.max_rel_err);
    ck_assert_double_gt(r.worst_excess, 0);
}
END_TEST

/* ---- re-entrancy over a small network ------------------------------------------------- */
START_TEST(test_backward_twice_bitwise_identical)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 2, (const int[]){ 4, 3 });
    tg_tensor *w = tg_param(g, "w", 2, (const int[]){ 5, 3 });
    tg_tensor *b = tg_param(g, "b", 1, (const int[]){ 5 });
    tg_tensor *v = tg_param(g, "v", 1, (const int[]){ 5 });
    tg_tensor *lab = tg_input(g, "labels", 1, (const int[]){ 4 });
    tg_tensor *h, *loss, *params[] = { w, b, v };
    float *first[3];
    uint64_t rng = 8;
    size_t i;
    int k;
    for (i = 0; i < x->size; ++i)
        x->data[i] = (float)tg_rand_uniform(&rng, -1, 1);
    for (k = 0; k < 3; ++k)
        for (i = 0; i < params[k]->size; ++i)
            params[k]->data[i] = (float)tg_rand_uniform(&rng, -1, 1);
    for (i = 0; i < lab->size; ++i)
        lab->data[i] = (float)(i % 5);
    h = tg_tanh(g, tg_linear(g, x, w, b));
    h = tg_add(g, tg_mul(g, h, h), tg_mul(g, h, v)); /* h reused: gradients accumulate */
    loss = tg_add(g, tg_softmax_xent(g, h, lab, TG_REDUCE_MEAN), tg_mean(g, tg_square(g, h)));
    ck_assert_ptr_nonnull(loss);
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    for (k = 0; k < 3; ++k) {
        first[k] = malloc(params[k]->size * sizeof(float));
        memcpy(first[k], params[k]->grad, params[k]->size * sizeof(float));
    }
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    for (k = 0; k < 3; ++k) {
        ck_assert(!memcmp(first[k], params[k]->grad, params[k]->size * sizeof(float)));
        free(first[k]);
    }
    tg_graph_free(g);
}
END_TEST

Suite *suite_grad(void)
{
    Suite *s = suite_create("grad");
    TCase *tc = tcase_create("grad");
    tcase_add_loop_test(tc, test_builtin_grad, 0, gc_case_count());
    tcase_add_test(tc, test_builtin_every_op_has_row);
    tcase_add_loop_test(tc, test_builtin_backward_reentrant, 0, gc_case_count());
    tcase_add_test(tc, test_backward_twice_bitwise_identical);
    suite_add_tcase(s, tc);

    tc = tcase_create("aliasing");
    tcase_add_test(tc, test_alias_mul_self);
    tcase_add_test(tc, test_alias_add_self);
    tcase_add_test(tc, test_alias_sub_div_concat_mse_self);
    tcase_add_test(tc, test_alias_matmul_self_transposed);
    suite_add_tcase(s, tc);

    tc = tcase_create("mutants");
    tcase_add_test(tc, test_mutant_control_passes);
    tcase_add_loop_test(tc, test_mutant_fails, M_SCALE, M_TRANSPOSE + 1);
    suite_add_tcase(s, tc);
    return s;
}
