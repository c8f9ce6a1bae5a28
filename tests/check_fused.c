/*
 * check_fused.c -- the performance paths: the vectorised tanh against double precision and at
 * its special values; the fused SGD step against the plain path; the plain path whenever a
 * hook or a weight penalty needs it, and only on the steps a periodic hook samples; no
 * allocation per fused step; no second gradient for a param bound to caller storage.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests.h"

/* ---- tanh -------------------------------------------------------------------------------- */
/* y = tanh(x) on n points of [-12, 12] and the special values, through a graph. */
static tg_graph *tanh_graph(const float *x, int n, tg_tensor **y)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *in = tg_input(g, "x", 1, &n);
    ck_assert_int_eq(tg_tensor_set(in, x, (size_t)n), TG_OK);
    *y = tg_tanh(g, in);
    ck_assert_ptr_nonnull(*y);
    return g;
}

/* Within 2e-7 relative (about 2 ulp) of tanh in double, everywhere on a fine grid. */
START_TEST(test_tanh_accuracy)
{
    enum { N = 24001 };
    static float x[N];
    tg_tensor *y;
    tg_graph *g;
    int i;
    for (i = 0; i < N; ++i)
        x[i] = (float)(-12.0 + 24.0 * i / (N - 1));
    g = tanh_graph(x, N, &y);
    for (i = 0; i < N; ++i) {
        double t = tanh((double)x[i]);
        ck_assert_msg(fabs(y->data[i] - t) <= 2e-7 * fabs(t) + 1e-45, "tanh(%.9g) = %.9g, not "
                      "%.9g", (double)x[i], (double)y->data[i], t);
    }
    tg_graph_free(g);
}
END_TEST

/* +-0 keeps its sign, tiny values are exact, saturation gives exactly +-1 (so 1 - y^2 = 0 in
 * backward), +-Inf gives +-1, NaN stays NaN (the numerics check must see it). */
START_TEST(test_tanh_special_values)
{
    const float x[] = { 0.0f, -0.0f, 1e-30f, -1e-30f, 20.0f, -20.0f, INFINITY, -INFINITY, NAN };
    tg_tensor *y;
    tg_graph *g = tanh_graph(x, 9, &y);
    ck_assert(y->data[0] == 0.0f && !signbit(y->data[0]));
    ck_assert(y->data[1] == 0.0f && signbit(y->data[1]));
    ck_assert_float_eq(y->data[2], 1e-30f);
    ck_assert_float_eq(y->data[3], -1e-30f);
    ck_assert_float_eq(y->data[4], 1.0f);
    ck_assert_float_eq(y->data[5], -1.0f);
    ck_assert_float_eq(y->data[6], 1.0f);
    ck_assert_float_eq(y->data[7], -1.0f);
    ck_assert(isnan(y->data[8]));
    tg_graph_free(g);
}
END_TEST

/* ---- fused SGD ---------------------------------------------------------------------------- */
enum { B = 6, IN = 3, C = 3, N_BATCHES = 4 };
static float data_x[N_BATCHES * B * IN], data_y[N_BATCHES * B];
static long calls;

static tg_status next_batch(void *src, tg_batch *b)
{
    size_t k = (size_t)(calls++ % N_BATCHES);
    memset(b, 0, sizeof *b);
    b->n = B;
    b->x = data_x + k * B * IN;
    b->labels = data_y + k * B;
    return TG_OK;
}

static void data_fill(void)
{
    uint64_t s = 9;
    int i;
    for (i = 0; i < N_BATCHES * B * IN; ++i)
        data_x[i] = (float)tg_rand_uniform(&s, -1, 1);
    for (i = 0; i < N_BATCHES * B; ++i)
        data_y[i] = (float)(i % C);
    calls = 0;
}

/* 3-5-4-3, tanh then relu, uniform biases so that no gradient is trivially zero. */
static tg_net *small_net(void)
{
    tg_layer_spec ls[3];
    int l;
    memset(ls, 0, sizeof ls);
    for (l = 0; l < 3; ++l) {
        ls[l].n_nodes = l == 0 ? 5 : l == 1 ? 4 : C;
        ls[l].activation = l == 0 ? &tg_op_tanh : l == 1 ? &tg_op_relu : &tg_op_identity;
        ls[l].weight_init = (tg_init){ TG_INIT_UNIFORM, -0.8, 0.8 };
        ls[l].bias_init = (tg_init){ TG_INIT_UNIFORM, 0.05, 0.2 };
    }
    return tg_net_new(IN, ls, 3, 21);
}

