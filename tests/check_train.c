/*
 * check_train.c -- the training loop: a net learns XOR and three 2-D blobs perfectly, the
 * loss falls, runs are bit-identical for a seed, a NaN/Inf stops training without touching
 * the parameters, a step allocates nothing after the first, predict and accuracy, errors,
 * flushing subnormals (per thread, and for a training run), and (when the data is there) a
 * 784-64-10 tanh net on MNIST.
 */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "tests.h"

static const tg_init glorot = { TG_INIT_GLOROT_UNIFORM, 0, 0 };
static const tg_init zeros = { TG_INIT_ZEROS, 0, 0 };

/* ---- a batch source over fixed arrays ------------------------------------------------ */
typedef struct {
    float *x, *labels, *onehot;  /* (per_epoch * B, ...) */
    size_t B;
    int per_epoch;               /* batches per epoch */
    long limit;                  /* batches before the end of the data; 0 = endless */
    long calls;
    tg_status fail;              /* returned on the call numbered fail_at */
    long fail_at;
    int in, classes;
} fixed_src;

static tg_status fixed_next(void *p, tg_batch *b)
{
    fixed_src *s = p;
    size_t k = (size_t)(s->calls % s->per_epoch);
    if (s->fail && s->calls == s->fail_at)
        return tg_error_set(s->fail, "source broke at call %ld", s->calls);
    if (s->limit && s->calls >= s->limit) {
        b->n = 0;
        return TG_OK;
    }
    b->n = s->B;
    b->epoch = (int)(s->calls / s->per_epoch);
    b->index = k;
    b->x = s->x + k * s->B * s->in;
    b->labels = s->labels ? s->labels + k * s->B : NULL;
    b->onehot = s->onehot ? s->onehot + k * s->B * s->classes : NULL;
    s->calls++;
    return TG_OK;
}

/* XOR on +-1 inputs: one batch of all four points per epoch. */
static float xor_x[8] = { -1, -1, -1, 1, 1, -1, 1, 1 };
static float xor_y[4] = { 0, 1, 1, 0 };
static float xor_onehot[8] = { 1, 0, 0, 1, 0, 1, 1, 0 };

static fixed_src xor_src(void)
{
    fixed_src s = { xor_x, xor_y, xor_onehot, 4, 1, 0, 0, TG_OK, 0, 2, 2 };
    return s;
}

static tg_net *xor_net(uint64_t seed)
{
    tg_layer_spec ls[2] = { { 8, &tg_op_tanh, NULL, 0, glorot, zeros },
                            { 2, &tg_op_identity, NULL, 0, glorot, zeros } };
    return tg_net_new(2, ls, 2, seed);
}

/* Progress: record each step's loss (and optionally snapshot the parameters). */
typedef struct {
    double loss[4096];
    long steps[4096];
    long n;
    tg_net *snap_net;
    float *snap;        /* parameters after the last completed step */
    tg_status stop_at_2;
} recorder;

static tg_status record(const tg_train_progress *p, void *user)
{
    recorder *r = user;
    if (r->n < 4096) {
        r->loss[r->n] = p->loss;
        r->steps[r->n] = p->step;
    }
    r->n++;
    if (r->snap_net) {
        size_t n;
        const float *v = tg_net_values(r->snap_net, &n);
        memcpy(r->snap, v, n * sizeof(float));
    }
    if (r->stop_at_2 && p->step == 2)
        return r->stop_at_2;
    ck_assert(p->steps_per_s >= 0);
    return TG_OK;
}

/* Train XOR for `steps` SGD steps; losses go to rec. Returns the net (caller frees). */
static tg_net *train_xor(uint64_t seed, long steps, recorder *rec, tg_train_result *res)
{
    tg_net *net = xor_net(seed);
    tg_net_graph *ng = tg_net_graph_new(net, 4, &tg_loss_softmax_xent_sum);
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 0.1);
    tg_optim *opt = tg_optim_new_net(&oo, net);
    fixed_src src = xor_src();
    tg_train_opts to = tg_train_defaults();
    to.max_steps = steps;
    to.progress = record;
    to.progress_user = rec;
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, res), TG_OK);
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    return net;
}

START_TEST(test_train_xor)
{
    static recorder rec;
    tg_train_result res;
    tg_net *net = train_xor(5, 600, &rec, &res);
    tg_net_graph *eval = tg_net_graph_new(net, 3, NULL); /* 4 rows: one padded batch */
    const uint8_t labels[4] = { 0, 1, 1, 0 };
    int cls[4];
    double acc;
    ck_assert_int_eq(res.steps, 600);
    ck_assert_int_eq(rec.n, 600);
    ck_assert_int_eq(res.epoch, 599);
    ck_assert_double_eq(res.loss, rec.loss[599]);
    ck_assert_double_eq(res.epoch_loss, rec.loss[599]); /* one step per epoch */
    /* starts near 4 ln 2 = 2.77 (small random logits), ends near 0 */
    ck_assert_double_gt(rec.loss[0], 1.5);
    ck_assert_double_lt(rec.loss[599], 0.05);
    ck_assert_double_lt(rec.loss[599], rec.loss[0] / 50);
    ck_assert_int_eq(tg_net_predict(eval, xor_x, 4, NULL, cls), TG_OK);
    ck_assert_int_eq(cls[0], 0);
    ck_assert_int_eq(cls[1], 1);
    ck_assert_int_eq(cls[2], 1);
    ck_assert_int_eq(cls[3], 0);
    ck_assert_int_eq(tg_net_accuracy(eval, xor_x, labels, 4, &acc), TG_OK);
    ck_assert_double_eq(acc, 1.0);
    tg_net_graph_free(eval);
    tg_net_free(net);
}
END_TEST

