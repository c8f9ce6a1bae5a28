/*
 * check_diagnose.c -- layer monitors and the gradient diagnosis.
 *
 * A 3-4-2 net (tanh, identity; summed softmax cross-entropy, batch 2, fixed weights) trained
 * three SGD steps: every layer monitor's samples at steps 0 and 2 against dz, db, dW, a and the
 * weights computed in double by hand. Also: spec strings, adding (ranges, duplicates, all or
 * nothing, allocation failures, no allocation while sampling), CSV files and plots per set,
 * the DOT metric array, verdicts on deliberately vanishing / healthy / dead / saturated /
 * exploding nets (the exploding one exactly: orthogonal weights of gain 4 give ratios 4^k),
 * deep-16 on real MNIST digits, and the JSON member (escaping, truncation, comma locale).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests.h"

/* ---- a counting, failing allocator ------------------------------------------------------ */
static long n_calls, fail_at = -1;

static void *count_malloc(size_t n, void *u)
{
    (void)u;
    return n_calls++ == fail_at ? NULL : malloc(n);
}

static void *count_realloc(void *p, size_t n, void *u)
{
    (void)u;
    return n_calls++ == fail_at ? NULL : realloc(p, n);
}

static void count_free(void *p, void *u)
{
    (void)u;
    free(p);
}

static void setup(void)
{
    static const tg_allocator a = { count_malloc, count_realloc, count_free, NULL };
    n_calls = 0;
    fail_at = -1;
    tg_set_allocator(&a);
    tg_error_clear();
}

static void teardown(void)
{
    tg_set_allocator(NULL);
}

static void assert_close(double got, double want, const char *what)
{
    ck_assert_msg(fabs(got - want) <= 1e-5 + 1e-4 * fabs(want), "%s: got %.9g, want %.9g", what,
                  got, want);
}

/* ---- the tiny net: x [2,3] -> tanh(4) -> identity(2), labels y ------------------------- */
enum { TB = 2, TI = 3, TH = 4, TO = 2, TSTEPS = 3 };
#define TLR 0.1
static const float tx[TB * TI] = { 1.0f, 0.5f, -1.0f, -0.5f, 1.0f, 0.5f };
static const float ty[TB] = { 1, 0 };
/* unit 3 has large weights: |z| > 3.5 in both rows, tanh saturated (> 0.99) */
static const float tw1[TH * TI] = { 0.5f, -0.3f, 0.8f, -0.6f, 0.2f, 0.4f,
                                    0.1f, 0.9f, -0.7f, 2.0f, 4.0f, 1.0f };
static const float tb1[TH] = { 0.1f, -0.2f, 0.05f, 0.5f };
static const float tw2[TO * TH] = { 0.3f, -0.5f, 0.7f, 0.2f, -0.4f, 0.6f, -0.1f, 0.3f };
static const float tb2[TO] = { 0.05f, -0.05f };

typedef struct {
    double w1[TH * TI], b1[TH], w2[TO * TH], b2[TO];
} tparams;

typedef struct {
    double loss, a1[TB * TH], dz1[TB * TH], dz2[TB * TO], dw1[TH * TI], db1[TH], dw2[TO * TH],
        db2[TO];
} tref;

/* Forward and backward by hand in double:
 *   z1 = x w1^T + b1, a1 = tanh z1, z2 = a1 w2^T + b2, L = sum_b logsumexp(z2_b) - z2_b[y_b]
 *   dz2 = softmax(z2) - onehot(y), dw2 = dz2^T a1, db2 = colsum dz2,
 *   dz1 = (dz2 w2) * (1 - a1^2),   dw1 = dz1^T x,  db1 = colsum dz1 */
static void tiny_ref(const tparams *p, tref *r)
{
    int b, h, i, o;
    memset(r, 0, sizeof *r);
    for (b = 0; b < TB; ++b) {
        double z2[TO], mx, se = 0;
        for (h = 0; h < TH; ++h) {
            double z = p->b1[h];
            for (i = 0; i < TI; ++i)
                z += (double)tx[b * TI + i] * p->w1[h * TI + i];
            r->a1[b * TH + h] = tanh(z);
        }
        for (o = 0; o < TO; ++o) {
            z2[o] = p->b2[o];
            for (h = 0; h < TH; ++h)
                z2[o] += r->a1[b * TH + h] * p->w2[o * TH + h];
        }
        mx = fmax(z2[0], z2[1]);
        for (o = 0; o < TO; ++o)
            se += exp(z2[o] - mx);
        r->loss += mx + log(se) - z2[(int)ty[b]];
        for (o = 0; o < TO; ++o)
            r->dz2[b * TO + o] = exp(z2[o] - mx) / se - (o == (int)ty[b]);
        for (h = 0; h < TH; ++h) {
            double da = 0, a = r->a1[b * TH + h];
            for (o = 0; o < TO; ++o)
                da += r->dz2[b * TO + o] * p->w2[o * TH + h];
            r->dz1[b * TH + h] = da * (1 - a * a);
        }
    }
    for (b = 0; b < TB; ++b) {
        for (o = 0; o < TO; ++o) {
            r->db2[o] += r->dz2[b * TO + o];
            for (h = 0; h < TH; ++h)
                r->dw2[o * TH + h] += r->dz2[b * TO + o] * r->a1[b * TH + h];
        }
        for (h = 0; h < TH; ++h) {
            r->db1[h] += r->dz1[b * TH + h];
            for (i = 0; i < TI; ++i)
                r->dw1[h * TI + i] += r->dz1[b * TH + h] * tx[b * TI + i];
        }
    }
}

static void tiny_params(tparams *p)
{
    int k;
    for (k = 0; k < TH * TI; ++k)
        p->w1[k] = tw1[k];
    for (k = 0; k < TH; ++k)
        p->b1[k] = tb1[k];
    for (k = 0; k < TO * TH; ++k)
        p->w2[k] = tw2[k];
    for (k = 0; k < TO; ++k)
        p->b2[k] = tb2[k];
}

/* The reference of step s (params after s SGD updates) into *r, params into *p. */
static void tiny_at(long s, tparams *p, tref *r)
{
    long t;
    int k;
    tiny_params(p);
    for (t = 0;; ++t) {
        tiny_ref(p, r);
        if (t == s)
            return;
        for (k = 0; k < TH * TI; ++k)
            p->w1[k] -= TLR * r->dw1[k];
        for (k = 0; k < TH; ++k)
            p->b1[k] -= TLR * r->db1[k];
        for (k = 0; k < TO * TH; ++k)
            p->w2[k] -= TLR * r->dw2[k];
        for (k = 0; k < TO; ++k)
            p->b2[k] -= TLR * r->db2[k];
    }
}

static double norm(const double *v, int n)
{
    double s = 0;
    int k;
    for (k = 0; k < n; ++k)
        s += v[k] * v[k];
    return sqrt(s);
}

/* A batch source repeating one batch forever. */
typedef struct {
    float *x, *labels;
    size_t B;
} one_batch;

static tg_status one_next(void *p, tg_batch *b)
{
    one_batch *s = p;
    b->n = s->B;
    b->epoch = 0;
    b->x = s->x;
    b->labels = s->labels;
    return TG_OK;
}

typedef struct {
    tg_net *net;
    tg_net_graph *ng;
    float x[TB * TI], y[TB];
} tiny;

static void tiny_build(tiny *t)
{
    const tg_init zeros = { TG_INIT_ZEROS, 0, 0 };
    tg_layer_spec ls[2] = { { TH, &tg_op_tanh, NULL, 0, zeros, zeros },
                            { TO, &tg_op_identity, NULL, 0, zeros, zeros } };
    t->net = tg_net_new(TI, ls, 2, 1);
    ck_assert_ptr_nonnull(t->net);
    memcpy(tg_net_weight(t->net, 0), tw1, sizeof tw1);
    memcpy(tg_net_bias(t->net, 0), tb1, sizeof tb1);
    memcpy(tg_net_weight(t->net, 1), tw2, sizeof tw2);
    memcpy(tg_net_bias(t->net, 1), tb2, sizeof tb2);
    t->ng = tg_net_graph_new(t->net, TB, &tg_loss_softmax_xent_sum);
    ck_assert_ptr_nonnull(t->ng);
    memcpy(t->x, tx, sizeof tx);
    memcpy(t->y, ty, sizeof ty);
}

static void tiny_train(tiny *t, long steps)
{
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, TLR);
    tg_optim *opt = tg_optim_new_net(&oo, t->net);
    tg_train_opts to = tg_train_defaults();
    one_batch src = { t->x, t->y, TB };
    to.max_steps = steps;
    ck_assert_ptr_nonnull(opt);
    ck_assert_msg(tg_train(t->ng, opt, one_next, &src, &to, NULL) == TG_OK, "%s",
                  tg_last_error());
    tg_optim_free(opt);
}

static void tiny_free(tiny *t)
{
    tg_net_graph_free(t->ng);
    tg_net_free(t->net);
}

