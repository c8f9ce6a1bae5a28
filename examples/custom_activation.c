/*
 * custom_activation.c -- a new activation written in user code with the public API only,
 * gradient-checked, then used in the layer specs of a feed-forward net and trained.
 *
 * mish (Misra 2019):  y = x tanh(softplus(x)),  softplus(x) = ln(1 + e^x)
 *   with t = tanh(softplus(x)) and sigmoid(x) = d softplus / dx:
 *   dy/dx = t + x (1 - t^2) sigmoid(x)
 * Forward keeps t in the node's scratch (reserved by shape) so backward does not recompute
 * it; the op sets TG_OP_GRAD_ASSIGN and honours n->accum[0] (0: write dx, 1: add into it).
 *
 * Usage: custom_activation [--steps N] [--data DIR]     (N defaults to 600)
 *   Without --data: three concentric rings in 2-D (600 training, 300 test points), net
 *   2 -> 16 mish -> 16 mish -> 3. With --data DIR (MNIST layout, e.g. data/mnist): net
 *   784 -> 64 mish -> 10 on centred pixels. Both: Glorot init, mean softmax cross-entropy,
 *   Adam (lr 0.01 / 0.001), batches of 32 from a shuffling pipeline. Prints the gradient
 *   checks, the mean loss every N/10 steps and the test accuracy; exit 1 on any failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tapegrad.h"

/* ---- the op --------------------------------------------------------------------------- */
/* Same shape as the input; scratch holds t = tanh(softplus(x)), one float per element. */
static tg_status mish_shape(tg_node *n)
{
    tg_status s = tg_node_set_shape(n, n->in[0]->rank, n->in[0]->shape);
    return s != TG_OK ? s : tg_node_scratch(n, n->in[0]->size * sizeof(float));
}

static tg_status mish_forward(tg_node *n)
{
    const float *x = n->in[0]->data;
    float *y = n->out->data, *t = n->scratch;
    size_t i;
    for (i = 0; i < n->out->size; ++i) {
        /* softplus without overflow: max(x, 0) + ln(1 + e^-|x|) */
        const float sp = fmaxf(x[i], 0.0f) + log1pf(expf(-fabsf(x[i])));
        t[i] = tanhf(sp);
        y[i] = x[i] * t[i];
    }
    return TG_OK;
}

static tg_status mish_backward(tg_node *n)
{
    const float *x = n->in[0]->data, *t = n->scratch, *dy = n->out->grad;
    float *dx = n->in[0]->grad;
    const int add = n->accum[0];
    size_t i;
    if (!dx)    /* the input needs no gradient */
        return TG_OK;
    for (i = 0; i < n->out->size; ++i) {
        const float e = expf(-fabsf(x[i]));
        const float sig = (x[i] >= 0.0f ? 1.0f : e) / (1.0f + e);
        const float d = dy[i] * (t[i] + x[i] * (1.0f - t[i] * t[i]) * sig);
        dx[i] = add ? dx[i] + d : d;
    }
    return TG_OK;
}

static const tg_op_def mish_op = { "mish", 1, TG_OP_GRAD_ASSIGN, mish_shape, mish_forward,
                                   mish_backward, 0 };

/* ---- gradient check -------------------------------------------------------------------- */
static int check(double lo, double hi)
{
    const int rank = 2, shape[1][TG_MAX_RANK] = { { 4, 5 } };
    tg_gradcheck_opts o = { 0 };
    tg_gradcheck_report r;
    o.h = 1e-3;       /* relative: h_i = 1e-3 max(1, |x_i|) */
    o.atol = 5e-4;    /* round-off of float outputs, 6e-8 |y| / h_i, stays below 1e-4 */
    o.rtol = 2e-3;    /* truncation error, about h^2 |y'''| */
    o.lo = lo;
    o.hi = hi;
    o.seed = 3;
    if (tg_gradcheck_op(&mish_op, 1, &rank, shape, NULL, 0, NULL, &o, &r) != TG_OK) {
        fprintf(stderr, "custom_activation: %s\n", tg_last_error());
        return 0;
    }
    printf("gradient check mish [4,5] in [%g,%g): max abs err %.2e, max rel err %.2e over "
           "%zu elements: %s\n", lo, hi, r.max_abs_err, r.max_rel_err, r.n_checked,
           r.passed ? "passed" : "FAILED");
    return r.passed;
}

/* ---- data: three rings (class c at radius about (c + 1) / 3), or MNIST ----------------- */
/* n points into the zeroed *ds (caller-owned arrays: free with rings_free); 0 when out of
 * memory. */
static int rings(tg_dataset *ds, size_t n, uint64_t seed)
{
    uint64_t rng = seed;
    size_t i;
    ds->x = malloc(n * 2 * sizeof *ds->x);
    ds->labels = malloc(n);
    if (!ds->x || !ds->labels)
        return 0;
    ds->n = n;
    ds->n_features = 2;
    ds->n_classes = 3;
    for (i = 0; i < n; ++i) {
        const int c = (int)(i % 3);
        const double r = (c + 1 + tg_rand_uniform(&rng, -0.45, 0.45)) / 3.0;
        const double a = tg_rand_uniform(&rng, 0.0, 2.0 * M_PI);
        ds->x[2 * i] = (float)(r * cos(a));
        ds->x[2 * i + 1] = (float)(r * sin(a));
        ds->labels[i] = (uint8_t)c;
    }
    return 1;
}