/* The same seed gives bit-identical losses and parameters; another seed does not. */
START_TEST(test_train_determinism)
{
    static recorder a, b, c;
    tg_net *na = train_xor(11, 200, &a, NULL), *nb = train_xor(11, 200, &b, NULL);
    tg_net *nc = train_xor(12, 200, &c, NULL);
    size_t n;
    float *va = tg_net_values(na, &n);
    ck_assert_int_eq(memcmp(a.loss, b.loss, 200 * sizeof(double)), 0);
    ck_assert_int_eq(memcmp(va, tg_net_values(nb, NULL), n * sizeof(float)), 0);
    ck_assert_int_ne(memcmp(a.loss, c.loss, 200 * sizeof(double)), 0);
    tg_net_free(na);
    tg_net_free(nb);
    tg_net_free(nc);
}
END_TEST

/* Step numbers continue across calls (from the optimiser's count); epochs come from the
 * source; max_epochs stops at the first batch of a later epoch. */
START_TEST(test_train_limits)
{
    static recorder rec;
    tg_net *net = xor_net(1);
    tg_net_graph *ng = tg_net_graph_new(net, 2, &tg_loss_softmax_xent_mean);
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_ADAM, 0.01);
    tg_optim *opt = tg_optim_new_net(&oo, net);
    fixed_src src = { xor_x, xor_y, NULL, 2, 2, 0, 0, TG_OK, 0, 2, 2 };
    tg_train_opts to = tg_train_defaults();
    tg_train_result res;
    to.max_epochs = 3;
    to.progress = record;
    to.progress_user = &rec;
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, &res), TG_OK);
    ck_assert_int_eq(res.steps, 6);
    ck_assert_int_eq(res.epoch, 2);
    ck_assert_double_eq_tol(res.epoch_loss, (rec.loss[4] + rec.loss[5]) / 2, 1e-12);
    ck_assert_int_eq(tg_graph_epoch(tg_net_graph_tape(ng)), 2);
    to.max_epochs = 0;
    to.max_steps = 3;
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, &res), TG_OK);
    ck_assert_int_eq(res.steps, 3);
    ck_assert_int_eq(rec.steps[6], 6);
    ck_assert_int_eq(rec.steps[8], 8);
    ck_assert_int_eq(tg_optim_steps(opt), 9);
    ck_assert_int_eq(tg_graph_step(tg_net_graph_tape(ng)), 8);
    /* the end of the data ends training without an error */
    src.limit = src.calls + 2;
    to.max_steps = 0;
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, &res), TG_OK);
    ck_assert_int_eq(res.steps, 2);
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

/* MSE takes the batch's one-hot rows; the net still learns XOR. */
START_TEST(test_train_mse_onehot)
{
    tg_net *net = xor_net(3);
    tg_net_graph *ng = tg_net_graph_new(net, 4, &tg_loss_mse);
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_MOMENTUM, 0.1);
    tg_optim *opt = tg_optim_new_net(&oo, net);
    fixed_src src = xor_src();
    tg_train_opts to = tg_train_defaults();
    tg_train_result res;
    const uint8_t labels[4] = { 0, 1, 1, 0 };
    double acc;
    to.max_steps = 400;
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, &res), TG_OK);
    ck_assert_double_lt(res.loss, 0.01);
    ck_assert_int_eq(tg_net_accuracy(ng, xor_x, labels, 4, &acc), TG_OK);
    ck_assert_double_eq(acc, 1.0);
    src.onehot = NULL;
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, &res), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "the batch has no one-hot targets");
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

/* A learning rate of 1e38 overflows the parameters after a step or two: the next forward
 * meets an Inf, training stops naming the step and the op, and the parameters are those the
 * last good step left. */
START_TEST(test_train_nonfinite)
{
    static recorder rec;
    tg_net *net = xor_net(5);
    tg_net_graph *ng = tg_net_graph_new(net, 4, &tg_loss_softmax_xent_sum);
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 1e38);
    size_t n;
    float *v = tg_net_values(net, &n);
    tg_optim *opt = tg_optim_new_net(&oo, net);
    fixed_src src = xor_src();
    tg_train_opts to = tg_train_defaults();
    tg_train_result res;
    char needle[64];
    rec.snap_net = net;
    rec.snap = malloc(n * sizeof(float));
    to.max_steps = 100;
    to.progress = record;
    to.progress_user = &rec;
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, &res), TG_ERR_NONFINITE);
    ck_assert_int_ge(rec.n, 1);
    ck_assert_int_eq(res.steps, rec.n);
    snprintf(needle, sizeof needle, "train: step %ld (epoch %ld): ", rec.n, rec.n);
    ck_assert_error(TG_ERR_NONFINITE, needle);
    ck_assert_error(TG_ERR_NONFINITE, " (node ");
    ck_assert_error(TG_ERR_NONFINITE, "parameters not updated");
    ck_assert_msg(strstr(tg_last_error(), "linear") || strstr(tg_last_error(), "softmax_xent"),
                  "no op named in \"%s\"", tg_last_error());
    ck_assert_int_eq(memcmp(v, rec.snap, n * sizeof(float)), 0);
    ck_assert_int_eq(tg_optim_steps(opt), rec.n);
    free(rec.snap);
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

