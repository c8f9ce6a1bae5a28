/*
 * check_ops.c -- the built-in ops: forward values against hand-computed numbers on small
 * shapes, broadcasting and its reduced gradients, numerical extremes (RELIABILITY 18-21, 25),
 * subnormals (26), the op table, and every shape and argument error path (status, message,
 * tape unchanged).
 */
#include <float.h>
#include <math.h>
#include "tests.h"

#define DIMS(...) ((const int[]){ __VA_ARGS__ })
#define VALS(...) ((const float[]){ __VA_ARGS__ })
#define NV(...) (sizeof((const float[]){ __VA_ARGS__ }) / sizeof(float))

/* An input of the given shape holding values (t->size floats), with a gradient. */
static tg_tensor *in(tg_graph *g, const char *name, int rank, const int *dims, const float *v)
{
    tg_tensor *t = tg_input(g, name, rank, dims);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tg_tensor_set(t, v, t->size), TG_OK);
    ck_assert_int_eq(tg_tensor_requires_grad(t), TG_OK);
    return t;
}

/* t holds exactly n values, each within tol of want (relative above magnitude 1). */
static void expect(const tg_tensor *t, const float *want, size_t n, double tol)
{
    size_t i;
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->size, n);
    for (i = 0; i < n; ++i)
        ck_assert_msg(fabs((double)t->data[i] - want[i]) <= tol * fmax(1.0, fabs(want[i])),
                      "element %zu: got %.9g, want %.9g", i, (double)t->data[i],
                      (double)want[i]);
}
#define EXPECT(t, tol, ...) expect((t), VALS(__VA_ARGS__), NV(__VA_ARGS__), (tol))

/* The gradient of t after backward, as expect(). */
static void expect_grad(const tg_tensor *t, const float *want, size_t n, double tol)
{
    size_t i;
    ck_assert_ptr_nonnull(t->grad);
    ck_assert_uint_eq(t->size, n);
    for (i = 0; i < n; ++i)
        ck_assert_msg(fabs((double)t->grad[i] - want[i]) <= tol * fmax(1.0, fabs(want[i])),
                      "grad %zu: got %.9g, want %.9g", i, (double)t->grad[i], (double)want[i]);
}
#define EXPECT_GRAD(t, tol, ...) expect_grad((t), VALS(__VA_ARGS__), NV(__VA_ARGS__), (tol))

static void expect_shape(const tg_tensor *t, int rank, const int *dims)
{
    int d;
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->rank, rank);
    for (d = 0; d < rank; ++d)
        ck_assert_int_eq(t->shape[d], dims[d]);
}

static void expect_all_finite(const float *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i)
        ck_assert_msg(isfinite(v[i]), "element %zu is %g", i, (double)v[i]);
}

static const float A23[] = { 1, 2, 3, 4, 5, 6 }; /* [[1,2,3],[4,5,6]] */

/* ---- binary elementwise ------------------------------------------------------------------ */
START_TEST(test_binary_forward_same_shape)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a = in(g, "a", 2, DIMS(2, 3), A23);
    tg_tensor *b = in(g, "b", 2, DIMS(2, 3), VALS(6, 5, 4, 3, 2, 1));
    EXPECT(tg_add(g, a, b), 0, 7, 7, 7, 7, 7, 7);
    EXPECT(tg_sub(g, a, b), 0, -5, -3, -1, 1, 3, 5);
    EXPECT(tg_mul(g, a, b), 0, 6, 10, 12, 12, 10, 6);
    EXPECT(tg_div(g, a, b), 1e-7, 1.0f / 6, 0.4f, 0.75f, 4.0f / 3, 2.5f, 6);
    expect_shape(tg_add(g, a, b), 2, DIMS(2, 3));
    tg_graph_free(g);
}
END_TEST

START_TEST(test_binary_broadcast_row)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a = in(g, "a", 2, DIMS(2, 3), A23);
    tg_tensor *r = in(g, "r", 1, DIMS(3), VALS(10, 20, 30));
    tg_tensor *r2 = in(g, "r2", 2, DIMS(1, 3), VALS(10, 20, 30));
    tg_tensor *y;
    EXPECT(tg_add(g, a, r), 0, 11, 22, 33, 14, 25, 36);
    EXPECT(tg_sub(g, r2, a), 0, 9, 18, 27, 6, 15, 24);
    EXPECT(tg_mul(g, a, r2), 0, 10, 40, 90, 40, 100, 180);
    EXPECT(tg_div(g, r, a), 1e-7, 10, 10, 10, 2.5f, 4, 5);
    expect_shape(tg_sub(g, r2, a), 2, DIMS(2, 3));
    /* d sum(a * r) / dr = column sums of a; / da = r per row */
    y = tg_mul(g, a, r);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, y)), TG_OK);
    EXPECT_GRAD(r, 0, 5, 7, 9);
    EXPECT_GRAD(a, 0, 10, 20, 30, 10, 20, 30);
    /* d sum(r2 - a) / dr2 = B = 2 per column, / da = -1 */
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_sub(g, r2, a))), TG_OK);
    EXPECT_GRAD(r2, 0, 2, 2, 2);
    EXPECT_GRAD(a, 0, -1, -1, -1, -1, -1, -1);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_binary_broadcast_row_3d)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 3, DIMS(2, 2, 2), VALS(1, 2, 3, 4, 5, 6, 7, 8));
    tg_tensor *r = in(g, "r", 1, DIMS(2), VALS(100, 200));
    tg_tensor *y = tg_add(g, x, r);
    EXPECT(y, 0, 101, 202, 103, 204, 105, 206, 107, 208);
    expect_shape(y, 3, DIMS(2, 2, 2));
    ck_assert_int_eq(tg_backward(g, tg_sum(g, y)), TG_OK);
    EXPECT_GRAD(r, 0, 4, 4);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_binary_broadcast_scalar)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a = in(g, "a", 2, DIMS(2, 3), A23);
    tg_tensor *s = in(g, "s", 0, NULL, VALS(12));
    tg_tensor *one = in(g, "one", 1, DIMS(1), VALS(2));
    tg_tensor *y;
    EXPECT(tg_div(g, s, a), 1e-7, 12, 6, 4, 3, 2.4f, 2);
    EXPECT(tg_sub(g, a, one), 0, -1, 0, 1, 2, 3, 4);
    expect_shape(tg_div(g, s, a), 2, DIMS(2, 3));
    /* d sum(a * s) / ds = sum a = 21 */
    y = tg_mul(g, a, s);
    EXPECT(y, 0, 12, 24, 36, 48, 60, 72);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, y)), TG_OK);
    EXPECT_GRAD(s, 0, 21);
    EXPECT_GRAD(a, 0, 12, 12, 12, 12, 12, 12);
    /* d sum(s / a) / ds = sum 1/a = 2.45 */
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_div(g, s, a))), TG_OK);
    EXPECT_GRAD(s, 1e-6, 2.45f);
    /* scalar op scalar stays rank 0 */
    expect_shape(tg_add(g, s, s), 0, NULL);
    EXPECT(tg_add(g, s, s), 0, 24);
    tg_graph_free(g);
}
END_TEST

