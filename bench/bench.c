/*
 * bench.c -- `make bench`: tapegrad's full training step against the GEMMs alone, side by side.
 *
 * Workloads (batch 30, plain SGD, loss = summed softmax cross-entropy, synthetic inputs in
 * [0,1) minus their mean, random labels, 3,000 samples cycled): wide-2, mid-4, deep-16,
 * relu-10, as in ../shared/bench/torch_seed.py. For each one:
 *   limit    one step = exactly the GEMMs an ideal implementation needs (forward y = x w^T,
 *            dx = dy w for all but the first layer, dw = dy^T x) and nothing else, in the
 *            same [O,I] weight layout, timed by this program (gemm_step below);
 *   tapegrad tg_train over the same batches: bind, forward, loss, backward, SGD update;
 *   ratio    tapegrad / limit, steps per second.
 * Repetitions of the two alternate so that the machine's slow and fast phases hit both; each
 * figure is the median of `reps` repetitions of at least `seconds` each.
 * Also: per-node dispatch overhead on tiny tensors, and the cost of the numerics check.
 *
 * Usage: bench [--seconds S] [--reps N] [--threads N] [--workloads W1,W3] [--csv FILE]
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>
#include "tapegrad.h"

#define BATCH 30
#define N_SAMPLES 3000
#define MAX_LAYERS 20

typedef struct {
    const char *key, *name;
    int n_layers;                 /* weight layers */
    int sizes[MAX_LAYERS + 1];
    const tg_op_def *act;
    double r_first, r_rest;       /* weights uniform in +-r, biases 0 */
    double lr;
} workload;

static workload workloads[4];