/* Without the numerics check the loss check (or the gradient norm) still stops training. */
START_TEST(test_train_nonfinite_unchecked)
{
    static recorder rec;
    tg_net *net = xor_net(5);
    tg_net_graph *ng = tg_net_graph_new(net, 4, &tg_loss_softmax_xent_sum);
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 1e38);
    size_t n;
    float *v = tg_net_values(net, &n);
    tg_optim *opt = tg_optim_new_net(&oo, net);
    fixed_src src = xor_src();
    tg_train_opts to = tg_train_defaults();
    rec.snap_net = net;
    rec.snap = malloc(n * sizeof(float));
    to.max_steps = 100;
    to.check_numerics = 0;
    to.progress = record;
    to.progress_user = &rec;
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, NULL), TG_ERR_NONFINITE);
    ck_assert_msg(strstr(tg_last_error(), "loss 'loss' is") ||
                  strstr(tg_last_error(), "gradient norm is"), "%s", tg_last_error());
    ck_assert_error(TG_ERR_NONFINITE, "parameters not updated");
    ck_assert_int_eq(memcmp(v, rec.snap, n * sizeof(float)), 0);
    free(rec.snap);
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

/* ---- allocations ------------------------------------------------------------------------ */
static long n_calls;
static void *count_malloc(size_t n, void *u) { n_calls++; return malloc(n); }
static void *count_realloc(void *p, size_t n, void *u) { n_calls++; return realloc(p, n); }
static void count_free(void *p, void *u) { n_calls++; free(p); }

/* After the first step, 50 training steps call the allocator zero times. */
START_TEST(test_train_zero_alloc)
{
    const tg_allocator counting = { count_malloc, count_realloc, count_free, NULL };
    tg_net *net;
    tg_net_graph *ng;
    tg_optim *opt;
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_ADAM, 0.01);
    fixed_src src = xor_src();
    tg_train_opts to = tg_train_defaults();
    int nodes;
    tg_set_allocator(&counting);
    net = xor_net(2);
    ng = tg_net_graph_new(net, 4, &tg_loss_softmax_xent_sum);
    opt = tg_optim_new_net(&oo, net);
    to.max_steps = 1;
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, NULL), TG_OK);
    ck_assert_int_gt(n_calls, 0);
    n_calls = 0;
    nodes = tg_graph_n_nodes(tg_net_graph_tape(ng));
    to.max_steps = 50;
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, NULL), TG_OK);
    ck_assert_int_eq(tg_optim_steps(opt), 51);
    ck_assert_int_eq(n_calls, 0);
    ck_assert_int_eq(tg_graph_n_nodes(tg_net_graph_tape(ng)), nodes); /* replayed, not grown */
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    tg_net_free(net);
    tg_set_allocator(NULL);
}
END_TEST

/* An allocator that fails call number fail_at and counts live blocks. */
static long fail_at, n_seen, n_live;
static void *fail_malloc(size_t n, void *u)
{
    void *p = n_seen++ == fail_at ? NULL : malloc(n);
    n_live += p != NULL;
    return p;
}
static void *fail_realloc(void *p, size_t n, void *u)
{
    void *q = n_seen++ == fail_at ? NULL : realloc(p, n);
    n_live += q && !p;
    return q;
}
static void fail_free(void *p, void *u)
{
    n_live -= p != NULL;
    free(p);
}

/* Net, graph, optimiser, two steps, predict with a padded batch and accuracy; returns the
 * first failing status (TG_OK when all succeeded), freeing everything either way. */
static tg_status alloc_scenario(void)
{
    tg_layer_spec ls[2] = { { 8, &tg_op_tanh, NULL, 0, { TG_INIT_ORTHOGONAL, 0, 0 }, zeros },
                            { 2, &tg_op_identity, NULL, 0, glorot, zeros } };
    const uint8_t labels[4] = { 0, 1, 1, 0 };
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_ADAM, 0.01);
    tg_net *net = tg_net_new(2, ls, 2, 1);
    tg_net_graph *ng = net ? tg_net_graph_new(net, 4, &tg_loss_softmax_xent_sum) : NULL;
    tg_net_graph *eval = ng ? tg_net_graph_new(net, 3, NULL) : NULL;
    tg_optim *opt = eval ? tg_optim_new_net(&oo, net) : NULL;
    fixed_src src = xor_src();
    tg_train_opts to = tg_train_defaults();
    tg_status s = opt ? TG_OK : tg_last_status();
    double acc;
    int cls[4];
    to.max_steps = 2;
    if (s == TG_OK)
        s = tg_train(ng, opt, fixed_next, &src, &to, NULL);
    if (s == TG_OK)
        s = tg_net_predict(eval, xor_x, 4, NULL, cls);
    if (s == TG_OK)
        s = tg_net_accuracy(eval, xor_x, labels, 4, &acc);
    tg_optim_free(opt);
    tg_net_graph_free(eval);
    tg_net_graph_free(ng);
    tg_net_free(net);
    return s;
}

/* Failing each allocation in turn gives TG_ERR_NOMEM with a message (the engine's or ours)
 * and leaks nothing. */