/* ---- unary elementwise -------------------------------------------------------------------- */
START_TEST(test_unary_forward)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 1, DIMS(3), VALS(-1, 0, 2));
    tg_tensor *p = in(g, "p", 1, DIMS(3), VALS(1, 4, 9));
    EXPECT(tg_scale(g, x, -2), 0, 2, 0, -4);
    EXPECT(tg_shift(g, x, 0.5f), 0, -0.5f, 0.5f, 2.5f);
    EXPECT(tg_neg(g, x), 0, 1, 0, -2);
    EXPECT(tg_exp(g, x), 1e-6, 0.36787944f, 1, 7.3890561f);
    EXPECT(tg_log(g, p), 1e-6, 0, 1.3862944f, 2.1972246f);
    EXPECT(tg_sqrt(g, p), 0, 1, 2, 3);
    EXPECT(tg_square(g, x), 0, 1, 0, 4);
    EXPECT(tg_abs(g, x), 0, 1, 0, 2);
    EXPECT(tg_pow(g, x, 3), 0, -1, 0, 8);
    EXPECT(tg_pow(g, p, 0.5f), 1e-6, 1, 2, 3);
    expect_shape(tg_exp(g, x), 1, DIMS(3));
    tg_graph_free(g);
}
END_TEST

START_TEST(test_unary_backward)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 1, DIMS(3), VALS(-1, 0, 2));
    tg_tensor *p = in(g, "p", 1, DIMS(3), VALS(1, 4, 9));
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_abs(g, x))), TG_OK);
    EXPECT_GRAD(x, 0, -1, 0, 1); /* 0 at the kink */
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_pow(g, x, 3))), TG_OK);
    EXPECT_GRAD(x, 1e-6, 3, 0, 12);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_sqrt(g, p))), TG_OK);
    EXPECT_GRAD(p, 1e-6, 0.5f, 0.25f, 1.0f / 6);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_log(g, p))), TG_OK);
    EXPECT_GRAD(p, 1e-6, 1, 0.25f, 1.0f / 9);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_scale(g, x, -2))), TG_OK);
    EXPECT_GRAD(x, 0, -2, -2, -2);
    tg_graph_free(g);
}
END_TEST

/* ---- activations ------------------------------------------------------------------------- */
START_TEST(test_activation_forward)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 1, DIMS(4), VALS(-2, -1, 0, 2));
    EXPECT(tg_tanh(g, x), 1e-6, -0.96402758f, -0.76159416f, 0, 0.96402758f);
    EXPECT(tg_sigmoid(g, x), 1e-6, 0.11920292f, 0.26894142f, 0.5f, 0.88079708f);
    EXPECT(tg_relu(g, x), 0, 0, 0, 0, 2);
    EXPECT(tg_leaky_relu(g, x, 0.1f), 1e-7, -0.2f, -0.1f, 0, 2);
    EXPECT(tg_elu(g, x, 2), 1e-6, -1.7293294f, -1.2642411f, 0, 2);
    EXPECT(tg_softplus(g, x), 1e-6, 0.12692801f, 0.31326169f, 0.69314718f, 2.1269280f);
    EXPECT(tg_softsign(g, x), 1e-7, -2.0f / 3, -0.5f, 0, 2.0f / 3);
    EXPECT(tg_identity(g, x), 0, -2, -1, 0, 2);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_activation_default_args)
{
    /* layer specs apply activations by descriptor, without args */
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 1, DIMS(2), VALS(-2, 3));
    EXPECT(tg_apply(g, &tg_op_leaky_relu, &x, 1, NULL, 0, NULL), 1e-7, -0.02f, 3);
    EXPECT(tg_apply(g, tg_op_find("elu"), &x, 1, NULL, 0, NULL), 1e-6, -0.86466472f, 3);
    EXPECT(tg_apply(g, &tg_op_scale, &x, 1, NULL, 0, NULL), 0, -2, 3);
    EXPECT(tg_apply(g, &tg_op_sum_axis, &x, 1, NULL, 0, NULL), 0, 1);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_activation_backward)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 1, DIMS(4), VALS(-2, -1, 0.5f, 2));
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_relu(g, x))), TG_OK);
    EXPECT_GRAD(x, 0, 0, 0, 1, 1);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_leaky_relu(g, x, 0.1f))), TG_OK);
    EXPECT_GRAD(x, 1e-7, 0.1f, 0.1f, 1, 1);
    /* elu': alpha e^x below 0 */
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_elu(g, x, 2))), TG_OK);
    EXPECT_GRAD(x, 1e-6, 0.27067057f, 0.73575888f, 1, 1);
    /* sigmoid' = s (1 - s); softplus' = sigmoid; softsign' = 1/(1+|x|)^2 */
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_sigmoid(g, x))), TG_OK);
    EXPECT_GRAD(x, 1e-6, 0.10499359f, 0.19661193f, 0.23500371f, 0.10499359f);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_softplus(g, x))), TG_OK);
    EXPECT_GRAD(x, 1e-6, 0.11920292f, 0.26894142f, 0.62245933f, 0.88079708f);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_softsign(g, x))), TG_OK);
    EXPECT_GRAD(x, 1e-6, 1.0f / 9, 0.25f, 1.0f / 2.25f, 1.0f / 9);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_activation_extremes_finite)
{
    /* no overflow in e^x for sigmoid/softplus/elu at any |x|: values and grads finite */
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 1, DIMS(4), VALS(1e4f, -1e4f, 3e38f, -3e38f));
    tg_tensor *s = tg_sigmoid(g, x), *sp = tg_softplus(g, x), *e = tg_elu(g, x, 1.5f);
    tg_tensor *t = tg_tanh(g, x), *ss = tg_softsign(g, x);
    tg_tensor *loss = tg_add(g, tg_add(g, tg_mean(g, s), tg_mean(g, sp)),
                             tg_add(g, tg_mean(g, e), tg_add(g, tg_mean(g, t), tg_mean(g, ss))));
    EXPECT(s, 0, 1, 0, 1, 0);
    EXPECT(sp, 0, 1e4f, 0, 3e38f, 0);
    EXPECT(e, 0, 1e4f, -1.5f, 3e38f, -1.5f);
    EXPECT(t, 0, 1, -1, 1, -1);
    EXPECT(ss, 1e-7, 0.99990001f, -0.99990001f, 1, -1);
    ck_assert_ptr_nonnull(loss);
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    expect_all_finite(x->grad, x->size);
    tg_graph_free(g);
}
END_TEST