/* Every kind on every layer, period 2. */
static tg_monitor_set *tiny_set(tiny *t)
{
    tg_monitor_set_opts o = { .steps = TSTEPS };
    tg_monitor_set *ms = tg_monitor_set_new(t->ng, &o);
    int k;
    ck_assert_ptr_nonnull(ms);
    for (k = 0; k < TG_WATCH_KIND_COUNT; ++k)
        ck_assert_msg(tg_monitor_set_add(ms, (tg_watch_kind)k, 2, TG_ALL_LAYERS) == TG_OK,
                      "%s", tg_last_error());
    return ms;
}

static const tg_monitor *get(const tg_monitor_set *ms, tg_monitor_role r, int layer)
{
    const tg_monitor *m = tg_monitor_set_lookup(ms, r, layer);
    ck_assert_msg(m != NULL, "no monitor of role %d on layer %d", (int)r, layer);
    ck_assert_int_eq(tg_monitor_n_samples(m), 2);
    ck_assert_int_eq(tg_monitor_steps(m)[0], 0);
    ck_assert_int_eq(tg_monitor_steps(m)[1], 2);
    return m;
}

/* Sample i's unit u. */
static double val(const tg_monitor *m, int i, int u)
{
    return tg_monitor_values(m)[(size_t)i * (size_t)tg_monitor_n_units(m) + (size_t)u];
}

static int hist_bin(double v, double lo, double hi, int bins)
{
    int b = (int)((v - lo) * (bins / (hi - lo)));
    return b < bins ? b : bins - 1;
}

/* ---- records ------------------------------------------------------------------------------ */
START_TEST(test_layers_records_match_hand)
{
    tiny t;
    tg_monitor_set *ms;
    int i, h, o, k;
    tiny_build(&t);
    ms = tiny_set(&t);
    /* loss 1, grad 3 x 2, gradnorm 3 x 2, weight 2 x 2, activation 3 (tanh) + 2 (identity) */
    ck_assert_int_eq(tg_monitor_set_count(ms), 22);
    tiny_train(&t, TSTEPS);
    for (i = 0; i < 2; ++i) {
        const long step = 2 * i;
        tparams p;
        tref r;
        double wrow, stats_mean = 0, stats_var = 0;
        tiny_at(step, &p, &r);
        assert_close(val(get(ms, TG_ROLE_LOSS, 0), i, 0), r.loss, "loss");
        for (h = 0; h < TH; ++h) {
            double dwrow = norm(r.dw1 + h * TI, TI), a_mean = 0, sat = 0;
            assert_close(val(get(ms, TG_ROLE_BIAS_GRAD, 0), i, h), r.db1[h], "db1");
            assert_close(val(get(ms, TG_ROLE_WEIGHT_GRAD_UNIT, 0), i, h), dwrow, "|dw1 row|");
            wrow = norm(p.w1 + h * TI, TI);
            assert_close(val(get(ms, TG_ROLE_WEIGHT_UNIT, 0), i, h), wrow, "|w1 row|");
            for (k = 0; k < TB; ++k) {
                a_mean += r.a1[k * TH + h] / TB;
                sat += (fabs(r.a1[k * TH + h]) > 0.99) / (double)TB;
            }
            assert_close(val(get(ms, TG_ROLE_ACT_MEAN, 0), i, h), a_mean, "mean a1");
            ck_assert_double_eq(val(get(ms, TG_ROLE_ACT_SATURATED, 0), i, h), sat);
            ck_assert_double_eq(sat, h == 3 ? 1.0 : 0.0);
        }
        for (o = 0; o < TO; ++o) {
            assert_close(val(get(ms, TG_ROLE_BIAS_GRAD, 1), i, o), r.db2[o], "db2");
            assert_close(val(get(ms, TG_ROLE_WEIGHT_GRAD_UNIT, 1), i, o),
                         norm(r.dw2 + o * TH, TH), "|dw2 row|");
            assert_close(val(get(ms, TG_ROLE_WEIGHT_UNIT, 1), i, o), norm(p.w2 + o * TH, TH),
                         "|w2 row|");
        }
        assert_close(val(get(ms, TG_ROLE_PRE_GRAD_NORM, 0), i, 0), norm(r.dz1, TB * TH),
                     "||dz1||");
        assert_close(val(get(ms, TG_ROLE_PRE_GRAD_NORM, 1), i, 0), norm(r.dz2, TB * TO),
                     "||dz2||");
        assert_close(val(get(ms, TG_ROLE_WEIGHT_GRAD_NORM, 0), i, 0), norm(r.dw1, TH * TI),
                     "||dw1||");
        assert_close(val(get(ms, TG_ROLE_WEIGHT_GRAD_NORM, -1), i, 0), norm(r.dw2, TO * TH),
                     "||dw2||");
        assert_close(val(get(ms, TG_ROLE_BIAS_GRAD_NORM, 0), i, 0), norm(r.db1, TH), "||db1||");
        assert_close(val(get(ms, TG_ROLE_BIAS_GRAD_NORM, 1), i, 0), norm(r.db2, TO), "||db2||");
        /* ||db|| <= sqrt(B) ||dz||: the bias gradient sums dz over the batch */
        ck_assert(norm(r.db1, TH) <= sqrt(TB) * norm(r.dz1, TB * TH) + 1e-12);
        for (k = 0; k < TH * TI; ++k)
            stats_mean += p.w1[k] / (TH * TI);
        for (k = 0; k < TH * TI; ++k)
            stats_var += (p.w1[k] - stats_mean) * (p.w1[k] - stats_mean) / (TH * TI);
        assert_close(val(get(ms, TG_ROLE_WEIGHT_STATS, 0), i, 0), norm(p.w1, TH * TI), "||W1||");
        assert_close(val(get(ms, TG_ROLE_WEIGHT_STATS, 0), i, 1), stats_mean, "mean W1");
        assert_close(val(get(ms, TG_ROLE_WEIGHT_STATS, 0), i, 2), sqrt(stats_var), "std W1");
        /* histograms: a1 over [-1,1] (50 bins), dz1 over [-1,1] (summed loss), 8 values each */
        {
            const tg_monitor *ha = get(ms, TG_ROLE_ACT_HIST, 0);
            const tg_monitor *hg = get(ms, TG_ROLE_PRE_GRAD_HIST, 0);
            double ca[53] = { 0 }, cg[53] = { 0 };
            ck_assert_int_eq(tg_monitor_n_units(ha), 53);
            ck_assert_float_eq(tg_monitor_options(hg)->lo, -1.0f);
            ck_assert_float_eq(tg_monitor_options(hg)->hi, 1.0f);
            for (k = 0; k < TB * TH; ++k) {
                ca[hist_bin(r.a1[k], -1, 1, 50)] += 1;
                cg[hist_bin(r.dz1[k], -1, 1, 50)] += 1;
            }
            for (k = 0; k < 53; ++k) {
                ck_assert_double_eq(val(ha, i, k), ca[k]);
                ck_assert_double_eq(val(hg, i, k), cg[k]);
            }
            ck_assert_double_eq(val(ha, i, 49), 2); /* the saturated unit, both rows */
        }
    }
    /* the output layer (identity) has no saturation or dead monitor */
    ck_assert_ptr_null(tg_monitor_set_lookup(ms, TG_ROLE_ACT_SATURATED, 1));
    ck_assert_ptr_null(tg_monitor_set_lookup(ms, TG_ROLE_ACT_DEAD, 0));
    ck_assert_ptr_nonnull(tg_monitor_set_lookup(ms, TG_ROLE_ACT_HIST, 1));
    tg_monitor_set_free(ms);
    tiny_free(&t);
}
END_TEST