START_TEST(test_train_alloc_failures)
{
    const tg_allocator failing = { fail_malloc, fail_realloc, fail_free, NULL };
    tg_status s;
    tg_set_allocator(&failing);
    for (fail_at = 0;; ++fail_at) {
        n_seen = n_live = 0;
        tg_error_clear();
        s = alloc_scenario();
        ck_assert_int_eq(n_live, 0);
        if (s == TG_OK)
            break;
        ck_assert_msg(s == TG_ERR_NOMEM && tg_last_status() == s && tg_last_error()[0],
                      "allocation %ld: status %d, \"%s\"", fail_at, s, tg_last_error());
    }
    ck_assert_int_gt(fail_at, 10);
    ck_assert_int_eq(n_seen, fail_at); /* the successful run made fail_at allocations */
    tg_set_allocator(NULL);
}
END_TEST

/* ---- errors -------------------------------------------------------------------------- */
START_TEST(test_train_errors)
{
    static recorder rec;
    tg_net *net = xor_net(1);
    tg_net_graph *ng = tg_net_graph_new(net, 4, &tg_loss_softmax_xent_sum);
    tg_net_graph *eval = tg_net_graph_new(net, 4, NULL);
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 0.1);
    size_t n;
    float *v = tg_net_values(net, &n);
    tg_optim *opt = tg_optim_new_net(&oo, net);
    fixed_src src = xor_src();
    tg_train_opts to = tg_train_defaults();
    tg_train_result res;
    float *before = malloc(n * sizeof(float));
    memcpy(before, v, n * sizeof(float));

    ck_assert_int_eq(tg_train(eval, opt, fixed_next, &src, &to, NULL), TG_ERR_STATE);
    ck_assert_error(TG_ERR_STATE, "train: the graph was built without a loss");
    ck_assert_int_eq(tg_train(ng, NULL, fixed_next, &src, &to, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "optimiser is NULL");
    ck_assert_int_eq(tg_train(ng, opt, NULL, &src, &to, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "batch source is NULL");
    to.max_steps = -1;
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "max_steps -1");
    to.max_steps = 0;

    src.B = 3; /* a partial batch */
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, &res), TG_ERR_SHAPE);
    ck_assert_error(TG_ERR_SHAPE, "train: step 0: batch of 3 rows for a graph of batch 4");
    ck_assert_int_eq(res.steps, 0);
    src = xor_src();
    src.labels = NULL;
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "train: step 0: the batch has no labels");
    ck_assert_int_eq(memcmp(v, before, n * sizeof(float)), 0);

    /* the source's error reaches the caller unchanged, after the steps before it */
    src = xor_src();
    src.fail = TG_ERR_IO;
    src.fail_at = 3;
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, &res), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, "source broke at call 3");
    ck_assert_int_eq(res.steps, 3);

    /* a progress callback stops training with its status */
    src = xor_src();
    to.progress = record;
    to.progress_user = &rec;
    rec.stop_at_2 = TG_ERR_STATE;
    tg_optim_reset(opt);
    ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, &res), TG_ERR_STATE);
    ck_assert_error(TG_ERR_STATE, "progress callback stopped training at step 2");
    ck_assert_int_eq(res.steps, 3);
    free(before);
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    tg_net_graph_free(eval);
    tg_net_free(net);
}
END_TEST

/* ---- predict and accuracy ------------------------------------------------------------ */
/* 10 rows through a batch-4 graph (4 + 4 + 2 padded) equal each row alone (batch 1). */
START_TEST(test_predict_remainder)
{
    tg_layer_spec ls[2] = { { 5, &tg_op_tanh, NULL, 0, glorot, { TG_INIT_UNIFORM, -0.5, 0.5 } },
                            { 3, &tg_op_identity, NULL, 0, glorot, zeros } };
    tg_net *net = tg_net_new(2, ls, 2, 8);
    tg_net_graph *g4 = tg_net_graph_new(net, 4, NULL), *g1 = tg_net_graph_new(net, 1, NULL);
    float x[20], logits[30], one[3];
    int cls[10], one_cls, r, c;
    uint64_t rng = 3;
    for (r = 0; r < 20; ++r)
        x[r] = (float)tg_rand_uniform(&rng, -2, 2);
    ck_assert_int_eq(tg_net_predict(g4, x, 10, logits, cls), TG_OK);
    for (r = 0; r < 10; ++r) {
        ck_assert_int_eq(tg_net_predict(g1, x + 2 * r, 1, one, &one_cls), TG_OK);
        for (c = 0; c < 3; ++c)
            ck_assert_double_eq_tol(logits[r * 3 + c], one[c], 1e-6);
        ck_assert_int_eq(cls[r], one_cls);
        ck_assert(logits[r * 3 + cls[r]] >= logits[r * 3 + (cls[r] + 1) % 3]);
        ck_assert(logits[r * 3 + cls[r]] >= logits[r * 3 + (cls[r] + 2) % 3]);
    }
    ck_assert_int_eq(tg_net_predict(g4, x, 0, logits, cls), TG_OK);
    ck_assert_int_eq(tg_net_predict(g4, NULL, 3, logits, cls), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "predict: x is NULL");
    tg_net_graph_free(g4);
    tg_net_graph_free(g1);
    tg_net_free(net);
}
END_TEST