/* ---- reductions ---------------------------------------------------------------------------- */
START_TEST(test_reduce_forward)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 2, DIMS(2, 3), A23);
    tg_tensor *s = tg_sum(g, x), *m = tg_mean(g, x);
    EXPECT(s, 0, 21);
    expect_shape(s, 0, NULL);
    EXPECT(m, 0, 3.5f);
    expect_shape(m, 0, NULL);
    EXPECT(tg_sum_axis(g, x, 0), 0, 5, 7, 9);
    expect_shape(tg_sum_axis(g, x, 0), 1, DIMS(3));
    EXPECT(tg_sum_axis(g, x, 1), 0, 6, 15);
    EXPECT(tg_sum_axis(g, x, -1), 0, 6, 15);
    EXPECT(tg_mean_axis(g, x, 0), 1e-7, 2.5f, 3.5f, 4.5f);
    EXPECT(tg_mean_axis(g, x, -2), 1e-7, 2.5f, 3.5f, 4.5f);
    EXPECT(tg_max_axis(g, x, 1), 0, 3, 6);
    EXPECT(tg_max_axis(g, x, 0), 0, 4, 5, 6);
    expect_shape(tg_sum(g, tg_sum_axis(g, tg_sum_axis(g, x, 0), 0)), 0, NULL);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_reduce_middle_axis)
{
    /* x[p,a,q] = 100 p + 10 a + q, [2,3,2]: sum over a = 300 p + 30 + 3 q */
    tg_graph *g = tg_graph_new();
    float v[12];
    tg_tensor *x, *y;
    int p, a, q;
    for (p = 0; p < 2; ++p)
        for (a = 0; a < 3; ++a)
            for (q = 0; q < 2; ++q)
                v[(p * 3 + a) * 2 + q] = (float)(100 * p + 10 * a + q);
    x = in(g, "x", 3, DIMS(2, 3, 2), v);
    y = tg_sum_axis(g, x, 1);
    EXPECT(y, 0, 30, 33, 330, 333);
    expect_shape(y, 2, DIMS(2, 2));
    EXPECT(tg_max_axis(g, x, 1), 0, 20, 21, 120, 121);
    EXPECT(tg_mean_axis(g, x, 2), 1e-6, 0.5f, 10.5f, 20.5f, 100.5f, 110.5f, 120.5f);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_reduce_backward)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 2, DIMS(2, 3), VALS(2, 5, 5, 7, 1, 7));
    tg_tensor *w = in(g, "w", 1, DIMS(2), VALS(10, 100));
    ck_assert_int_eq(tg_backward(g, tg_mean(g, x)), TG_OK);
    EXPECT_GRAD(x, 1e-7, 1.0f / 6, 1.0f / 6, 1.0f / 6, 1.0f / 6, 1.0f / 6, 1.0f / 6);
    /* ties: the gradient goes to the first argmax only */
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_mul(g, tg_max_axis(g, x, 1), w))), TG_OK);
    EXPECT_GRAD(x, 0, 0, 10, 0, 100, 0, 0);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_mul(g, tg_mean_axis(g, x, 1), w))), TG_OK);
    EXPECT_GRAD(x, 1e-6, 10.0f / 3, 10.0f / 3, 10.0f / 3, 100.0f / 3, 100.0f / 3, 100.0f / 3);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_mul(g, tg_sum_axis(g, x, 0),
                                                     tg_scalar(g, 2)))), TG_OK);
    EXPECT_GRAD(x, 0, 2, 2, 2, 2, 2, 2);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_max_axis_nan_propagates)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 2, DIMS(2, 3), VALS(1, NAN, 3, 4, 5, 6));
    tg_tensor *y = tg_max_axis(g, x, 1);
    ck_assert(isnan(y->data[0]));
    ck_assert_float_eq(y->data[1], 6);
    tg_graph_free(g);
}
END_TEST

/* ---- shape ops ---------------------------------------------------------------------------- */
START_TEST(test_shape_forward)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 2, DIMS(2, 3), A23);
    tg_tensor *top = in(g, "top", 2, DIMS(1, 3), VALS(7, 8, 9));
    tg_tensor *col = in(g, "col", 2, DIMS(2, 1), VALS(-1, -2));
    tg_tensor *r = tg_reshape(g, x, 3, DIMS(3, 1, 2)), *t = tg_transpose(g, x), *c;
    EXPECT(r, 0, 1, 2, 3, 4, 5, 6);
    expect_shape(r, 3, DIMS(3, 1, 2));
    expect_shape(tg_reshape(g, x, 1, DIMS(6)), 1, DIMS(6));
    EXPECT(t, 0, 1, 4, 2, 5, 3, 6);
    expect_shape(t, 2, DIMS(3, 2));
    c = tg_concat(g, (tg_tensor *[]){ x, top }, 2, 0);
    EXPECT(c, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    expect_shape(c, 2, DIMS(3, 3));
    c = tg_concat(g, (tg_tensor *[]){ col, x, col }, 3, -1);
    EXPECT(c, 0, -1, 1, 2, 3, -1, -2, 4, 5, 6, -2);
    expect_shape(c, 2, DIMS(2, 5));
    c = tg_slice_rows(g, tg_concat(g, (tg_tensor *[]){ x, top }, 2, 0), 1, 3);
    EXPECT(c, 0, 4, 5, 6, 7, 8, 9);
    expect_shape(c, 2, DIMS(2, 3));
    tg_graph_free(g);
}
END_TEST

START_TEST(test_shape_backward)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 2, DIMS(3, 2), VALS(1, 2, 3, 4, 5, 6));
    tg_tensor *col = in(g, "col", 2, DIMS(3, 1), VALS(0, 0, 0));
    tg_tensor *w = in(g, "w", 2, DIMS(1, 2), VALS(10, 20));
    tg_tensor *w3 = in(g, "w3", 1, DIMS(3), VALS(1, 2, 3));
    /* rows outside the slice get exact zeros */
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_mul(g, tg_slice_rows(g, x, 1, 2), w))), TG_OK);
    EXPECT_GRAD(x, 0, 0, 0, 10, 20, 0, 0);
    /* transpose: dx[i,j] = w3[i] for y = x^T [2,3] times row w3 */
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_mul(g, tg_transpose(g, x), w3))), TG_OK);
    EXPECT_GRAD(x, 0, 1, 1, 2, 2, 3, 3);
    /* concat along axis 1: each input gets its own columns of dy */
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_mul(g, tg_concat(g, (tg_tensor *[]){ x, col },
                                                                  2, 1), w3))), TG_OK);
    EXPECT_GRAD(x, 0, 1, 2, 1, 2, 1, 2);
    EXPECT_GRAD(col, 0, 3, 3, 3);
    tg_graph_free(g);
}
END_TEST

