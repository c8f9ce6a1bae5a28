/*
 * threads.c -- make check-tsan: two threads on two independent tapes (RELIABILITY.md row 17),
 * linked with the library's sources built under ThreadSanitizer (Makefile.am).
 *
 * (a) Two 784-64-10 tanh nets (different seeds), each with a monitor set (loss, grad,
 *     gradnorm, weight, activation, every 10 steps), are built and trained 300 steps of batch
 *     30 on one synthetic data set both read, first one after the other, then in two threads
 *     at once; each job writes its monitors' CSV files at the end. The losses and every
 *     monitor's steps and values must be bitwise equal between the two runs.
 * (b) Two threads in lock step (a barrier per round) each build a small graph of their own,
 *     run it forward and backward, fail a matmul naming their own tensors, and after the other
 *     thread failed too check that tg_last_error() is still their own message; then export
 *     DOT text (equal to the text made before the threads started), render it with Graphviz
 *     and draw a line plot with PLplot, both behind the library's locks (a build without
 *     Graphviz or PLplot must answer TG_ERR_UNAVAILABLE instead).
 * Usage: threads DIR (output files go there; it must exist). Exits 1 on a mismatch, 2 on a
 * setup error; a data race ends the run through TSAN_OPTIONS (the make target sets them).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "tapegrad.h"

#define STEPS 300
#define BATCH 30
#define PERIOD 10
#define RECORDS 600
#define ROUNDS 12

static int failures;

/* ---- (a) training ------------------------------------------------------------------------ */
/* Ten classes, each a random prototype image plus uniform noise: learnable, so losses move. */
static int synthetic(tg_dataset *ds)
{
    static float proto[10][784];
    uint64_t rng = 7;
    size_t i;
    int c, f;
    memset(ds, 0, sizeof *ds);
    ds->n = RECORDS;
    ds->n_features = 784;
    ds->n_classes = 10;
    ds->rows = ds->cols = 28;
    ds->x = malloc(RECORDS * 784 * sizeof(float));
    ds->labels = malloc(RECORDS);
    ds->labels_f = malloc(RECORDS * sizeof(float));
    if (!ds->x || !ds->labels || !ds->labels_f)
        return -1;
    for (c = 0; c < 10; ++c)
        for (f = 0; f < 784; ++f)
            proto[c][f] = (float)tg_rand_uniform(&rng, 0.0, 0.5);
    for (i = 0; i < RECORDS; ++i) {
        ds->labels[i] = (uint8_t)(i % 10);
        ds->labels_f[i] = (float)ds->labels[i];
        for (f = 0; f < 784; ++f)
            ds->x[i * 784 + f] = proto[i % 10][f] + (float)tg_rand_uniform(&rng, 0.0, 0.5);
    }
    return 0;
}

typedef struct job {
    uint64_t seed;
    const tg_dataset *ds;
    char dir[4096];            /* where the CSV files go */
    double losses[STEPS];
    tg_net *net;
    tg_net_graph *ng;
    tg_optim *opt;
    tg_pipeline pipe;
    tg_monitor_set *ms;
    tg_status status;
    char error[1024];          /* the thread's tg_last_error() when status is not TG_OK */
} job;

static tg_status record_loss(const tg_train_progress *p, void *user)
{
    ((job *)user)->losses[p->step] = p->loss;
    return TG_OK;
}

/* Build, train and write the CSV files of one job (a thread body). */
static void *job_run(void *arg)
{
    static const tg_watch_kind watch[] = { TG_WATCH_LOSS, TG_WATCH_GRAD, TG_WATCH_GRADNORM,
                                           TG_WATCH_WEIGHT, TG_WATCH_ACTIVATION };
    job *j = arg;
    tg_layer_spec layers[2];
    tg_pipeline_opts po = { .batch = BATCH, .shuffle = 1, .seed = j->seed, .drop_remainder = 1 };
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 0.001);
    tg_monitor_set_opts mo = { .steps = STEPS };
    tg_train_opts to = tg_train_defaults();
    tg_status s;
    size_t w;
    int l;
    memset(layers, 0, sizeof layers);
    for (l = 0; l < 2; ++l) {
        layers[l].n_nodes = l ? 10 : 64;
        layers[l].activation = tg_activation_find(l ? "linear" : "tanh");
        layers[l].weight_init.kind = TG_INIT_GLOROT_UNIFORM;
        layers[l].bias_init.kind = TG_INIT_ZEROS;
    }
    to.max_steps = STEPS;
    to.progress = record_loss;
    to.progress_user = j;
    s = (j->net = tg_net_new(784, layers, 2, j->seed)) &&
        (j->ng = tg_net_graph_new(j->net, BATCH, &tg_loss_softmax_xent_sum)) &&
        (j->opt = tg_optim_new_net(&oo, j->net)) &&
        tg_pipeline_init(&j->pipe, j->ds, &po) == TG_OK &&
        (j->ms = tg_monitor_set_new(j->ng, &mo)) ? TG_OK : tg_last_status();
    for (w = 0; s == TG_OK && w < sizeof watch / sizeof *watch; ++w)
        s = tg_monitor_set_add(j->ms, watch[w], PERIOD, TG_ALL_LAYERS);
    if (s == TG_OK)
        s = tg_train_pipeline(j->ng, j->opt, &j->pipe, &to, NULL);
    if (s == TG_OK)
        s = tg_monitor_set_write_csv(j->ms, j->dir);
    j->status = s;
    snprintf(j->error, sizeof j->error, "%s", s ? tg_last_error() : "");
    return NULL;
}