/* A 3-3 identity net (w = I) predicts argmax(x): rows 0,1,2,0,2 vs labels 0,1,1,0,0 = 3/5. */
START_TEST(test_accuracy_identity)
{
    tg_layer_spec ls[1] = { { 3, &tg_op_identity, NULL, 0, zeros, zeros } };
    tg_net *net = tg_net_new(3, ls, 1, 1);
    tg_net_graph *ng = tg_net_graph_new(net, 2, NULL);
    float x[15] = { 5, 1, 0, 0, 2, 1, 0, 1, 3, 9, 8, 7, -1, -2, 0 };
    const uint8_t labels[5] = { 0, 1, 1, 0, 0 };
    float *w = tg_net_weight(net, 0);
    tg_dataset ds;
    double acc;
    w[0] = w[4] = w[8] = 1;
    ck_assert_int_eq(tg_net_accuracy(ng, x, labels, 5, &acc), TG_OK);
    ck_assert_double_eq(acc, 0.6);
    memset(&ds, 0, sizeof ds);
    ds.n = 5;
    ds.n_features = 3;
    ds.n_classes = 3;
    ds.x = x;
    ds.labels = (uint8_t *)labels;
    ck_assert_int_eq(tg_net_accuracy_dataset(ng, &ds, &acc), TG_OK);
    ck_assert_double_eq(acc, 0.6);
    ds.n_features = 4;
    ck_assert_int_eq(tg_net_accuracy_dataset(ng, &ds, &acc), TG_ERR_MISMATCH);
    ck_assert_error(TG_ERR_MISMATCH, "data set rows have 4 features, the net takes 3 inputs");
    ck_assert_int_eq(tg_net_accuracy(ng, x, labels, 0, &acc), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "no rows");
    /* a NaN output is an error naming the row (numerics check off) or the op (on) */
    w[4] = NAN;
    tg_graph_set_check_numerics(tg_net_graph_tape(ng), 0);
    ck_assert_int_eq(tg_net_accuracy(ng, x, labels, 5, &acc), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "predict: row 0: output 1 is nan");
    tg_graph_set_check_numerics(tg_net_graph_tape(ng), 1);
    ck_assert_int_eq(tg_net_accuracy(ng, x, labels, 5, &acc), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "linear (node 0)");
    ck_assert_double_eq(acc, 0.6); /* unchanged on error */
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

/* ---- through the data pipeline -------------------------------------------------------- */
/* Three 2-D blobs (radius <= 1 around centres 3 apart), 150 points, batch 10, shuffled:
 * a 2-16-3 tanh net separates them perfectly. */
START_TEST(test_train_blobs_pipeline)
{
    static const float centre[3][2] = { { 0, 2 }, { -1.8f, -1 }, { 1.8f, -1 } };
    enum { N = 150 };
    float x[2 * N], labels_f[N];
    uint8_t labels[N];
    uint64_t rng = 77;
    tg_dataset ds;
    tg_pipeline p;
    tg_pipeline_opts po;
    tg_layer_spec ls[2] = { { 16, &tg_op_tanh, NULL, 0, glorot, zeros },
                            { 3, &tg_op_identity, NULL, 0, glorot, zeros } };
    tg_net *net = tg_net_new(2, ls, 2, 9);
    tg_net_graph *ng = tg_net_graph_new(net, 10, &tg_loss_softmax_xent_sum);
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 0.02);
    tg_optim *opt = tg_optim_new_net(&oo, net);
    tg_train_result res;
    double acc;
    int i;
    for (i = 0; i < N; ++i) {
        double dx, dy;
        do {
            dx = tg_rand_uniform(&rng, -1, 1);
            dy = tg_rand_uniform(&rng, -1, 1);
        } while (dx * dx + dy * dy > 1);
        labels[i] = (uint8_t)(i % 3);
        labels_f[i] = labels[i];
        x[2 * i] = centre[i % 3][0] + (float)dx;
        x[2 * i + 1] = centre[i % 3][1] + (float)dy;
    }
    memset(&ds, 0, sizeof ds);
    ds.n = N;
    ds.n_features = 2;
    ds.n_classes = 3;
    ds.x = x;
    ds.labels = labels;
    ds.labels_f = labels_f;
    memset(&po, 0, sizeof po);
    po.batch = 10;
    po.epochs = 30;
    po.shuffle = 1;
    po.seed = 4;
    po.drop_remainder = 1;
    ck_assert_int_eq(tg_pipeline_init(&p, &ds, &po), TG_OK);
    ck_assert_int_eq(tg_train_pipeline(ng, opt, &p, NULL, &res), TG_OK);
    ck_assert_int_eq(res.steps, 30 * N / 10);
    ck_assert_int_eq(res.epoch, 29);
    ck_assert_int_eq(tg_net_accuracy_dataset(ng, &ds, &acc), TG_OK);
    ck_assert_double_eq(acc, 1.0);
    tg_pipeline_release(&p);
    /* a pipeline whose rows do not fit the net is refused before any step */
    ds.n_features = 1;
    ck_assert_int_eq(tg_pipeline_init(&p, &ds, &po), TG_OK);
    ck_assert_int_eq(tg_train_pipeline(ng, opt, &p, NULL, &res), TG_ERR_MISMATCH);
    ck_assert_error(TG_ERR_MISMATCH, "data set rows have 1 features, the net takes 2 inputs");
    tg_pipeline_release(&p);
    ds.n_features = 2;
    po.batch = 5;
    ck_assert_int_eq(tg_pipeline_init(&p, &ds, &po), TG_OK);
    ck_assert_int_eq(tg_train_pipeline(ng, opt, &p, NULL, &res), TG_ERR_SHAPE);
    ck_assert_error(TG_ERR_SHAPE, "pipeline batch 5, graph batch 10");
    tg_pipeline_release(&p);
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

/* 784-64-10 tanh, Glorot, SGD 0.01 on the summed cross-entropy, batch 30, one epoch over
 * mnist-10k's 8,000 training digits (centred): > 85% on its 2,000 test digits. */
START_TEST(test_train_mnist)
{
    char dir[512];
    tg_dataset train, test;
    tg_pipeline p;
    tg_pipeline_opts po;
    tg_layer_spec ls[2] = { { 64, &tg_op_tanh, NULL, 0, glorot, zeros },
                            { 10, &tg_op_identity, NULL, 0, glorot, zeros } };
    tg_net *net;
    tg_net_graph *ng, *eval;
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 0.01);
    tg_optim *opt;
    double mean, acc;
    snprintf(dir, sizeof dir, "%s/mnist-10k", test_shared_data());
    ck_assert_msg(access(dir, R_OK) == 0, "real digits missing: %s (set TG_SHARED_DATA)", dir);
    ck_assert_int_eq(tg_mnist_load(dir, "train", &train), TG_OK);
    ck_assert_int_eq(tg_mnist_load(dir, "t10k", &test), TG_OK);
    mean = tg_dataset_mean(&train);
    ck_assert_int_eq(tg_dataset_shift(&train, mean), TG_OK);
    ck_assert_int_eq(tg_dataset_shift(&test, mean), TG_OK);
    net = tg_net_new(784, ls, 2, 1);
    ng = tg_net_graph_new(net, 30, &tg_loss_softmax_xent_sum);
    eval = tg_net_graph_new(net, 500, NULL);
    opt = tg_optim_new_net(&oo, net);
    memset(&po, 0, sizeof po);
    po.batch = 30;
    po.epochs = 1;
    po.shuffle = 1;
    po.seed = 1;
    po.drop_remainder = 1;
    ck_assert_int_eq(tg_pipeline_init(&p, &train, &po), TG_OK);
    ck_assert_int_eq(tg_train_pipeline(ng, opt, &p, NULL, NULL), TG_OK);
    ck_assert_int_eq(tg_optim_steps(opt), (long)(train.n / 30));
    ck_assert_int_eq(tg_net_accuracy_dataset(eval, &test, &acc), TG_OK);
    ck_assert_double_gt(acc, 0.85);
    tg_pipeline_release(&p);
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    tg_net_graph_free(eval);
    tg_net_free(net);
    tg_dataset_release(&train);
    tg_dataset_release(&test);
}
END_TEST