START_TEST(test_layers_names_roles)
{
    tiny t;
    tg_monitor_set *ms;
    static const char *const want[] = { "grad_layer0_bias", "grad_layer0_weight",
                                        "grad_layer0_hist", "grad_layer1_bias",
                                        "grad_layer1_weight", "grad_layer1_hist" };
    int i;
    tiny_build(&t);
    ms = tg_monitor_set_new(t.ng, NULL);
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_GRAD, 5, TG_ALL_LAYERS), TG_OK);
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_LOSS, 3, 7), TG_OK); /* layer ignored */
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_GRADNORM, 1, -1), TG_OK);
    ck_assert_int_eq(tg_monitor_set_count(ms), 10);
    for (i = 0; i < 6; ++i) {
        ck_assert_str_eq(tg_monitor_name(tg_monitor_set_get(ms, i)), want[i]);
        ck_assert_int_eq(tg_monitor_set_layer(ms, i), i / 3);
        ck_assert_int_eq(tg_monitor_period(tg_monitor_set_get(ms, i)), 5);
    }
    ck_assert_int_eq(tg_monitor_set_role(ms, 0), TG_ROLE_BIAS_GRAD);
    ck_assert_int_eq(tg_monitor_set_role(ms, 2), TG_ROLE_PRE_GRAD_HIST);
    ck_assert_str_eq(tg_monitor_name(tg_monitor_set_get(ms, 6)), "loss");
    ck_assert_int_eq(tg_monitor_set_layer(ms, 6), -1);
    ck_assert_str_eq(tg_monitor_name(tg_monitor_set_get(ms, 7)), "gradnorm_layer1");
    ck_assert_str_eq(tg_monitor_name(tg_monitor_set_get(ms, 8)), "gradnorm_layer1_weight");
    ck_assert_str_eq(tg_monitor_name(tg_monitor_set_get(ms, 9)), "gradnorm_layer1_bias");
    ck_assert_ptr_eq(tg_monitor_set_lookup(ms, TG_ROLE_PRE_GRAD_NORM, -1),
                     tg_monitor_set_get(ms, 7));
    ck_assert_ptr_null(tg_monitor_set_lookup(ms, TG_ROLE_PRE_GRAD_NORM, 0));
    ck_assert_ptr_null(tg_monitor_set_get(ms, 10));
    ck_assert_int_eq(tg_monitor_set_role(ms, -1), TG_ROLE_COUNT);
    ck_assert_int_eq(tg_monitor_set_n_layers(ms), 2);
    ck_assert_str_eq(tg_monitor_set_activation(ms, 0), "tanh");
    ck_assert_str_eq(tg_monitor_set_activation(ms, -1), "identity");
    ck_assert_ptr_null(tg_monitor_set_activation(ms, 2));
    /* the gradient's bias monitor watches b1's gradient, per unit */
    ck_assert_int_eq(tg_monitor_n_units(tg_monitor_set_get(ms, 0)), TH);
    ck_assert_int_eq(tg_monitor_options(tg_monitor_set_get(ms, 0))->grad, 1);
    tg_monitor_set_free(ms);
    tiny_free(&t);
}
END_TEST

/* Sigmoid saturation (a < 0.01 or a > 0.99) is watched on z as |z| > ln 99; relu's dead
 * fraction is a == 0 per unit. */
START_TEST(test_layers_sigmoid_relu_fractions)
{
    const tg_init zeros = { TG_INIT_ZEROS, 0, 0 };
    tg_layer_spec ls[3] = { { 2, &tg_op_sigmoid, NULL, 0, zeros, zeros },
                            { 2, &tg_op_relu, NULL, 0, zeros, zeros },
                            { 2, &tg_op_identity, NULL, 0, zeros, zeros } };
    /* z0 = x w0^T: unit 0 = 5 x0 (|z| > 4.595 iff |x0| > 0.919), unit 1 = x1 */
    static const float w0[4] = { 5, 0, 0, 1 }, w1[4] = { 1, 0, 0, -1 }, b1[2] = { -0.7f, 0 };
    float x[8] = { 1.0f, 0.5f, -0.95f, 0.2f, 0.5f, -3.0f, 0.0f, 0.1f }, y[4] = { 0, 1, 0, 1 };
    tg_net *net = tg_net_new(2, ls, 3, 1);
    tg_net_graph *ng;
    tg_monitor_set *ms;
    const tg_monitor *sat, *dead;
    tg_graph *g;
    ck_assert_ptr_nonnull(net);
    memcpy(tg_net_weight(net, 0), w0, sizeof w0);
    memcpy(tg_net_weight(net, 1), w1, sizeof w1);
    memcpy(tg_net_bias(net, 1), b1, sizeof b1);
    ng = tg_net_graph_new(net, 4, &tg_loss_softmax_xent_sum);
    ms = tg_monitor_set_new(ng, NULL);
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_ACTIVATION, 1, TG_ALL_LAYERS), TG_OK);
    g = tg_net_graph_tape(ng);
    ck_assert_int_eq(tg_net_graph_bind(ng, x, y), TG_OK);
    tg_graph_set_step(g, 0, 0);
    ck_assert_int_eq(tg_graph_forward(g), TG_OK);
    sat = tg_monitor_set_lookup(ms, TG_ROLE_ACT_SATURATED, 0);
    dead = tg_monitor_set_lookup(ms, TG_ROLE_ACT_DEAD, 1);
    ck_assert_ptr_nonnull(sat);
    ck_assert_ptr_nonnull(dead);
    ck_assert_ptr_null(tg_monitor_set_lookup(ms, TG_ROLE_ACT_DEAD, 0));
    ck_assert_ptr_null(tg_monitor_set_lookup(ms, TG_ROLE_ACT_SATURATED, 1));
    ck_assert_str_eq(tg_monitor_name(sat), "act_layer0_saturated");
    ck_assert_str_eq(tg_monitor_name(dead), "act_layer1_dead");
    /* unit 0: z = 5, -4.75, 2.5, 0 -> saturated rows 0 and 1; unit 1: |x1| <= 3 < 4.595 */
    ck_assert_double_eq(val(sat, 0, 0), 0.5);
    ck_assert_double_eq(val(sat, 0, 1), 0.0); /* x1 = -3.0: sigmoid(-3) = 0.047, not < 0.01 */
    /* layer 1: a0 = sigmoid(z0) in (0,1); z1[unit 0] = a0_0 - 0.7: relu 0 where a0_0 < 0.7,
     * i.e. rows 1 (0.009) and 3 (0.5); unit 1 = -a0_1 < 0 always: dead in every row */
    ck_assert_double_eq(val(dead, 0, 0), 0.5);
    ck_assert_double_eq(val(dead, 0, 1), 1.0);
    /* histograms: sigmoid over [0, 1], relu over [0, 4] */
    ck_assert_float_eq(tg_monitor_options(tg_monitor_set_lookup(ms, TG_ROLE_ACT_HIST, 0))->lo,
                       0.0f);
    ck_assert_float_eq(tg_monitor_options(tg_monitor_set_lookup(ms, TG_ROLE_ACT_HIST, 1))->hi,
                       4.0f);
    tg_monitor_set_free(ms);
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

/* ---- spec strings ---------------------------------------------------------------------- */
START_TEST(test_spec_parse_good)
{
    tg_monitor_spec s;
    ck_assert_int_eq(tg_monitor_spec_parse("grad:200:-1", &s), TG_OK);
    ck_assert_int_eq(s.kind, TG_WATCH_GRAD);
    ck_assert_int_eq(s.period, 200);
    ck_assert_int_eq(s.layer, -1);
    ck_assert_int_eq(tg_monitor_spec_parse("gradnorm:20", &s), TG_OK);
    ck_assert_int_eq(s.kind, TG_WATCH_GRADNORM);
    ck_assert_int_eq(s.period, 20);
    ck_assert_int_eq(s.layer, TG_ALL_LAYERS);
    ck_assert_int_eq(tg_monitor_spec_parse("grad_norm:1:3", &s), TG_OK);
    ck_assert_int_eq(s.kind, TG_WATCH_GRADNORM);
    ck_assert_int_eq(s.layer, 3);
    ck_assert_int_eq(tg_monitor_spec_parse("loss:10", &s), TG_OK);
    ck_assert_int_eq(s.kind, TG_WATCH_LOSS);
    ck_assert_int_eq(tg_monitor_spec_parse("weight:5:0", &s), TG_OK);
    ck_assert_int_eq(s.kind, TG_WATCH_WEIGHT);
    ck_assert_int_eq(s.layer, 0);
    ck_assert_int_eq(tg_monitor_spec_parse("activation:7:+2", &s), TG_OK);
    ck_assert_int_eq(s.kind, TG_WATCH_ACTIVATION);
    ck_assert_int_eq(s.period, 7);
    ck_assert_int_eq(s.layer, 2);
    ck_assert_str_eq(tg_watch_name(TG_WATCH_ACTIVATION), "activation");
    ck_assert_ptr_null(tg_watch_name(TG_WATCH_KIND_COUNT));
    ck_assert_int_eq(tg_watch_find("weight"), TG_WATCH_WEIGHT);
}
END_TEST

START_TEST(test_spec_parse_bad)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        { "grad:0:1", "period 0; sample every period >= 1" },
        { "grad:-5", "period -5" },
        { "grads:10", "monitor kind 'grads' unknown (known: loss, grad" },
        { "grad", "expected KIND:PERIOD[:LAYER]" },
        { "", "expected KIND:PERIOD[:LAYER]" },
        { "grad:", "period '' is not a decimal integer" },
        { "grad:ten", "period 'ten' is not a decimal integer" },
        { "grad:10x", "period '10x'" },
        { "grad: 10", "period ' 10'" },
        { "grad:99999999999999999999999", "not a decimal integer in range" },
        { "grad:10:x", "layer 'x' is not a decimal integer" },
        { "grad:10:", "layer '' is not" },
        { "grad:10:1:2", "extra field after the layer" },
        { "grad:10:99999999999", "layer '99999999999'" },
        { "loss:10:0", "loss takes no layer" },
        { "averyveryveryveryverylongkindname:1", "unknown" },
    };
    tg_monitor_spec s = { TG_WATCH_WEIGHT, 42, 9 };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        tg_error_clear();
        ck_assert_msg(tg_monitor_spec_parse(bad[i].text, &s) == TG_ERR_ARG, "%s", bad[i].text);
        ck_assert_error(TG_ERR_ARG, bad[i].msg);
        ck_assert_msg(strstr(tg_last_error(), bad[i].text) != NULL, "%s", tg_last_error());
        ck_assert_int_eq(s.period, 42); /* untouched on error */
    }
    ck_assert_int_eq(tg_monitor_spec_parse(NULL, &s), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "text is NULL");
    ck_assert_int_eq(tg_monitor_spec_parse("grad:1", NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "out is NULL");
    ck_assert_int_eq(tg_watch_find("bias"), -1);
    ck_assert_error(TG_ERR_ARG, "'bias' unknown");
}
END_TEST

