/*
 * bench.c -- `make bench`: tapegrad's full training step against the GEMMs alone, side by side.
 *
 * Workloads (batch 30, plain SGD, loss = summed softmax cross-entropy, synthetic inputs in
 * [0,1) minus their mean, random labels, 3,000 samples cycled): wide-2, mid-4, deep-16,
 * relu-10, as in ../shared/bench/torch_seed.py. For each one, four sides timed in turn:
 *   limit       one step = exactly the GEMMs an ideal implementation needs (forward
 *               y = x w^T, dx = dy w for all but the first layer, dw = dy^T x into a gradient
 *               buffer) and nothing else, in the same [O,I] weight layout (the limit);
 *   fused limit the same with the SGD update folded into the dw GEMM (w += -lr dy^T x,
 *               beta = 1): the least an SGD step can cost, what tapegrad's fused step does;
 *   tapegrad    tg_train over the same batches: bind, forward, loss, backward, SGD update, with
 *               the numerics check on (the default) and off, and on the plain path (a no-op
 *               gradient hook on each weight, as weight-gradient monitors add, turns the fused
 *               SGD step off: gradients formed, then tg_optim_step).
 * ratio = tapegrad / limit in steps per second. The sides alternate so that the machine's slow
 * and fast phases hit all of them; each figure is the median of `reps` repetitions of at least
 * `seconds` each. Also: per-node dispatch overhead on tiny tensors.
 * Further tapegrad variants (monitors on, say) are one more row in `variants` below.
 *
 * OpenBLAS 0.3.21 built with DYNAMIC_ARCH picks its kernels from the CPU model; on a CPU it does
 * not know it falls back to generic (Prescott) kernels, several times slower. When
 * OPENBLAS_CORETYPE is unset and the CPU could run better kernels, the table is measured with
 * the detected core and then again (the program re-runs itself) with OPENBLAS_CORETYPE set to
 * SkylakeX or Haswell. docs/performance.md has the details.
 *
 * Threads: the library's default unless --threads N (then tg_set_threads(N)).
 *
 * Usage: bench [--seconds S] [--reps N] [--threads N] [--workloads W1,W3] [--csv FILE]
 *              [--memory-csv FILE] [--no-core-rerun]
 *        bench --steps N [--side tapegrad|limit|both] [--variant NAME]   (for profilers)
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cblas.h>
#include "tapegrad.h"

#define BATCH 30
#define N_SAMPLES 3000
#define MAX_LAYERS 20
#define MAX_REPS 64

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
            g->dA[l][i] = (float)tg_rand_uniform(&seed, -1e-3, 1e-3);
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

/* W[l] is [O,I]: y = x W^T (NT); dx = dy W (NN); dW = dy^T x (TN), into dW[l] (fused = 0) or
 * folded into the update W -= lr dy^T x (fused = 1). Not inlined, so that profilers can single
 * it out (valgrind --toggle-collect=gemm_step). */
static __attribute__((noinline)) void gemm_step(gemm_net *g, int fused)
{
    const int *s = g->w->sizes;
    const float lr = (float)g->w->lr;
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
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s[l + 1], s[l], BATCH,
                    fused ? -lr : 1.0f, g->dA[l + 1], s[l + 1], g->A[l], s[l],
                    fused ? 1.0f : 0.0f, fused ? g->W[l] : g->dW[l], s[l]);
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
    tg_monitor_set *ms;    /* monitors of the variant, or NULL */
} tg_bench_net;

/* A tapegrad configuration measured as one column: the numerics check on or off, and a setup
 * run on the fresh net graph (monitors would be attached here), NULL for none. */
typedef struct {
    const char *name;
    int check_numerics;
    int (*setup)(tg_bench_net *t);
} variant;

static tg_status noop_hook(const tg_tensor *t, int when, const float *values, long step,
                           long epoch, void *user)
{
    return TG_OK;
}

/* A gradient hook on every weight, as a weight-gradient monitor would add: the net graph then
 * forms the gradients and runs tg_optim_step (the plain path) instead of the fused SGD step. */