/* ---- softmax and losses --------------------------------------------------------------------- */
START_TEST(test_softmax_forward)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 2, DIMS(2, 3), VALS(1, 2, 3, 5, 5, 5));
    tg_tensor *v = in(g, "v", 1, DIMS(3), VALS(1, 2, 3));
    EXPECT(tg_softmax(g, x), 1e-6, 0.09003057f, 0.24472847f, 0.66524096f, 1.0f / 3, 1.0f / 3,
           1.0f / 3);
    EXPECT(tg_log_softmax(g, x), 1e-6, -2.40760596f, -1.40760596f, -0.40760596f, -1.0986123f,
           -1.0986123f, -1.0986123f);
    EXPECT(tg_softmax(g, v), 1e-6, 0.09003057f, 0.24472847f, 0.66524096f);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_softmax_backward)
{
    /* d/dx_j sum_k w_k softmax_k = s_j (w_j - sum_k w_k s_k) */
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 1, DIMS(3), VALS(1, 2, 3));
    tg_tensor *w = in(g, "w", 1, DIMS(3), VALS(1, 0, 0));
    const float s0 = 0.09003057f, s1 = 0.24472847f, s2 = 0.66524096f;
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_mul(g, tg_softmax(g, x), w))), TG_OK);
    EXPECT_GRAD(x, 1e-6, s0 * (1 - s0), -s1 * s0, -s2 * s0);
    /* d/dx_j sum_k w_k log_softmax_k = w_j - s_j sum_k w_k */
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_mul(g, tg_log_softmax(g, x), w))), TG_OK);
    EXPECT_GRAD(x, 1e-6, 1 - s0, -s1, -s2);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_softmax_extremes)
{
    /* RELIABILITY 18-19: finite outputs summing to 1, finite gradients */
    static const float rows[][4] = {
        { 1e4f, -1e4f, 0, 1 }, { 3e38f, -3e38f, 0, 3e38f }, { 378, 1, 2, 3 },
        { 5, 5, 5, 5 }, { -INFINITY, 2, -INFINITY, -INFINITY }, { -INFINITY, 1, 2, 3 },
    };
    static const float want[][4] = {
        { 1, 0, 0, 0 }, { 0.5f, 0, 0, 0.5f }, { 1, 0, 0, 0 },
        { 0.25f, 0.25f, 0.25f, 0.25f }, { 0, 1, 0, 0 },
        { 0, 0.09003057f, 0.24472847f, 0.66524096f },
    };
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 2, DIMS(6, 4), &rows[0][0]);
    tg_tensor *w = in(g, "w", 1, DIMS(4), VALS(0.3f, -1, 2, 0.5f));
    tg_tensor *y = tg_softmax(g, x), *ly = tg_log_softmax(g, x);
    int r, j;
    expect(y, &want[0][0], 24, 1e-6);
    for (r = 0; r < 6; ++r) {
        double s = 0;
        for (j = 0; j < 4; ++j)
            s += y->data[r * 4 + j];
        ck_assert_double_eq_tol(s, 1.0, 1e-6);
    }
    ck_assert_float_eq(y->data[4 * 4 + 0], 0.0f); /* masked logit: an exact zero */
    ck_assert_float_eq(y->data[5 * 4 + 0], 0.0f);
    /* log-softmax: finite where representable, -inf exactly where masked */
    ck_assert_float_eq(ly->data[0], 0.0f);
    ck_assert_float_eq(ly->data[1], -2e4f);
    ck_assert_float_eq(ly->data[2], -1e4f);
    ck_assert_float_eq_tol(ly->data[3 * 4], -1.3862944f, 1e-6);
    ck_assert_float_eq(ly->data[4 * 4 + 1], 0.0f);
    ck_assert(isinf(ly->data[4 * 4]) && ly->data[4 * 4] < 0);
    ck_assert_float_eq_tol(ly->data[5 * 4 + 3], -0.40760596f, 1e-6);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_mul(g, y, w))), TG_OK);
    expect_all_finite(x->grad, x->size);
    ck_assert_int_eq(tg_backward(g, tg_sum(g, tg_mul(g, ly, w))), TG_OK);
    expect_all_finite(x->grad, x->size);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_xent_forward_labels_and_probs)
{
    /* rows [1,2,3] (class 2) and [1,1,1] (class 0): -log 0.66524096 + log 3 */
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "logits", 2, DIMS(2, 3), VALS(1, 2, 3, 1, 1, 1));
    tg_tensor *lab = in(g, "labels", 1, DIMS(2), VALS(2, 0));
    tg_tensor *oh = in(g, "onehot", 2, DIMS(2, 3), VALS(0, 0, 1, 1, 0, 0));
    tg_tensor *half = in(g, "half", 2, DIMS(2, 3), VALS(0.5f, 0.5f, 0, 0, 0, 1));
    tg_tensor *ls = tg_softmax_xent(g, x, lab, TG_REDUCE_SUM);
    tg_tensor *lm = tg_softmax_xent(g, x, lab, TG_REDUCE_MEAN);
    EXPECT(ls, 1e-6, 1.50621825f);
    expect_shape(ls, 0, NULL);
    EXPECT(lm, 1e-6, 0.75310913f);
    EXPECT(tg_softmax_xent(g, x, oh, TG_REDUCE_SUM), 1e-6, 1.50621825f);
    /* 0.5 (2.40760596 + 1.40760596) + 1.0986123 */
    EXPECT(tg_softmax_xent(g, x, half, TG_REDUCE_SUM), 1e-6, 3.00621825f);
    EXPECT(tg_apply(g, &tg_op_softmax_xent, (tg_tensor *[]){ x, lab }, 2, NULL, 0, NULL), 1e-6,
           0.75310913f); /* no args: the mean */
    tg_graph_free(g);
}
END_TEST

