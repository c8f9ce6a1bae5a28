/*
 * check_nn.c -- the FFNN builder (shapes, names, layer indices, shared flat blocks), the
 * initialisers' statistics, spec validation, the losses and the optimisers, each against
 * hand-computed values.
 */
#include <math.h>
#include <stdlib.h>
#include "tests.h"

static tg_layer_spec layer(int n, const tg_op_def *act, tg_init w, tg_init b)
{
    tg_layer_spec l = { n, act, NULL, 0, w, b };
    return l;
}

static const tg_init glorot = { TG_INIT_GLOROT_UNIFORM, 0, 0 };
static const tg_init zeros = { TG_INIT_ZEROS, 0, 0 };

/* ---- build ---------------------------------------------------------------------------- */
static void assert_shape(const tg_tensor *t, const char *name, int rank, int d0, int d1)
{
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->name, name);
    ck_assert_int_eq(t->rank, rank);
    if (rank > 0)
        ck_assert_int_eq(t->shape[0], d0);
    if (rank > 1)
        ck_assert_int_eq(t->shape[1], d1);
}

START_TEST(test_net_shapes_names)
{
    tg_layer_spec ls[2] = { layer(4, &tg_op_tanh, glorot, zeros),
                            layer(2, &tg_op_identity, glorot, zeros) };
    tg_net *net = tg_net_new(3, ls, 2, 1);
    tg_net_graph *ng;
    tg_graph *g;
    size_t n;
    float *v;
    ck_assert_ptr_nonnull(net);
    v = tg_net_values(net, &n);
    ck_assert_uint_eq(n, 4 * 3 + 4 + 2 * 4 + 2);
    ck_assert_int_eq(tg_net_n_inputs(net), 3);
    ck_assert_int_eq(tg_net_n_outputs(net), 2);
    ck_assert_int_eq(tg_net_n_layers(net), 2);
    /* flat layout: w1 b1 w2 b2 */
    ck_assert_ptr_eq(tg_net_weight(net, 0), v);
    ck_assert_ptr_eq(tg_net_bias(net, 0), v + 12);
    ck_assert_ptr_eq(tg_net_weight(net, 1), v + 16);
    ck_assert_ptr_eq(tg_net_bias(net, 1), v + 24);
    ck_assert_ptr_eq(tg_net_bias_grad(net, 1), tg_net_grads(net, NULL) + 24);

    ng = tg_net_graph_new(net, 5, &tg_loss_softmax_xent_sum);
    ck_assert_ptr_nonnull(ng);
    g = tg_net_graph_tape(ng);
    assert_shape(tg_net_graph_input(ng), "x", 2, 5, 3);
    assert_shape(tg_net_graph_layer(ng, 0, TG_LAYER_WEIGHT), "w1", 2, 4, 3);
    assert_shape(tg_net_graph_layer(ng, 0, TG_LAYER_BIAS), "b1", 1, 4, 0);
    assert_shape(tg_net_graph_layer(ng, 0, TG_LAYER_PRE), "z1", 2, 5, 4);
    assert_shape(tg_net_graph_layer(ng, 0, TG_LAYER_ACT), "a1", 2, 5, 4);
    assert_shape(tg_net_graph_layer(ng, 1, TG_LAYER_WEIGHT), "w2", 2, 2, 4);
    assert_shape(tg_net_graph_layer(ng, 1, TG_LAYER_PRE), "z2", 2, 5, 2);
    assert_shape(tg_net_graph_output(ng), "a2", 2, 5, 2);
    assert_shape(tg_net_graph_target(ng), "y", 1, 5, 0);
    assert_shape(tg_net_graph_loss(ng), "loss", 0, 0, 0);
    ck_assert_ptr_eq(tg_graph_find(g, "w2"), tg_net_graph_layer(ng, 1, TG_LAYER_WEIGHT));
    ck_assert_int_eq(tg_graph_find(g, "w1")->kind, TG_PARAM);
    ck_assert_int_eq(tg_graph_find(g, "x")->kind, TG_INPUT);
    /* the output layer's identity is a node like any activation: x,w1,b1,z1,a1,... */
    ck_assert_int_eq(tg_graph_n_nodes(g), 5);
    ck_assert_str_eq(tg_graph_node(g, 3)->op->name, "identity");
    /* params are the net's blocks, borrowed */
    ck_assert_ptr_eq(tg_graph_find(g, "w1")->data, tg_net_weight(net, 0));
    ck_assert_ptr_eq(tg_graph_find(g, "b2")->grad, tg_net_bias_grad(net, 1));
    ck_assert_ptr_eq(tg_net_graph_loss_def(ng), tg_net_graph_loss_def(ng));
    ck_assert_str_eq(tg_net_graph_loss_def(ng)->name, "softmax_cross_entropy_sum");
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

START_TEST(test_net_negative_index)
{
    tg_layer_spec ls[3] = { layer(4, &tg_op_tanh, glorot, zeros),
                            layer(3, &tg_op_tanh, glorot, zeros),
                            layer(2, &tg_op_identity, glorot, zeros) };
    tg_net *net = tg_net_new(5, ls, 3, 1);
    tg_net_graph *ng = tg_net_graph_new(net, 2, NULL);
    int o, i;
    ck_assert_ptr_nonnull(ng);
    ck_assert_ptr_eq(tg_net_weight(net, -1), tg_net_weight(net, 2));
    ck_assert_ptr_eq(tg_net_bias(net, -3), tg_net_bias(net, 0));
    ck_assert_ptr_eq(tg_net_layer(net, -2), tg_net_layer(net, 1));
    ck_assert_int_eq(tg_net_layer_shape(net, -1, &o, &i), TG_OK);
    ck_assert_int_eq(o, 2);
    ck_assert_int_eq(i, 3);
    ck_assert_ptr_eq(tg_net_graph_layer(ng, -1, TG_LAYER_ACT), tg_net_graph_output(ng));
    ck_assert_str_eq(tg_net_graph_layer(ng, -3, TG_LAYER_PRE)->name, "z1");
    ck_assert_ptr_null(tg_net_weight(net, 3));
    ck_assert_error(TG_ERR_ARG, "layer 3 outside -3..2");
    ck_assert_ptr_null(tg_net_graph_layer(ng, -4, TG_LAYER_WEIGHT));
    ck_assert_error(TG_ERR_ARG, "layer -4 outside -3..2");
    ck_assert_ptr_null(tg_net_graph_layer(ng, 0, (tg_layer_part)7));
    ck_assert_error(TG_ERR_ARG, "part 7");
    ck_assert_int_eq(tg_net_layer_shape(net, 9, NULL, NULL), TG_ERR_ARG);
    /* a predict-only graph has no target and no loss */
    ck_assert_ptr_null(tg_net_graph_target(ng));
    ck_assert_ptr_null(tg_net_graph_loss(ng));
    ck_assert_ptr_null(tg_net_graph_loss_def(ng));
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

/* A 2-3-2 net with hand-set parameters: z1 = x w1^T + b1, a1 = tanh z1, out = a1 w2^T + b2. */
START_TEST(test_net_forward_values)
{
    tg_layer_spec ls[2] = { layer(3, &tg_op_tanh, zeros, zeros),
                            layer(2, &tg_op_identity, zeros, zeros) };
    tg_net *net = tg_net_new(2, ls, 2, 1);
    const float w1[6] = { 0.5f, -1, 0.25f, 0.75f, -0.5f, 0 }, b1[3] = { 0.1f, 0, -0.2f };
    const float w2[6] = { 1, 2, -1, 0, 0.5f, 1 }, b2[2] = { 0.3f, -0.3f };
    float x[4] = { 1, 2, -1, 0.5f };
    tg_net_graph *ng;
    tg_tensor *out;
    int r, o, i;
    memcpy(tg_net_weight(net, 0), w1, sizeof w1);
    memcpy(tg_net_bias(net, 0), b1, sizeof b1);
    memcpy(tg_net_weight(net, 1), w2, sizeof w2);
    memcpy(tg_net_bias(net, 1), b2, sizeof b2);
    ng = tg_net_graph_new(net, 2, NULL);
    ck_assert_int_eq(tg_net_graph_bind(ng, x, NULL), TG_OK);
    ck_assert_int_eq(tg_graph_forward(tg_net_graph_tape(ng)), TG_OK);
    out = tg_net_graph_output(ng);
    for (r = 0; r < 2; ++r) {
        double a[3];
        for (o = 0; o < 3; ++o) {
            double z = b1[o];
            for (i = 0; i < 2; ++i)
                z += (double)x[r * 2 + i] * w1[o * 2 + i];
            a[o] = tanh(z);
        }
        for (o = 0; o < 2; ++o) {
            double y = b2[o];
            for (i = 0; i < 3; ++i)
                y += a[i] * w2[o * 3 + i];
            ck_assert_double_eq_tol(out->data[r * 2 + o], y, 1e-6);
        }
    }
    /* the graph reads the flat block live: a new bias shifts the output */
    tg_net_bias(net, -1)[0] += 1.0f;
    {
        float before = out->data[0];
        ck_assert_int_eq(tg_graph_forward(tg_net_graph_tape(ng)), TG_OK);
        ck_assert_double_eq_tol(out->data[0], before + 1.0f, 1e-6);
    }
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

/* Two graphs of different batch sizes share one parameter block. */
START_TEST(test_net_graphs_share_params)
{
    tg_layer_spec ls[1] = { layer(2, &tg_op_identity, glorot, zeros) };
    tg_net *net = tg_net_new(2, ls, 1, 3);
    tg_net_graph *a = tg_net_graph_new(net, 3, &tg_loss_softmax_xent_sum);
    tg_net_graph *b = tg_net_graph_new(net, 7, NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_eq(tg_net_graph_layer(a, 0, TG_LAYER_WEIGHT)->data,
                     tg_net_graph_layer(b, 0, TG_LAYER_WEIGHT)->data);
    ck_assert_ptr_eq(tg_net_graph_layer(a, 0, TG_LAYER_BIAS)->grad,
                     tg_net_graph_layer(b, 0, TG_LAYER_BIAS)->grad);
    ck_assert_int_eq(tg_net_graph_batch(b), 7);
    ck_assert_ptr_eq(tg_net_graph_net(b), net);
    tg_net_graph_free(a);
    tg_net_graph_free(b);
    tg_net_free(net);
}
END_TEST

START_TEST(test_net_seed_determinism)
{
    tg_layer_spec ls[2] = { layer(16, &tg_op_tanh, glorot, (tg_init){ TG_INIT_NORMAL, 0, 1 }),
                            layer(4, &tg_op_identity, (tg_init){ TG_INIT_ORTHOGONAL, 0, 0 },
                                  zeros) };
    tg_net *a = tg_net_new(8, ls, 2, 42), *b = tg_net_new(8, ls, 2, 42);
    tg_net *c = tg_net_new(8, ls, 2, 43);
    size_t n;
    float *va = tg_net_values(a, &n), *copy = malloc(n * sizeof *copy);
    ck_assert_int_eq(memcmp(va, tg_net_values(b, NULL), n * sizeof(float)), 0);
    ck_assert_int_ne(memcmp(va, tg_net_values(c, NULL), n * sizeof(float)), 0);
    memcpy(copy, va, n * sizeof *copy);
    ck_assert_int_eq(tg_net_init_params(a, 7), TG_OK);
    ck_assert_int_ne(memcmp(va, copy, n * sizeof(float)), 0);
    ck_assert_int_eq(tg_net_init_params(a, 42), TG_OK);
    ck_assert_int_eq(memcmp(va, copy, n * sizeof(float)), 0);
    free(copy);
    tg_net_free(a);
    tg_net_free(b);
    tg_net_free(c);
}
END_TEST

START_TEST(test_net_graph_errors)
{
    tg_layer_spec ls[1] = { layer(2, &tg_op_identity, glorot, zeros) };
    tg_net *net = tg_net_new(2, ls, 1, 3);
    tg_net_graph *ng = tg_net_graph_new(net, 2, NULL);
    float x[4] = { 0 }, y[2] = { 0 };
    ck_assert_ptr_null(tg_net_graph_new(net, 0, NULL));
    ck_assert_error(TG_ERR_ARG, "batch size is 0");
    ck_assert_ptr_null(tg_net_graph_new(NULL, 4, NULL));
    ck_assert_error(TG_ERR_ARG, "net is NULL");
    ck_assert_int_eq(tg_net_graph_bind(ng, x, y), TG_ERR_STATE);
    ck_assert_error(TG_ERR_STATE, "no loss");
    ck_assert_int_eq(tg_net_graph_bind(ng, NULL, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "x is NULL");
    ck_assert_int_eq(tg_net_init_params(NULL, 1), TG_ERR_ARG);
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

/* ---- initialisers -------------------------------------------------------------------- */
enum { FAN_OUT = 200, FAN_IN = 300, N_INIT = FAN_OUT * FAN_IN };

typedef struct {
    tg_init init;
    double mean, std;  /* expected */
    double lo, hi;     /* support; lo > hi: unbounded (normal) */
    int normal;        /* 1: about 68.27% within one std of the mean */
} init_case;

static const init_case init_cases[] = {
    { { TG_INIT_UNIFORM, -0.3, 0.5 }, 0.1, 0.23094010767585, -0.3, 0.5, 0 },
    { { TG_INIT_NORMAL, 0.2, 0.7 }, 0.2, 0.7, 1, 0, 1 },
    { { TG_INIT_GLOROT_UNIFORM, 0, 0 }, 0, 0.06324555320337, -0.10954451150103,
      0.10954451150103, 0 },                                       /* r = sqrt(6/500) */
    { { TG_INIT_GLOROT_UNIFORM, 2, 0 }, 0, 0.12649110640674, -0.21908902300206,
      0.21908902300206, 0 },                                       /* gain 2 */
    { { TG_INIT_GLOROT_NORMAL, 0, 0 }, 0, 0.06324555320337, 1, 0, 1 },  /* sqrt(2/500) */
    { { TG_INIT_HE_UNIFORM, 0, 0 }, 0, 0.08164965809277, -0.14142135623731,
      0.14142135623731, 0 },                                       /* r = sqrt(6/300) */
    { { TG_INIT_HE_NORMAL, 0, 0 }, 0, 0.08164965809277, 1, 0, 1 },      /* sqrt(2/300) */
    { { TG_INIT_LECUN_NORMAL, 0, 0 }, 0, 0.05773502691896, 1, 0, 1 },   /* sqrt(1/300) */
    { { TG_INIT_CONSTANT, 0.25, 0 }, 0.25, 0, 0.25, 0.25, 0 },
    { { TG_INIT_ZEROS, 0, 0 }, 0, 0, 0, 0, 0 },
};

/* Sample mean within 5 standard errors (sigma / sqrt n), sample std within 5 of its standard
 * errors (about sigma / sqrt(2n) for a normal, less for a uniform), support respected with both
 * ends approached within 1e-3 of the width, and the 1-sigma mass of a normal within 5 binomial
 * standard errors of 0.6827 (a uniform has 0.577). */
START_TEST(test_init_statistics)
{
    const init_case *c = &init_cases[_i];
    float *x = malloc(N_INIT * sizeof *x);
    uint64_t rng = 1234 + (uint64_t)_i;
    double sum = 0, ss = 0, mean, std, mn = INFINITY, mx = -INFINITY;
    size_t i, within = 0;
    ck_assert_int_eq(tg_init_fill(&c->init, x, N_INIT, FAN_IN, FAN_OUT, &rng), TG_OK);
    for (i = 0; i < N_INIT; ++i) {
        sum += x[i];
        mn = fmin(mn, x[i]);
        mx = fmax(mx, x[i]);
    }
    mean = sum / N_INIT;
    for (i = 0; i < N_INIT; ++i) {
        ss += (x[i] - mean) * (x[i] - mean);
        within += fabs(x[i] - c->mean) <= c->std;
    }
    std = sqrt(ss / (N_INIT - 1));
    ck_assert_double_eq_tol(mean, c->mean, 5 * c->std / sqrt(N_INIT) + 1e-7);
    ck_assert_double_eq_tol(std, c->std, 5 * c->std / sqrt(2.0 * N_INIT) + 1e-7);
    if (c->lo <= c->hi) {
        ck_assert(mn >= (float)c->lo && mx <= (float)c->hi);
        ck_assert(mn - c->lo <= 1e-3 * (c->hi - c->lo) + 1e-7);
        ck_assert(c->hi - mx <= 1e-3 * (c->hi - c->lo) + 1e-7);
    }
    if (c->normal)
        ck_assert_double_eq_tol((double)within / N_INIT, 0.682689,
                                5 * sqrt(0.682689 * 0.317311 / N_INIT));
    free(x);
}
END_TEST

/* W W^T = g^2 I for O <= I (orthonormal rows), W^T W = g^2 I for O > I (columns). */
static void check_orthogonal(int O, int I, double gain)
{
    tg_init init = { TG_INIT_ORTHOGONAL, gain, 0 };
    float *w = malloc((size_t)O * I * sizeof *w);
    uint64_t rng = 99;
    int r = O <= I ? O : I, p, q, k;
    ck_assert_int_eq(tg_init_fill(&init, w, (size_t)O * I, I, O, &rng), TG_OK);
    for (p = 0; p < r; ++p)
        for (q = 0; q < r; ++q) {
            double d = 0, want = (p == q) * (gain > 0 ? gain * gain : 1.0);
            if (O <= I)
                for (k = 0; k < I; ++k)
                    d += (double)w[p * I + k] * w[q * I + k];
            else
                for (k = 0; k < O; ++k)
                    d += (double)w[k * I + p] * w[k * I + q];
            ck_assert_double_eq_tol(d, want, 2e-6 * (want > 1 ? want : 1));
        }
    free(w);
}

START_TEST(test_init_orthogonal)
{
    check_orthogonal(20, 50, 0);
    check_orthogonal(50, 20, 0);
    check_orthogonal(30, 30, 0);
    check_orthogonal(16, 64, 2.0);
}
END_TEST

START_TEST(test_init_names)
{
    int k;
    for (k = 0; k < TG_INIT_KIND_COUNT; ++k)
        ck_assert_int_eq(tg_init_find(tg_init_name((tg_init_kind)k)), k);
    ck_assert_str_eq(tg_init_name(TG_INIT_GLOROT_UNIFORM), "glorot_uniform");
    ck_assert_int_eq(tg_init_find("xavier_normal"), TG_INIT_GLOROT_NORMAL);
    ck_assert_int_eq(tg_init_find("kaiming_uniform"), TG_INIT_HE_UNIFORM);
    ck_assert_ptr_null(tg_init_name(TG_INIT_KIND_COUNT));
    ck_assert_int_eq(tg_init_find("glorot"), -1);
    ck_assert_error(TG_ERR_ARG, "unknown initialiser 'glorot'");
}
END_TEST

START_TEST(test_init_fill_errors)
{
    tg_init orth = { TG_INIT_ORTHOGONAL, 0, 0 }, he = { TG_INIT_HE_NORMAL, 0, 0 };
    tg_init bad = { TG_INIT_NORMAL, 0, -2 };
    float x[6];
    uint64_t rng = 1;
    ck_assert_int_eq(tg_init_fill(&orth, x, 6, 2, 2, &rng), TG_ERR_SHAPE);
    ck_assert_error(TG_ERR_SHAPE, "[fan_out 2, fan_in 2], given 6 values");
    ck_assert_int_eq(tg_init_fill(&he, x, 6, 0, 2, &rng), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "fan_in 0");
    ck_assert_int_eq(tg_init_fill(&bad, x, 6, 3, 2, &rng), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "init_param_std is -2");
    ck_assert_int_eq(tg_init_fill(&he, x, 6, 3, 2, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "rng is NULL");
}
END_TEST

/* ---- spec validation ------------------------------------------------------------------- */
static tg_status user_fwd(tg_node *n) { (void)n; return TG_OK; }
static const tg_op_def no_backward = { "halfway", 1, 0, NULL, user_fwd, NULL };

/* Builds a 3-layer spec, lets `edit` break layer `bad`, and checks the message. */
static void expect_spec_error(int bad, void (*edit)(tg_layer_spec *), const char *needle)
{
    tg_layer_spec ls[3] = { layer(4, &tg_op_tanh, glorot, zeros),
                            layer(4, &tg_op_tanh, glorot, zeros),
                            layer(2, &tg_op_identity, glorot, zeros) };
    edit(&ls[bad]);
    ck_assert_int_eq(tg_layers_check(3, ls, 3), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, needle);
    ck_assert_ptr_null(tg_net_new(3, ls, 3, 1));
    ck_assert_error(TG_ERR_ARG, needle);
}

static void zero_nodes(tg_layer_spec *l) { l->n_nodes = 0; }
static void null_act(tg_layer_spec *l) { l->activation = NULL; }
static void matmul_act(tg_layer_spec *l) { l->activation = &tg_op_matmul; }
static void halfway_act(tg_layer_spec *l) { l->activation = &no_backward; }
static void range_swapped(tg_layer_spec *l) { l->weight_init = (tg_init){ 0, 0.5, 0.1 }; }
static void range_nan(tg_layer_spec *l) { l->bias_init = (tg_init){ 0, -1, NAN }; }
static void std_negative(tg_layer_spec *l) { l->weight_init = (tg_init){ TG_INIT_NORMAL, 0, -1 }; }
static void kind_unknown(tg_layer_spec *l) { l->bias_init.kind = (tg_init_kind)42; }
static void gain_negative(tg_layer_spec *l) { l->weight_init.a = -2; }
static void bias_orth(tg_layer_spec *l) { l->bias_init.kind = TG_INIT_ORTHOGONAL; }
static void args_size(tg_layer_spec *l) { l->act_args_size = 4; }

START_TEST(test_spec_errors)
{
    expect_spec_error(1, zero_nodes, "layer 1: n_nodes is 0");
    expect_spec_error(0, null_act, "layer 0: activation is NULL");
    expect_spec_error(2, matmul_act, "layer 2: activation: built-in op 'matmul' is not an "
                      "activation");
    expect_spec_error(1, halfway_act, "layer 1: activation: user op 'halfway' must take one "
                      "input and have shape, forward and backward");
    expect_spec_error(2, range_swapped, "layer 2: init_weight_lower 0.5 > init_weight_upper 0.1");
    expect_spec_error(0, range_nan, "layer 0: init_bias_upper is nan");
    expect_spec_error(1, std_negative, "layer 1: init_weight_std is -1");
    expect_spec_error(2, kind_unknown, "layer 2: bias_init kind 42 is unknown");
    expect_spec_error(0, gain_negative, "layer 0: init_weight_gain is -2");
    expect_spec_error(1, bias_orth, "layer 1: bias_init orthogonal needs a matrix");
    expect_spec_error(0, args_size, "layer 0: act_args NULL but act_args_size is 4");
}
END_TEST

START_TEST(test_spec_net_errors)
{
    tg_layer_spec ls[1] = { layer(2, &tg_op_identity, glorot, zeros) };
    ck_assert_int_eq(tg_layers_check(0, ls, 1), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "n_inputs is 0");
    ck_assert_int_eq(tg_layers_check(3, ls, 0), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "0 layers");
    ck_assert_int_eq(tg_layers_check(3, NULL, 1), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "layers is NULL");
}
END_TEST

START_TEST(test_spec_activation_names)
{
    ck_assert_ptr_eq(tg_activation_find("tanh"), &tg_op_tanh);
    ck_assert_ptr_eq(tg_activation_find("relu"), &tg_op_relu);
    ck_assert_ptr_eq(tg_activation_find("linear"), &tg_op_identity);
    ck_assert_ptr_eq(tg_activation_find("none"), &tg_op_identity);
    ck_assert_ptr_null(tg_activation_find("swish2"));
    ck_assert_error(TG_ERR_ARG, "unknown activation 'swish2'");
    ck_assert_ptr_null(tg_activation_find("matmul"));
    ck_assert_error(TG_ERR_ARG, "op 'matmul' is not an activation");
}
END_TEST

/* An activation with an argument struct: leaky_relu's alpha reaches the op. */
START_TEST(test_spec_activation_args)
{
    tg_float_arg alpha = { 0.5f };
    tg_layer_spec ls[1] = { { 1, &tg_op_leaky_relu, &alpha, sizeof alpha,
                              { TG_INIT_CONSTANT, 1, 0 }, zeros } };
    tg_net *net;
    tg_net_graph *ng;
    float x[2] = { -4, 2 }, y[2];
    net = tg_net_new(1, ls, 1, 1);
    alpha.value = 9; /* the net keeps its own copy */
    ng = tg_net_graph_new(net, 2, NULL);
    ck_assert_ptr_nonnull(ng);
    ck_assert_int_eq(tg_net_predict(ng, x, 2, y, NULL), TG_OK);
    ck_assert_float_eq(y[0], -2.0f);
    ck_assert_float_eq(y[1], 2.0f);
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

/* ---- losses ---------------------------------------------------------------------------- */
/* A 3-3 identity-activation net with w = I, b = 0, so the output equals x. */
static tg_net *identity_net(void)
{
    tg_layer_spec ls[1] = { layer(3, &tg_op_identity, zeros, zeros) };
    tg_net *net = tg_net_new(3, ls, 1, 1);
    float *w = tg_net_weight(net, 0);
    w[0] = w[4] = w[8] = 1.0f;
    return net;
}

static float *run_loss(tg_net_graph *ng, float *x, float *y)
{
    ck_assert_int_eq(tg_net_graph_bind(ng, x, y), TG_OK);
    ck_assert_int_eq(tg_graph_forward(tg_net_graph_tape(ng)), TG_OK);
    ck_assert_int_eq(tg_backward(tg_net_graph_tape(ng), tg_net_graph_loss(ng)), TG_OK);
    return tg_net_graph_loss(ng)->data;
}

/* logits [[1,2,3],[1,1,1]], labels [2,0]: -log softmax = 0.40760596 + log 3 = 1.50621825;
 * dz = softmax - onehot, so db = column sums of
 * [[0.09003057, 0.24472847, -0.33475904], [-2/3, 1/3, 1/3]]. */
START_TEST(test_loss_softmax_xent)
{
    tg_net *net = identity_net();
    tg_net_graph *s = tg_net_graph_new(net, 2, tg_loss_find("softmax_cross_entropy_sum"));
    tg_net_graph *m = tg_net_graph_new(net, 2, tg_loss_find("softmax_cross_entropy_mean"));
    float x[6] = { 1, 2, 3, 1, 1, 1 }, y[2] = { 2, 0 };
    const float *db = tg_net_bias_grad(net, 0);
    ck_assert_double_eq_tol(run_loss(s, x, y)[0], 1.50621825, 1e-6);
    ck_assert_double_eq_tol(db[0], 0.09003057 - 2.0 / 3, 1e-6);
    ck_assert_double_eq_tol(db[1], 0.24472847 + 1.0 / 3, 1e-6);
    ck_assert_double_eq_tol(db[2], -0.33475904 + 1.0 / 3, 1e-6);
    ck_assert_double_eq_tol(run_loss(m, x, y)[0], 0.75310913, 1e-6);
    ck_assert_double_eq_tol(db[0], (0.09003057 - 2.0 / 3) / 2, 1e-6);
    tg_net_graph_free(s);
    tg_net_graph_free(m);
    tg_net_free(net);
}
END_TEST

/* out [[0.5,-1,2],[0,0,1]] vs one-hot [[1,0,0],[0,0,1]]: (0.25 + 1 + 4) / 6 = 0.875;
 * db = column sums of 2 (out - t) / 6 = [-1/6, -1/3, 2/3]. */
START_TEST(test_loss_mse)
{
    tg_net *net = identity_net();
    tg_net_graph *ng = tg_net_graph_new(net, 2, &tg_loss_mse);
    float x[6] = { 0.5f, -1, 2, 0, 0, 1 }, y[6] = { 1, 0, 0, 0, 0, 1 };
    const float *db = tg_net_bias_grad(net, 0);
    assert_shape(tg_net_graph_target(ng), "y", 2, 2, 3);
    ck_assert_double_eq_tol(run_loss(ng, x, y)[0], 0.875, 1e-6);
    ck_assert_double_eq_tol(db[0], -1.0 / 6, 1e-6);
    ck_assert_double_eq_tol(db[1], -1.0 / 3, 1e-6);
    ck_assert_double_eq_tol(db[2], 2.0 / 3, 1e-6);
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

/* A user loss composed of ops: multiclass hinge mean(relu(1 - t out)), t = 2 onehot - 1. */
static tg_tensor *hinge(tg_graph *g, tg_tensor *out, tg_tensor *target, void *user)
{
    tg_tensor *t = tg_shift(g, tg_scale(g, target, 2.0f), -1.0f);
    (void)user;
    return tg_mean(g, tg_relu(g, tg_shift(g, tg_neg(g, tg_mul(g, t, out)), 1.0f)));
}

/* out [[0.5,-1.5,2],[0,0,1.5]], t [[1,-1,-1],[-1,-1,1]]: 1 - t out = [[0.5,-0.5,3],[1,1,-0.5]],
 * relu sums to 5.5, over 6. d/dout = -t/6 where active (no element at the kink):
 * db = [-1/6 + 1/6, 0 + 1/6, 1/6 + 0]. */
START_TEST(test_loss_user_hinge)
{
    const tg_loss h = { "hinge", hinge, TG_TARGET_ONEHOT, NULL };
    tg_net *net = identity_net();
    tg_net_graph *ng = tg_net_graph_new(net, 2, &h);
    float x[6] = { 0.5f, -1.5f, 2, 0, 0, 1.5f }, y[6] = { 1, 0, 0, 0, 0, 1 };
    ck_assert_ptr_nonnull(ng);
    ck_assert_double_eq_tol(run_loss(ng, x, y)[0], 5.5 / 6, 1e-6);
    ck_assert_str_eq(tg_net_graph_loss(ng)->name, "loss");
    ck_assert_double_eq_tol(tg_net_bias_grad(net, 0)[0], 0.0, 1e-7);
    ck_assert_double_eq_tol(tg_net_bias_grad(net, 0)[1], 1.0 / 6, 1e-7);
    ck_assert_double_eq_tol(tg_net_bias_grad(net, 0)[2], 1.0 / 6, 1e-7);
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

static tg_tensor *not_scalar(tg_graph *g, tg_tensor *out, tg_tensor *t, void *u)
{
    return tg_identity(g, out);
}

static tg_tensor *silent_null(tg_graph *g, tg_tensor *out, tg_tensor *t, void *u)
{
    return NULL;
}

START_TEST(test_loss_errors)
{
    const tg_loss vec = { "vector", not_scalar, TG_TARGET_LABELS, NULL };
    const tg_loss nul = { "nothing", silent_null, TG_TARGET_LABELS, NULL };
    const tg_loss nofn = { "nofn", NULL, TG_TARGET_LABELS, NULL };
    tg_net *net = identity_net();
    ck_assert_ptr_null(tg_net_graph_new(net, 2, &vec));
    ck_assert_error(TG_ERR_SHAPE, "loss 'vector' gave t");
    ck_assert_ptr_null(tg_net_graph_new(net, 2, &nul));
    ck_assert_error(TG_ERR_ARG, "loss 'nothing' returned NULL without an error");
    ck_assert_ptr_null(tg_net_graph_new(net, 2, &nofn));
    ck_assert_error(TG_ERR_ARG, "loss 'nofn' has no function");
    ck_assert_ptr_null(tg_loss_find("hinge"));
    ck_assert_error(TG_ERR_ARG, "unknown loss 'hinge'");
    ck_assert_ptr_eq(tg_loss_find("mse"), &tg_loss_mse);
    tg_net_free(net);
}
END_TEST

/* ---- optimisers ------------------------------------------------------------------------ */
/* Two steps of opts on p = [1, -2] with g = [0.5, -1] then [0.1, -1]; want after each. */
static void two_steps(tg_optim_opts o, const double want1[2], const double want2[2])
{
    float p[2] = { 1, -2 }, g[2] = { 0.5f, -1 };
    tg_optim *opt = tg_optim_new(&o, p, g, 2);
    ck_assert_ptr_nonnull(opt);
    ck_assert_int_eq(tg_optim_step(opt), TG_OK);
    ck_assert_double_eq_tol(p[0], want1[0], 1e-6);
    ck_assert_double_eq_tol(p[1], want1[1], 1e-6);
    g[0] = 0.1f;
    ck_assert_int_eq(tg_optim_step(opt), TG_OK);
    ck_assert_double_eq_tol(p[0], want2[0], 1e-6);
    ck_assert_double_eq_tol(p[1], want2[1], 1e-6);
    ck_assert_int_eq(tg_optim_steps(opt), 2);
    tg_optim_free(opt);
}

/* p -= 0.1 g */
START_TEST(test_optim_sgd)
{
    two_steps(tg_optim_defaults(TG_OPTIM_SGD, 0.1), (const double[]){ 0.95, -1.9 },
              (const double[]){ 0.94, -1.8 });
}
END_TEST

/* v1 = g1; p1 = p - 0.1 g1.  v2 = 0.9 g1 + g2; p2 = p1 - 0.1 v2:
 * [0.95 - 0.1 (0.45 + 0.1), -1.9 - 0.1 (-0.9 - 1)] = [0.895, -1.71] */
START_TEST(test_optim_momentum)
{
    two_steps(tg_optim_defaults(TG_OPTIM_MOMENTUM, 0.1), (const double[]){ 0.95, -1.9 },
              (const double[]){ 0.895, -1.71 });
}
END_TEST

/* v1 = g1; p1 = p - 0.1 (g1 + 0.9 g1) = [0.905, -1.81].
 * v2 = [0.55, -1.9]; p2 = p1 - 0.1 (g2 + 0.9 v2) = [0.905 - 0.0595, -1.81 + 0.271] */
START_TEST(test_optim_nesterov)
{
    two_steps(tg_optim_defaults(TG_OPTIM_NESTEROV, 0.1), (const double[]){ 0.905, -1.81 },
              (const double[]){ 0.8455, -1.539 });
}
END_TEST

/* Step 1: m^ = g, v^ = g^2, so p -= 0.1 sign(g) (up to eps). Step 2, element 0:
 * m = 0.045 + 0.01 = 0.055, m^ = 0.055 / 0.19 = 0.28947; v = 0.999 * 0.00025 + 0.001 * 0.01
 * = 0.00025975, v^ = v / 0.001999 = 0.12994; p = 0.9 - 0.1 * 0.28947 / 0.36047 = 0.8196959.
 * Element 1 has g = -1 twice: m^ = -1, v^ = 1, p = -1.8. */
START_TEST(test_optim_adam)
{
    two_steps(tg_optim_defaults(TG_OPTIM_ADAM, 0.1), (const double[]){ 0.9, -1.9 },
              (const double[]){ 0.8196959, -1.8 });
}
END_TEST

/* s1 = 0.1 g^2: p -= 0.01 g / (sqrt(0.1) |g|) = 0.0316228 sign(g).  Step 2, element 0:
 * s = 0.0225 + 0.001 = 0.0235, p -= 0.01 * 0.1 / 0.1532971 = 0.0065233 -> 0.9618539;
 * element 1: s = 0.19, p -= 0.01 / 0.4358899 = 0.0229416 -> -1.9454357. */
START_TEST(test_optim_rmsprop)
{
    two_steps(tg_optim_defaults(TG_OPTIM_RMSPROP, 0.01), (const double[]){ 0.9683772, -1.9683772 },
              (const double[]){ 0.9618539, -1.9454357 });
}
END_TEST

/* SGD with g = 1: the sum of the learning rates used. */
START_TEST(test_optim_schedules)
{
    tg_optim_opts o = tg_optim_defaults(TG_OPTIM_SGD, 1.0);
    const double step_lrs[5] = { 1, 1, 0.5, 0.5, 0.25 }, exp_lrs[3] = { 1, 0.5, 0.25 };
    float p = 0, g = 1;
    tg_optim *opt;
    int t;
    o.schedule = TG_LR_STEP;
    o.step_size = 2;
    o.gamma = 0.5;
    opt = tg_optim_new(&o, &p, &g, 1);
    for (t = 0; t < 5; ++t) {
        ck_assert_double_eq(tg_optim_lr(opt), step_lrs[t]);
        ck_assert_int_eq(tg_optim_step(opt), TG_OK);
    }
    ck_assert_float_eq(p, -3.25f);
    tg_optim_free(opt);
    p = 0;
    o.schedule = TG_LR_EXPONENTIAL;
    opt = tg_optim_new(&o, &p, &g, 1);
    for (t = 0; t < 3; ++t) {
        ck_assert_double_eq(tg_optim_lr(opt), exp_lrs[t]);
        ck_assert_int_eq(tg_optim_step(opt), TG_OK);
    }
    ck_assert_float_eq(p, -1.75f);
    tg_optim_reset(opt);
    ck_assert_double_eq(tg_optim_lr(opt), 1.0);
    ck_assert_int_eq(tg_optim_steps(opt), 0);
    tg_optim_free(opt);
}
END_TEST

/* g = [3, 4], ||g|| = 5: clip 1 scales g to [0.6, 0.8]; clip 10 leaves it. */
START_TEST(test_optim_clipping)
{
    tg_optim_opts o = tg_optim_defaults(TG_OPTIM_SGD, 1.0);
    float p[2] = { 0, 0 }, g[2] = { 3, 4 };
    tg_optim *opt;
    o.clip_norm = 1.0;
    opt = tg_optim_new(&o, p, g, 2);
    ck_assert_int_eq(tg_optim_step(opt), TG_OK);
    ck_assert_double_eq_tol(p[0], -0.6, 1e-7);
    ck_assert_double_eq_tol(p[1], -0.8, 1e-7);
    ck_assert_double_eq_tol(tg_optim_grad_norm(opt), 5.0, 1e-12);
    ck_assert_float_eq(g[0], 3.0f); /* gradients are not modified */
    tg_optim_free(opt);
    o.clip_norm = 10.0;
    p[0] = p[1] = 0;
    opt = tg_optim_new(&o, p, g, 2);
    ck_assert_int_eq(tg_optim_step(opt), TG_OK);
    ck_assert_float_eq(p[0], -3.0f);
    ck_assert_float_eq(p[1], -4.0f);
    tg_optim_free(opt);
}
END_TEST

/* A non-finite gradient changes nothing, momentum included. */
START_TEST(test_optim_nonfinite)
{
    tg_optim_opts o = tg_optim_defaults(TG_OPTIM_MOMENTUM, 0.1);
    float p[2] = { 1, 2 }, g[2] = { 1, 1 };
    tg_optim *opt = tg_optim_new(&o, p, g, 2);
    ck_assert_int_eq(tg_optim_step(opt), TG_OK);
    g[1] = INFINITY;
    ck_assert_int_eq(tg_optim_step(opt), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "gradient norm is inf at step 1; no value changed");
    ck_assert_float_eq(p[0], 0.9f);
    ck_assert_float_eq(p[1], 1.9f);
    ck_assert_int_eq(tg_optim_steps(opt), 1);
    g[1] = 1; /* the next good step still sees v = g1 */
    ck_assert_int_eq(tg_optim_step(opt), TG_OK);
    ck_assert_double_eq_tol(p[0], 0.9 - 0.1 * 1.9, 1e-6);
    tg_optim_free(opt);
}
END_TEST

static void expect_optim_error(tg_optim_opts o, const char *needle)
{
    float p = 0, g = 0;
    ck_assert_ptr_null(tg_optim_new(&o, &p, &g, 1));
    ck_assert_error(TG_ERR_ARG, needle);
}

START_TEST(test_optim_errors)
{
    tg_optim_opts o = tg_optim_defaults(TG_OPTIM_SGD, 0.0);
    float p = 0, g = 0;
    expect_optim_error(o, "optim sgd: lr 0 (must be finite and > 0)");
    o.lr = NAN;
    expect_optim_error(o, "lr nan");
    o.lr = -1;
    expect_optim_error(o, "lr -1");
    o = tg_optim_defaults(TG_OPTIM_MOMENTUM, 0.1);
    o.momentum = 1.0;
    expect_optim_error(o, "optim momentum: momentum 1 outside [0,1)");
    o = tg_optim_defaults(TG_OPTIM_NESTEROV, 0.1);
    o.momentum = -0.1;
    expect_optim_error(o, "optim nesterov: momentum -0.1 outside [0,1)");
    o = tg_optim_defaults(TG_OPTIM_ADAM, 0.1);
    o.beta1 = 1.0;
    expect_optim_error(o, "optim adam: beta1 1 outside [0,1)");
    o.beta1 = 0.9;
    o.beta2 = NAN;
    expect_optim_error(o, "beta2 nan outside [0,1)");
    o.beta2 = 0.999;
    o.eps = 0;
    expect_optim_error(o, "optim adam: eps 0 (must be finite and > 0)");
    o = tg_optim_defaults(TG_OPTIM_RMSPROP, 0.1);
    o.rho = 1.5;
    expect_optim_error(o, "optim rmsprop: rho 1.5 outside [0,1)");
    o = tg_optim_defaults(TG_OPTIM_SGD, 0.1);
    o.schedule = TG_LR_STEP;
    o.step_size = 0;
    expect_optim_error(o, "step_size 0");
    o.step_size = 10;
    o.gamma = 0;
    expect_optim_error(o, "gamma 0");
    o = tg_optim_defaults(TG_OPTIM_SGD, 0.1);
    o.clip_norm = NAN;
    expect_optim_error(o, "clip_norm nan");
    o = tg_optim_defaults((tg_optim_kind)9, 0.1);
    expect_optim_error(o, "kind 9 is unknown");
    o = tg_optim_defaults(TG_OPTIM_SGD, 0.1);
    ck_assert_ptr_null(tg_optim_new(&o, &p, &g, 0));
    ck_assert_error(TG_ERR_ARG, "n = 0");
    ck_assert_ptr_null(tg_optim_new(&o, NULL, &g, 1));
    ck_assert_error(TG_ERR_ARG, "values or grads is NULL");
    ck_assert_int_eq(tg_optim_step(NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_optim_find("adam"), TG_OPTIM_ADAM);
    ck_assert_str_eq(tg_optim_name(TG_OPTIM_NESTEROV), "nesterov");
    ck_assert_int_eq(tg_optim_find("adagrad"), -1);
    ck_assert_error(TG_ERR_ARG, "unknown optimiser 'adagrad'");
}
END_TEST

Suite *suite_nn(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("build");
    tcase_add_test(tc, test_net_shapes_names);
    tcase_add_test(tc, test_net_negative_index);
    tcase_add_test(tc, test_net_forward_values);
    tcase_add_test(tc, test_net_graphs_share_params);
    tcase_add_test(tc, test_net_seed_determinism);
    tcase_add_test(tc, test_net_graph_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("init");
    tcase_add_loop_test(tc, test_init_statistics, 0,
                        (int)(sizeof init_cases / sizeof init_cases[0]));
    tcase_add_test(tc, test_init_orthogonal);
    tcase_add_test(tc, test_init_names);
    tcase_add_test(tc, test_init_fill_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("spec");
    tcase_add_test(tc, test_spec_errors);
    tcase_add_test(tc, test_spec_net_errors);
    tcase_add_test(tc, test_spec_activation_names);
    tcase_add_test(tc, test_spec_activation_args);
    suite_add_tcase(s, tc);

    tc = tcase_create("loss");
    tcase_add_test(tc, test_loss_softmax_xent);
    tcase_add_test(tc, test_loss_mse);
    tcase_add_test(tc, test_loss_user_hinge);
    tcase_add_test(tc, test_loss_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("optim");
    tcase_add_test(tc, test_optim_sgd);
    tcase_add_test(tc, test_optim_momentum);
    tcase_add_test(tc, test_optim_nesterov);
    tcase_add_test(tc, test_optim_adam);
    tcase_add_test(tc, test_optim_rmsprop);
    tcase_add_test(tc, test_optim_schedules);
    tcase_add_test(tc, test_optim_clipping);
    tcase_add_test(tc, test_optim_nonfinite);
    tcase_add_test(tc, test_optim_errors);
    suite_add_tcase(s, tc);
    return s;
}