static int hook_weights(tg_bench_net *t)
{
    int l, id;
    for (l = 0; l < tg_net_n_layers(t->net); ++l)
        if (tg_hook_add(tg_net_graph_layer(t->ng, l, TG_LAYER_WEIGHT), TG_ON_GRAD, noop_hook,
                        NULL, &id) != TG_OK)
            return -1;
    return 0;
}

/* The depth study's monitors at period 200: the loss, the gradient of the first and the last
 * layer, and the gradient norm, weights and activations of every layer. */
static int study_monitors(tg_bench_net *t)
{
    tg_monitor_set_opts mo;
    memset(&mo, 0, sizeof mo);
    mo.steps = 100000;
    mo.cap = 1000;
    t->ms = tg_monitor_set_new(t->ng, &mo);
    if (!t->ms || tg_monitor_set_add(t->ms, TG_WATCH_LOSS, 200, 0) != TG_OK ||
        tg_monitor_set_add(t->ms, TG_WATCH_GRAD, 200, 0) != TG_OK ||
        tg_monitor_set_add(t->ms, TG_WATCH_GRAD, 200, -1) != TG_OK ||
        tg_monitor_set_add(t->ms, TG_WATCH_GRADNORM, 200, TG_ALL_LAYERS) != TG_OK ||
        tg_monitor_set_add(t->ms, TG_WATCH_WEIGHT, 200, TG_ALL_LAYERS) != TG_OK ||
        tg_monitor_set_add(t->ms, TG_WATCH_ACTIVATION, 200, TG_ALL_LAYERS) != TG_OK) {
        fprintf(stderr, "bench: %s\n", tg_last_error());
        return -1;
    }
    return 0;
}

static const variant variants[] = {
    { "tapegrad", 1, NULL },
    { "no_numerics", 0, NULL },
    { "plain_path", 1, hook_weights },
    { "monitors200", 1, study_monitors },
};
#define N_VARIANTS ((int)(sizeof variants / sizeof variants[0]))

static int tg_bench_init(tg_bench_net *t, const workload *w, data *d, const variant *v)
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
    memset(t, 0, sizeof *t);
    t->d = d;
    t->check_numerics = v->check_numerics;
    t->net = tg_net_new(w->sizes[0], ls, w->n_layers, 1234);
    t->ng = t->net ? tg_net_graph_new(t->net, BATCH, &tg_loss_softmax_xent_sum) : NULL;
    t->opt = t->ng ? tg_optim_new_net(&oo, t->net) : NULL;
    if (!t->opt || (v->setup && v->setup(t) != 0)) {
        fprintf(stderr, "bench: %s\n", tg_last_error());
        return -1;
    }
    return 0;
}