START_TEST(test_xent_backward)
{
    /* mean: dx = (softmax - onehot) / B; the target gets exact zeros */
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "logits", 2, DIMS(2, 3), VALS(1, 2, 3, 1, 1, 1));
    tg_tensor *lab = in(g, "labels", 1, DIMS(2), VALS(2, 0));
    tg_tensor *oh = in(g, "onehot", 2, DIMS(2, 3), VALS(0, 0, 1, 1, 0, 0));
    const float s0 = 0.09003057f, s1 = 0.24472847f, s2 = 0.66524096f, t = 1.0f / 3;
    ck_assert_int_eq(tg_backward(g, tg_softmax_xent(g, x, lab, TG_REDUCE_MEAN)), TG_OK);
    EXPECT_GRAD(x, 1e-6, s0 / 2, s1 / 2, (s2 - 1) / 2, (t - 1) / 2, t / 2, t / 2);
    EXPECT_GRAD(lab, 0, 0, 0);
    ck_assert_int_eq(tg_backward(g, tg_softmax_xent(g, x, oh, TG_REDUCE_SUM)), TG_OK);
    EXPECT_GRAD(x, 1e-6, s0, s1, s2 - 1, t - 1, t, t);
    EXPECT_GRAD(oh, 0, 0, 0, 0, 0, 0, 0);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_xent_extremes)
{
    /* RELIABILITY 19-20: from log-softmax, so underflow gives a large finite loss */
    static const float logits[] = {
        1e4f, -1e4f, 0,            /* label 1: p underflows, loss = 2e4 */
        3e38f, -3e38f, 0,          /* label 2: loss 3e38, still finite */
        0, -200, 0,                /* label 1: expf(-200) = 0, loss = 200 + ln 2 */
        7, 7, 7,                   /* label 0: ln 3 */
        -INFINITY, 4, -INFINITY,   /* label 1: masked others, loss 0 */
    };
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "logits", 2, DIMS(5, 3), logits);
    tg_tensor *lab = in(g, "labels", 1, DIMS(5), VALS(1, 2, 1, 0, 1));
    tg_tensor *rows[5], *loss;
    int r;
    for (r = 0; r < 5; ++r) {
        rows[r] = tg_softmax_xent(g, tg_slice_rows(g, x, r, r + 1),
                                  tg_slice_rows(g, lab, r, r + 1), TG_REDUCE_SUM);
        ck_assert_ptr_nonnull(rows[r]);
        ck_assert_msg(isfinite(rows[r]->data[0]), "row %d loss %g", r, (double)rows[r]->data[0]);
    }
    EXPECT(rows[0], 1e-6, 2e4f);
    EXPECT(rows[1], 1e-6, 3e38f);
    EXPECT(rows[2], 1e-6, 200.69314718f);
    EXPECT(rows[3], 1e-6, 1.0986123f);
    EXPECT(rows[4], 0, 0);
    loss = tg_softmax_xent(g, x, lab, TG_REDUCE_MEAN);
    ck_assert(isfinite(loss->data[0]));
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    expect_all_finite(x->grad, x->size);
    /* the gradient of row 0 is (softmax - onehot) / 5 = (1, -1, 0) / 5 */
    ck_assert_float_eq_tol(x->grad[0], 0.2f, 1e-7);
    ck_assert_float_eq_tol(x->grad[1], -0.2f, 1e-7);
    ck_assert_float_eq(x->grad[12], 0.0f);
    ck_assert_float_eq(x->grad[13], 0.0f);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_mse_forward_backward)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *p = in(g, "pred", 1, DIMS(3), VALS(1, 2, 3));
    tg_tensor *t = in(g, "target", 1, DIMS(3), VALS(0, 2, 5));
    tg_tensor *s = tg_mse(g, p, t, TG_REDUCE_SUM), *m = tg_mse(g, p, t, TG_REDUCE_MEAN);
    EXPECT(s, 0, 5);
    expect_shape(s, 0, NULL);
    EXPECT(m, 1e-7, 5.0f / 3);
    ck_assert_int_eq(tg_backward(g, s), TG_OK);
    EXPECT_GRAD(p, 0, 2, 0, -4);
    EXPECT_GRAD(t, 0, -2, 0, 4);
    ck_assert_int_eq(tg_backward(g, m), TG_OK);
    EXPECT_GRAD(p, 1e-7, 2.0f / 3, 0, -4.0f / 3);
    tg_graph_free(g);
}
END_TEST

/* ---- numerics (RELIABILITY 21, 25) --------------------------------------------------------- */
START_TEST(test_exp_overflow_numerics_check)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 1, DIMS(2), VALS(1, 89));
    tg_tensor *y = tg_exp(g, x);
    int nodes;
    ck_assert(isinf(y->data[1]) && y->data[1] > 0); /* IEEE: e^89 > FLT_MAX */
    tg_graph_set_check_numerics(g, 1);
    nodes = tg_graph_n_nodes(g);
    ck_assert_ptr_null(tg_exp(g, x));
    ck_assert_error(TG_ERR_NONFINITE, "exp");
    ck_assert_error(TG_ERR_NONFINITE, "index 1");
    ck_assert_int_eq(tg_graph_n_nodes(g), nodes);
    /* replay after the input changes: the forward stops at exp */
    ck_assert_int_eq(tg_tensor_set(x, VALS(1, 2), 2), TG_OK);
    ck_assert_int_eq(tg_graph_forward(g), TG_OK);
    ck_assert_int_eq(tg_tensor_set(x, VALS(89, 2), 2), TG_OK);
    ck_assert_int_eq(tg_graph_forward(g), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "exp (node 0)");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_ieee_results_propagate)
{
    /* log 0, log -1, sqrt -1, x / 0: inf and NaN, no trap, when the check is off */
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 1, DIMS(2), VALS(0, -1));
    tg_tensor *l = tg_log(g, x), *s = tg_sqrt(g, x), *d = tg_div(g, tg_scalar(g, 1), x);
    ck_assert(isinf(l->data[0]) && l->data[0] < 0);
    ck_assert(isnan(l->data[1]));
    ck_assert(isnan(s->data[1]));
    ck_assert(isinf(d->data[0]));
    tg_graph_free(g);
}
END_TEST

START_TEST(test_xent_bad_labels)
{
    /* non-integer, NaN, huge, negative and too-large labels: TG_ERR_RANGE before any
     * float->int conversion (UBSan float-cast-overflow clean); nothing added to the tape */
    static const struct {
        float label;
        const char *msg;
    } bad[] = {
        { 12, "softmax_xent: label 12 at row 3 outside 0..9" },
        { 10, "label 10 at row 3 outside 0..9" },
        { -1, "label -1 at row 3 outside 0..9" },
        { NAN, "label nan at row 3 outside 0..9" },
        { 1e30f, "label 1e+30 at row 3 outside 0..9" },
        { INFINITY, "label inf at row 3" },
        { 2.5f, "label 2.5 at row 3 is not an integer" },
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        tg_graph *g = tg_graph_new();
        tg_tensor *x = tg_input(g, "logits", 2, DIMS(4, 10));
        tg_tensor *lab = in(g, "labels", 1, DIMS(4), VALS(0, 9, 3, bad[i].label));
        int nodes = tg_graph_n_nodes(g);
        ck_assert_ptr_null(tg_softmax_xent(g, x, lab, TG_REDUCE_MEAN));
        ck_assert_error(TG_ERR_RANGE, bad[i].msg);
        ck_assert_int_eq(tg_graph_n_nodes(g), nodes);
        tg_graph_free(g);
    }
}
END_TEST

START_TEST(test_xent_bad_label_on_replay)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "logits", 2, DIMS(2, 3));
    tg_tensor *lab = in(g, "labels", 1, DIMS(2), VALS(0, 2));
    ck_assert_ptr_nonnull(tg_softmax_xent(g, x, lab, TG_REDUCE_SUM));
    ck_assert_int_eq(tg_tensor_set(lab, VALS(0, 3), 2), TG_OK);
    ck_assert_int_eq(tg_graph_forward(g), TG_ERR_RANGE);
    ck_assert_error(TG_ERR_RANGE, "label 3 at row 1 outside 0..2");
    tg_graph_free(g);
}
END_TEST

/* ---- subnormals (RELIABILITY 26; FTZ/DAZ are not set) ----------------------------------- */
/* Elementwise ops keep subnormals exactly: tanh x = x (x^2 underflows to 0), relu passes the
 * positive ones with gradient 1, and a sum of subnormals is exact (they share the 2^-149
 * grid). Flushing them to zero would give zeros and zero gradients here. */