/* ---- flushing subnormals ---------------------------------------------------------------- */
#define DIMS(...) ((const int[]){ __VA_ARGS__ })
#define VALS(...) ((const float[]){ __VA_ARGS__ })

/* Whether this thread can flush (leaving it off). It must on x86-64 and aarch64, except under
 * valgrind (make check-valgrind), which drops the bits; elsewhere asking fails, naming why. */
static int flush_supported(void)
{
    if (tg_set_flush_subnormals(1) == TG_OK)
        return tg_set_flush_subnormals(0) == TG_OK;
    ck_assert_error(TG_ERR_UNAVAILABLE, "flush_subnormals: not supported on this CPU");
#if defined(__x86_64__) || defined(__aarch64__)
    ck_assert_msg(getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload"), "%s",
                  tg_last_error());
#endif
    return 0;
}

/* Subnormal inputs (DAZ) and a subnormal product of normal numbers (FTZ), in this thread:
 * 4 x for x = (1e-40, -3e-39), 1e-20 * 1e-20, and x [1,2] (2, 1)^T through OpenBLAS. */
typedef struct {
    float v[4];
} sub_results;

static sub_results subnormal_ops(void)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_const(g, "x", 2, DIMS(1, 2), VALS(1e-40f, -3e-39f));
    tg_tensor *w = tg_const(g, "w", 2, DIMS(2, 1), VALS(2, 1));
    tg_tensor *a = tg_const(g, "a", 1, DIMS(1), VALS(1e-20f));
    tg_tensor *s = tg_scale(g, x, 4), *p = tg_mul(g, a, a), *m = tg_matmul(g, x, w, 0, 0);
    sub_results r;
    ck_assert_msg(s && p && m, "%s", tg_last_error());
    r.v[0] = s->data[0];
    r.v[1] = s->data[1];
    r.v[2] = p->data[0];
    r.v[3] = m->data[0];
    tg_graph_free(g);
    return r;
}