/* ---- adding: errors, all or nothing, allocation ------------------------------------------ */
START_TEST(test_set_add_errors)
{
    tiny t;
    tg_monitor_set *ms;
    tg_monitor_spec spec;
    tg_net_graph *pred;
    tiny_build(&t);
    ms = tg_monitor_set_new(t.ng, NULL);
    ck_assert_ptr_nonnull(ms);
    ck_assert_int_eq(tg_monitor_spec_parse("grad:10:5", &spec), TG_OK);
    ck_assert_int_eq(tg_monitor_set_add_spec(ms, &spec), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "grad: layer 5 outside -2..1 (the net has 2 layers)");
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_WEIGHT, 1, -3), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "layer -3 outside -2..1");
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_GRAD, 0, 0), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "grad: period 0");
    ck_assert_int_eq(tg_monitor_set_add(ms, (tg_watch_kind)9, 1, 0), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "kind 9 unknown");
    ck_assert_int_eq(tg_monitor_set_add(NULL, TG_WATCH_GRAD, 1, 0), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "set is NULL");
    ck_assert_int_eq(tg_monitor_set_add_spec(ms, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "spec is NULL");
    ck_assert_int_eq(tg_monitor_set_count(ms), 0);
    /* duplicates: the second call fails as a whole, naming the first clash */
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_GRADNORM, 4, 1), TG_OK);
    ck_assert_int_eq(tg_monitor_set_count(ms), 3);
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_GRADNORM, 1, TG_ALL_LAYERS), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "'gradnorm_layer1' is watched already");
    ck_assert_int_eq(tg_monitor_set_count(ms), 3);
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_LOSS, 1, 0), TG_OK);
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_LOSS, 2, 0), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "'loss' is watched already");
    /* add_diagnosis is all or nothing too: gradnorm clashes on layer 1 */
    ck_assert_int_eq(tg_monitor_set_add_diagnosis(ms, 1), TG_ERR_ARG);
    ck_assert_int_eq(tg_monitor_set_count(ms), 4);
    /* detached: no more additions; data stay */
    ck_assert_int_eq(tg_monitor_set_detach(ms), TG_OK);
    ck_assert_int_eq(tg_monitor_set_detach(ms), TG_ERR_STATE);
    ck_assert_error(TG_ERR_STATE, "detached already");
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_WEIGHT, 1, 0), TG_ERR_STATE);
    ck_assert_error(TG_ERR_STATE, "weight: the set is detached");
    tg_monitor_set_free(ms);
    /* a graph without a loss has no loss to watch */
    pred = tg_net_graph_new(t.net, 3, NULL);
    ms = tg_monitor_set_new(pred, NULL);
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_LOSS, 1, 0), TG_ERR_STATE);
    ck_assert_error(TG_ERR_STATE, "graph was built without a loss");
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_ACTIVATION, 1, 0), TG_OK);
    tg_monitor_set_free(ms);
    tg_net_graph_free(pred);
    /* options */
    ck_assert_ptr_null(tg_monitor_set_new(NULL, NULL));
    ck_assert_error(TG_ERR_ARG, "graph is NULL");
    ck_assert_ptr_null(tg_monitor_set_new(t.ng, &(tg_monitor_set_opts){ .cap = 1 }));
    ck_assert_error(TG_ERR_ARG, "cap 1 (0 or >= 2)");
    ck_assert_ptr_null(tg_monitor_set_new(t.ng, &(tg_monitor_set_opts){ .grad_hist_range = -1 }));
    ck_assert_error(TG_ERR_ARG, "grad_hist_range -1");
    ck_assert_ptr_null(tg_monitor_set_new(t.ng, &(tg_monitor_set_opts){ .n_hist_steps = 2 }));
    ck_assert_error(TG_ERR_ARG, "2 hist_steps (NULL)");
    tg_monitor_set_free(NULL);
    tiny_free(&t);
}
END_TEST

/* RELIABILITY #65: every allocation of set_new, add and diagnose failing in turn gives
 * TG_ERR_NOMEM with the set as it was; the sanitizers see no leak. */
START_TEST(test_set_alloc_failures)
{
    tiny t;
    long k;
    int done = 0;
    tiny_build(&t);
    for (k = 0; !done; ++k) {
        tg_monitor_set *ms;
        tg_diagnosis d;
        tg_status s = TG_OK;
        int w, before;
        n_calls = 0;
        fail_at = k;
        ms = tg_monitor_set_new(t.ng, &(tg_monitor_set_opts){ .steps = 10 });
        if (!ms) {
            ck_assert_error(TG_ERR_NOMEM, "out of memory");
            continue;
        }
        for (w = 0; w < TG_WATCH_KIND_COUNT && s == TG_OK; ++w) {
            before = tg_monitor_set_count(ms);
            s = tg_monitor_set_add(ms, (tg_watch_kind)w, 1, TG_ALL_LAYERS);
            if (s != TG_OK) {
                ck_assert_int_eq(s, TG_ERR_NOMEM);
                ck_assert_int_eq(tg_monitor_set_count(ms), before);
            }
        }
        if (s == TG_OK) {
            fail_at = -1;
            tiny_train(&t, 1);
            fail_at = n_calls; /* the next allocation: diagnose's table */
            s = tg_diagnose(ms, NULL, &d);
            ck_assert_int_eq(s, TG_ERR_NOMEM);
            ck_assert_ptr_null(d.layers);
            fail_at = -1;
            ck_assert_int_eq(tg_diagnose(ms, NULL, &d), TG_OK);
            tg_diagnosis_release(&d);
            done = 1;
        }
        tg_monitor_set_free(ms);
    }
    ck_assert_int_gt(k, 20);
    tiny_free(&t);
}
END_TEST

/* STYLE 5: with storage planned from the expected steps, sampling allocates nothing. */
START_TEST(test_set_sampling_no_alloc)
{
    tiny t;
    tg_monitor_set *ms;
    long before;
    tiny_build(&t);
    ms = tg_monitor_set_new(t.ng, &(tg_monitor_set_opts){ .steps = 200 });
    ck_assert_int_eq(tg_monitor_set_add_diagnosis(ms, 1), TG_OK);
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_GRAD, 1, TG_ALL_LAYERS), TG_OK);
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_LOSS, 1, 0), TG_OK);
    {
        tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, TLR);
        tg_optim *opt = tg_optim_new_net(&oo, t.net);
        tg_train_opts to = tg_train_defaults();
        one_batch src = { t.x, t.y, TB };
        to.max_steps = 1;
        ck_assert_int_eq(tg_train(t.ng, opt, one_next, &src, &to, NULL), TG_OK);
        before = n_calls;
        to.max_steps = 150;
        ck_assert_int_eq(tg_train(t.ng, opt, one_next, &src, &to, NULL), TG_OK);
        ck_assert_int_eq(n_calls, before);
        tg_optim_free(opt);
    }
    ck_assert_int_eq(tg_monitor_n_samples(tg_monitor_set_lookup(ms, TG_ROLE_LOSS, 0)), 151);
    tg_monitor_set_free(ms);
    tiny_free(&t);
}
END_TEST

/* ---- files ------------------------------------------------------------------------------ */
static void make_dir(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", test_tmpdir(), name);
    ck_assert(mkdir(buf, 0777) == 0 || errno == EEXIST);
}