START_TEST(test_subnormal_elementwise)
{
    static const float v[5] = { 1e-40f, -3e-39f, FLT_TRUE_MIN, -FLT_TRUE_MIN,
                                FLT_MIN - FLT_TRUE_MIN };
    static const float relu_want[5] = { 1e-40f, 0, FLT_TRUE_MIN, 0, FLT_MIN - FLT_TRUE_MIN };
    tg_graph *g = tg_graph_new();
    tg_tensor *x = in(g, "x", 1, DIMS(5), v);
    tg_tensor *c = tg_const(g, "c", 1, DIMS(5), VALS(0.5f, -2, 3, 1.25f, -1));
    tg_tensor *t = tg_tanh(g, x), *r = tg_relu(g, x), *s = tg_sum(g, x);
    int i;
    for (i = 0; i < 5; ++i)
        ck_assert_int_eq(fpclassify(v[i]), FP_SUBNORMAL);
    ck_assert_mem_eq(t->data, v, sizeof v);
    ck_assert_mem_eq(r->data, relu_want, sizeof relu_want);
    ck_assert_float_eq(s->data[0], (float)((double)v[0] + v[1] + v[2] + v[3] + v[4]));
    ck_assert_int_eq(fpclassify(s->data[0]), FP_SUBNORMAL);
    /* d/dx sum(c tanh x + c relu x) = c (1 - x^2) + c [x > 0] = c + c [x > 0] */
    ck_assert_int_eq(tg_backward(g, tg_add(g, tg_sum(g, tg_mul(g, c, t)),
                                           tg_sum(g, tg_mul(g, c, r)))), TG_OK);
    EXPECT_GRAD(x, 0, 1, -2, 6, 1.25f, -2);
    tg_graph_free(g);
}
END_TEST

/* |got - want| <= 1e-6 scale + n FLT_TRUE_MIN: relative error for normal results, and n
 * roundings of at most FLT_TRUE_MIN / 2 each for subnormal ones. */
static void near(float got, double want, double scale, int n, const char *what, int k)
{
    ck_assert_msg(fabs((double)got - want) <= 1e-6 * scale + n * (double)FLT_TRUE_MIN,
                  "%s[%d]: got %.9g, want %.9g", what, k, (double)got, want);
}

/* linear -> tanh -> relu -> softmax_xent (sum) and the backward, on a batch of subnormal
 * inputs and biases, against the same in double. z and dw are sums of products of subnormals
 * and normal numbers: subnormal, so their slack is a few FLT_TRUE_MIN (about 1e-5 of their
 * size); dx, db and the softmax are normal and held to 1e-6. */
START_TEST(test_subnormal_net_forward_backward)
{
    enum { B = 8, I = 16, O = 4 };
    static const float sub[5] = { 1e-40f, -3e-39f, FLT_TRUE_MIN, 2.5e-39f, -7e-41f };
    float xv[B * I], wv[O * I], lv[B];
    const float bv[O] = { 2e-40f, -1e-40f, FLT_TRUE_MIN, 0 };
    double dz[B * O], loss = 0;
    tg_graph *g = tg_graph_new();
    tg_tensor *x, *w, *b, *lab, *z, *y, *r, *l;
    int i, k, o, pos = 0, neg = 0;
    for (k = 0; k < B * I; ++k)
        xv[k] = sub[k % 5] * (float)(1 + k % 3);
    for (k = 0; k < O * I; ++k)
        wv[k] = 0.125f * (float)(k * 5 % 11 - 5);
    for (k = 0; k < B; ++k)
        lv[k] = (float)(k % O);
    x = in(g, "x", 2, DIMS(B, I), xv);
    w = in(g, "w", 2, DIMS(O, I), wv);
    b = in(g, "b", 1, DIMS(O), bv);
    lab = tg_input(g, "labels", 1, DIMS(B));
    ck_assert_int_eq(tg_tensor_set(lab, lv, B), TG_OK);
    z = tg_linear(g, x, w, b);
    y = tg_tanh(g, z);
    r = tg_relu(g, y);
    l = tg_softmax_xent(g, r, lab, TG_REDUCE_SUM);
    ck_assert_int_eq(tg_backward(g, l), TG_OK);
    for (k = 0; k < B; ++k) {
        double m = -INFINITY, se = 0, e[O];
        for (o = 0; o < O; ++o) {
            double acc = bv[o], mag = fabs(bv[o]);
            for (i = 0; i < I; ++i) {
                acc += (double)xv[k * I + i] * wv[o * I + i];
                mag += fabs((double)xv[k * I + i] * wv[o * I + i]);
            }
            near(z->data[k * O + o], acc, mag, I + 2, "z", k * O + o);
            ck_assert_int_eq(fpclassify(z->data[k * O + o]), FP_SUBNORMAL);
            pos += acc > 0;
            neg += acc < 0;
            m = fmax(m, r->data[k * O + o]);
        }
        for (o = 0; o < O; ++o)
            se += e[o] = exp(r->data[k * O + o] - m);
        loss += m + log(se) - r->data[k * O + (int)lv[k]];
        for (o = 0; o < O; ++o)
            dz[k * O + o] = (e[o] / se - (o == (int)lv[k])) * (y->data[k * O + o] > 0);
    }
    ck_assert_int_gt(pos, 0);
    ck_assert_int_gt(neg, 0);
    ck_assert_mem_eq(y->data, z->data, B * O * sizeof(float));
    for (k = 0; k < B * O; ++k) {
        ck_assert_float_eq(r->data[k], z->data[k] > 0 ? z->data[k] : 0.0f);
        near(z->grad[k], dz[k], 1, 0, "dz", k);
    }
    near(l->data[0], loss, loss, 0, "loss", 0);
    for (k = 0; k < B; ++k)
        for (i = 0; i < I; ++i) {
            double acc = 0, mag = 0;
            for (o = 0; o < O; ++o) {
                acc += dz[k * O + o] * wv[o * I + i];
                mag += fabs(dz[k * O + o] * wv[o * I + i]);
            }
            near(x->grad[k * I + i], acc, mag, 0, "dx", k * I + i);
        }
    for (o = 0; o < O; ++o) {
        double db = 0;
        for (i = 0; i < I; ++i) {
            double acc = 0, mag = 0;
            for (k = 0; k < B; ++k) {
                acc += dz[k * O + o] * xv[k * I + i];
                mag += fabs(dz[k * O + o] * xv[k * I + i]);
            }
            near(w->grad[o * I + i], acc, mag, B + 2, "dw", o * I + i);
        }
        for (k = 0; k < B; ++k)
            db += dz[k * O + o];
        near(b->grad[o], db, 1, 0, "db", o);
    }
    tg_graph_free(g);
}
END_TEST