static void workloads_init(void)
{
    int i;
    workload w1 = { "W1", "wide-2", 3, { 784, 2048, 2048, 10 }, &tg_op_tanh, 0.0357, 0.022,
                    0.01 };
    workload w2 = { "W2", "mid-4", 5, { 784, 256, 256, 256, 256, 10 }, &tg_op_tanh, 0.0357,
                    0.0625, 0.001 };
    workload w3 = { "W3", "deep-16", 17, { 784 }, &tg_op_tanh, 0.0357, 0.125, 0.001 };
    workload w4 = { "W4", "relu-10", 11, { 784 }, &tg_op_relu, 0.0357, 0.125, 0.001 };
    for (i = 1; i <= 16; ++i)
        w3.sizes[i] = 64;
    w3.sizes[17] = 10;
    for (i = 1; i <= 10; ++i)
        w4.sizes[i] = 64;
    w4.sizes[11] = 10;
    workloads[0] = w1;
    workloads[1] = w2;
    workloads[2] = w3;
    workloads[3] = w4;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* ---- synthetic data --------------------------------------------------------------------- */
typedef struct {
    float *x;        /* (N_SAMPLES, 784) */
    float *labels;   /* (N_SAMPLES) */
    int cur;
} data;

static void data_init(data *d, uint64_t seed)
{
    size_t i, n = (size_t)N_SAMPLES * 784;
    double mean = 0;
    d->x = malloc(n * sizeof *d->x);
    d->labels = malloc(N_SAMPLES * sizeof *d->labels);
    if (!d->x || !d->labels) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    for (i = 0; i < n; ++i) {
        d->x[i] = (float)tg_rand_uniform(&seed, 0, 1);
        mean += d->x[i];
    }
    mean /= (double)n;
    for (i = 0; i < n; ++i)
        d->x[i] -= (float)mean;
    for (i = 0; i < N_SAMPLES; ++i)
        d->labels[i] = (float)(int)tg_rand_uniform(&seed, 0, 10);
    d->cur = 0;
}

/* tg_batch_fn: the next batch of 30, cycling; nothing is copied. */
static tg_status data_next(void *src, tg_batch *b)
{
    data *d = src;
    b->n = BATCH;
    b->epoch = 0;
    b->x = d->x + (size_t)d->cur * BATCH * 784;
    b->labels = d->labels + (size_t)d->cur * BATCH;
    b->onehot = NULL;
    if (++d->cur == N_SAMPLES / BATCH)
        d->cur = 0;
    return TG_OK;
}

/* ---- the GEMM-only step ---------------------------------------------------------------- */
typedef struct {
    const workload *w;
    float *W[MAX_LAYERS], *dW[MAX_LAYERS], *A[MAX_LAYERS + 1], *dA[MAX_LAYERS + 1];
    data *d;
} gemm_net;

static void gemm_init(gemm_net *g, const workload *w, data *d)
{
    int l;
    uint64_t seed = 7;
    memset(g, 0, sizeof *g);
    g->w = w;
    g->d = d;
    for (l = 0; l < w->n_layers; ++l) {
        size_t n = (size_t)w->sizes[l] * w->sizes[l + 1], i;
        g->W[l] = malloc(n * sizeof(float));
        g->dW[l] = calloc(n, sizeof(float));
        for (i = 0; i < n; ++i)
            g->W[l][i] = (float)tg_rand_uniform(&seed, -0.05, 0.05);
    }
    for (l = 1; l <= w->n_layers; ++l) {
        size_t n = (size_t)BATCH * w->sizes[l], i;
        g->A[l] = calloc(n, sizeof(float));
        g->dA[l] = malloc(n * sizeof(float));
        for (i = 0; i < n; ++i)
            g->dA[l][i] = (float)tg_rand_uniform(&seed, -0.1, 0.1);
    }
}

static void gemm_free(gemm_net *g)
{
    int l;
    for (l = 0; l < g->w->n_layers; ++l) {
        free(g->W[l]);
        free(g->dW[l]);
    }
    for (l = 1; l <= g->w->n_layers; ++l) {
        free(g->A[l]);
        free(g->dA[l]);
    }
}

/* W[l] is [O,I]: y = x W^T (NT); dx = dy W (NN); dW = dy^T x (TN). Not inlined, so that
 * profilers can single it out (valgrind --toggle-collect=gemm_step). */
static __attribute__((noinline)) void gemm_step(gemm_net *g)
{
    const int *s = g->w->sizes;
    int l, L = g->w->n_layers;
    tg_batch b;
    data_next(g->d, &b);
    g->A[0] = b.x;
    for (l = 0; l < L; ++l)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BATCH, s[l + 1], s[l], 1.0f,
                    g->A[l], s[l], g->W[l], s[l], 0.0f, g->A[l + 1], s[l + 1]);
    for (l = L - 1; l >= 0; --l) {
        if (l > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BATCH, s[l], s[l + 1], 1.0f,
                        g->dA[l + 1], s[l + 1], g->W[l], s[l], 0.0f, g->dA[l], s[l]);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s[l + 1], s[l], BATCH, 1.0f,
                    g->dA[l + 1], s[l + 1], g->A[l], s[l], 0.0f, g->dW[l], s[l]);
    }
}

/* ---- the tapegrad step ------------------------------------------------------------------ */
typedef struct {
    tg_net *net;
    tg_net_graph *ng;
    tg_optim *opt;
    data *d;
    int check_numerics;
    double loss;           /* of the last step run */
} tg_bench_net;

static int tg_bench_init(tg_bench_net *t, const workload *w, data *d, int check_numerics)
{
    tg_layer_spec ls[MAX_LAYERS];
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, w->lr);
    int l;
    for (l = 0; l < w->n_layers; ++l) {
        double r = l == 0 ? w->r_first : w->r_rest;
        memset(&ls[l], 0, sizeof ls[l]);
        ls[l].n_nodes = w->sizes[l + 1];
        ls[l].activation = l == w->n_layers - 1 ? &tg_op_identity : w->act;
        ls[l].weight_init = (tg_init){ TG_INIT_UNIFORM, -r, r };
        ls[l].bias_init = (tg_init){ TG_INIT_ZEROS, 0, 0 };
    }
    t->d = d;
    t->check_numerics = check_numerics;
    t->net = tg_net_new(w->sizes[0], ls, w->n_layers, 1234);
    t->ng = t->net ? tg_net_graph_new(t->net, BATCH, &tg_loss_softmax_xent_sum) : NULL;
    t->opt = t->ng ? tg_optim_new_net(&oo, t->net) : NULL;
    if (!t->opt) {
        fprintf(stderr, "bench: %s\n", tg_last_error());
        return -1;
    }
    return 0;
}