static uint32_t bits_of(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* The IEEE results bitwise (each exact; all subnormal but 4 * -3e-39), or +-0 when flushed:
 * 4 * -3e-39's 0 comes from reading the input as 0 (DAZ), 1e-20 * 1e-20's from flushing the
 * result (FTZ). Checked by bits: under DAZ, float comparisons (fpclassify's too) take
 * subnormals for 0, and the static initialiser is computed by the compiler, in IEEE. */
static void expect_subnormal_ops(sub_results r, int flushed)
{
    static const float ieee[4] = { 4 * 1e-40f, 4 * -3e-39f, 1e-20f * 1e-20f,
                                   2 * 1e-40f + -3e-39f };
    int k;
    for (k = 0; k < 4; ++k) {
        uint32_t got = bits_of(r.v[k]), want = bits_of(ieee[k]);
        ck_assert_msg(((want >> 23 & 0xff) == 0) == (k != 1), "ieee[%d] %#x", k, want);
        if (flushed)
            ck_assert_msg((got & 0x7fffffffu) == 0, "result %d: bits %#x, not 0", k, got);
        else
            ck_assert_msg(got == want, "result %d: bits %#x, want %#x", k, got, want);
    }
}

/* Off by default (exact subnormals); on flushes inputs and results to 0; off again restores
 * IEEE results bitwise. The getter follows the setter; any nonzero `on` means on. */
START_TEST(test_flush_subnormals_ops)
{
    ck_assert_int_eq(tg_flush_subnormals(), 0);
    expect_subnormal_ops(subnormal_ops(), 0);
    if (!flush_supported())
        return;
    ck_assert_int_eq(tg_set_flush_subnormals(1), TG_OK);
    ck_assert_int_eq(tg_flush_subnormals(), 1);
    expect_subnormal_ops(subnormal_ops(), 1);
    ck_assert_int_eq(tg_set_flush_subnormals(0), TG_OK);
    ck_assert_int_eq(tg_flush_subnormals(), 0);
    expect_subnormal_ops(subnormal_ops(), 0);
    ck_assert_int_eq(tg_set_flush_subnormals(7), TG_OK);
    ck_assert_int_eq(tg_flush_subnormals(), 1);
    ck_assert_int_eq(tg_set_flush_subnormals(0), TG_OK);
}
END_TEST

typedef struct {
    pthread_barrier_t *start;  /* waited on first when non-NULL */
    int mode_at_start, mode_after_off;
    sub_results r;             /* computed after turning the mode off */
} flush_thread;

static void *flush_thread_run(void *p)
{
    flush_thread *t = p;
    if (t->start)
        pthread_barrier_wait(t->start);
    t->mode_at_start = tg_flush_subnormals();
    tg_set_flush_subnormals(0);
    t->mode_after_off = tg_flush_subnormals();
    t->r = subnormal_ops();
    return NULL;
}

/* The mode is per thread: a thread started before this one turned it on keeps it off; one
 * started while it is on inherits it (POSIX), and turning it off there leaves this thread's
 * on. Each thread's ops follow its own mode. */
START_TEST(test_flush_subnormals_per_thread)
{
    pthread_barrier_t start;
    flush_thread before = { &start, -1, -1, { { 0 } } }, inherit = before;
    pthread_t th;
    if (!flush_supported())
        return;
    inherit.start = NULL;
    ck_assert_int_eq(pthread_barrier_init(&start, NULL, 2), 0);
    ck_assert_int_eq(pthread_create(&th, NULL, flush_thread_run, &before), 0);
    ck_assert_int_eq(tg_set_flush_subnormals(1), TG_OK);
    pthread_barrier_wait(&start);
    pthread_join(th, NULL);
    pthread_barrier_destroy(&start);
    ck_assert_int_eq(before.mode_at_start, 0);
    expect_subnormal_ops(before.r, 0);

    ck_assert_int_eq(pthread_create(&th, NULL, flush_thread_run, &inherit), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(inherit.mode_at_start, 1);
    ck_assert_int_eq(inherit.mode_after_off, 0);
    expect_subnormal_ops(inherit.r, 0);
    ck_assert_int_eq(tg_flush_subnormals(), 1);
    expect_subnormal_ops(subnormal_ops(), 1);
    ck_assert_int_eq(tg_set_flush_subnormals(0), TG_OK);
}
END_TEST

/* Progress: count the steps that ran with the mode on and off; stop at step stop_at. */
typedef struct {
    long on, off, stop_at;
} flush_count;

static tg_status count_flush(const tg_train_progress *p, void *user)
{
    flush_count *c = user;
    if (tg_flush_subnormals())
        c->on++;
    else
        c->off++;
    return p->step == c->stop_at ? tg_error_set(TG_ERR_STATE, "stopped at %ld", p->step) : TG_OK;
}

/* Train XOR for 5 steps with flush_subnormals = flush, from this thread's mode `before`; the
 * source fails with `fail` (if not TG_OK) at call 3, the callback at step stop_at. Returns the
 * status; the counts go to *c. */
static tg_status train_flush(int before, int flush, long stop_at, tg_status fail,
                             flush_count *c)
{
    tg_net *net = xor_net(2);
    tg_net_graph *ng = tg_net_graph_new(net, 4, &tg_loss_softmax_xent_sum);
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 0.1);
    tg_optim *opt = tg_optim_new_net(&oo, net);
    fixed_src src = xor_src();
    tg_train_opts to = tg_train_defaults();
    tg_status s;
    memset(c, 0, sizeof *c);
    c->stop_at = stop_at;
    src.fail = fail;
    src.fail_at = 3;
    to.max_steps = 5;
    to.flush_subnormals = flush;
    to.progress = count_flush;
    to.progress_user = c;
    ck_assert_int_eq(tg_set_flush_subnormals(before), TG_OK);
    s = tg_train(ng, opt, fixed_next, &src, &to, NULL);
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    tg_net_free(net);
    return s;
}

/* flush_subnormals = 1 flushes every step and restores the caller's mode, off or on, after a
 * normal end, a source error, a callback's stop and an argument error; 0 leaves the mode. */
START_TEST(test_train_flush_restores)
{
    flush_count c;
    tg_train_opts to = tg_train_defaults();
    int before;
    if (!flush_supported())
        return;
    to.flush_subnormals = 1;
    for (before = 0; before < 2; ++before) {
        ck_assert_int_eq(train_flush(before, 1, -1, TG_OK, &c), TG_OK);
        ck_assert_int_eq(c.on, 5);
        ck_assert_int_eq(tg_flush_subnormals(), before);
        ck_assert_int_eq(train_flush(before, 1, -1, TG_ERR_IO, &c), TG_ERR_IO);
        ck_assert_error(TG_ERR_IO, "source broke at call 3");
        ck_assert_int_eq(c.on, 3);
        ck_assert_int_eq(tg_flush_subnormals(), before);
        ck_assert_int_eq(train_flush(before, 1, 1, TG_OK, &c), TG_ERR_STATE);
        ck_assert_error(TG_ERR_STATE, "stopped at 1");
        ck_assert_int_eq(c.on, 2);
        ck_assert_int_eq(tg_flush_subnormals(), before);
        ck_assert_int_eq(train_flush(before, 0, -1, TG_OK, &c), TG_OK);
        ck_assert_int_eq(before ? c.on : c.off, 5);
        ck_assert_int_eq(tg_flush_subnormals(), before);
        ck_assert_int_eq(tg_train(NULL, NULL, NULL, NULL, &to, NULL), TG_ERR_ARG);
        ck_assert_int_eq(tg_flush_subnormals(), before);
    }
    ck_assert_int_eq(tg_set_flush_subnormals(0), TG_OK);
}
END_TEST

/* XOR with six extra features of subnormal noise, flushed: every loss finite, the net learns
 * XOR as in test_train_xor, and (read as 0) the noise changes nothing: losses and parameters
 * equal bitwise those of the same run with the noise features zeroed. */
START_TEST(test_train_flush_subnormal_data)
{
    enum { F = 8 };
    static const float sub[5] = { 1e-40f, -3e-39f, FLT_TRUE_MIN, 2.5e-39f, -7e-41f };
    static recorder rec[2];
    float x[2][4 * F];
    float *v[2];
    size_t n;
    int run, r, j;
    if (!flush_supported())
        return;
    for (r = 0; r < 4; ++r)
        for (j = 0; j < F; ++j) {
            x[0][r * F + j] = j < 2 ? xor_x[2 * r + j] : sub[(r * F + j) % 5];
            x[1][r * F + j] = j < 2 ? xor_x[2 * r + j] : 0;
        }
    for (run = 0; run < 2; ++run) {
        tg_layer_spec ls[2] = { { 8, &tg_op_tanh, NULL, 0, glorot, zeros },
                                { 2, &tg_op_identity, NULL, 0, glorot, zeros } };
        tg_net *net = tg_net_new(F, ls, 2, 5);
        tg_net_graph *ng = tg_net_graph_new(net, 4, &tg_loss_softmax_xent_sum);
        tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 0.1);
        tg_optim *opt = tg_optim_new_net(&oo, net);
        fixed_src src = { x[run], xor_y, NULL, 4, 1, 0, 0, TG_OK, 0, F, 2 };
        tg_train_opts to = tg_train_defaults();
        to.max_steps = 600;
        to.flush_subnormals = 1;
        to.progress = record;
        to.progress_user = &rec[run];
        ck_assert_int_eq(tg_train(ng, opt, fixed_next, &src, &to, NULL), TG_OK);
        ck_assert_int_eq(tg_flush_subnormals(), 0);
        tg_net_values(net, &n);
        v[run] = malloc(n * sizeof(float));
        memcpy(v[run], tg_net_values(net, NULL), n * sizeof(float));
        tg_optim_free(opt);
        tg_net_graph_free(ng);
        tg_net_free(net);
    }
    ck_assert_int_eq(rec[0].n, 600);
    for (r = 0; r < 600; ++r)
        ck_assert_msg(isfinite(rec[0].loss[r]), "step %d: loss %g", r, rec[0].loss[r]);
    ck_assert_double_gt(rec[0].loss[0], 1.5);
    ck_assert_double_lt(rec[0].loss[599], 0.05);
    ck_assert_mem_eq(rec[0].loss, rec[1].loss, 600 * sizeof(double));
    ck_assert_mem_eq(v[0], v[1], n * sizeof(float));
    free(v[0]);
    free(v[1]);
}
END_TEST

Suite *suite_train(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("learn");
    tcase_add_test(tc, test_train_xor);
    tcase_add_test(tc, test_train_determinism);
    tcase_add_test(tc, test_train_limits);
    tcase_add_test(tc, test_train_mse_onehot);
    tcase_add_test(tc, test_train_blobs_pipeline);
    tcase_add_test(tc, test_train_mnist);
    suite_add_tcase(s, tc);

    tc = tcase_create("faults");
    tcase_add_test(tc, test_train_nonfinite);
    tcase_add_test(tc, test_train_nonfinite_unchecked);
    tcase_add_test(tc, test_train_zero_alloc);
    tcase_add_test(tc, test_train_alloc_failures);
    tcase_add_test(tc, test_train_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("flush");
    tcase_add_test(tc, test_flush_subnormals_ops);
    tcase_add_test(tc, test_flush_subnormals_per_thread);
    tcase_add_test(tc, test_train_flush_restores);
    tcase_add_test(tc, test_train_flush_subnormal_data);
    suite_add_tcase(s, tc);

    tc = tcase_create("predict");
    tcase_add_test(tc, test_predict_remainder);
    tcase_add_test(tc, test_accuracy_identity);
    suite_add_tcase(s, tc);
    return s;
}
