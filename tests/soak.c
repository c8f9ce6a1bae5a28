/*
 * soak.c -- make check-soak: the long run of issue 7 (RELIABILITY.md rows 17, 71-78).
 *
 * Trains a 784-128-64-10 tanh net (glorot weights, zero biases, summed softmax cross-entropy,
 * SGD lr 0.001, batch 30) on mnist-10k's 8,000 training digits, cycled, for 110,000 steps with
 * monitors every 200 steps on the loss, dL/db1 and the stats of w2. Every library allocation
 * goes through a counting allocator that also tracks the bytes alive. Criteria:
 *   allocator calls after warm-up (steps 1,000 .. end)   0
 *   live library heap bytes at step 1,000 and at the end  equal
 *   RSS (/proc/self/statm) at step 1,000 and at the end   within 2 %
 *   step time after the run against step time at 1,000    within 10 %: measured paired. A twin
 *                                                        of the job (same seed, data, monitors)
 *                                                        is trained to step 1,000; then blocks
 *                                                        of 20 steps of the old job (steps
 *                                                        110,000+) and of the twin (1,000+)
 *                                                        alternate, 50 each; the drift is the
 *                                                        median over pairs of the ratio of
 *                                                        their median thread-CPU step times.
 *                                                        Both sides see the same machine, so
 *                                                        other load cancels out; the first and
 *                                                        last 1,000-step windows of the run and
 *                                                        a block profile are shown beside it
 *   loss                                                  finite at every step
 *   monitors                                              one sample per 200 steps
 *   a training graph built and freed 10,000 times         live bytes and fd count unchanged
 *   two nets trained in two threads                       losses bitwise equal to a serial run
 * Usage: soak [--steps N] [--thread-steps N] [MNIST_DIR]; the directory defaults to
 * $TG_SHARED_DATA/mnist-10k. Prints a table; exits 1 if a criterion fails, 2 on setup errors.
 */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tapegrad.h"

#define PERIOD 200
#define WINDOW 1000
#define BATCH 30

/* ---- a counting allocator: calls, and bytes alive (each block carries its size) ----------- */
#define HDR 16
static atomic_long n_calls;
static atomic_llong live_bytes;

static void *cnt_malloc(size_t n, void *u)
{
    unsigned char *p = malloc(n + HDR);
    (void)u;
    atomic_fetch_add(&n_calls, 1);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    atomic_fetch_add(&live_bytes, (long long)n);
    return p + HDR;
}

static void *cnt_realloc(void *q, size_t n, void *u)
{
    unsigned char *p = q ? (unsigned char *)q - HDR : NULL;
    size_t old = 0;
    (void)u;
    atomic_fetch_add(&n_calls, 1);
    if (p)
        memcpy(&old, p, sizeof old);
    if (!(p = realloc(p, n + HDR)))
        return NULL;
    memcpy(p, &n, sizeof n);
    atomic_fetch_add(&live_bytes, (long long)n - (long long)old);
    return p + HDR;
}

static void cnt_free(void *q, void *u)
{
    size_t n;
    (void)u;
    atomic_fetch_add(&n_calls, 1);
    if (!q)
        return;
    q = (unsigned char *)q - HDR;
    memcpy(&n, q, sizeof n);
    atomic_fetch_sub(&live_bytes, (long long)n);
    free(q);
}

static const tg_allocator counting = { cnt_malloc, cnt_realloc, cnt_free, NULL };

/* ---- measurements ------------------------------------------------------------------------ */
static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Resident set in bytes, read with plain syscalls (stdio would allocate). */
static long rss_bytes(void)
{
    char buf[128];
    long size = 0, resident = 0;
    ssize_t k;
    int fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0)
        return -1;
    k = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (k <= 0)
        return -1;
    buf[k] = '\0';
    if (sscanf(buf, "%ld %ld", &size, &resident) != 2)
        return -1;
    return resident * sysconf(_SC_PAGESIZE);
}