static void tg_bench_free(tg_bench_net *t)
{
    tg_optim_free(t->opt);
    tg_net_graph_free(t->ng);
    tg_net_free(t->net);
}

static int tg_bench_run(tg_bench_net *t, long steps)
{
    tg_train_opts o = tg_train_defaults();
    tg_train_result r;
    o.max_steps = steps;
    o.check_numerics = t->check_numerics;
    if (tg_train(t->ng, t->opt, data_next, t->d, &o, &r) != TG_OK) {
        fprintf(stderr, "bench: %s\n", tg_last_error());
        return -1;
    }
    t->loss = r.loss;
    return 0;
}

/* ---- timing ----------------------------------------------------------------------------- */
typedef struct {
    void (*gemm)(gemm_net *);
    gemm_net *g;
    tg_bench_net *t;
} runner;

/* Steps per second of n steps of one side (g or t). */
static double rate(runner *r, int side, long n)
{
    double t0 = now(), dt;
    long i;
    if (side == 0)
        for (i = 0; i < n; ++i)
            gemm_step(r->g);
    else if (tg_bench_run(r->t, n) != 0)
        exit(1);
    dt = now() - t0;
    return (double)n / dt;
}

/* Steps needed for about `seconds` of one side. */
static long calibrate(runner *r, int side, double seconds)
{
    long n = 5;
    for (;;) {
        double t0 = now(), dt;
        rate(r, side, n);
        dt = now() - t0;
        if (dt > 0.25)
            return (long)(seconds * (double)n / dt) + 1;
        n *= 2;
    }
}

/* Alternating repetitions; medians into *lim, *tgr (steps/s). */
static void measure(runner *r, double seconds, int reps, double *lim, double *tgr)
{
    double a[64], b[64];
    long na, nb;
    int i;
    rate(r, 0, 20); /* warm-up: BLAS buffers, the graph's first step */
    rate(r, 1, 20);
    na = calibrate(r, 0, seconds);
    nb = calibrate(r, 1, seconds);
    for (i = 0; i < reps; ++i) {
        a[i] = rate(r, 0, na);
        b[i] = rate(r, 1, nb);
    }
    *lim = median(a, reps);
    *tgr = median(b, reps);
}

/* ---- dispatch overhead: a chain of 200 tanh nodes on [1] tensors ----------------------- */
static double dispatch_ns(double seconds)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_param(g, "x", 1, (const int[]){ 1 }), *y = x;
    double t0, dt;
    long n = 0, i;
    int k, nodes = 200;
    for (k = 0; k < nodes; ++k)
        y = tg_tanh(g, y);
    if (!y) {
        fprintf(stderr, "bench: %s\n", tg_last_error());
        exit(1);
    }
    t0 = now();
    do {
        for (i = 0; i < 1000; ++i)
            tg_graph_forward(g);
        n += 1000;
        dt = now() - t0;
    } while (dt < seconds);
    tg_graph_free(g);
    return dt / (double)n / nodes * 1e9;
}

/* --steps N [--side tapegrad|limit]: N steps of one side (or both) per workload, untimed,
 * for profilers: valgrind --tool=callgrind --toggle-collect=tg_train bench/bench --steps N */