static tg_status noop_hook(const tg_tensor *t, int when, const float *v, long step, long epoch,
                           void *user)
{
    return TG_OK;
}

/* Train `steps` SGD steps (lr 0.1, summed cross-entropy); hooked = a no-op gradient hook on
 * layer 1's weight, which forces the plain path. Returns the net; *gn the last grad norm. */
static tg_net *train_small(int hooked, const tg_loss *loss, long steps, double *gn)
{
    tg_net *net = small_net();
    tg_net_graph *ng = tg_net_graph_new(net, B, loss);
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 0.1);
    tg_optim *opt = tg_optim_new_net(&oo, net);
    tg_train_opts to = tg_train_defaults();
    int id;
    if (hooked)
        ck_assert_int_eq(tg_hook_add(tg_net_graph_layer(ng, 1, TG_LAYER_WEIGHT), TG_ON_GRAD,
                                     noop_hook, NULL, &id), TG_OK);
    to.max_steps = steps;
    data_fill();
    ck_assert_int_eq(tg_train(ng, opt, next_batch, NULL, &to, NULL), TG_OK);
    ck_assert_int_eq(tg_optim_steps(opt), steps);
    *gn = tg_optim_grad_norm(opt);
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    return net;
}

/* The reference: the same steps by hand, tg_backward then tg_optim_step on a second net. */
static tg_net *train_by_hand(long steps)
{
    tg_net *net = small_net();
    tg_net_graph *ng = tg_net_graph_new(net, B, &tg_loss_softmax_xent_sum);
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 0.1);
    tg_optim *opt = tg_optim_new_net(&oo, net);
    tg_graph *g = tg_net_graph_tape(ng);
    long k;
    data_fill();
    for (k = 0; k < steps; ++k) {
        tg_batch b;
        next_batch(NULL, &b);
        ck_assert_int_eq(tg_net_graph_bind(ng, b.x, b.labels), TG_OK);
        ck_assert_int_eq(tg_graph_forward(g), TG_OK);
        ck_assert_int_eq(tg_backward(g, tg_net_graph_loss(ng)), TG_OK);
        ck_assert_int_eq(tg_optim_step(opt), TG_OK);
    }
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    return net;
}

static double max_diff(tg_net *a, tg_net *b)
{
    size_t n, i;
    const float *va = tg_net_values(a, &n), *vb = tg_net_values(b, NULL);
    double m = 0;
    for (i = 0; i < n; ++i)
        m = fmax(m, fabs((double)va[i] - vb[i]));
    return m;
}

/* tg_train with plain SGD takes the fused step (grad norm NaN: never formed) and lands where
 * tg_backward + tg_optim_step do, to rounding; with a hook on a weight it takes the plain path
 * (grad norm finite) and is bit-identical to the reference. */
START_TEST(test_train_sgd_fused_matches_plain)
{
    double gn_fused, gn_plain;
    tg_net *ref = train_by_hand(40);
    tg_net *fused = train_small(0, &tg_loss_softmax_xent_sum, 40, &gn_fused);
    tg_net *plain = train_small(1, &tg_loss_softmax_xent_sum, 40, &gn_plain);
    tg_net *init = small_net();
    ck_assert(isnan(gn_fused));
    ck_assert(isfinite(gn_plain) && gn_plain > 0);
    ck_assert_double_lt(max_diff(fused, ref), 1e-5);
    ck_assert_double_gt(max_diff(fused, init), 1e-2); /* it did train */
    tg_net_free(init);
    ck_assert_double_eq(max_diff(plain, ref), 0.0);
    tg_net_free(ref);
    tg_net_free(fused);
    tg_net_free(plain);
}
END_TEST

/* A loss that adds 0.5 ||w1||^2 reads a weight outside its layer: the graph must take the plain
 * path, or the penalty's gradient would be lost. Checked against the same loss trained with a
 * hook (plain path for sure): identical. */
static tg_tensor *xent_plus_penalty(tg_graph *g, tg_tensor *out, tg_tensor *y, void *user)
{
    tg_tensor *w = tg_graph_find(g, "w1");
    tg_tensor *pen = tg_mul(g, tg_sum(g, tg_mul(g, w, w)), tg_scalar(g, 0.5f));
    return tg_add(g, tg_softmax_xent(g, out, y, TG_REDUCE_SUM), pen);
}