static void job_free(job *j)
{
    tg_monitor_set_free(j->ms);
    tg_pipeline_release(&j->pipe);
    tg_optim_free(j->opt);
    tg_net_graph_free(j->ng);
    tg_net_free(j->net);
}

/* 1 if the losses and every monitor of job b equal those of job a, bitwise. */
static int job_same(const job *a, const job *b)
{
    int i, n = tg_monitor_set_count(a->ms);
    if (n != tg_monitor_set_count(b->ms) || memcmp(a->losses, b->losses, sizeof a->losses))
        return 0;
    for (i = 0; i < n; ++i) {
        const tg_monitor *ma = tg_monitor_set_get(a->ms, i), *mb = tg_monitor_set_get(b->ms, i);
        long k = tg_monitor_n_samples(ma);
        size_t values = (size_t)k * (size_t)tg_monitor_n_units(ma);
        if (k != STEPS / PERIOD || k != tg_monitor_n_samples(mb) ||
            tg_monitor_n_units(ma) != tg_monitor_n_units(mb) ||
            memcmp(tg_monitor_steps(ma), tg_monitor_steps(mb), (size_t)k * sizeof(long)) ||
            memcmp(tg_monitor_values(ma), tg_monitor_values(mb), values * sizeof(float)))
            return 0;
    }
    return 1;
}

static int train_twice(const tg_dataset *ds, const char *dir)
{
    static job serial[2], threaded[2];
    pthread_t th[2];
    int k;
    for (k = 0; k < 2; ++k) {
        serial[k].seed = threaded[k].seed = 11 + (uint64_t)k;
        serial[k].ds = threaded[k].ds = ds;
        snprintf(serial[k].dir, sizeof serial[k].dir, "%s/serial%d", dir, k);
        snprintf(threaded[k].dir, sizeof threaded[k].dir, "%s/thread%d", dir, k);
        job_run(&serial[k]);
    }
    for (k = 0; k < 2; ++k)
        if (pthread_create(&th[k], NULL, job_run, &threaded[k]) != 0)
            return -1;
    for (k = 0; k < 2; ++k)
        pthread_join(th[k], NULL);
    for (k = 0; k < 2; ++k) {
        int same = !serial[k].status && !threaded[k].status && job_same(&serial[k], &threaded[k]);
        if (serial[k].status || threaded[k].status)
            fprintf(stderr, "threads: net %d: training failed: %s%s\n", k, serial[k].error,
                    threaded[k].error);
        printf("threads: net %d, %d steps, loss %.6g -> %.6g: losses and monitors in two "
               "threads %s\n", k, STEPS, serial[k].losses[0], serial[k].losses[STEPS - 1],
               same ? "bitwise equal to the serial run" : "DIFFER from the serial run");
        failures += !same;
        job_free(&serial[k]);
        job_free(&threaded[k]);
    }
    return 0;
}

/* ---- (b) graphs, errors and exporters from two threads ----------------------------------- */
typedef struct worker {
    int k;
    const char *dir;
    pthread_barrier_t *barrier;
    char *dot;                 /* the graph's DOT text, made before the threads start */
    int failures;
} worker;

/* Worker k's graph: loss = sum(tanh(x w^T)), x [4,3] "x<k>", w [5,3] "w<k>", run forward
 * and backward. On return *x and *w point at the two leaves; NULL graph on failure. */
static tg_graph *small_graph(int k, tg_tensor **x, tg_tensor **w)
{
    static const float xv[12] = { 1, 2, 3, -1, 0, 1, 0.5f, -2, 1, 3, 1, -1 };
    char xn[8], wn[8];
    float wv[15];
    tg_graph *g = tg_graph_new();
    tg_tensor *loss;
    int i;
    for (i = 0; i < 15; ++i)
        wv[i] = 0.1f * (float)(i - 7 + k);
    snprintf(xn, sizeof xn, "x%d", k);
    snprintf(wn, sizeof wn, "w%d", k);
    *x = tg_input(g, xn, 2, (const int[]){ 4, 3 });
    *w = tg_param(g, wn, 2, (const int[]){ 5, 3 });
    if (!*x || !*w || tg_tensor_set(*x, xv, 12) || tg_tensor_set(*w, wv, 15) ||
        !(loss = tg_sum(g, tg_tanh(g, tg_matmul(g, *x, *w, 0, 1)))) ||
        tg_backward(g, loss) != TG_OK) {
        tg_graph_free(g);
        return NULL;
    }
    return g;
}