static int profile_run(data *d, const char *only, long steps, const char *side)
{
    int i;
    long k;
    for (i = 0; i < 4; ++i) {
        const workload *w = &workloads[i];
        gemm_net g;
        tg_bench_net t;
        if (only && !strstr(only, w->key))
            continue;
        gemm_init(&g, w, d);
        if (tg_bench_init(&t, w, d, 1))
            return 1;
        if (strcmp(side, "limit") && tg_bench_run(&t, steps))
            return 1;
        for (k = 0; strcmp(side, "tapegrad") && k < steps; ++k)
            gemm_step(&g);
        printf("%s %s: %ld steps (%s), last loss %g\n", w->key, w->name, steps, side, t.loss);
        tg_bench_free(&t);
        gemm_free(&g);
    }
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = 2.0, lim, tgr, lim2, tgr_nc;
    int reps = 3, threads = 1, i;
    long steps = 0;
    const char *only = NULL, *side = "both", *csv_path = "bench/results.csv";
    FILE *csv;
    data d;

    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--workloads") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atol(argv[++i]);
        else if (!strcmp(argv[i], "--side") && i + 1 < argc)
            side = argv[++i];
        else if (!strcmp(argv[i], "--csv") && i + 1 < argc)
            csv_path = argv[++i];
        else {
            fprintf(stderr, "usage: bench [--seconds S] [--reps N] [--threads N] "
                            "[--workloads W1,W2] [--csv FILE]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 64 || seconds <= 0 || tg_set_threads(threads) != TG_OK) {
        fprintf(stderr, "bench: bad --reps, --seconds or --threads\n");
        return 2;
    }
    workloads_init();
    data_init(&d, 42);
    if (steps > 0)
        return profile_run(&d, only, steps, side);
    csv = fopen(csv_path, "w");
    if (!csv) {
        perror(csv_path);
        return 1;
    }
    fprintf(csv, "workload,name,threads,limit_steps_s,tapegrad_steps_s,ratio,"
                 "numerics_off_steps_s,numerics_cost\n");
    printf("tapegrad %s bench: batch 30, SGD, OpenBLAS %s threads=%d, median of %d x >= %.1f s\n",
           tg_version(), openblas_get_corename(), tg_threads(), reps, seconds);
    printf("%-3s %-8s %12s %12s %7s %14s %9s\n", "", "network", "limit st/s", "tapegrad st/s",
           "ratio", "no-numerics", "chk cost");
    for (i = 0; i < 4; ++i) {
        const workload *w = &workloads[i];
        gemm_net g;
        tg_bench_net t, tn;
        runner r;
        if (only && !strstr(only, w->key))
            continue;
        gemm_init(&g, w, &d);
        if (tg_bench_init(&t, w, &d, 1) || tg_bench_init(&tn, w, &d, 0))
            return 1;
        r.g = &g;
        r.t = &t;
        measure(&r, seconds, reps, &lim, &tgr);
        r.t = &tn;
        measure(&r, seconds, reps, &lim2, &tgr_nc);
        /* the numerics check's cost, each side's rate relative to its own limit run */
        printf("%-3s %-8s %12.1f %12.1f %7.3f %14.1f %8.1f%%\n", w->key, w->name, lim, tgr,
               tgr / lim, tgr_nc, 100.0 * ((tgr_nc / lim2) / (tgr / lim) - 1.0));
        fprintf(csv, "%s,%s,%d,%.2f,%.2f,%.4f,%.2f,%.4f\n", w->key, w->name, tg_threads(), lim,
                tgr, tgr / lim, tgr_nc, (tgr_nc / lim2) / (tgr / lim) - 1.0);
        fflush(stdout);
        tg_bench_free(&t);
        tg_bench_free(&tn);
        gemm_free(&g);
    }
    printf("dispatch overhead: %.1f ns per node (forward replay of 200 tanh nodes on [1])\n",
           dispatch_ns(seconds / 2));
    fprintf(csv, "dispatch_ns,,%d,,,%.2f,,\n", tg_threads(), dispatch_ns(seconds / 2));
    fclose(csv);
    free(d.x);
    free(d.labels);
    printf("wrote %s\n", csv_path);
    return 0;
}