START_TEST(test_train_sgd_penalty_takes_plain_path)
{
    const tg_loss pen = { "xent+penalty", xent_plus_penalty, TG_TARGET_LABELS, NULL };
    double gn_a, gn_b;
    tg_net *a = train_small(0, &pen, 30, &gn_a), *b = train_small(1, &pen, 30, &gn_b);
    ck_assert(isfinite(gn_a));
    ck_assert_double_eq(max_diff(a, b), 0.0);
    tg_net_free(a);
    tg_net_free(b);
}
END_TEST

/* ---- allocation --------------------------------------------------------------------------- */
static long n_calls;
static void *count_malloc(size_t n, void *u) { n_calls++; return malloc(n); }
static void *count_realloc(void *p, size_t n, void *u) { n_calls++; return realloc(p, n); }
static void count_free(void *p, void *u) { n_calls++; free(p); }

/* Fused SGD steps allocate nothing after the first; a param whose gradient is bound to the
 * net's block gets no gradient storage of its own. */
START_TEST(test_train_sgd_zero_alloc)
{
    const tg_allocator counting = { count_malloc, count_realloc, count_free, NULL };
    tg_net *net;
    tg_net_graph *ng;
    tg_optim *opt;
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 0.05);
    tg_train_opts to = tg_train_defaults();
    int l;
    tg_set_allocator(&counting);
    net = small_net();
    ng = tg_net_graph_new(net, B, &tg_loss_softmax_xent_sum);
    opt = tg_optim_new_net(&oo, net);
    data_fill();
    to.max_steps = 1;
    ck_assert_int_eq(tg_train(ng, opt, next_batch, NULL, &to, NULL), TG_OK);
    n_calls = 0;
    to.max_steps = 50;
    ck_assert_int_eq(tg_train(ng, opt, next_batch, NULL, &to, NULL), TG_OK);
    ck_assert_int_eq(n_calls, 0);
    ck_assert(isnan(tg_optim_grad_norm(opt)));
    for (l = 0; l < 3; ++l) {
        tg_tensor *w = tg_net_graph_layer(ng, l, TG_LAYER_WEIGHT);
        ck_assert_ptr_eq(w->grad, tg_net_weight_grad(net, l));
        ck_assert_ptr_null(w->own_grad);
    }
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    tg_net_free(net);
    tg_set_allocator(NULL);
}
END_TEST

/* A gradient hook that samples every 4th step (as a monitor at period 4 does) turns the fused
 * step off on those steps only: the gradient norm is formed on steps 0 and 4, not between. */
START_TEST(test_train_sgd_periodic_hook_fuses_between_samples)
{
    tg_net *net = small_net();
    tg_net_graph *ng = tg_net_graph_new(net, B, &tg_loss_softmax_xent_sum);
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 0.1);
    tg_optim *opt = tg_optim_new_net(&oo, net);
    tg_train_opts to = tg_train_defaults();
    tg_tensor *w = tg_net_graph_layer(ng, 1, TG_LAYER_WEIGHT);
    int id, k;
    ck_assert_int_eq(tg_hook_add(w, TG_ON_GRAD, noop_hook, NULL, &id), TG_OK);
    ck_assert_int_eq(tg_hook_set_period(w, id, 4), TG_OK);
    ck_assert_int_eq(tg_hook_set_period(w, id, 0), TG_ERR_ARG);
    ck_assert_int_eq(tg_hook_set_period(w, id + 99, 4), TG_ERR_STATE);
    to.max_steps = 1;
    data_fill();
    for (k = 0; k < 8; ++k) {
        ck_assert_int_eq(tg_train(ng, opt, next_batch, NULL, &to, NULL), TG_OK);
        ck_assert_msg(isnan(tg_optim_grad_norm(opt)) == (k % 4 != 0),
                      "step %d: grad norm %g", k, tg_optim_grad_norm(opt));
    }
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

Suite *suite_fused(void)
{
    Suite *s = suite_create("fused");
    TCase *tc = tcase_create("forward");
    tcase_add_test(tc, test_tanh_accuracy);
    tcase_add_test(tc, test_tanh_special_values);
    suite_add_tcase(s, tc);
    tc = tcase_create("train");
    tcase_add_test(tc, test_train_sgd_fused_matches_plain);
    tcase_add_test(tc, test_train_sgd_penalty_takes_plain_path);
    tcase_add_test(tc, test_train_sgd_zero_alloc);
    tcase_add_test(tc, test_train_sgd_periodic_hook_fuses_between_samples);
    suite_add_tcase(s, tc);
    return s;
}