static void rings_free(tg_dataset *ds)
{
    free(ds->x);
    free(ds->labels);
}

/* ---- training ---------------------------------------------------------------------------- */
typedef struct {
    long every;
    double sum;
    long n;
} progress_state;

/* Prints the mean loss since the previous line every `every` steps, and at the last step. */
static tg_status progress(const tg_train_progress *p, void *user)
{
    progress_state *st = user;
    st->sum += p->loss;
    st->n++;
    if (p->step % st->every == 0 || p->step == p->max_steps - 1) {
        printf("step %5ld  loss %.6f\n", p->step, st->sum / st->n);
        st->sum = 0.0;
        st->n = 0;
    }
    return TG_OK;
}

static int run(const tg_dataset *train, const tg_dataset *test, int hidden, int layers,
               double lr, long steps)
{
    tg_layer_spec spec[3];
    const tg_init glorot = { TG_INIT_GLOROT_UNIFORM, 0, 0 }, zeros = { TG_INIT_ZEROS, 0, 0 };
    tg_pipeline_opts po = { .batch = 32, .shuffle = 1, .seed = 11, .drop_remainder = 1 };
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_ADAM, lr);
    tg_train_opts to = tg_train_defaults();
    progress_state st = { steps >= 10 ? steps / 10 : 1, 0.0, 0 };
    tg_pipeline pipe;
    tg_net *net = NULL;
    tg_net_graph *ng = NULL, *eval = NULL;
    tg_optim *opt = NULL;
    double acc;
    int l, ok = 0, piped = 0;

    for (l = 0; l <= layers; ++l) {
        spec[l] = (tg_layer_spec){ .n_nodes = l < layers ? hidden : train->n_classes,
                                   .activation = l < layers ? &mish_op : &tg_op_identity,
                                   .weight_init = glorot, .bias_init = zeros };
    }
    to.max_steps = steps;
    to.progress = progress;
    to.progress_user = &st;
    if (!(net = tg_net_new(train->n_features, spec, layers + 1, 5)) ||
        !(ng = tg_net_graph_new(net, 32, &tg_loss_softmax_xent_mean)) ||
        !(eval = tg_net_graph_new(net, 100, NULL)) ||   /* predict only, 100 rows a pass */
        !(opt = tg_optim_new_net(&oo, net)) || tg_pipeline_init(&pipe, train, &po) != TG_OK)
        goto done;
    piped = 1;
    printf("net: %d", train->n_features);
    for (l = 0; l < layers; ++l)
        printf(" -> %d mish", hidden);
    printf(" -> %d, %ld steps of Adam (lr %g)\n", train->n_classes, steps, lr);
    if (tg_train_pipeline(ng, opt, &pipe, &to, NULL) != TG_OK ||
        tg_net_accuracy_dataset(eval, test, &acc) != TG_OK)
        goto done;
    printf("test accuracy %.4f (%zu records)\n", acc, test->n);
    ok = 1;
done:
    if (!ok)
        fprintf(stderr, "custom_activation: %s\n", tg_last_error());
    if (piped)
        tg_pipeline_release(&pipe);
    tg_optim_free(opt);
    tg_net_graph_free(eval);
    tg_net_graph_free(ng);
    tg_net_free(net);
    return ok;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    long steps = 600;
    int i, ok;

    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--steps") && i + 1 < argc) {
            steps = strtol(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            dir = argv[++i];
        } else {
            fprintf(stderr, "usage: custom_activation [--steps N] [--data DIR]\n");
            return 2;
        }
    }
    if (steps < 1) {
        fprintf(stderr, "custom_activation: --steps must be >= 1\n");
        return 2;
    }
    if (!check(-6.0, 6.0) || !check(-40.0, 40.0))
        return 1;

    if (dir) {
        tg_dataset train, test;
        double mean;
        if (tg_mnist_load(dir, "train", &train) != TG_OK) {
            fprintf(stderr, "custom_activation: %s\n", tg_last_error());
            return 1;
        }
        if (tg_mnist_load(dir, "t10k", &test) != TG_OK) {
            fprintf(stderr, "custom_activation: %s\n", tg_last_error());
            tg_dataset_release(&train);
            return 1;
        }
        mean = tg_dataset_mean(&train);     /* centre both sets on the training mean */
        tg_dataset_shift(&train, mean);
        tg_dataset_shift(&test, mean);
        ok = run(&train, &test, 64, 1, 0.001, steps);
        tg_dataset_release(&test);
        tg_dataset_release(&train);
    } else {
        tg_dataset train = { 0 }, test = { 0 };
        ok = rings(&train, 600, 1) && rings(&test, 300, 2);
        if (!ok)
            fprintf(stderr, "custom_activation: out of memory\n");
        else
            ok = run(&train, &test, 16, 2, 0.01, steps);
        rings_free(&train);
        rings_free(&test);
    }
    return ok ? 0 : 1;
}