static void tg_bench_free(tg_bench_net *t)
{
    tg_monitor_set_free(t->ms); /* before the graph its hooks sit on */
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

/* ---- memory ----------------------------------------------------------------------------- */
/* A /proc/self/status field in bytes ("VmRSS", "VmHWM"), -1 when unreadable. */
static long status_bytes(const char *key)
{
    char line[256];
    long kb = -1;
    size_t n = strlen(key);
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':')
            kb = atol(line + n + 1);
    if (f)
        fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/* What one side costs in memory while it sets up and trains 50 steps, measured in a child
 * process so that each side starts from the same process: the synthetic data loaded, OpenBLAS
 * not yet run. Side 0 is the GEMM-only limit program (its weights, gradients and activations and
 * the BLAS it runs: what any implementation pays), side 1 tapegrad (net, graph, optimiser,
 * tg_train). out[0]: peak RSS (VmHWM, reset through /proc/self/clear_refs) minus the resident
 * size before: everything, including code pages faulted in (the kernel maps 64 KiB around each
 * fault of a shared library's code); out[1]: growth of the anonymous resident memory (RssAnon):
 * the data, which nothing frees during training, so its end is its peak; out[2]: for tapegrad
 * the budget the issue allows: parameters + gradients + optimiser state + activations for the
 * batch, the activations being every other tensor the tape keeps (x, y, each z and a, the
 * loss), values and gradients; for the limit program the bytes of its own arrays, so that its
 * data growth minus them is what OpenBLAS (its workspace) and malloc keep. */
#define MEM_N 3
static int memory_side(data *d, const workload *w, int side, double out[MEM_N])
{
    int fd[2], status, got;
    pid_t pid;
    if (pipe(fd) != 0 || (pid = fork()) < 0) {
        perror("bench: memory");
        return -1;
    }
    if (pid == 0) {
        long before = status_bytes("VmRSS"), anon = status_bytes("RssAnon"), peak, k;
        double row[MEM_N] = { 0 };
        FILE *reset = fopen("/proc/self/clear_refs", "w");
        int i, ok;
        tg_bench_net t;
        gemm_net g;
        close(fd[0]);
        ok = reset && fputs("5", reset) >= 0 && fclose(reset) == 0 && before > 0 && anon > 0;
        if (ok && side == 0) {
            gemm_init(&g, w, d);
            for (k = 0; k < 50; ++k)
                gemm_step(&g, 0);
            for (i = 0; i < w->n_layers; ++i) /* W, dW, A (but A[0], the batch), dA */
                row[2] += 4.0 * 2 * ((double)w->sizes[i] * w->sizes[i + 1] +
                                     (double)BATCH * w->sizes[i + 1]);
        } else if (ok) {
            ok = tg_bench_init(&t, w, d, &variants[0]) == 0 && tg_bench_run(&t, 50) == 0;
        }
        peak = status_bytes("VmHWM");
        ok = ok && peak > 0 && status_bytes("RssAnon") > 0;
        if (ok) {
            row[0] = (double)(peak - before);
            row[1] = (double)(status_bytes("RssAnon") - anon);
        }
        if (ok && side == 1) {
            const tg_graph *tape = tg_net_graph_tape(t.ng);
            double acts = 0;
            size_t n;
            tg_net_values(t.net, &n);
            for (i = 0; i < tg_graph_n_tensors(tape); ++i) {
                const tg_tensor *x = tg_graph_tensor(tape, i);
                if (x->kind != TG_PARAM)
                    acts += 4.0 * (double)x->size * (x->requires_grad ? 2 : 1);
            }
            row[2] = 2 * 4.0 * (double)n + acts; /* plain SGD keeps no optimiser state */
        }
        _exit(ok && write(fd[1], row, sizeof row) == (ssize_t)sizeof row ? 0 : 1);
    }
    close(fd[1]);
    got = read(fd[0], out, MEM_N * sizeof *out) == (ssize_t)(MEM_N * sizeof *out);
    close(fd[0]);
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !got) {
        fprintf(stderr, "bench: memory measurement of %s (%s) failed\n", w->name,
                side ? "tapegrad" : "limit");
        return -1;
    }
    return 0;
}

/* One row; 0 if what tapegrad keeps beyond BLAS is within budget + 10%, 1 if not, -1 on
 * failure. */
static int memory_row(data *d, const workload *w, FILE *csv)
{
    const double M = 1048576;
    double lim[MEM_N], tg[MEM_N], blas, own;
    if (memory_side(d, w, 0, lim) != 0 || memory_side(d, w, 1, tg) != 0)
        return -1;
    blas = lim[1] - lim[2];
    own = tg[1] - blas;
    printf("%-3s %-8s %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %7.3f %7.3f\n", w->key, w->name,
           tg[2] / M, lim[0] / M, tg[0] / M, tg[1] / M, blas / M, own / M, tg[1] / tg[2],
           own / tg[2]);
    fprintf(csv, "%s,%s,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.4f,%.4f\n", w->key, w->name, tg[2],
            lim[0], tg[0], tg[1], blas, own, tg[1] / tg[2], own / tg[2]);
    return own <= 1.10 * tg[2] ? 0 : 1;
}