/* ---- the op table ------------------------------------------------------------------------- */
START_TEST(test_table_lookup)
{
    static const char *const acts[] = { "tanh", "sigmoid", "relu", "leaky_relu", "elu",
                                         "softplus", "softsign", "identity" };
    int i, j, n_act = 0;
    ck_assert_int_eq(TG_BUILTIN_OP_COUNT, 36);
    for (i = 0; i < TG_BUILTIN_OP_COUNT; ++i) {
        ck_assert_ptr_eq(tg_op_find(tg_builtin_ops[i]->name), tg_builtin_ops[i]);
        ck_assert(tg_builtin_ops[i]->flags & TG_OP_GRAD_ASSIGN);
        ck_assert_ptr_nonnull(tg_builtin_ops[i]->backward);
        for (j = 0; j < i; ++j)
            ck_assert_str_ne(tg_builtin_ops[i]->name, tg_builtin_ops[j]->name);
        n_act += tg_op_is_activation(tg_builtin_ops[i]);
    }
    ck_assert_int_eq(n_act, 8);
    for (i = 0; i < 8; ++i)
        ck_assert(tg_op_is_activation(tg_op_find(acts[i])));
    ck_assert(!tg_op_is_activation(&tg_op_exp));
    ck_assert(!tg_op_is_activation(NULL));
    ck_assert_ptr_null(tg_op_find("swish"));
    ck_assert_ptr_null(tg_op_find(NULL));
    ck_assert_ptr_eq(tg_op_find("softmax_xent"), &tg_op_softmax_xent);
}
END_TEST

/* ---- errors: status, message, and no node added ------------------------------------------ */
/* Runs EXPR (a builder call), which must fail with status S and a message containing MSG
 * without adding a node. */
#define EXPECT_FAIL(g, EXPR, S, MSG)                                                       \
    do {                                                                                   \
        int nodes_ = tg_graph_n_nodes(g);                                                  \
        tg_error_clear();                                                                  \
        ck_assert_ptr_null(EXPR);                                                          \
        ck_assert_error((S), (MSG));                                                       \
        ck_assert_int_eq(tg_graph_n_nodes(g), nodes_);                                     \
    } while (0)

START_TEST(test_error_matmul_inner_dims)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_input(g, "a", 2, DIMS(2, 3)), *b = tg_input(g, "b", 2, DIMS(4, 5));
    EXPECT_FAIL(g, tg_matmul(g, a, b, 0, 0), TG_ERR_SHAPE, "inner dims 3 vs 4");
    ck_assert_error(TG_ERR_SHAPE, "[2,3]");
    ck_assert_error(TG_ERR_SHAPE, "[4,5]");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_error_binary_not_broadcastable)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_input(g, "a", 2, DIMS(32, 10)), *b = tg_input(g, "b", 2, DIMS(32, 11));
    tg_tensor *r = tg_input(g, "r", 1, DIMS(32)), *c = tg_input(g, "c", 2, DIMS(10, 1));
    EXPECT_FAIL(g, tg_add(g, a, b), TG_ERR_SHAPE, "'a' [32,10] and 'b' [32,11]");
    EXPECT_FAIL(g, tg_sub(g, a, r), TG_ERR_SHAPE, "sub: 'a' [32,10] and 'r' [32]");
    EXPECT_FAIL(g, tg_mul(g, c, a), TG_ERR_SHAPE, "mul: 'c' [10,1] and 'a' [32,10]");
    EXPECT_FAIL(g, tg_div(g, b, a), TG_ERR_SHAPE, "div: 'b' [32,11] and 'a' [32,10]");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_error_reshape)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 3, DIMS(3, 4, 5));
    EXPECT_FAIL(g, tg_reshape(g, x, 2, DIMS(7, 9)), TG_ERR_SHAPE,
                "reshape: 60 elements to [7,9]=63");
    ck_assert_error(TG_ERR_SHAPE, "'x' [3,4,5]");
    EXPECT_FAIL(g, tg_reshape(g, x, 2, DIMS(0, 60)), TG_ERR_SHAPE, "dim 0 of [0,60] is 0");
    EXPECT_FAIL(g, tg_reshape(g, x, 2, DIMS(-6, -10)), TG_ERR_SHAPE, "is -6");
    EXPECT_FAIL(g, tg_reshape(g, x, 5, DIMS(1, 1, 3, 4, 5)), TG_ERR_SHAPE, "rank 5 outside");
    EXPECT_FAIL(g, tg_reshape(g, x, 4, DIMS(65536, 65536, 65536, 65536)), TG_ERR_OVERFLOW,
                "overflows");
    EXPECT_FAIL(g, tg_reshape(g, x, 2, NULL), TG_ERR_ARG, "dims is NULL");
    EXPECT_FAIL(g, tg_apply(g, &tg_op_reshape, &x, 1, NULL, 0, NULL), TG_ERR_ARG,
                "needs tg_reshape_args");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_error_null_input)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_input(g, "a", 2, DIMS(2, 3)), *b = tg_input(g, "b", 2, DIMS(4, 5));
    EXPECT_FAIL(g, tg_add(g, a, NULL), TG_ERR_ARG, "add: input 1 is NULL");
    EXPECT_FAIL(g, tg_tanh(g, NULL), TG_ERR_ARG, "tanh: input 0 is NULL");
    /* a failed op's NULL flows through a composed expression with the root cause's status */
    EXPECT_FAIL(g, tg_sigmoid(g, tg_sum(g, tg_matmul(g, a, b, 0, 0))), TG_ERR_SHAPE,
                "inner dims 3 vs 4");
    ck_assert_error(TG_ERR_SHAPE, "sum: input 0 is NULL");
    EXPECT_FAIL(g, tg_concat(g, (tg_tensor *[]){ a, NULL }, 2, 0), TG_ERR_ARG,
                "input 1 is NULL");
    EXPECT_FAIL(g, tg_concat(g, NULL, 2, 0), TG_ERR_ARG, "input array is NULL");
    EXPECT_FAIL(g, tg_concat(g, (tg_tensor *[]){ a }, 0, 0), TG_ERR_ARG, "given 0 inputs");
    EXPECT_FAIL(g, tg_softmax_xent(g, NULL, a, TG_REDUCE_SUM), TG_ERR_ARG, "input 0 is NULL");
    EXPECT_FAIL(g, tg_mse(g, a, NULL, TG_REDUCE_SUM), TG_ERR_ARG, "input 1 is NULL");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_error_two_graphs)
{
    tg_graph *g1 = tg_graph_new(), *g2 = tg_graph_new();
    tg_tensor *a = tg_input(g1, "a", 1, DIMS(3)), *b = tg_input(g2, "b", 1, DIMS(3));
    EXPECT_FAIL(g1, tg_add(g1, a, b), TG_ERR_ARG, "another graph");
    ck_assert_error(TG_ERR_ARG, "'b'");
    EXPECT_FAIL(g2, tg_mul(g2, b, a), TG_ERR_ARG, "another graph");
    EXPECT_FAIL(g1, tg_concat(g1, (tg_tensor *[]){ a, b }, 2, 0), TG_ERR_ARG, "another graph");
    ck_assert_int_eq(tg_graph_n_nodes(g2), 0);
    tg_graph_free(g1);
    tg_graph_free(g2);
}
END_TEST