/* ---- one training job: a net, its graph, optimiser and pipeline ---------------------------- */
typedef struct job {
    uint64_t seed;
    long steps;
    const tg_dataset *ds;
    double *losses;            /* (steps) when recording, else NULL */
    tg_net *net;
    tg_net_graph *ng;
    tg_optim *opt;
    tg_pipeline pipe;
    tg_status status;
    char error[512];
} job;

static int job_init(job *j)
{
    tg_layer_spec layers[3];
    const int sizes[3] = { 128, 64, 10 };
    tg_pipeline_opts po;
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 0.001);
    int l;
    memset(layers, 0, sizeof layers);
    for (l = 0; l < 3; ++l) {
        layers[l].n_nodes = sizes[l];
        layers[l].activation = tg_activation_find(l < 2 ? "tanh" : "linear");
        layers[l].weight_init.kind = TG_INIT_GLOROT_UNIFORM;
        layers[l].bias_init.kind = TG_INIT_ZEROS;
    }
    memset(&po, 0, sizeof po);
    po.batch = BATCH;
    po.epochs = 0;
    po.shuffle = 1;
    po.seed = j->seed;
    po.drop_remainder = 1;
    if (!(j->net = tg_net_new(784, layers, 3, j->seed)) ||
        !(j->ng = tg_net_graph_new(j->net, BATCH, &tg_loss_softmax_xent_sum)) ||
        !(j->opt = tg_optim_new_net(&oo, j->net)) ||
        tg_pipeline_init(&j->pipe, j->ds, &po) != TG_OK) {
        fprintf(stderr, "soak: setup failed: %s\n", tg_last_error());
        return -1;
    }
    return 0;
}

static void job_free(job *j)
{
    tg_pipeline_release(&j->pipe);
    tg_optim_free(j->opt);
    tg_net_graph_free(j->ng);
    tg_net_free(j->net);
}

static tg_status record_loss(const tg_train_progress *p, void *user)
{
    ((job *)user)->losses[p->step] = p->loss;
    return TG_OK;
}

/* Train j->steps steps recording the losses (the thread body too). */
static void *job_run(void *arg)
{
    job *j = arg;
    tg_train_opts o = tg_train_defaults();
    o.max_steps = j->steps;
    o.progress = record_loss;
    o.progress_user = j;
    j->status = tg_train_pipeline(j->ng, j->opt, &j->pipe, &o, NULL);
    snprintf(j->error, sizeof j->error, "%s", j->status ? tg_last_error() : "");
    return NULL;
}

/* ---- the long run -------------------------------------------------------------------------- */
typedef struct soak {
    long steps;
    double prev_wall, prev_cpu;
    double wall[2][WINDOW], cpu[2][WINDOW];  /* step times of the early and the late window */
    double *block_cpu;                        /* (steps / WINDOW) thread CPU per block */
    long calls_warm, calls_end;
    long long live_warm, live_end;
    long rss_warm, rss_end;
    long nonfinite;
    double first_loss, last_loss;
} soak;