/* The memory table, one child per network; 0 when every row was measured. */
static int memory_table(data *d, const char *only, const char *path, int append)
{
    FILE *csv = fopen(path, append ? "a" : "w");
    int i, over = 0;
    if (!csv) {
        perror(path);
        return -1;
    }
    if (!append)
        fprintf(csv, "workload,name,budget_bytes,limit_peak_bytes,tapegrad_peak_bytes,"
                     "tapegrad_data_bytes,blas_data_bytes,tapegrad_own_bytes,data_over_budget,"
                     "own_over_budget\n");
    printf("memory (MiB) of setting up and training 50 steps, one child process per side. "
           "budget = params + grads + optimiser state (SGD: none) + activations (values and "
           "gradients of every other tensor on the tape); peak = peak RSS growth, code pages "
           "included; data = anonymous RSS growth; blas = what the GEMM-only program keeps beyond "
           "its arrays (OpenBLAS's workspace); own = data - blas; target: own <= 1.10 x budget\n");
    printf("%-3s %-8s %9s %9s %9s %9s %9s %9s %7s %7s\n", "", "network", "budget", "lim peak",
           "tg peak", "tg data", "blas", "tg own", "data/b", "own/b");
    fflush(stdout);
    for (i = 0; i < 4; ++i) {
        int r;
        if (only && !strstr(only, workloads[i].key))
            continue;
        r = memory_row(d, &workloads[i], csv);
        fflush(stdout);
        if (r < 0) {
            fclose(csv);
            return -1;
        }
        over += r;
    }
    if (over)
        printf("memory: %d network(s) keep more than 1.10 x budget\n", over);
    return fclose(csv) == 0 ? 0 : -1;
}

/* ---- timing ----------------------------------------------------------------------------- */
/* Sides: 0 limit, 1 fused limit, 2 + k tapegrad variant k. */
enum { SIDE_LIMIT, SIDE_FUSED, SIDE_TG, N_SIDES = SIDE_TG + N_VARIANTS };

typedef struct {
    gemm_net *g;
    tg_bench_net *t;      /* (N_VARIANTS) */
} runner;