/* An exporter's status: TG_OK, or TG_ERR_UNAVAILABLE when the build has no such library. */
static int export_ok(tg_status s, int available)
{
    return s == (available ? TG_OK : TG_ERR_UNAVAILABLE);
}

#ifdef HAVE_GRAPHVIZ
#define GRAPHVIZ 1
#else
#define GRAPHVIZ 0
#endif
#ifdef HAVE_PLPLOT
#define PLPLOT 1
#else
#define PLPLOT 0
#endif

static void *worker_run(void *arg)
{
    static const long steps[4] = { 0, 1, 2, 3 };
    static const float ys[4] = { 2.0f, 1.0f, 0.5f, 0.25f };
    worker *wk = arg;
    char mine[1024], path[4096], xq[8], wq[8];
    int r;
    snprintf(xq, sizeof xq, "'x%d'", wk->k);
    snprintf(wq, sizeof wq, "'w%d'", wk->k);
    for (r = 0; r < ROUNDS; ++r) {
        tg_tensor *x = NULL, *w = NULL;
        tg_graph *g = small_graph(wk->k, &x, &w);
        tg_series s = { "loss", steps, ys, 4, 1 };
        char *dot = NULL;
        int ok = g != NULL;
        /* x [4,3] times w [5,3] without the transpose: inner dims 3 != 5 */
        ok &= g && !tg_matmul(g, x, w, 0, 0) && tg_last_status() == TG_ERR_SHAPE;
        snprintf(mine, sizeof mine, "%s", tg_last_error());
        ok &= strstr(mine, xq) && strstr(mine, wq);
        pthread_barrier_wait(wk->barrier); /* the other thread has failed its matmul too */
        if (strcmp(tg_last_error(), mine) != 0 || tg_last_status() != TG_ERR_SHAPE) {
            fprintf(stderr, "threads: worker %d: last error now '%s', was '%s'\n", wk->k,
                    tg_last_error(), mine);
            ok = 0;
        }
        ok &= export_ok(tg_dot_text(g, NULL, &dot, NULL), GRAPHVIZ) &&
              (!dot || !strcmp(dot, wk->dot));
        tg_dot_text_free(dot);
        snprintf(path, sizeof path, "%s/graph%d.svg", wk->dir, wk->k);
        ok &= export_ok(tg_dot_render(g, path, NULL, NULL), GRAPHVIZ);
        snprintf(path, sizeof path, "%s/plot%d.png", wk->dir, wk->k);
        ok &= export_ok(tg_plot_lines(path, &s, 1, NULL), PLPLOT);
        if (!ok)
            fprintf(stderr, "threads: worker %d round %d failed: %s\n", wk->k, r,
                    tg_last_error());
        wk->failures += !ok;
        tg_graph_free(g);
    }
    return NULL;
}

static int exporters(const char *dir)
{
    pthread_barrier_t barrier;
    pthread_t th[2];
    worker wk[2];
    int k;
    if (pthread_barrier_init(&barrier, NULL, 2) != 0)
        return -1;
    /* Rendered once first: Graphviz's first context gives every later graph a default node
     * label, which the DOT text then shows (label="\N"). */
    for (k = 0; k < 2; ++k) {
        char path[4096];
        tg_tensor *x, *w;
        tg_graph *g = small_graph(k, &x, &w);
        wk[k] = (worker){ k, dir, &barrier, NULL, 0 };
        snprintf(path, sizeof path, "%s/graph%d.svg", dir, k);
        if (!g || !export_ok(tg_dot_render(g, path, NULL, NULL), GRAPHVIZ) ||
            !export_ok(tg_dot_text(g, NULL, &wk[k].dot, NULL), GRAPHVIZ))
            return -1;
        tg_graph_free(g);
    }
    for (k = 0; k < 2; ++k)
        if (pthread_create(&th[k], NULL, worker_run, &wk[k]) != 0)
            return -1;
    for (k = 0; k < 2; ++k)
        pthread_join(th[k], NULL);
    for (k = 0; k < 2; ++k) {
        failures += wk[k].failures;
        tg_dot_text_free(wk[k].dot);
    }
    printf("threads: %d rounds x 2 threads of graph, own last error%s%s: %s\n", ROUNDS,
           GRAPHVIZ ? ", DOT text and render" : "", PLPLOT ? ", plot" : "",
           wk[0].failures + wk[1].failures ? "FAILED" : "ok");
    pthread_barrier_destroy(&barrier);
    return 0;
}

int main(int argc, char **argv)
{
    tg_dataset ds;
    int rc = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: threads DIR\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines in order with a TSan report on stderr */
    if (tg_set_threads(1) != TG_OK || synthetic(&ds) != 0) {
        fprintf(stderr, "threads: setup failed\n");
        return 2;
    }
    if (train_twice(&ds, argv[1]) != 0 || exporters(argv[1]) != 0) {
        fprintf(stderr, "threads: setup failed: %s\n", tg_last_error());
        rc = 2;
    }
    free(ds.x);
    free(ds.labels);
    free(ds.labels_f);
    if (rc)
        return rc;
    printf("threads: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