START_TEST(test_set_write_csv)
{
    tiny t;
    tg_monitor_set *ms;
    char dir[400], path[600], line[256];
    const tg_monitor *loss;
    FILE *f;
    int i, rows;
    tiny_build(&t);
    ms = tiny_set(&t);
    tiny_train(&t, TSTEPS);
    snprintf(dir, sizeof dir, "%s/diag_csv", test_tmpdir());
    ck_assert_int_eq(tg_monitor_set_write_csv(ms, dir), TG_OK); /* dir created */
    for (i = 0; i < tg_monitor_set_count(ms); ++i) {
        const tg_monitor *m = tg_monitor_set_get(ms, i);
        snprintf(path, sizeof path, "%s/%s.csv", dir, tg_monitor_name(m));
        f = fopen(path, "r");
        ck_assert_msg(f != NULL, "missing %s", path);
        ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
        ck_assert_str_eq(line, "step,epoch,unit,value\n");
        for (rows = 0; fgets(line, sizeof line, f); ++rows)
            ;
        ck_assert_int_eq(rows, 2 * tg_monitor_n_units(m));
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/grad_layer0_bias.csv", dir);
    ck_assert_int_eq(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/gradnorm_layer1.csv", dir);
    ck_assert_int_eq(access(path, R_OK), 0);
    /* loss.csv: step 0 and step 2, bitwise */
    loss = tg_monitor_set_lookup(ms, TG_ROLE_LOSS, 0);
    snprintf(path, sizeof path, "%s/loss.csv", dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    for (i = 0; i < 2; ++i) {
        long step, epoch;
        int unit;
        float v;
        ck_assert_int_eq(fscanf(f, "%ld,%ld,%d,%g", &step, &epoch, &unit, &v), 4);
        ck_assert_int_eq(step, 2 * i);
        ck_assert_int_eq(unit, 0);
        ck_assert_float_eq(v, tg_monitor_values(loss)[i]);
    }
    fclose(f);
    /* a directory whose parent is missing */
    snprintf(path, sizeof path, "%s/diag_no_such_dir/sub", test_tmpdir());
    ck_assert_int_eq(tg_monitor_set_write_csv(ms, path), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, "cannot create directory");
    ck_assert_error(TG_ERR_IO, "diag_no_such_dir/sub");
    ck_assert_int_eq(tg_monitor_set_write_csv(ms, ""), TG_ERR_ARG);
    ck_assert_int_eq(tg_monitor_set_write_csv(NULL, dir), TG_ERR_ARG);
    tg_monitor_set_free(ms);
    tiny_free(&t);
}
END_TEST

/* A detached set outlives its graph: CSV, metric and diagnosis still work. */
START_TEST(test_set_detached_outlives_graph)
{
    tiny t;
    tg_monitor_set *ms;
    tg_diagnosis d;
    double metric[64];
    char dir[400];
    int n_set;
    tiny_build(&t);
    ms = tiny_set(&t);
    tiny_train(&t, TSTEPS);
    ck_assert_int_eq(tg_monitor_set_detach(ms), TG_OK);
    tiny_free(&t);
    make_dir(dir, sizeof dir, "diag_detached");
    ck_assert_int_eq(tg_monitor_set_write_csv(ms, dir), TG_OK);
    ck_assert_int_eq(tg_monitor_set_metric(ms, TG_METRIC_LAST, metric, 64, &n_set), TG_OK);
    ck_assert_int_eq(n_set, 6);
    ck_assert_int_eq(tg_diagnose(ms, NULL, &d), TG_OK);
    ck_assert_int_eq(d.n_layers, 2);
    tg_diagnosis_release(&d);
    ck_assert_ptr_null(d.layers);
    tg_monitor_set_free(ms);
}
END_TEST

static void assert_png(const char *dir, const char *name)
{
    char path[600];
    unsigned char sig[8];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "missing %s", path);
    ck_assert_int_eq(fread(sig, 1, 8, f), 8);
    ck_assert(!memcmp(sig, "\x89PNG\r\n\x1a\n", 8));
    fclose(f);
}

START_TEST(test_set_plot_files)
{
    tiny t;
    tg_monitor_set *ms;
    char dir[400];
    tg_status s;
    tiny_build(&t);
    ms = tiny_set(&t);
    tiny_train(&t, TSTEPS);
    snprintf(dir, sizeof dir, "%s/diag_plots", test_tmpdir());
    s = tg_monitor_set_plot(ms, dir, NULL);
#ifdef HAVE_PLPLOT
    ck_assert_msg(s == TG_OK, "%s", tg_last_error());
    {
        static const char *const names[] = { "loss", "gradnorm", "gradnorm_weight", "weight",
                                             "grad_layer0_bias", "grad_layer1_bias",
                                             "grad_bias_layers", "act_layer0_mean",
                                             "act_layer1_mean", "grad_hist_step0",
                                             "grad_hist_step2", "act_hist_tanh_step0",
                                             "act_hist_tanh_step2", "act_hist_identity_step0",
                                             "act_hist_identity_step2" };
        size_t i;
        for (i = 0; i < sizeof names / sizeof names[0]; ++i)
            assert_png(dir, names[i]);
    }
#else
    ck_assert_int_eq(s, TG_ERR_UNAVAILABLE);
#endif
    ck_assert_int_eq(tg_monitor_set_plot(ms, dir, "jpg"), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "extension 'jpg': use png or svg");
    tg_monitor_set_free(ms);
    tiny_free(&t);
}
END_TEST

#ifdef HAVE_PLPLOT
/* Histograms at chosen steps: a step nobody sampled is reported, the others still drawn. */
START_TEST(test_set_plot_hist_steps)
{
    tiny t;
    tg_monitor_set *ms;
    static const long steps[] = { 2, 1 };
    tg_monitor_set_opts o = { .steps = TSTEPS, .hist_steps = steps, .n_hist_steps = 2 };
    char dir[400], path[600];
    tiny_build(&t);
    ms = tg_monitor_set_new(t.ng, &o);
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_GRAD, 2, 0), TG_OK);
    tiny_train(&t, TSTEPS);
    snprintf(dir, sizeof dir, "%s/diag_plots_steps", test_tmpdir());
    ck_assert_int_eq(tg_monitor_set_plot(ms, dir, "svg"), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "no gradient histogram sampled at step 1");
    snprintf(path, sizeof path, "%s/grad_hist_step2.svg", dir);
    ck_assert_int_eq(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/grad_layer0_bias.svg", dir);
    ck_assert_int_eq(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/grad_bias_layers.svg", dir); /* one layer: no stack */
    ck_assert_int_ne(access(path, R_OK), 0);
    tg_monitor_set_free(ms);
    tiny_free(&t);
}
END_TEST
#endif

/* ---- metric ---------------------------------------------------------------------------- */
START_TEST(test_set_metric)
{
    tiny t;
    tg_monitor_set *ms, *gs;
    tparams p;
    tref r0, r2;
    double *metric;
    int n, n_set, k, z1, b1, w1, z2;
    tiny_build(&t);
    ms = tiny_set(&t);
    gs = tg_monitor_set_new(t.ng, NULL);
    ck_assert_int_eq(tg_monitor_set_add(gs, TG_WATCH_GRAD, 2, TG_ALL_LAYERS), TG_OK);
    tiny_train(&t, TSTEPS);
    tiny_at(0, &p, &r0);
    tiny_at(2, &p, &r2);
    n = tg_graph_n_tensors(tg_net_graph_tape(t.ng));
    metric = malloc(((size_t)n + 1) * sizeof *metric);
    z1 = tg_net_graph_layer(t.ng, 0, TG_LAYER_PRE)->index;
    b1 = tg_net_graph_layer(t.ng, 0, TG_LAYER_BIAS)->index;
    w1 = tg_net_graph_layer(t.ng, 0, TG_LAYER_WEIGHT)->index;
    z2 = tg_net_graph_layer(t.ng, 1, TG_LAYER_PRE)->index;
    ck_assert_int_eq(tg_monitor_set_metric(ms, TG_METRIC_LAST, metric, n, &n_set), TG_OK);
    ck_assert_int_eq(n_set, 6);
    assert_close(metric[z1], norm(r2.dz1, TB * TH), "metric z1");
    assert_close(metric[b1], norm(r2.db1, TH), "metric b1");
    assert_close(metric[w1], norm(r2.dw1, TH * TI), "metric w1");
    assert_close(metric[z2], norm(r2.dz2, TB * TO), "metric z2");
    for (k = 0; k < n; ++k) {
        const tg_tensor *tt = tg_graph_tensor(tg_net_graph_tape(t.ng), k);
        const int has = tt->name[0] == 'z' || tt->name[0] == 'w' || tt->name[0] == 'b';
        ck_assert_msg(has == !isnan(metric[k]), "tensor '%s': %g", tt->name, metric[k]);
    }
    ck_assert_int_eq(tg_monitor_set_metric(ms, TG_METRIC_MEAN, metric, n, NULL), TG_OK);
    assert_close(metric[z1], 0.5 * (norm(r0.dz1, TB * TH) + norm(r2.dz1, TB * TH)), "mean z1");
    /* a short array: entries past n are not touched */
    metric[z1] = 42;
    ck_assert_int_eq(tg_monitor_set_metric(ms, TG_METRIC_LAST, metric, z1, &n_set), TG_OK);
    ck_assert_double_eq(metric[z1], 42);
    ck_assert_int_eq(n_set, (b1 < z1) + (w1 < z1));
    /* from the per-unit gradient monitors alone: ||db|| and sqrt(sum of row norms^2) */
    ck_assert_int_eq(tg_monitor_set_metric(gs, TG_METRIC_LAST, metric, n, &n_set), TG_OK);
    ck_assert_int_eq(n_set, 4);
    ck_assert(isnan(metric[z1]));
    assert_close(metric[b1], norm(r2.db1, TH), "grad-only b1");
    assert_close(metric[w1], norm(r2.dw1, TH * TI), "grad-only w1");
    /* errors */
    ck_assert_int_eq(tg_monitor_set_metric(ms, TG_METRIC_LAST, NULL, 3, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "metric is NULL");
    ck_assert_int_eq(tg_monitor_set_metric(ms, TG_METRIC_LAST, metric, -1, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "n < 0");
    ck_assert_int_eq(tg_monitor_set_metric(ms, (tg_metric_pick)7, metric, n, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "pick 7 unknown");
    ck_assert_int_eq(tg_monitor_set_metric(NULL, TG_METRIC_LAST, metric, n, NULL), TG_ERR_ARG);
    free(metric);
    tg_monitor_set_free(gs);
    tg_monitor_set_free(ms);
    tiny_free(&t);
}
END_TEST

/* ---- diagnosis ------------------------------------------------------------------------- */
/* Table of the tiny net against the hand values: means over steps 0 and 2, ratio, update. */
START_TEST(test_diagnose_table_hand)
{
    tiny t;
    tg_monitor_set *ms;
    tg_diagnose_opts o = { .lr = TLR };
    tg_diagnosis d;
    tparams p0, p2;
    tref r0, r2;
    double g0, g1, upd;
    tiny_build(&t);
    ms = tiny_set(&t);
    tiny_train(&t, TSTEPS);
    tiny_at(0, &p0, &r0);
    tiny_at(2, &p2, &r2);
    ck_assert_int_eq(tg_diagnose(ms, &o, &d), TG_OK);
    ck_assert_int_eq(d.n_layers, 2);
    g0 = 0.5 * (norm(r0.dz1, TB * TH) + norm(r2.dz1, TB * TH));
    g1 = 0.5 * (norm(r0.dz2, TB * TO) + norm(r2.dz2, TB * TO));
    ck_assert_int_eq(d.layers[0].layer, 0);
    ck_assert_int_eq(d.layers[0].samples, 2);
    assert_close(d.layers[0].grad_norm, g0, "grad_norm 0");
    assert_close(d.layers[1].grad_norm, g1, "grad_norm 1");
    assert_close(d.layers[0].ratio, g0 / g1, "ratio 0");
    ck_assert_double_eq(d.layers[1].ratio, 1.0);
    assert_close(d.first_to_last, g0 / g1, "first_to_last");
    assert_close(d.layers[0].weight_grad_norm,
                 0.5 * (norm(r0.dw1, TH * TI) + norm(r2.dw1, TH * TI)), "weight_grad_norm");
    ck_assert_double_eq(d.layers[0].saturation, 0.25); /* 1 of 4 units, every row */
    ck_assert(isnan(d.layers[1].saturation));
    ck_assert(isnan(d.layers[0].dead));
    upd = 0.5 * (TLR * norm(r0.dw1, TH * TI) / norm(p0.w1, TH * TI) +
                 TLR * norm(r2.dw1, TH * TI) / norm(p2.w1, TH * TI));
    assert_close(d.layers[0].update_ratio, upd, "update_ratio");
    ck_assert_int_eq(d.verdict, TG_VERDICT_HEALTHY);
    ck_assert_int_eq(d.layer, -1);
    ck_assert_msg(strstr(d.message, ": healthy") != NULL, "%s", d.message);
    tg_diagnosis_release(&d);
    /* a window: steps <= 1 is step 0 alone; without lr no update ratio */
    o.lr = 0;
    o.to_step = 1;
    ck_assert_int_eq(tg_diagnose(ms, &o, &d), TG_OK);
    ck_assert_int_eq(d.layers[0].samples, 1);
    assert_close(d.layers[0].grad_norm, norm(r0.dz1, TB * TH), "window grad_norm");
    ck_assert(isnan(d.layers[0].update_ratio));
    tg_diagnosis_release(&d);
    o.to_step = 0;
    o.from_step = 3;
    ck_assert_int_eq(tg_diagnose(ms, &o, &d), TG_ERR_STATE);
    ck_assert_error(TG_ERR_STATE, "'gradnorm_layer0' has no sample in steps 3..end (2 samples");
    ck_assert_ptr_null(d.layers);
    o.from_step = 0;
    o.vanishing = -1;
    ck_assert_int_eq(tg_diagnose(ms, &o, &d), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "must be numbers >= 0");
    o.vanishing = 0;
    o.lr = NAN;
    ck_assert_int_eq(tg_diagnose(ms, &o, &d), TG_ERR_ARG);
    ck_assert_int_eq(tg_diagnose(NULL, &o, &d), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "monitor set is NULL");
    ck_assert_int_eq(tg_diagnose(ms, &o, NULL), TG_ERR_ARG);
    tg_diagnosis_release(NULL);
    tg_monitor_set_free(ms);
    /* without gradient-norm monitors there is nothing to judge by */
    ms = tg_monitor_set_new(t.ng, NULL);
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_GRADNORM, 1, 0), TG_OK);
    ck_assert_int_eq(tg_diagnose(ms, NULL, &d), TG_ERR_STATE);
    ck_assert_error(TG_ERR_STATE, "layer 1 has no gradient-norm monitor");
    tg_monitor_set_free(ms);
    tiny_free(&t);
}
END_TEST

/* A net on 16 random inputs in [-1,1] (batch 16, 4 classes), hidden layers of 16 then an
 * output of 4 (identity), run forward and backward `steps` times without updates, watched by
 * tg_monitor_set_add_diagnosis every step; *d gets the diagnosis with options o (NULL:
 * lr 0.01). */
static void diag_net(const tg_op_def *act, int hidden, tg_init w, tg_init b, tg_init w_out,
                     long steps, const tg_diagnose_opts *o, tg_diagnosis *d)
{
    enum { B = 16, I = 16, W = 16, C = 4 };
    tg_layer_spec ls[16];
    float x[B * I], y[B];
    uint64_t rng = 7;
    tg_net *net;
    tg_net_graph *ng;
    tg_monitor_set *ms;
    tg_graph *g;
    long s;
    int l, k;
    for (l = 0; l <= hidden; ++l) {
        ls[l].n_nodes = l < hidden ? W : C;
        ls[l].activation = l < hidden ? act : &tg_op_identity;
        ls[l].act_args = NULL;
        ls[l].act_args_size = 0;
        ls[l].weight_init = l < hidden ? w : w_out;
        ls[l].bias_init = l < hidden ? b : (tg_init){ TG_INIT_ZEROS, 0, 0 };
    }
    for (k = 0; k < B * I; ++k)
        x[k] = (float)tg_rand_uniform(&rng, -1, 1);
    for (k = 0; k < B; ++k)
        y[k] = (float)(k % C);
    net = tg_net_new(I, ls, hidden + 1, 3);
    ck_assert_ptr_nonnull(net);
    ng = tg_net_graph_new(net, B, &tg_loss_softmax_xent_sum);
    ms = tg_monitor_set_new(ng, &(tg_monitor_set_opts){ .steps = steps });
    ck_assert_int_eq(tg_monitor_set_add_diagnosis(ms, 1), TG_OK);
    g = tg_net_graph_tape(ng);
    ck_assert_int_eq(tg_net_graph_bind(ng, x, y), TG_OK);
    for (s = 0; s < steps; ++s) {
        tg_graph_set_step(g, s, 0);
        ck_assert_msg(tg_graph_forward(g) == TG_OK, "%s", tg_last_error());
        ck_assert_int_eq(tg_backward(g, tg_net_graph_loss(ng)), TG_OK);
    }
    ck_assert_msg(tg_diagnose(ms, o ? o : &(tg_diagnose_opts){ .lr = 0.01 }, d) == TG_OK,
                  "%s", tg_last_error());
    ck_assert_int_eq(d->n_layers, hidden + 1);
    ck_assert_int_eq(d->layers[0].samples, steps);
    tg_monitor_set_free(ms);
    tg_net_graph_free(ng);
    tg_net_free(net);
}

static const tg_init glorot = { TG_INIT_GLOROT_UNIFORM, 0, 0 };
static const tg_init zeros = { TG_INIT_ZEROS, 0, 0 };

START_TEST(test_diagnose_vanishing)
{
    const tg_init tiny_w = { TG_INIT_UNIFORM, -0.01, 0.01 };
    tg_diagnosis d;
    int l;
    diag_net(&tg_op_tanh, 10, tiny_w, zeros, tiny_w, 3, NULL, &d);
    ck_assert_int_eq(d.verdict, TG_VERDICT_VANISHING);
    ck_assert_double_lt(d.first_to_last, 1e-6); /* about (16 * 0.01 / sqrt 3)^10 */
    for (l = 1; l < d.n_layers; ++l) /* shrinking toward the input */
        ck_assert_double_lt(d.layers[l - 1].ratio, d.layers[l].ratio);
    ck_assert_int_eq(d.layer, 0);
    ck_assert_msg(strstr(d.message, "gradients at layer 0 are ") != NULL, "%s", d.message);
    ck_assert_msg(strstr(d.message, " of the last layer's: vanishing; consider Glorot "
                         "initialisation") != NULL, "%s", d.message);
    ck_assert_str_eq(tg_verdict_name(d.verdict), "vanishing");
    tg_diagnosis_release(&d);
}
END_TEST

START_TEST(test_diagnose_healthy)
{
    tg_diagnosis d;
    int l;
    diag_net(&tg_op_tanh, 10, glorot, zeros, glorot, 2, NULL, &d);
    ck_assert_int_eq(d.verdict, TG_VERDICT_HEALTHY);
    for (l = 0; l < d.n_layers; ++l) {
        ck_assert_double_gt(d.layers[l].ratio, 0.1);
        ck_assert_double_lt(d.layers[l].ratio, 10);
        if (l + 1 < d.n_layers) /* the identity output layer has none */
            ck_assert_double_lt(d.layers[l].saturation, 0.5);
    }
    ck_assert_msg(strstr(d.message, "gradients at layer 0 are ") != NULL, "%s", d.message);
    ck_assert_msg(strstr(d.message, "no layer saturated or dead: healthy") != NULL, "%s",
                  d.message);
    tg_diagnosis_release(&d);
}
END_TEST

START_TEST(test_diagnose_dead)
{
    const tg_init neg = { TG_INIT_CONSTANT, -20, 0 };
    tg_diagnosis d;
    int l;
    diag_net(&tg_op_relu, 4, glorot, neg, glorot, 2, NULL, &d);
    ck_assert_int_eq(d.verdict, TG_VERDICT_DEAD);
    for (l = 0; l < 4; ++l) {
        ck_assert_double_eq(d.layers[l].dead, 1.0); /* z < -20 + 16 * 0.43 < 0 everywhere */
        ck_assert_double_eq(d.layers[l].grad_norm, 0.0);
        ck_assert(isnan(d.layers[l].saturation));
    }
    ck_assert(isnan(d.layers[4].dead));
    ck_assert_int_eq(d.layer, 0);
    ck_assert_msg(strstr(d.message, "100% of layer 0's ReLU units output 0 for whole batches: "
                         "dead")
                  != NULL, "%s", d.message);
    ck_assert_msg(strstr(d.message, "He initialisation") != NULL, "%s", d.message);
    tg_diagnosis_release(&d);
}
END_TEST

/* A He-initialised ReLU net has about half its activations at 0, yet few units at 0 for a
 * whole batch: not dead. */
START_TEST(test_diagnose_relu_healthy)
{
    const tg_init he = { TG_INIT_HE_UNIFORM, 0, 0 };
    tg_diagnosis d;
    int l;
    diag_net(&tg_op_relu, 4, he, zeros, glorot, 2, NULL, &d);
    ck_assert_int_eq(d.verdict, TG_VERDICT_HEALTHY);
    ck_assert_double_eq(d.layers[0].dead, 0.0); /* inputs of both signs */
    for (l = 0; l < 4; ++l)
        ck_assert_double_lt(d.layers[l].dead, 0.5);
    tg_diagnosis_release(&d);
}
END_TEST

START_TEST(test_diagnose_saturated)
{
    const tg_init big = { TG_INIT_UNIFORM, -5, 5 };
    tg_diagnosis d;
    diag_net(&tg_op_tanh, 3, big, zeros, glorot, 2, NULL, &d);
    ck_assert_int_eq(d.verdict, TG_VERDICT_SATURATED);
    ck_assert_double_gt(d.layers[d.layer].saturation, 0.5);
    ck_assert_msg(strstr(d.message, "tanh units are saturated on average: saturated") != NULL,
                  "%s", d.message);
    tg_diagnosis_release(&d);
}
END_TEST

/* Orthogonal weights of gain 4 with identity activations scale the back-propagated norm by
 * exactly 4 per layer (W W^T = 16 I on the rows), so ratio_l = 4^(6 - l). */
START_TEST(test_diagnose_exploding_exact)
{
    const tg_init orth4 = { TG_INIT_ORTHOGONAL, 4, 0 };
    tg_diagnosis d;
    int l;
    diag_net(&tg_op_identity, 6, orth4, zeros, orth4, 1, NULL, &d);
    ck_assert_int_eq(d.verdict, TG_VERDICT_EXPLODING);
    for (l = 0; l < 7; ++l) {
        const double want = pow(4.0, 6 - l);
        ck_assert_msg(fabs(d.layers[l].ratio - want) <= 1e-4 * want, "layer %d: %g vs %g", l,
                      d.layers[l].ratio, want);
    }
    ck_assert_int_eq(d.layer, 0);
    ck_assert_msg(strstr(d.message, "gradients at layer 0 are 4.1e+03 times the last layer's: "
                         "exploding") != NULL, "%s", d.message);
    tg_diagnosis_release(&d);
}
END_TEST

/* RELIABILITY #24/#61: gradients overflowing to Inf/NaN (numerics checking off): the monitors
 * keep them, the CSV spells "nan", plots draw what is finite and report the rest, and the
 * verdict is exploding. Two identity layers of weights 1e20: z2 = 1e40 overflows. */
START_TEST(test_diagnose_nonfinite)
{
    const tg_init huge = { TG_INIT_CONSTANT, 1e20, 0 };
    tg_layer_spec ls[2] = { { 3, &tg_op_identity, NULL, 0, huge, zeros },
                            { 2, &tg_op_identity, NULL, 0, huge, zeros } };
    float x[6] = { 1, 2, 3, 4, 5, 6 }, y[2] = { 0, 1 };
    tg_net *net = tg_net_new(3, ls, 2, 1);
    tg_net_graph *ng = tg_net_graph_new(net, 2, &tg_loss_softmax_xent_sum);
    tg_graph *g = tg_net_graph_tape(ng);
    tg_monitor_set *ms = tg_monitor_set_new(ng, NULL);
    tg_diagnosis d;
    char dir[400], path[600], line[128];
    FILE *f;
    ck_assert_int_eq(tg_monitor_set_add_diagnosis(ms, 1), TG_OK);
    ck_assert_int_eq(tg_monitor_set_add(ms, TG_WATCH_LOSS, 1, 0), TG_OK);
    tg_graph_set_check_numerics(g, 0);
    ck_assert_int_eq(tg_net_graph_bind(ng, x, y), TG_OK);
    tg_graph_set_step(g, 0, 0);
    ck_assert_int_eq(tg_graph_forward(g), TG_OK);
    ck_assert_int_eq(tg_backward(g, tg_net_graph_loss(ng)), TG_OK);
    ck_assert_int_eq(tg_diagnose(ms, NULL, &d), TG_OK);
    ck_assert_int_eq(d.verdict, TG_VERDICT_EXPLODING);
    ck_assert(!isfinite(d.layers[0].grad_norm));
    ck_assert(isnan(d.first_to_last));
    ck_assert_msg(strstr(d.message, "||dL/dz|| of layer 0 is nan, not finite: exploding") !=
                  NULL, "%s", d.message);
    tg_diagnosis_release(&d);
    snprintf(dir, sizeof dir, "%s/diag_nonfinite", test_tmpdir());
    ck_assert_int_eq(tg_monitor_set_write_csv(ms, dir), TG_OK);
    snprintf(path, sizeof path, "%s/gradnorm_layer0.csv", dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "0,0,0,nan\n");
    fclose(f);
#ifdef HAVE_PLPLOT
    ck_assert_int_eq(tg_monitor_set_plot(ms, dir, "png"), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "loss.png");
    snprintf(path, sizeof path, "%s/weight.png", dir); /* the weights are finite */
    ck_assert_int_eq(access(path, R_OK), 0);
#endif
    tg_monitor_set_free(ms);
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

/* Thresholds come from the options when set: a 2-layer net of tiny weights is vanishing by
 * default and not under a looser limit; the exploding net is not under a higher one. */
START_TEST(test_diagnose_thresholds)
{
    const tg_init tiny_w = { TG_INIT_UNIFORM, -0.01, 0.01 };
    const tg_init orth4 = { TG_INIT_ORTHOGONAL, 4, 0 };
    tg_diagnosis d;
    diag_net(&tg_op_tanh, 2, tiny_w, zeros, tiny_w, 1, NULL, &d);
    ck_assert_int_eq(d.verdict, TG_VERDICT_VANISHING);
    ck_assert_double_lt(d.first_to_last, TG_DIAG_VANISHING);
    ck_assert_double_gt(d.first_to_last, 1e-6);
    tg_diagnosis_release(&d);
    diag_net(&tg_op_tanh, 2, tiny_w, zeros, tiny_w, 1, &(tg_diagnose_opts){ .vanishing = 1e-6 },
             &d);
    ck_assert_int_eq(d.verdict, TG_VERDICT_HEALTHY);
    ck_assert_msg(strstr(d.message, "within 1e-06..1e+02") != NULL, "%s", d.message);
    tg_diagnosis_release(&d);
    diag_net(&tg_op_identity, 6, orth4, zeros, orth4, 1, &(tg_diagnose_opts){ .exploding = 1e4 },
             &d);
    ck_assert_int_eq(d.verdict, TG_VERDICT_HEALTHY);
    tg_diagnosis_release(&d);
    ck_assert_double_eq(TG_DIAG_VANISHING, 1e-2);
    ck_assert_double_eq(TG_DIAG_EXPLODING, 1e2);
    ck_assert_double_eq(TG_DIAG_SATURATED, 0.5);
    ck_assert_double_eq(TG_DIAG_DEAD, 0.5);
}
END_TEST

/* The study's deep-16 on real digits, 40 steps: original init vanishing, Glorot healthy. */
START_TEST(test_diagnose_deep16_mnist)
{
    char dir[512];
    tg_dataset ds;
    double ratio[2];
    tg_verdict verdict[2];
    int gl;
    snprintf(dir, sizeof dir, "%s/mnist-10k", test_shared_data());
    ck_assert_msg(access(dir, R_OK) == 0, "real digits missing: %s (set TG_SHARED_DATA)", dir);
    ck_assert_int_eq(tg_mnist_load(dir, "train", &ds), TG_OK);
    ck_assert_int_eq(tg_dataset_shift(&ds, tg_dataset_mean(&ds)), TG_OK);
    for (gl = 0; gl < 2; ++gl) {
        tg_layer_spec ls[17];
        tg_pipeline_opts po = { .batch = 30, .epochs = 1, .shuffle = 1, .seed = 1,
                                .drop_remainder = 1 };
        tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 0.001);
        tg_train_opts to = tg_train_defaults();
        tg_pipeline p;
        tg_net *net;
        tg_net_graph *ng;
        tg_optim *opt;
        tg_monitor_set *ms;
        tg_diagnosis d;
        int l;
        for (l = 0; l < 17; ++l) {
            const double r = l == 0 ? 0.0357 : 0.125;
            ls[l] = (tg_layer_spec){ l < 16 ? 64 : 10, l < 16 ? &tg_op_tanh : &tg_op_identity,
                                     NULL, 0, gl ? glorot : (tg_init){ TG_INIT_UNIFORM, -r, r },
                                     zeros };
        }
        net = tg_net_new(784, ls, 17, 1);
        ng = tg_net_graph_new(net, 30, &tg_loss_softmax_xent_sum);
        opt = tg_optim_new_net(&oo, net);
        ck_assert_int_eq(tg_pipeline_init(&p, &ds, &po), TG_OK);
        ms = tg_monitor_set_new(ng, &(tg_monitor_set_opts){ .steps = 40 });
        ck_assert_int_eq(tg_monitor_set_add_diagnosis(ms, 5), TG_OK);
        to.max_steps = 40;
        ck_assert_int_eq(tg_train_pipeline(ng, opt, &p, &to, NULL), TG_OK);
        ck_assert_int_eq(tg_diagnose(ms, &(tg_diagnose_opts){ .lr = 0.001 }, &d), TG_OK);
        ck_assert_int_eq(d.layers[0].samples, 8);
        ratio[gl] = d.first_to_last;
        verdict[gl] = d.verdict;
        tg_diagnosis_release(&d);
        tg_monitor_set_free(ms);
        tg_pipeline_release(&p);
        tg_optim_free(opt);
        tg_net_graph_free(ng);
        tg_net_free(net);
    }
    tg_dataset_release(&ds);
    /* PyTorch, same setup, first epoch: about 1.5e-4 (original) and 0.7-4 (Glorot) */
    ck_assert_int_eq(verdict[0], TG_VERDICT_VANISHING);
    ck_assert_double_gt(ratio[0], 3e-5);
    ck_assert_double_lt(ratio[0], 1e-3);
    ck_assert_int_eq(verdict[1], TG_VERDICT_HEALTHY);
    ck_assert_double_gt(ratio[1], 0.5);
    ck_assert_double_lt(ratio[1], 5);
}
END_TEST

/* ---- JSON ------------------------------------------------------------------------------ */
static void fake_diagnosis(tg_diagnosis *d, tg_diagnosis_layer *rows)
{
    memset(d, 0, sizeof *d);
    d->verdict = TG_VERDICT_VANISHING;
    d->first_to_last = 0.00015;
    snprintf(d->message, sizeof d->message, "a \"q\" b\\s\nn\tt\x01 end");
    rows[0] = (tg_diagnosis_layer){ 0, 3, 0.001, 0.00015, 0.25, 0.5, NAN, 1e-6 };
    rows[1] = (tg_diagnosis_layer){ 1, 3, 6.5, 1, INFINITY, NAN, NAN, -INFINITY };
    d->n_layers = 2;
    d->layers = rows;
}

static const char *const json_want =
    "\"diagnosis\": {\"verdict\": \"vanishing\", \"first_to_last_grad_ratio\": 0.00015, "
    "\"message\": \"a \\\"q\\\" b\\\\s\\nn\\tt\\u0001 end\", \"layers\": [{\"layer\": 0, "
    "\"grad_norm\": 0.001, \"ratio\": 0.00015, \"weight_grad_norm\": 0.25, \"saturation\": 0.5, "
    "\"dead\": null, \"update_ratio\": 1e-06}, {\"layer\": 1, \"grad_norm\": 6.5, \"ratio\": 1, "
    "\"weight_grad_norm\": null, \"saturation\": null, \"dead\": null, \"update_ratio\": null}]}";

START_TEST(test_json_escaped)
{
    tg_diagnosis d;
    tg_diagnosis_layer rows[2];
    char buf[1024], small[16];
    size_t n;
    fake_diagnosis(&d, rows);
    n = tg_diagnosis_json(&d, buf, sizeof buf);
    ck_assert_str_eq(buf, json_want);
    ck_assert_uint_eq(n, strlen(json_want));
    /* like snprintf: the length needed, a truncated NUL-terminated prefix */
    ck_assert_uint_eq(tg_diagnosis_json(&d, NULL, 0), n);
    ck_assert_uint_eq(tg_diagnosis_json(&d, small, sizeof small), n);
    ck_assert_str_eq(small, "\"diagnosis\": {\"");
    buf[0] = 'x';
    ck_assert_uint_eq(tg_diagnosis_json(NULL, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "");
    ck_assert_str_eq(tg_verdict_name(TG_VERDICT_DEAD), "dead");
    ck_assert_str_eq(tg_verdict_name((tg_verdict)9), "?");
}
END_TEST

/* RELIABILITY #60: a comma-decimal process locale still gets "0.00015" (installed locales
 * only; the C-locale output is checked either way). */
START_TEST(test_json_comma_locale)
{
    static const char *const names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                         "fr_FR.utf8" };
    tg_diagnosis d;
    tg_diagnosis_layer rows[2];
    char buf[1024], probe[16];
    size_t i;
    int comma = 0;
    fake_diagnosis(&d, rows);
    for (i = 0; i < sizeof names / sizeof names[0] && !comma; ++i)
        if (setlocale(LC_NUMERIC, names[i])) {
            snprintf(probe, sizeof probe, "%.1f", 0.5);
            comma = !strcmp(probe, "0,5");
        }
    tg_diagnosis_json(&d, buf, sizeof buf);
    if (comma) {
        snprintf(probe, sizeof probe, "%.1f", 0.5);
        ck_assert_str_eq(probe, "0,5"); /* the caller's locale is back */
    }
    setlocale(LC_NUMERIC, "C");
    ck_assert_str_eq(buf, json_want);
}
END_TEST

Suite *suite_diagnose(void)
{
    Suite *s = suite_create("diagnose");
    TCase *tc = tcase_create("layers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_layers_records_match_hand);
    tcase_add_test(tc, test_layers_names_roles);
    tcase_add_test(tc, test_layers_sigmoid_relu_fractions);
    tcase_add_test(tc, test_set_sampling_no_alloc);
    suite_add_tcase(s, tc);

    tc = tcase_create("spec");
    tcase_add_test(tc, test_spec_parse_good);
    tcase_add_test(tc, test_spec_parse_bad);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_set_add_errors);
    tcase_add_test(tc, test_set_alloc_failures);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_add_test(tc, test_set_write_csv);
    tcase_add_test(tc, test_set_detached_outlives_graph);
    tcase_add_test(tc, test_set_plot_files);
#ifdef HAVE_PLPLOT
    tcase_add_test(tc, test_set_plot_hist_steps);
#endif
    tcase_add_test(tc, test_set_metric);
    suite_add_tcase(s, tc);

    tc = tcase_create("diagnosis");
    tcase_add_test(tc, test_diagnose_table_hand);
    tcase_add_test(tc, test_diagnose_vanishing);
    tcase_add_test(tc, test_diagnose_healthy);
    tcase_add_test(tc, test_diagnose_dead);
    tcase_add_test(tc, test_diagnose_relu_healthy);
    tcase_add_test(tc, test_diagnose_saturated);
    tcase_add_test(tc, test_diagnose_exploding_exact);
    tcase_add_test(tc, test_diagnose_nonfinite);
    tcase_add_test(tc, test_diagnose_thresholds);
    tcase_add_test(tc, test_diagnose_deep16_mnist);
    suite_add_tcase(s, tc);

    tc = tcase_create("json");
    tcase_add_test(tc, test_json_escaped);
    tcase_add_test(tc, test_json_comma_locale);
    suite_add_tcase(s, tc);
    return s;
}