/* Steps per second of n steps of one side. */
static double rate(runner *r, int side, long n)
{
    double t0 = now();
    long i;
    if (side < SIDE_TG)
        for (i = 0; i < n; ++i)
            gemm_step(r->g, side == SIDE_FUSED);
    else if (tg_bench_run(&r->t[side - SIDE_TG], n) != 0)
        exit(1);
    return (double)n / (now() - t0);
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

/* Alternating repetitions of every side; medians into med[side] (steps/s), the smallest and
 * largest repetition into lo[side], hi[side]. */
static void measure(runner *r, double seconds, int reps, double *med, double *lo, double *hi)
{
    double v[N_SIDES][MAX_REPS];
    long n[N_SIDES];
    int i, k;
    for (k = 0; k < N_SIDES; ++k) {
        rate(r, k, 20); /* warm-up: BLAS buffers, the graph's first step */
        n[k] = calibrate(r, k, seconds);
    }
    for (i = 0; i < reps; ++i)
        for (k = 0; k < N_SIDES; ++k)
            v[k][i] = rate(r, k, n[k]);
    for (k = 0; k < N_SIDES; ++k) {
        med[k] = median(v[k], reps);
        lo[k] = v[k][0];
        hi[k] = v[k][reps - 1];
    }
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

/* ---- the OpenBLAS core ------------------------------------------------------------------ */
/* The core OpenBLAS should use on this CPU when the detected one is a generic fallback
 * (Prescott, Core2, ...): "SkylakeX" with AVX-512, "Haswell" with AVX2 and FMA; else NULL. */
static const char *better_core(void)
{
    const char *cur = openblas_get_corename();
    int generic = !strcmp(cur, "Prescott") || !strcmp(cur, "Core2") || !strcmp(cur, "Penryn") ||
                  !strcmp(cur, "Nehalem") || !strcmp(cur, "Dunnington") ||
                  !strcmp(cur, "Sandybridge");
#if defined(__GNUC__) && defined(__x86_64__)
    __builtin_cpu_init();
    if (generic && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (generic && strcmp(cur, "Sandybridge") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    (void)generic;
    return NULL;
}

/* --steps N [--side tapegrad|limit|both]: N steps of one side (or both) per workload, untimed,
 * for profilers: valgrind --tool=callgrind --toggle-collect=tg_train bench/bench --steps N */
static int profile_run(data *d, const char *only, long steps, const char *side, const variant *v)
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
        if (tg_bench_init(&t, w, d, v))
            return 1;
        if (strcmp(side, "limit") && tg_bench_run(&t, steps))
            return 1;
        for (k = 0; strcmp(side, "tapegrad") && k < steps; ++k)
            gemm_step(&g, 0);
        printf("%s %s: %ld steps (%s, %s), last loss %g\n", w->key, w->name, steps, side,
               v->name, t.loss);
        tg_bench_free(&t);
        gemm_free(&g);
    }
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = 2.0, med[N_SIDES], lo[N_SIDES], hi[N_SIDES], ns;
    char rows[4][512];   /* CSV rows, written with the dispatch overhead measured last */
    int reps = 3, threads = 0, rerun = 1, append = 0, n_rows = 0, i, k;
    long steps = 0;
    const char *only = NULL, *side = "both", *csv_path = "bench/results.csv", *core, *better;
    const char *mem_path = "bench/memory.csv", *vname = "tapegrad";
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
        else if (!strcmp(argv[i], "--variant") && i + 1 < argc)
            vname = argv[++i];
        else if (!strcmp(argv[i], "--csv") && i + 1 < argc)
            csv_path = argv[++i];
        else if (!strcmp(argv[i], "--memory-csv") && i + 1 < argc)
            mem_path = argv[++i];
        else if (!strcmp(argv[i], "--no-core-rerun"))
            rerun = 0;
        else if (!strcmp(argv[i], "--append")) /* the re-run with a better core */
            append = 1;
        else {
            fprintf(stderr, "usage: bench [--seconds S] [--reps N] [--threads N] "
                            "[--workloads W1,W2] [--csv FILE] [--memory-csv FILE] "
                            "[--no-core-rerun] | "
                            "--steps N [--side tapegrad|limit|both] [--variant NAME]\n");
            return 2;
        }
    }
    /* without --threads, the library's default thread setting is what is measured */
    if (reps < 1 || reps > MAX_REPS || seconds <= 0 ||
        (threads && tg_set_threads(threads) != TG_OK)) {
        fprintf(stderr, "bench: bad --reps, --seconds or --threads\n");
        return 2;
    }
    workloads_init();
    data_init(&d, 42);
    if (steps > 0) {
        for (k = 0; k < N_VARIANTS && strcmp(variants[k].name, vname); ++k)
            ;
        if (k == N_VARIANTS) {
            fprintf(stderr, "bench: unknown variant '%s'\n", vname);
            return 2;
        }
        return profile_run(&d, only, steps, side, &variants[k]);
    }
    core = openblas_get_corename();
    better = getenv("OPENBLAS_CORETYPE") ? NULL : better_core();
    csv = fopen(csv_path, append ? "a" : "w");
    if (!csv) {
        perror(csv_path);
        return 1;
    }
    if (!append) {
        fprintf(csv, "core,threads,workload,name,limit_steps_s,fused_limit_steps_s,"
                     "tapegrad_steps_s,ratio,ratio_fused,tapegrad_min,tapegrad_max");
        for (k = 1; k < N_VARIANTS; ++k)
            fprintf(csv, ",%s_steps_s", variants[k].name);
        fprintf(csv, ",dispatch_ns\n");
    }
    printf("tapegrad %s bench: batch 30, SGD, OpenBLAS core %s%s, threads=%d, median of %d x "
           ">= %.1f s\n", tg_version(), core,
           getenv("OPENBLAS_CORETYPE") ? " (OPENBLAS_CORETYPE)" : " (detected)", tg_threads(),
           reps, seconds);
    if (better)
        printf("note: %s is OpenBLAS's generic fallback; this CPU can run %s kernels (the table "
               "is repeated with OPENBLAS_CORETYPE=%s)\n", core, better, better);
    if (memory_table(&d, only, mem_path, append) != 0)
        return 1;
    printf("steps/s; ratio = tapegrad / limit, r/fused = tapegrad / fused limit; each further "
           "variant: steps/s (its change vs tapegrad)\n");
    printf("%-3s %-8s %9s %9s %9s %6s %7s %15s", "", "network", "limit", "fused lim",
           "tapegrad", "ratio", "r/fused", "tapegrad min-max");
    for (k = 1; k < N_VARIANTS; ++k)
        printf(" %18s", variants[k].name);
    printf("\n");
    for (i = 0; i < 4; ++i) {
        const workload *w = &workloads[i];
        gemm_net g;
        tg_bench_net t[N_VARIANTS];
        runner r;
        size_t len;
        if (only && !strstr(only, w->key))
            continue;
        gemm_init(&g, w, &d);
        for (k = 0; k < N_VARIANTS; ++k)
            if (tg_bench_init(&t[k], w, &d, &variants[k]))
                return 1;
        r.g = &g;
        r.t = t;
        measure(&r, seconds, reps, med, lo, hi);
        printf("%-3s %-8s %9.1f %9.1f %9.1f %6.3f %7.3f %7.1f-%-7.1f", w->key, w->name,
               med[SIDE_LIMIT], med[SIDE_FUSED], med[SIDE_TG], med[SIDE_TG] / med[SIDE_LIMIT],
               med[SIDE_TG] / med[SIDE_FUSED], lo[SIDE_TG], hi[SIDE_TG]);
        len = (size_t)snprintf(rows[n_rows], sizeof rows[0],
                               "%s,%d,%s,%s,%.2f,%.2f,%.2f,%.4f,%.4f,%.2f,%.2f", core,
                               tg_threads(), w->key, w->name, med[SIDE_LIMIT], med[SIDE_FUSED],
                               med[SIDE_TG], med[SIDE_TG] / med[SIDE_LIMIT],
                               med[SIDE_TG] / med[SIDE_FUSED], lo[SIDE_TG], hi[SIDE_TG]);
        for (k = 1; k < N_VARIANTS; ++k) {
            /* no_numerics: + the check's cost; plain_path: - what the fused step saves;
             * monitors200: - what the study's monitors at period 200 cost */
            printf(" %9.1f (%+5.1f%%)", med[SIDE_TG + k],
                   100.0 * (med[SIDE_TG + k] / med[SIDE_TG] - 1.0));
            if (len < sizeof rows[0])
                len += (size_t)snprintf(rows[n_rows] + len, sizeof rows[0] - len, ",%.2f",
                                        med[SIDE_TG + k]);
        }
        printf("\n");
        n_rows++;
        fflush(stdout);
        for (k = 0; k < N_VARIANTS; ++k)
            tg_bench_free(&t[k]);
        gemm_free(&g);
    }
    ns = dispatch_ns(seconds / 2);
    printf("dispatch overhead: %.1f ns per node (forward replay of 200 tanh nodes on [1])\n",
           ns);
    for (i = 0; i < n_rows; ++i)
        fprintf(csv, "%s,%.2f\n", rows[i], ns);
    fclose(csv);
    free(d.x);
    free(d.labels);
    printf("wrote %s\n", csv_path);
    if (better && rerun) { /* the same table with the kernels this CPU can run */
        char *args[2 * 16 + 4];
        int n = 0;
        for (i = 0; i < argc && n < 2 * 16; ++i)
            args[n++] = argv[i];
        args[n++] = "--append";
        args[n] = NULL;
        fflush(stdout);
        if (setenv("OPENBLAS_CORETYPE", better, 1) == 0)
            execv("/proc/self/exe", args);
        perror("bench: re-running with OPENBLAS_CORETYPE");
        return 1;
    }
    return 0;
}