START_TEST(test_error_axis)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 2, DIMS(2, 3)), *s = tg_scalar(g, 1);
    EXPECT_FAIL(g, tg_sum_axis(g, x, 2), TG_ERR_ARG, "sum_axis: axis 2 outside -2..1 for 'x'");
    EXPECT_FAIL(g, tg_mean_axis(g, x, -3), TG_ERR_ARG, "mean_axis: axis -3 outside -2..1");
    EXPECT_FAIL(g, tg_max_axis(g, s, 0), TG_ERR_SHAPE, "max_axis:");
    ck_assert_error(TG_ERR_SHAPE, "is a scalar");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_error_shape_ops)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 2, DIMS(2, 3)), *y = tg_input(g, "y", 2, DIMS(3, 2));
    tg_tensor *v = tg_input(g, "v", 1, DIMS(3));
    EXPECT_FAIL(g, tg_transpose(g, v), TG_ERR_SHAPE, "transpose: 'v' [3] must be 2-D");
    EXPECT_FAIL(g, tg_concat(g, (tg_tensor *[]){ x, y }, 2, 0), TG_ERR_SHAPE,
                "concat: input 1 'y' [3,2] does not match input 0 'x' [2,3] outside axis 0");
    EXPECT_FAIL(g, tg_concat(g, (tg_tensor *[]){ x, v }, 2, 1), TG_ERR_SHAPE, "input 1 'v' [3]");
    EXPECT_FAIL(g, tg_concat(g, (tg_tensor *[]){ x, x }, 2, 2), TG_ERR_ARG,
                "concat: axis 2 outside -2..1");
    EXPECT_FAIL(g, tg_slice_rows(g, x, 1, 3), TG_ERR_ARG,
                "slice_rows: rows [1,3) are not a non-empty range within [0,2) of 'x' [2,3]");
    EXPECT_FAIL(g, tg_slice_rows(g, x, 1, 1), TG_ERR_ARG, "rows [1,1)");
    EXPECT_FAIL(g, tg_slice_rows(g, x, -1, 1), TG_ERR_ARG, "rows [-1,1)");
    EXPECT_FAIL(g, tg_apply(g, &tg_op_slice_rows, &x, 1, NULL, 0, NULL), TG_ERR_ARG,
                "needs tg_slice_args");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_error_losses)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "logits", 2, DIMS(4, 5)), *v = tg_input(g, "v", 1, DIMS(5));
    tg_tensor *t3 = tg_input(g, "t", 1, DIMS(3)), *t45 = tg_input(g, "t2", 2, DIMS(5, 4));
    EXPECT_FAIL(g, tg_softmax_xent(g, v, v, TG_REDUCE_SUM), TG_ERR_SHAPE,
                "softmax_xent: logits 'v' [5] must be [B,C]");
    EXPECT_FAIL(g, tg_softmax_xent(g, x, t3, TG_REDUCE_SUM), TG_ERR_SHAPE,
                "target 't' [3] must be [4,5] (probabilities) or [4] (labels) for logits "
                "'logits' [4,5]");
    EXPECT_FAIL(g, tg_softmax_xent(g, x, t45, TG_REDUCE_SUM), TG_ERR_SHAPE, "'t2' [5,4]");
    EXPECT_FAIL(g, tg_softmax_xent(g, x, x, (tg_reduce)7), TG_ERR_ARG,
                "softmax_xent: reduce is 7");
    EXPECT_FAIL(g, tg_mse(g, x, t45, TG_REDUCE_MEAN), TG_ERR_SHAPE,
                "mse: pred 'logits' [4,5] and target 't2' [5,4] must have the same shape");
    EXPECT_FAIL(g, tg_mse(g, v, v, (tg_reduce)-1), TG_ERR_ARG, "mse: reduce is -1");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_error_failed_forward_adds_no_node)
{
    /* a forward error (labels) after a successful shape check also rolls back */
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "logits", 2, DIMS(2, 3));
    tg_tensor *lab = in(g, "labels", 1, DIMS(2), VALS(0, 7));
    int tensors = tg_graph_n_tensors(g);
    EXPECT_FAIL(g, tg_softmax_xent(g, x, lab, TG_REDUCE_SUM), TG_ERR_RANGE, "label 7 at row 1");
    ck_assert_int_eq(tg_graph_n_tensors(g), tensors);
    tg_graph_free(g);
}
END_TEST

Suite *suite_ops(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("forward");
    tcase_add_test(tc, test_binary_forward_same_shape);
    tcase_add_test(tc, test_unary_forward);
    tcase_add_test(tc, test_activation_forward);
    tcase_add_test(tc, test_activation_default_args);
    tcase_add_test(tc, test_reduce_forward);
    tcase_add_test(tc, test_reduce_middle_axis);
    tcase_add_test(tc, test_max_axis_nan_propagates);
    tcase_add_test(tc, test_shape_forward);
    tcase_add_test(tc, test_softmax_forward);
    tcase_add_test(tc, test_xent_forward_labels_and_probs);
    tcase_add_test(tc, test_mse_forward_backward);
    tcase_add_test(tc, test_table_lookup);
    suite_add_tcase(s, tc);

    tc = tcase_create("broadcast");
    tcase_add_test(tc, test_binary_broadcast_row);
    tcase_add_test(tc, test_binary_broadcast_row_3d);
    tcase_add_test(tc, test_binary_broadcast_scalar);
    suite_add_tcase(s, tc);

    tc = tcase_create("grad");
    tcase_add_test(tc, test_unary_backward);
    tcase_add_test(tc, test_activation_backward);
    tcase_add_test(tc, test_reduce_backward);
    tcase_add_test(tc, test_shape_backward);
    tcase_add_test(tc, test_softmax_backward);
    tcase_add_test(tc, test_xent_backward);
    suite_add_tcase(s, tc);

    tc = tcase_create("numerics");
    tcase_add_test(tc, test_activation_extremes_finite);
    tcase_add_test(tc, test_softmax_extremes);
    tcase_add_test(tc, test_xent_extremes);
    tcase_add_test(tc, test_exp_overflow_numerics_check);
    tcase_add_test(tc, test_ieee_results_propagate);
    tcase_add_test(tc, test_xent_bad_labels);
    tcase_add_test(tc, test_xent_bad_label_on_replay);
    tcase_add_test(tc, test_subnormal_elementwise);
    tcase_add_test(tc, test_subnormal_net_forward_backward);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, test_error_matmul_inner_dims);
    tcase_add_test(tc, test_error_binary_not_broadcastable);
    tcase_add_test(tc, test_error_reshape);
    tcase_add_test(tc, test_error_null_input);
    tcase_add_test(tc, test_error_two_graphs);
    tcase_add_test(tc, test_error_axis);
    tcase_add_test(tc, test_error_shape_ops);
    tcase_add_test(tc, test_error_losses);
    tcase_add_test(tc, test_error_failed_forward_adds_no_node);
    suite_add_tcase(s, tc);
    return s;
}