static tg_status soak_step(const tg_train_progress *p, void *user)
{
    soak *s = user;
    double wall = clock_s(CLOCK_MONOTONIC), cpu = clock_s(CLOCK_THREAD_CPUTIME_ID);
    long k = p->step;
    int w = k >= WINDOW && k < 2 * WINDOW ? 0 : k >= s->steps - WINDOW ? 1 : -1;
    if (w >= 0) {
        s->wall[w][k % WINDOW] = wall - s->prev_wall;
        s->cpu[w][k % WINDOW] = cpu - s->prev_cpu;
    }
    s->block_cpu[k / WINDOW] += cpu - s->prev_cpu;
    s->nonfinite += !isfinite(p->loss);
    if (k == 0)
        s->first_loss = p->loss;
    s->last_loss = p->loss;
    if (k == WINDOW - 1) {
        s->calls_warm = atomic_load(&n_calls);
        s->live_warm = atomic_load(&live_bytes);
        s->rss_warm = rss_bytes();
    }
    s->prev_wall = clock_s(CLOCK_MONOTONIC);
    s->prev_cpu = clock_s(CLOCK_THREAD_CPUTIME_ID);
    return TG_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n values (sorts t). */
static double median_of(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return (t[(n - 1) / 2] + t[n / 2]) / 2;
}

/* Mean and median (sorts t) of n step times, in ms. */
static void stats_ms(double *t, int n, double *mean, double *median)
{
    double sum = 0.0;
    int i;
    for (i = 0; i < n; ++i)
        sum += t[i];
    *mean = 1e3 * sum / n;
    *median = 1e3 * median_of(t, n);
}

static int failures;

/* One line of the summary table; pass < 0 is information only. */
static void row(const char *what, int pass, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void row(const char *what, int pass, const char *fmt, ...)
{
    char text[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    printf("  %-22s %-74s %s\n", what, text, pass < 0 ? "info" : pass ? "PASS" : "FAIL");
    failures += pass == 0;
}

/* The run's monitors on j: the loss (copy), dL/db1 (copy), w2 (stats), every PERIOD steps. */
static int monitors_attach(job *j, tg_monitor *mon[3], long samples)
{
    tg_monitor_opts mo[3];
    tg_tensor *watched[3];
    int m;
    watched[0] = tg_net_graph_loss(j->ng);
    watched[1] = tg_net_graph_layer(j->ng, 0, TG_LAYER_BIAS);
    watched[2] = tg_net_graph_layer(j->ng, 1, TG_LAYER_WEIGHT);
    memset(mo, 0, sizeof mo);
    for (m = 0; m < 3; ++m) {
        mo[m].period = PERIOD;
        mo[m].planned = samples + 2;
    }
    mo[0].kind = TG_MON_COPY;
    mo[1].kind = TG_MON_COPY;
    mo[1].grad = 1;
    mo[2].kind = TG_MON_STATS;
    for (m = 0; m < 3; ++m)
        if (!(mon[m] = tg_monitor_new(watched[m], &mo[m]))) {
            fprintf(stderr, "soak: monitor %d: %s\n", m, tg_last_error());
            while (m > 0)
                tg_monitor_free(mon[--m]);
            return -1;
        }
    return 0;
}

/* ---- step time, paired: the old job against a young twin, in alternating blocks ------------ */
#define PAIRS 50
#define BLOCK 20

typedef struct { double prev, t[BLOCK]; int n; } block_clock;

static tg_status block_step(const tg_train_progress *p, void *user)
{
    block_clock *c = user;
    double now = clock_s(CLOCK_THREAD_CPUTIME_ID);
    (void)p;
    if (c->n < BLOCK)
        c->t[c->n++] = now - c->prev;
    c->prev = clock_s(CLOCK_THREAD_CPUTIME_ID);
    return TG_OK;
}

/* Median thread-CPU time of the steps of one BLOCK-step call of tg_train (the first step, which
 * also pays for entering tg_train, left out), in seconds; < 0 on error. */
static double block_median(job *j)
{
    tg_train_opts o = tg_train_defaults();
    block_clock c;
    o.max_steps = BLOCK;
    o.progress = block_step;
    o.progress_user = &c;
    c.n = 0;
    c.prev = clock_s(CLOCK_THREAD_CPUTIME_ID);
    if (tg_train_pipeline(j->ng, j->opt, &j->pipe, &o, NULL) != TG_OK || c.n != BLOCK) {
        fprintf(stderr, "soak: %s\n", tg_last_error());
        return -1;
    }
    return median_of(c.t + 1, BLOCK - 1);
}

/* Drift of the old job's step time against a twin trained to step `warm`: median over PAIRS
 * alternating blocks (old first in even pairs, twin first in odd ones) of old/young; the
 * medians of each side's block medians in ms. */
static int paired_drift(job *old, const tg_dataset *ds, long samples, long warm, double *drift,
                        double *old_ms, double *young_ms)
{
    job young;
    tg_monitor *mon[3];
    tg_train_opts o = tg_train_defaults();
    double ratio[PAIRS], t_old[PAIRS], t_young[PAIRS];
    int i, m;
    memset(&young, 0, sizeof young);
    young.seed = old->seed;
    young.ds = ds;
    if (job_init(&young) != 0 || monitors_attach(&young, mon, samples) != 0)
        return -1;
    o.max_steps = warm;
    if (tg_train_pipeline(young.ng, young.opt, &young.pipe, &o, NULL) != TG_OK) {
        fprintf(stderr, "soak: twin: %s\n", tg_last_error());
        return -1;
    }
    for (i = 0; i < PAIRS; ++i) {
        job *first = i % 2 ? &young : old, *second = i % 2 ? old : &young;
        double a = block_median(first), b = block_median(second);
        if (a < 0 || b < 0)
            return -1;
        t_old[i] = i % 2 ? b : a;
        t_young[i] = i % 2 ? a : b;
        ratio[i] = t_old[i] / t_young[i];
    }
    *drift = median_of(ratio, PAIRS) - 1.0;
    *old_ms = 1e3 * median_of(t_old, PAIRS);
    *young_ms = 1e3 * median_of(t_young, PAIRS);
    for (m = 0; m < 3; ++m)
        tg_monitor_free(mon[m]);
    job_free(&young);
    return 0;
}

static int soak_run(const tg_dataset *ds, long steps)
{
    job j;
    soak s;
    tg_monitor *mon[3];
    tg_train_opts o = tg_train_defaults();
    tg_status st;
    double t0, drift, old_ms, young_ms, rss_change, mean[2][2], median[2][2];
    /* mean and median: [wall|cpu][early|late] */
    long samples = (steps + PERIOD - 1) / PERIOD, calls;
    long n_samples[3];
    int m, mon_ok = 1;
    memset(&j, 0, sizeof j);
    memset(&s, 0, sizeof s);
    j.seed = 1;
    j.ds = ds;
    if (job_init(&j) != 0)
        return -1;
    if (monitors_attach(&j, mon, samples) != 0)
        return -1;
    o.max_steps = steps;
    o.progress = soak_step;
    o.progress_user = &s;
    s.steps = steps;
    if (!(s.block_cpu = calloc((size_t)(steps / WINDOW + 1), sizeof *s.block_cpu)))
        return -1;
    s.prev_wall = t0 = clock_s(CLOCK_MONOTONIC);
    s.prev_cpu = clock_s(CLOCK_THREAD_CPUTIME_ID);
    st = tg_train_pipeline(j.ng, j.opt, &j.pipe, &o, NULL);
    s.calls_end = atomic_load(&n_calls);
    s.live_end = atomic_load(&live_bytes);
    s.rss_end = rss_bytes();
    printf("  %ld steps in %.0f s; the run returned %s%s%s\n", steps,
           clock_s(CLOCK_MONOTONIC) - t0, tg_strerror(st), st ? ": " : "",
           st ? tg_last_error() : "");
    for (m = 0; m < 3; ++m)
        mon_ok &= (n_samples[m] = tg_monitor_n_samples(mon[m])) == samples;

    calls = s.calls_end - s.calls_warm;
    for (m = 0; m < 2; ++m) {
        stats_ms(s.wall[m], WINDOW, &mean[0][m], &median[0][m]);
        stats_ms(s.cpu[m], WINDOW, &mean[1][m], &median[1][m]);
    }
    /* judged paired, after the memory figures above were taken (the twin allocates) */
    if (paired_drift(&j, ds, samples, WINDOW, &drift, &old_ms, &young_ms) != 0)
        return -1;
    rss_change = (double)(s.rss_end - s.rss_warm) / (double)s.rss_warm;
    row("training", st == TG_OK, "%ld steps of 784-128-64-10 tanh, batch %d", steps, BATCH);
    row("allocator calls", calls == 0, "%ld from step %d to %ld (%ld during warm-up)", calls,
        WINDOW, steps, s.calls_warm);
    row("live library heap", s.live_end == s.live_warm, "%lld bytes at step %d, %lld at %ld",
        s.live_warm, WINDOW, s.live_end, steps);
    row("RSS", fabs(rss_change) <= 0.02, "%.2f MiB at step %d, %.2f MiB at %ld (%+.2f %%)",
        s.rss_warm / 1048576.0, WINDOW, s.rss_end / 1048576.0, steps, 100.0 * rss_change);
    row("step time", fabs(drift) <= 0.10, "paired: %.3f ms after %ld steps, %.3f ms at %d "
        "(%+.1f %%)", old_ms, steps, young_ms, WINDOW, 100.0 * drift);
    row("", -1, "(median of %d pairs of %d-step blocks, thread CPU, a twin at step %d)", PAIRS,
        BLOCK, WINDOW);
    row("", -1, "run's windows: thread CPU median %.3f ms over [%d,%d), %.3f ms over the "
        "last %d", median[1][0], WINDOW, 2 * WINDOW, median[1][1], WINDOW);
    row("", -1, "wall mean %.3f ms, then %.3f ms (%+.1f %%)", mean[0][0], mean[0][1],
        100.0 * (mean[0][1] / mean[0][0] - 1.0));
    row("", -1, "wall median %.3f ms, then %.3f ms (%+.1f %%)", median[0][0], median[0][1],
        100.0 * (median[0][1] / median[0][0] - 1.0));
    row("", -1, "thread CPU mean %.3f ms, then %.3f ms (%+.1f %%)", mean[1][0], mean[1][1],
        100.0 * (mean[1][1] / mean[1][0] - 1.0));
    {   /* how the step time moves over the run: is a difference a trend or noise? */
        char prof[160];
        int len = 0;
        long b, nb = steps / WINDOW, every = nb / 10 > 0 ? nb / 10 : 1;
        for (b = 1; b < nb && len < (int)sizeof prof - 8; b += every)
            len += snprintf(prof + len, sizeof prof - (size_t)len, "%s%.2f", b > 1 ? " " : "",
                            1e3 * s.block_cpu[b] / WINDOW);
        row("", -1, "thread CPU ms/step in 1000-step blocks every %ld: %s", every * WINDOW,
            prof);
    }
    free(s.block_cpu);
    row("loss", s.nonfinite == 0, "finite at every step (%ld not); first %.4g, last %.4g",
        s.nonfinite, s.first_loss, s.last_loss);
    row("monitors", mon_ok, "%ld, %ld, %ld samples in the run (period %d; %ld expected)",
        n_samples[0], n_samples[1], n_samples[2], PERIOD, samples);
    for (m = 0; m < 3; ++m)
        tg_monitor_free(mon[m]);
    job_free(&j);
    return 0;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        ++n;
    closedir(d);
    return n;
}

/* Build and free a training graph `times` times: the live bytes come back, no fd is leaked. */
static int rebuild_run(const tg_dataset *ds, long times)
{
    job j;
    long long live0;
    long i, failed = 0;
    int fds0;
    memset(&j, 0, sizeof j);
    j.seed = 5;
    j.ds = ds;
    if (job_init(&j) != 0)
        return -1;
    live0 = atomic_load(&live_bytes);
    fds0 = count_fds();
    for (i = 0; i < times; ++i) {
        tg_net_graph *ng = tg_net_graph_new(j.net, BATCH, &tg_loss_softmax_xent_sum);
        failed += !ng;
        tg_net_graph_free(ng);
    }
    row("graph build/free", !failed && atomic_load(&live_bytes) == live0 &&
        count_fds() == fds0, "%ld times: %lld live bytes before, %lld after; %d fds, then %d",
        times, live0, (long long)atomic_load(&live_bytes), fds0, count_fds());
    job_free(&j);
    return 0;
}

/* Two nets, serially then in two threads: the losses must agree bitwise. */
static int threads_run(const tg_dataset *ds, long steps)
{
    job serial[2], threaded[2];
    pthread_t th[2];
    double t0, t_serial, t_threads;
    int k, same = 1, ok = 1;
    memset(serial, 0, sizeof serial);
    memset(threaded, 0, sizeof threaded);
    for (k = 0; k < 2; ++k) {
        serial[k].seed = threaded[k].seed = 11 + (uint64_t)k;
        serial[k].steps = threaded[k].steps = steps;
        serial[k].ds = threaded[k].ds = ds;
        serial[k].losses = calloc((size_t)steps, sizeof(double));
        threaded[k].losses = calloc((size_t)steps, sizeof(double));
        if (!serial[k].losses || !threaded[k].losses || job_init(&serial[k]) != 0 ||
            job_init(&threaded[k]) != 0)
            return -1;
    }
    t0 = clock_s(CLOCK_MONOTONIC);
    for (k = 0; k < 2; ++k)
        job_run(&serial[k]);
    t_serial = clock_s(CLOCK_MONOTONIC) - t0;
    t0 = clock_s(CLOCK_MONOTONIC);
    for (k = 0; k < 2; ++k)
        if (pthread_create(&th[k], NULL, job_run, &threaded[k]) != 0) {
            fprintf(stderr, "soak: pthread_create failed\n");
            return -1;
        }
    for (k = 0; k < 2; ++k)
        pthread_join(th[k], NULL);
    t_threads = clock_s(CLOCK_MONOTONIC) - t0;
    for (k = 0; k < 2; ++k) {
        ok &= serial[k].status == TG_OK && threaded[k].status == TG_OK;
        if (serial[k].status || threaded[k].status)
            fprintf(stderr, "soak: net %d: %s%s\n", k, serial[k].error, threaded[k].error);
        same &= !memcmp(serial[k].losses, threaded[k].losses, (size_t)steps * sizeof(double));
    }
    row("two threads", ok && same, "2 nets x %ld steps: losses %s serial (%.0f s; threaded "
        "%.0f s)", steps, same ? "bitwise equal to" : "DIFFER from", t_serial, t_threads);
    for (k = 0; k < 2; ++k) {
        job_free(&serial[k]);
        job_free(&threaded[k]);
        free(serial[k].losses);
        free(threaded[k].losses);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *shared = getenv("TG_SHARED_DATA");
    char path[4096];
    long steps = 110000, thread_steps = 2000;
    tg_dataset ds;
    int i;
    tg_set_allocator(&counting);
    setvbuf(stdout, NULL, _IOLBF, 0); /* rows appear as they are measured, also in CI logs */
    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atol(argv[++i]);
        else if (!strcmp(argv[i], "--thread-steps") && i + 1 < argc)
            thread_steps = atol(argv[++i]);
        else if (argv[i][0] != '-')
            dir = argv[i];
        else {
            fprintf(stderr, "usage: soak [--steps N] [--thread-steps N] [MNIST_DIR]\n");
            return 2;
        }
    }
    if (steps < 3 * WINDOW || thread_steps < 1) {
        fprintf(stderr, "soak: --steps must be >= %d and --thread-steps >= 1\n", 3 * WINDOW);
        return 2;
    }
    if (!dir) {
        snprintf(path, sizeof path, "%s/mnist-10k", shared && *shared ? shared :
                 "../shared/data");
        dir = path;
    }
    if (tg_set_threads(1) != TG_OK || tg_mnist_load(dir, "train", &ds) != TG_OK) {
        fprintf(stderr, "soak: %s\n", tg_last_error());
        return 2;
    }
    printf("soak: %zu digits from %s\n", ds.n, dir);
    if (soak_run(&ds, steps) != 0 || rebuild_run(&ds, 10000) != 0 ||
        threads_run(&ds, thread_steps) != 0) {
        tg_dataset_release(&ds);
        return 2;
    }
    tg_dataset_release(&ds);
    printf("soak: %s\n", failures ? "FAILED" : "all criteria met");
    return failures ? 1 : 0;
}
