/*
 * tapegrad.c -- the tapegrad command: train, eval and graph from a JSON spec (spec_json.c).
 *
 * The command parses arguments, reads specs and writes the run directory; every computation
 * is a library call (tg_mnist_load, tg_net_new, tg_train_pipeline, tg_net_accuracy_dataset,
 * tg_params_save, tg_monitor_set_add, tg_diagnose, tg_dot_render, ...), so a C program can do
 * all that it does.
 * Exit status: 0 success; 2 bad usage or bad input (spec, data, parameter file); 1 failure
 * while running (a non-finite loss, an output that cannot be written); 128 + the signal (130,
 * 143) when SIGINT or SIGTERM stopped training and the outputs of the steps done were written.
 * Errors are one line on stderr, "tapegrad: " then the file and what is wrong.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "cli.h"

enum { EXIT_RUN = 1, EXIT_INPUT = 2 };
#define EVAL_BATCH 500   /* rows per forward when predicting or evaluating the loss */
#define PATH_LEN 4096
#define MAX_MONITORS 64  /* --monitor options per run */

static int quiet;        /* --quiet: no notes, no progress, no result line */

static int fail(int code, const char *fmt, ...) TG_PRINTF(2, 3);
static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("tapegrad: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

static void note(const char *fmt, ...) TG_PRINTF(1, 2);
static void note(const char *fmt, ...)
{
    va_list ap;
    if (quiet)
        return;
    fputs("tapegrad: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- options ------------------------------------------------------------------------------ */
enum { CMD_TRAIN = 1, CMD_EVAL = 2, CMD_GRAPH = 4 };

typedef struct cli_opts {
    const char *spec;                   /* the positional SPEC */
    const char *data, *out, *params, *output, *save_init, *init_params;
    long epochs, steps, batch, threads; /* 0 = not given */
    double lr;                          /* 0 = not given */
    long long seed;                     /* -1 = not given */
    int no_shuffle, flush_subnormals;
    const char *monitor_text[MAX_MONITORS]; /* --monitor KIND:PERIOD[:LAYER], as given */
    tg_monitor_spec monitor[MAX_MONITORS];  /* ... and parsed */
    int n_monitor;
} cli_opts;

enum { O_DATA = 256, O_OUT, O_EPOCHS, O_STEPS, O_BATCH, O_LR, O_SEED, O_NO_SHUFFLE, O_THREADS,
       O_SAVE_INIT, O_INIT_PARAMS, O_QUIET, O_PARAMS, O_MONITOR, O_FLUSH, O_OUTPUT = 'o',
       O_HELP = 'h' };

static const struct {
    struct option opt;
    unsigned cmds;    /* CMD_* that take it */
} options[] = {
    { { "data", required_argument, NULL, O_DATA }, CMD_TRAIN | CMD_EVAL },
    { { "out", required_argument, NULL, O_OUT }, CMD_TRAIN },
    { { "epochs", required_argument, NULL, O_EPOCHS }, CMD_TRAIN },
    { { "steps", required_argument, NULL, O_STEPS }, CMD_TRAIN },
    { { "batch", required_argument, NULL, O_BATCH }, CMD_TRAIN | CMD_GRAPH },
    { { "lr", required_argument, NULL, O_LR }, CMD_TRAIN },
    { { "seed", required_argument, NULL, O_SEED }, CMD_TRAIN | CMD_GRAPH },
    { { "no-shuffle", no_argument, NULL, O_NO_SHUFFLE }, CMD_TRAIN },
    { { "threads", required_argument, NULL, O_THREADS }, CMD_TRAIN | CMD_EVAL },
    { { "flush-subnormals", no_argument, NULL, O_FLUSH }, CMD_TRAIN },
    { { "save-init", required_argument, NULL, O_SAVE_INIT }, CMD_TRAIN },
    { { "init-params", required_argument, NULL, O_INIT_PARAMS }, CMD_TRAIN },
    { { "monitor", required_argument, NULL, O_MONITOR }, CMD_TRAIN },
    { { "params", required_argument, NULL, O_PARAMS }, CMD_EVAL },
    { { "output", required_argument, NULL, O_OUTPUT }, CMD_GRAPH },
    { { "quiet", no_argument, NULL, O_QUIET }, CMD_TRAIN | CMD_EVAL | CMD_GRAPH },
    { { "help", no_argument, NULL, O_HELP }, CMD_TRAIN | CMD_EVAL | CMD_GRAPH },
};
#define N_OPTIONS (sizeof options / sizeof options[0])

typedef struct command {
    const char *name;
    unsigned id;
    int (*run)(const cli_opts *o);
    const char *help;
} command;

static const char main_help[] =
    "Usage: tapegrad COMMAND SPEC [OPTIONS]\n"
    "Train and inspect feed-forward nets described by a JSON spec.\n"
    "\n"
    "Commands:\n"
    "  train SPEC   train on an MNIST-layout data set; write summary.json, params.tgp,\n"
    "               graph.dot and graph.svg (and monitors/, plots/) into a run directory\n"
    "  eval SPEC    print the test loss and accuracy of saved parameters\n"
    "  graph SPEC   write the net's training graph as .dot, .svg or .png\n"
    "  help [CMD]   this text, or a command's options\n"
    "\n"
    "Options: --help, --version. 'tapegrad help CMD' lists a command's options.\n"
    "Exit status: 0 success, 1 failure while running, 2 bad usage or bad input,\n"
    "130 or 143 training stopped by SIGINT or SIGTERM (outputs written).\n"
    "The spec format is described in tapegrad(1); examples are in examples/specs.\n";

static const char train_help[] =
    "Usage: tapegrad train SPEC [OPTIONS]\n"
    "Train the spec's net and write RUNDIR/{summary.json,params.tgp,graph.dot,graph.svg}.\n"
    "With monitors (--monitor or the spec's \"monitors\"), also RUNDIR/monitors/NAME.csv,\n"
    "RUNDIR/plots/NAME.png, a diagnosis in summary.json, and graph.svg coloured by the\n"
    "layers' gradient norms.\n"
    "\n"
    "  --data DIR          MNIST-layout directory (default: data/mnist, else Debian's\n"
    "                      Fashion-MNIST in /usr/share/datasets/fashion-mnist)\n"
    "  --out RUNDIR        run directory, created if missing (default: runs/NAME)\n"
    "  --epochs N          passes over the training set (spec: data.repeat)\n"
    "  --steps N           stop after N steps\n"
    "  --batch N           rows per step (spec: data.batch)\n"
    "  --lr X              learning rate (spec: optimizer.learning_rate)\n"
    "  --seed N            seed of the parameters and the shuffling (spec: seed)\n"
    "  --no-shuffle        take the records in file order\n"
    "  --threads N         OpenBLAS threads\n"
    "  --flush-subnormals  treat subnormal floats as 0 while training (CPU flush-to-zero;\n"
    "                      subnormal inputs otherwise make OpenBLAS ~100x slower)\n"
    "  --save-init FILE    save the parameters before the first step\n"
    "  --init-params FILE  start from saved parameters instead of the spec's initialisers\n"
    "  --monitor KIND:PERIOD[:LAYER]\n"
    "                      watch KIND every PERIOD steps on layer LAYER (0 = first, -1 =\n"
    "                      output layer; none: every layer); KIND is loss, grad, gradnorm,\n"
    "                      weight or activation; repeatable. Every layer's gradient norm,\n"
    "                      weights and activations are then watched too, at the smallest\n"
    "                      period given, for the diagnosis\n"
    "  --quiet             no notes, progress or result line\n"
    "\n"
    "SIGINT (Ctrl-C) or SIGTERM stops training after the current step; the outputs of the\n"
    "steps done are then written as at the end, and the exit status is 130 or 143. A second\n"
    "signal ends the command at once.\n";

static const char eval_help[] =
    "Usage: tapegrad eval SPEC --params FILE [OPTIONS]\n"
    "Print the test loss (per record) and the test accuracy of saved parameters.\n"
    "\n"
    "  --params FILE       parameters saved by 'tapegrad train' (RUNDIR/params.tgp)\n"
    "  --data DIR          MNIST-layout directory (default as for train)\n"
    "  --threads N         OpenBLAS threads\n"
    "  --quiet             no notes\n";

static const char graph_help[] =
    "Usage: tapegrad graph SPEC -o FILE [OPTIONS]\n"
    "Write the net's training graph; the format follows FILE's extension: .dot, .svg, .png.\n"
    "\n"
    "  -o, --output FILE   the file to write\n"
    "  --batch N           batch size shown in the shapes (spec: data.batch)\n"
    "  --seed N            parameter seed (the picture does not depend on it)\n"
    "  --quiet             no notes\n";

static int parse_long(const char *opt, const char *s, long lo, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > INT_MAX)
        return fail(EXIT_INPUT, "--%s: '%s' is not an integer in %ld..%d", opt, s, lo, INT_MAX);
    *out = v;
    return 0;
}

/* Fill *o from argv (argv[0] is the command's name). Returns 0, EXIT_INPUT, or -1 after
 * printing the help (exit 0). */
static int parse_args(const command *c, int argc, char **argv, cli_opts *o)
{
    struct option longs[N_OPTIONS + 1];
    size_t i, n = 0;
    int ch;
    char *end;
    memset(longs, 0, sizeof longs);
    for (i = 0; i < N_OPTIONS; ++i)
        if (options[i].cmds & c->id)
            longs[n++] = options[i].opt;
    memset(o, 0, sizeof *o);
    o->seed = -1;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, c->id == CMD_GRAPH ? ":ho:" : ":h", longs, NULL)) !=
           -1) {
        const char *name = NULL;
        for (i = 0; i < N_OPTIONS; ++i)
            if (options[i].opt.val == ch)
                name = options[i].opt.name;
        switch (ch) {
        case O_HELP: fputs(c->help, stdout); return -1;
        case O_DATA: o->data = optarg; break;
        case O_OUT: o->out = optarg; break;
        case O_PARAMS: o->params = optarg; break;
        case O_OUTPUT: o->output = optarg; break;
        case O_SAVE_INIT: o->save_init = optarg; break;
        case O_INIT_PARAMS: o->init_params = optarg; break;
        case O_NO_SHUFFLE: o->no_shuffle = 1; break;
        case O_QUIET: quiet = 1; break;
        case O_FLUSH: o->flush_subnormals = 1; break;
        case O_MONITOR:
            if (o->n_monitor == MAX_MONITORS)
                return fail(EXIT_INPUT, "--monitor: at most %d monitors", MAX_MONITORS);
            if (tg_monitor_spec_parse(optarg, &o->monitor[o->n_monitor]) != TG_OK)
                return fail(EXIT_INPUT, "--monitor: %s", tg_last_error());
            o->monitor_text[o->n_monitor++] = optarg;
            break;
        case O_EPOCHS: if (parse_long(name, optarg, 1, &o->epochs)) return EXIT_INPUT; break;
        case O_STEPS: if (parse_long(name, optarg, 1, &o->steps)) return EXIT_INPUT; break;
        case O_BATCH: if (parse_long(name, optarg, 1, &o->batch)) return EXIT_INPUT; break;
        case O_THREADS: if (parse_long(name, optarg, 1, &o->threads)) return EXIT_INPUT; break;
        case O_LR:
            errno = 0;
            o->lr = strtod(optarg, &end);
            if (errno || end == optarg || *end || !isfinite(o->lr) || o->lr <= 0.0)
                return fail(EXIT_INPUT, "--lr: '%s' is not a number > 0", optarg);
            break;
        case O_SEED:
            errno = 0;
            o->seed = strtoll(optarg, &end, 10);
            if (errno || end == optarg || *end || o->seed < 0)
                return fail(EXIT_INPUT, "--seed: '%s' is not an integer >= 0", optarg);
            break;
        case ':':
            return fail(EXIT_INPUT, "%s: option '%s' needs an argument", c->name,
                        argv[optind - 1]);
        default:
            return fail(EXIT_INPUT, "%s: unknown option '%s' (see 'tapegrad help %s')",
                        c->name, argv[optind - 1], c->name);
        }
    }
    if (optind >= argc)
        return fail(EXIT_INPUT, "%s: no SPEC given (see 'tapegrad help %s')", c->name,
                    c->name);
    if (optind + 1 < argc)
        return fail(EXIT_INPUT, "%s: one SPEC expected, got '%s' and '%s'", c->name,
                    argv[optind], argv[optind + 1]);
    o->spec = argv[optind];
    return 0;
}

/* ---- loading ---------------------------------------------------------------------------- */
/* Everything a command builds; released by run_release in reverse order. */
typedef struct run {
    cli_spec spec;
    char data_dir[PATH_LEN], data_desc[PATH_LEN + 64];
    tg_dataset train, test;
    tg_net *net;
    tg_net_graph *ng;          /* training graph: the spec's batch, with the loss */
    tg_net_graph *eval;        /* predict graph: EVAL_BATCH rows, no loss */
    tg_tensor **params;        /* (n_params) w1 b1 w2 b2 ... of ng, for save and load */
    int n_params;
} run;

static void run_release(run *r)
{
    free(r->params);
    tg_net_graph_free(r->eval);
    tg_net_graph_free(r->ng);
    tg_net_free(r->net);
    tg_dataset_release(&r->test);
    tg_dataset_release(&r->train);
    cli_spec_release(&r->spec);
}

/* OpenBLAS's thread count, through the library. */
static int set_threads(long n)
{
    if (n > 1024 || tg_set_threads((int)n) != TG_OK)
        return fail(EXIT_INPUT, "--threads %ld: %s", n, n > 1024 ? "too many" : tg_last_error());
    return 0;
}

/* The spec with the command line's overrides. */
static int load_spec(const cli_opts *o, run *r)
{
    char err[2048];
    if (cli_spec_load(o->spec, &r->spec, err, sizeof err) < 0)
        return fail(EXIT_INPUT, "%s", err);
    if (o->epochs)
        r->spec.epochs = o->epochs;
    if (o->batch)
        r->spec.batch = o->batch;
    if (o->lr > 0.0)
        r->spec.optim.lr = o->lr;
    if (o->seed >= 0)
        r->spec.seed = (uint64_t)o->seed;
    if (o->no_shuffle)
        r->spec.shuffle = 0;
    return o->threads ? set_threads(o->threads) : 0;
}

/* The data set: the test set always, the training set when training or centring; centred
 * with the training mean when the spec says so. */
static int load_data(const cli_opts *o, run *r, int need_train)
{
    const cli_spec *s = &r->spec;
    if (tg_data_find(o->data, r->data_dir, sizeof r->data_dir, r->data_desc,
                     sizeof r->data_desc) != TG_OK)
        return fail(EXIT_INPUT, "%s", tg_last_error());
    if (((need_train || s->center) && tg_mnist_load(r->data_dir, "train", &r->train) != TG_OK)
        || tg_mnist_load(r->data_dir, "t10k", &r->test) != TG_OK)
        return fail(EXIT_INPUT, "%s", tg_last_error());
    if (r->train.n)
        note("data: %s%s: %zu training and %zu test records of %dx%d", r->data_desc,
             o->data ? "" : " (no --data given)", r->train.n, r->test.n, r->test.rows,
             r->test.cols);
    else
        note("data: %s%s: %zu test records of %dx%d", r->data_desc,
             o->data ? "" : " (no --data given)", r->test.n, r->test.rows, r->test.cols);
    if (r->test.n_features != s->n_inputs)
        return fail(EXIT_INPUT, "%s: layers[0]: input width %d, but the records of %s have %d "
                    "values (%dx%d)", o->spec, s->n_inputs, r->data_dir, r->test.n_features,
                    r->test.rows, r->test.cols);
    if (r->test.n_classes > s->layers[s->n_layers - 1].n_nodes)
        return fail(EXIT_INPUT, "%s: layers[%d]: the output layer has %d units for %d classes",
                    o->spec, s->n_layers, s->layers[s->n_layers - 1].n_nodes,
                    r->test.n_classes);
    if (s->center) {
        double m = tg_dataset_mean(&r->train);
        if (tg_dataset_shift(&r->train, m) != TG_OK || tg_dataset_shift(&r->test, m) != TG_OK)
            return fail(EXIT_RUN, "%s", tg_last_error());
        note("data: centred (subtracted the training mean %.6f)", m);
    }
    return 0;
}

/* The net, its training graph and the list of its parameter tensors; the predict graph when
 * asked. Parameters come from the spec's initialisers, or from params_file when given. */
static int build_net(const cli_opts *o, run *r, int with_eval, const char *params_file)
{
    const cli_spec *s = &r->spec;
    int l;
    if (!(r->net = tg_net_new(s->n_inputs, s->layers, s->n_layers, s->seed)) ||
        !(r->ng = tg_net_graph_new(r->net, (int)s->batch, s->loss)) ||
        (with_eval && !(r->eval = tg_net_graph_new(r->net, EVAL_BATCH, NULL))))
        return fail(tg_last_status() == TG_ERR_NOMEM ? EXIT_RUN : EXIT_INPUT, "%s: %s",
                    o->spec, tg_last_error());
    r->n_params = 2 * s->n_layers;
    if (!(r->params = calloc((size_t)r->n_params, sizeof *r->params)))
        return fail(EXIT_RUN, "out of memory");
    for (l = 0; l < s->n_layers; ++l) {
        r->params[2 * l] = tg_net_graph_layer(r->ng, l, TG_LAYER_WEIGHT);
        r->params[2 * l + 1] = tg_net_graph_layer(r->ng, l, TG_LAYER_BIAS);
    }
    if (params_file && tg_params_load(params_file, r->params, r->n_params) != TG_OK)
        return fail(EXIT_INPUT, "%s", tg_last_error());
    return 0;
}

/* Mean loss per record of the spec's loss over ds. The graph takes full batches, so the
 * batch is the largest divisor of n up to EVAL_BATCH. A loss summed over the batch ("_sum")
 * is divided by n; a mean over the batch (and classes) is averaged over the batches.
 * (A library call for this, tg_net_loss_dataset, would replace it.) */
static tg_status dataset_loss(tg_net *net, const tg_loss *loss, const tg_dataset *ds,
                              double *out)
{
    tg_pipeline_opts po;
    tg_pipeline p;
    tg_batch b;
    tg_net_graph *g;
    size_t B = ds->n < EVAL_BATCH ? ds->n : EVAL_BATCH, nb = 0;
    size_t len = strlen(loss->name);
    double sum = 0.0;
    tg_status s;
    while (ds->n % B)
        B--;
    memset(&po, 0, sizeof po);
    po.batch = B;
    po.epochs = 1;
    if (!(g = tg_net_graph_new(net, (int)B, loss)))
        return tg_last_status();
    if ((s = tg_pipeline_init(&p, ds, &po)) == TG_OK) {
        while ((s = tg_pipeline_next(&p, &b)) == TG_OK && b.n) {
            if ((s = tg_net_graph_bind(g, b.x, loss->target == TG_TARGET_LABELS ? b.labels
                                       : b.onehot)) != TG_OK ||
                (s = tg_graph_forward(tg_net_graph_tape(g))) != TG_OK)
                break;
            sum += tg_net_graph_loss(g)->data[0];
            nb++;
        }
        tg_pipeline_release(&p);
    }
    tg_net_graph_free(g);
    if (s == TG_OK)
        *out = len > 4 && !strcmp(loss->name + len - 4, "_sum") ? sum / (double)ds->n
               : sum / (double)nb;
    return s;
}

/* ---- progress and signals --------------------------------------------------------------- */
/* The first SIGINT or SIGTERM while training, 0 if none. The handler only sets it (so it is
 * async-signal-safe); the progress callback reads it after every step. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    if (!stop_signal)
        stop_signal = sig;
}

/* on: SIGINT and SIGTERM set stop_signal, once each (SA_RESETHAND restores the default action
 * on delivery, so a second Ctrl-C ends the command at once); off: the default action again. A
 * signal the command was started with ignored (a background job) stays ignored. */
static void catch_stop_signals(int on)
{
    static const int sigs[] = { SIGINT, SIGTERM };
    struct sigaction sa, old;
    size_t i;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on ? on_stop_signal : SIG_DFL;
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    for (i = 0; i < sizeof sigs / sizeof sigs[0]; ++i)
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(sigs[i], &sa, NULL);
}

typedef struct progress {
    int draw;         /* redraw a progress line (stderr is a terminal, no --quiet) */
    int stopped;      /* the signal that stopped training, 0 if none */
    long total;       /* steps planned */
    long epochs;
    long done;        /* steps taken */
    double last;      /* clock at the last redraw */
} progress;

static void fmt_duration(char *buf, size_t n, double s)
{
    long t = s > 0 && s < 1e8 ? (long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

/* A bar, epoch, step, loss, speed and ETA on one line, redrawn at most every 0.1 s. */
static void progress_draw(const tg_train_progress *tp, progress *pr)
{
    enum { WIDTH = 24 };
    char bar[WIDTH + 1], eta[32];
    double t = now_s();
    int i, fill;
    if (t - pr->last < 0.1 && pr->done < pr->total)
        return;
    pr->last = t;
    fill = pr->total ? (int)(WIDTH * pr->done / pr->total) : 0;
    for (i = 0; i < WIDTH; ++i)
        bar[i] = i < fill ? '#' : '-';
    bar[WIDTH] = '\0';
    fmt_duration(eta, sizeof eta, tp->steps_per_s > 0
                 ? (double)(pr->total - pr->done) / tp->steps_per_s : 0.0);
    fprintf(stderr, "\r[%s] %3d%%  epoch %ld/%ld  step %ld/%ld  loss %.4g  %.0f steps/s  "
            "ETA %s\033[K", bar, pr->total ? (int)(100 * pr->done / pr->total) : 0,
            tp->epoch + 1, pr->epochs, pr->done, pr->total, tp->loss, tp->steps_per_s, eta);
}

/* The trainer's callback, after every step: stop if a signal came (between two steps, so the
 * parameters are those of the steps done), else the progress line. */
static tg_status train_progress(const tg_train_progress *tp, void *user)
{
    progress *pr = user;
    pr->done++;
    if (stop_signal) {
        pr->stopped = stop_signal;
        return TG_ERR_STATE;  /* any status stops tg_train; cmd_train reads pr->stopped */
    }
    if (pr->draw)
        progress_draw(tp, pr);
    return TG_OK;
}

/* ---- outputs ---------------------------------------------------------------------------- */
/* mkdir -p */
static int make_dirs(const char *path)
{
    char buf[PATH_LEN];
    char *p;
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return fail(EXIT_INPUT, "%s: path too long", path);
    for (p = buf + 1;; ++p) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return fail(EXIT_RUN, "cannot create directory '%s': %s", buf,
                            strerror(errno));
            if (!c)
                break;
            *p = c;
        }
    }
    return 0;
}

/* json to path atomically: path.tmp, flushed and fsynced, renamed over path. */
static int write_json(const json_t *j, const char *path)
{
    char tmp[PATH_LEN + 64];
    FILE *f;
    int bad;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(f = fopen(tmp, "w")))
        return fail(EXIT_RUN, "cannot write '%s': %s", tmp, strerror(errno));
    bad = json_dumpf(j, f, JSON_INDENT(2)) != 0 || fputc('\n', f) == EOF || fflush(f) != 0 ||
          fsync(fileno(f)) != 0;
    bad = fclose(f) != 0 || bad;
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return fail(EXIT_RUN, "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}

/* graph.dot and a picture of ng's tape, its tensors annotated and coloured by metric (n values
 * by tensor index, from the monitors) when it is not NULL; a build without Graphviz gets a
 * note, not an error. */
static int write_graph(const run *r, const char *path, const char *ext, const double *metric,
                       int n)
{
    tg_dot_opts d;
    tg_graph *g = tg_net_graph_tape(r->ng);
    char title[512];
    tg_status s;
    memset(&d, 0, sizeof d);
    d.title = r->spec.name;
    if (metric) {
        snprintf(title, sizeof title, "%s: mean gradient norms over the monitored steps",
                 r->spec.name);
        d.title = title;
        d.tensor_metric = metric;
        d.n_metric = n;
        d.metric_label = "|grad|";
    }
    s = !strcmp(ext, "dot") ? tg_dot_write(g, path, &d) : tg_dot_render(g, path, ext, &d);
    if (s == TG_ERR_UNAVAILABLE) {
        note("%s not written: %s", path, tg_last_error());
        return 0;
    }
    return s == TG_OK ? 0 : fail(EXIT_RUN, "%s", tg_last_error());
}

static const char *extension(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

/* ---- monitors ---------------------------------------------------------------------------- */
/* The spec's "monitors" and the --monitor options on r->ng, then what the diagnosis needs on
 * every layer not watched already (gradient norms, weights, activations) at the smallest
 * period asked for. steps: the planned steps, so that sampling allocates nothing. *out gets
 * the set (NULL when no monitor was asked for); free it before the graph, also on error. */
static int monitors_attach(const cli_opts *o, run *r, long steps, tg_monitor_set **out)
{
    static const struct {
        tg_watch_kind kind;
        tg_monitor_role role;  /* one role every layer gets with the kind */
    } diag[] = { { TG_WATCH_GRADNORM, TG_ROLE_PRE_GRAD_NORM },
                 { TG_WATCH_WEIGHT, TG_ROLE_WEIGHT_UNIT },
                 { TG_WATCH_ACTIVATION, TG_ROLE_ACT_MEAN } };
    const cli_spec *s = &r->spec;
    tg_monitor_set_opts mo;
    tg_monitor_set *ms;
    long period = LONG_MAX;
    size_t k;
    int i, l;
    *out = NULL;
    if (!s->n_monitors && !o->n_monitor)
        return 0;
    memset(&mo, 0, sizeof mo);
    mo.steps = steps;
    if (!(*out = ms = tg_monitor_set_new(r->ng, &mo)))
        return fail(EXIT_RUN, "monitors: %s", tg_last_error());
    for (i = 0; i < s->n_monitors; ++i) {
        const cli_monitor *m = &s->monitors[i];
        if (tg_monitor_set_add(ms, m->kind, m->period, m->layer ? m->layer - 1
                               : TG_ALL_LAYERS) != TG_OK)
            return fail(EXIT_INPUT, "%s: monitors[%d] (%s): %s", o->spec, i, m->type,
                        tg_last_error());
        period = m->period < period ? m->period : period;
    }
    for (i = 0; i < o->n_monitor; ++i) {
        if (tg_monitor_set_add_spec(ms, &o->monitor[i]) != TG_OK)
            return fail(EXIT_INPUT, "--monitor %s: %s", o->monitor_text[i], tg_last_error());
        period = o->monitor[i].period < period ? o->monitor[i].period : period;
    }
    for (k = 0; k < sizeof diag / sizeof diag[0]; ++k)
        for (l = 0; l < s->n_layers; ++l)
            if (!tg_monitor_set_lookup(ms, diag[k].role, l) &&
                tg_monitor_set_add(ms, diag[k].kind, period, l) != TG_OK)
                return fail(EXIT_RUN, "monitors: %s", tg_last_error());
    note("monitors: %d (the diagnosis watches every layer every %ld steps)",
         tg_monitor_set_count(ms), period);
    return 0;
}

/* The monitors' names as a JSON array (empty without monitors). */
static json_t *monitor_names(const tg_monitor_set *ms)
{
    json_t *a = json_array();
    int i, n = ms ? tg_monitor_set_count(ms) : 0;
    for (i = 0; i < n; ++i)
        json_array_append_new(a, json_string(tg_monitor_name(tg_monitor_set_get(ms, i))));
    return a;
}

/* RUNDIR/monitors/NAME.csv and RUNDIR/plots/NAME.png; plots that cannot be drawn (no PLplot,
 * nothing finite to draw) are a note, not an error. */
static int monitors_write(const tg_monitor_set *ms, const char *out)
{
    char path[PATH_LEN + 32];
    tg_status s;
    snprintf(path, sizeof path, "%s/monitors", out);
    if (tg_monitor_set_write_csv(ms, path) != TG_OK)
        return fail(EXIT_RUN, "%s", tg_last_error());
    snprintf(path, sizeof path, "%s/plots", out);
    s = tg_monitor_set_plot(ms, path, "png");
    if (s == TG_ERR_UNAVAILABLE || s == TG_ERR_NONFINITE)
        note("plots: %s", tg_last_error());
    else if (s != TG_OK)
        return fail(EXIT_RUN, "%s", tg_last_error());
    return 0;
}

/* The diagnosis of the monitored run as a JSON object in *out (new reference). */
static int monitors_diagnose(const run *r, const tg_monitor_set *ms, json_t **out)
{
    tg_diagnose_opts dopt;
    tg_diagnosis d;
    json_t *j = NULL;
    size_t len;
    char *text;
    memset(&dopt, 0, sizeof dopt);
    /* the update-to-weight ratio lr ||dW|| / ||W|| is that of plain SGD */
    dopt.lr = r->spec.optim.kind == TG_OPTIM_SGD ? r->spec.optim.lr : 0.0;
    if (tg_diagnose(ms, &dopt, &d) != TG_OK)
        return fail(EXIT_RUN, "diagnosis: %s", tg_last_error());
    len = tg_diagnosis_json(&d, NULL, 0);
    if ((text = malloc(len + 3))) {
        /* the library writes a member, "diagnosis": {...}: wrap it into an object */
        text[0] = '{';
        tg_diagnosis_json(&d, text + 1, len + 1);
        memcpy(text + 1 + len, "}", 2);
        j = json_loads(text, 0, NULL);
        free(text);
    }
    tg_diagnosis_release(&d);
    *out = json_incref(json_object_get(j, "diagnosis"));  /* NULL-safe */
    json_decref(j);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return fail(EXIT_RUN, "diagnosis: out of memory or unreadable JSON");
    }
    note("diagnosis: %s: %s", json_string_value(json_object_get(*out, "verdict")),
         json_string_value(json_object_get(*out, "message")));
    return 0;
}

/* Where a signal stopped training, {"signal": "SIGINT", "step": N, "epoch": E} (N steps done,
 * E 1-based as in the progress line), or null when training ran to its end (sig 0). */
static json_t *interruption(int sig, const tg_train_result *res)
{
    json_t *j;
    if (!sig)
        return json_null();
    j = json_object();
    json_object_set_new(j, "signal", json_string(sig == SIGINT ? "SIGINT" : "SIGTERM"));
    json_object_set_new(j, "step", json_integer(res->steps));
    json_object_set_new(j, "epoch", json_integer(res->epoch + 1));
    return j;
}

static json_t *summary_new(const cli_opts *o, const run *r, const tg_train_result *res,
                           int sig, double train_acc, double test_acc, double test_loss,
                           double wall, const tg_monitor_set *ms, json_t *diagnosis)
{
    const cli_spec *s = &r->spec;
    json_t *j = json_object();
    double sps = res->seconds > 0 ? (double)res->steps / res->seconds : 0.0;
    json_object_set_new(j, "spec", json_string(s->name));
    json_object_set_new(j, "spec_file", json_string(o->spec));
    json_object_set_new(j, "dataset", json_string(r->data_desc));
    json_object_set_new(j, "data_dir", json_string(r->data_dir));
    json_object_set_new(j, "train_records", json_integer((json_int_t)r->train.n));
    json_object_set_new(j, "test_records", json_integer((json_int_t)r->test.n));
    json_object_set_new(j, "centred", json_boolean(s->center));
    json_object_set_new(j, "seed", json_integer((json_int_t)s->seed));
    json_object_set_new(j, "batch", json_integer(s->batch));
    json_object_set_new(j, "optimizer", json_string(tg_optim_name(s->optim.kind)));
    json_object_set_new(j, "learning_rate", json_real(s->optim.lr));
    json_object_set_new(j, "loss", json_string(s->loss->name));
    json_object_set_new(j, "init_params", o->init_params ? json_string(o->init_params)
                        : json_null());
    json_object_set_new(j, "epochs", json_integer(res->steps ? res->epoch + 1 : 0));
    json_object_set_new(j, "steps", json_integer(res->steps));
    json_object_set_new(j, "interrupted", interruption(sig, res));
    json_object_set_new(j, "final_loss", json_real(res->loss));
    json_object_set_new(j, "final_epoch_loss", json_real(res->epoch_loss));
    json_object_set_new(j, "train_accuracy", json_real(train_acc));
    json_object_set_new(j, "test_accuracy", json_real(test_acc));
    json_object_set_new(j, "test_loss", json_real(test_loss));
    json_object_set_new(j, "train_seconds", json_real(res->seconds));
    json_object_set_new(j, "wall_seconds", json_real(wall));
    json_object_set_new(j, "steps_per_second", json_real(sps));
    json_object_set_new(j, "tapegrad_version", json_string(tg_version()));
    json_object_set_new(j, "monitors", monitor_names(ms));
    json_object_set_new(j, "diagnosis", diagnosis ? diagnosis : json_null());
    return j;
}

/* ---- commands --------------------------------------------------------------------------- */
/* The run directory: --out, else runs/NAME. */
static void run_dir(const cli_opts *o, const run *r, char *out, size_t n)
{
    if (o->out)
        snprintf(out, n, "%s", o->out);
    else
        snprintf(out, n, "runs/%s", r->spec.name);
}

/* The run directory's files, each written atomically; sig: the signal that stopped training
 * (0 if none), which is said on stderr and in the exit status once all is written. */
static int train_outputs(const cli_opts *o, run *r, const tg_train_result *res, int sig,
                         double t0, const tg_monitor_set *ms)
{
    char out[PATH_LEN], path[PATH_LEN + 32];
    double train_acc, test_acc, test_loss, *metric = NULL;
    json_t *j, *diagnosis = NULL;
    int rc, n = tg_graph_n_tensors(tg_net_graph_tape(r->ng));
    if (tg_net_accuracy_dataset(r->eval, &r->train, &train_acc) != TG_OK ||
        tg_net_accuracy_dataset(r->eval, &r->test, &test_acc) != TG_OK ||
        dataset_loss(r->net, r->spec.loss, &r->test, &test_loss) != TG_OK)
        return fail(EXIT_RUN, "%s: evaluating the trained net: %s", o->spec, tg_last_error());
    run_dir(o, r, out, sizeof out);
    if ((rc = make_dirs(out)) != 0)
        return rc;
    snprintf(path, sizeof path, "%s/params.tgp", out);
    if (tg_params_save(path, r->params, r->n_params) != TG_OK)
        return fail(EXIT_RUN, "%s", tg_last_error());
    if (ms) {
        if ((rc = monitors_write(ms, out)) || (rc = monitors_diagnose(r, ms, &diagnosis)))
            return rc;
        if (!(metric = malloc((size_t)n * sizeof *metric + 1)) ||
            tg_monitor_set_metric(ms, TG_METRIC_MEAN, metric, n, NULL) != TG_OK) {
            free(metric);
            json_decref(diagnosis);
            return fail(EXIT_RUN, "graph metric: %s", metric ? tg_last_error()
                        : "out of memory");
        }
    }
    snprintf(path, sizeof path, "%s/graph.dot", out);
    if (!(rc = write_graph(r, path, "dot", metric, n))) {
        snprintf(path, sizeof path, "%s/graph.svg", out);
        rc = write_graph(r, path, "svg", metric, n);
    }
    free(metric);
    if (rc) {
        json_decref(diagnosis);
        return rc;
    }
    if (!(j = summary_new(o, r, res, sig, train_acc, test_acc, test_loss, now_s() - t0, ms,
                          diagnosis)))
        return fail(EXIT_RUN, "out of memory");
    snprintf(path, sizeof path, "%s/summary.json", out);
    rc = write_json(j, path);
    json_decref(j);
    if (!rc && !quiet)
        printf("%s: %ld epoch%s, %ld steps, %.0f steps/s; final loss %.6g; accuracy: train "
               "%.4f, test %.4f; test loss %.6g; wrote %s\n", r->spec.name,
               res->steps ? res->epoch + 1 : 0, res->epoch ? "s" : "", res->steps,
               res->seconds > 0 ? (double)res->steps / res->seconds : 0.0, res->loss,
               train_acc, test_acc, test_loss, out);
    if (!rc && sig)
        rc = fail(128 + sig, "interrupted at step %ld (epoch %ld); outputs written to %s",
                  res->steps, res->epoch + 1, out);
    return rc;
}

/* After a failed run: what the monitors saw up to the failure, into RUNDIR/monitors. */
static void monitors_salvage(const cli_opts *o, const run *r, const tg_monitor_set *ms)
{
    char out[PATH_LEN], path[PATH_LEN + 32];
    run_dir(o, r, out, sizeof out);
    snprintf(path, sizeof path, "%s/monitors", out);
    if (make_dirs(out) == 0 && tg_monitor_set_write_csv(ms, path) == TG_OK)
        note("the monitors' samples up to the failure are in %s", path);
}

static int cmd_train(const cli_opts *o)
{
    run r;
    tg_optim *opt = NULL;
    tg_monitor_set *ms = NULL;
    tg_pipeline pipe;
    tg_pipeline_opts po;
    tg_train_opts to = tg_train_defaults();
    tg_train_result res;
    progress pr;
    double t0 = now_s();
    tg_status s;
    int rc;
    memset(&r, 0, sizeof r);
    memset(&pipe, 0, sizeof pipe);
    if ((rc = load_spec(o, &r)) || (rc = load_data(o, &r, 1)) ||
        (rc = build_net(o, &r, 1, o->init_params)))
        goto done;
    if (!(opt = tg_optim_new_net(&r.spec.optim, r.net))) {
        rc = fail(EXIT_INPUT, "%s: optimizer: %s", o->spec, tg_last_error());
        goto done;
    }
    memset(&po, 0, sizeof po);
    po.batch = (size_t)r.spec.batch;
    po.epochs = (int)r.spec.epochs;
    po.shuffle = r.spec.shuffle;
    po.seed = r.spec.seed;
    po.drop_remainder = 1;
    if (tg_pipeline_init(&pipe, &r.train, &po) != TG_OK) {
        rc = fail(EXIT_INPUT, "%s: data: %s", o->spec, tg_last_error());
        goto done;
    }
    memset(&pr, 0, sizeof pr);
    pr.epochs = r.spec.epochs;
    pr.total = r.spec.epochs * (long)pipe.batches_per_epoch;
    if (o->steps && o->steps < pr.total)
        pr.total = o->steps;
    if ((rc = monitors_attach(o, &r, pr.total, &ms)))
        goto done;
    if (o->save_init && tg_params_save(o->save_init, r.params, r.n_params) != TG_OK) {
        rc = fail(EXIT_RUN, "%s", tg_last_error());
        goto done;
    }
    to.max_epochs = r.spec.epochs;
    to.max_steps = o->steps;
    to.flush_subnormals = o->flush_subnormals;
    to.progress = train_progress;
    to.progress_user = &pr;
    pr.draw = !quiet && isatty(STDERR_FILENO);
    catch_stop_signals(1);
    note("training %s: %d-layer net, %ld epoch%s of %zu steps (batch %ld), seed %llu",
         r.spec.name, r.spec.n_layers, r.spec.epochs, r.spec.epochs == 1 ? "" : "s",
         pipe.batches_per_epoch, r.spec.batch, (unsigned long long)r.spec.seed);
    s = tg_train_pipeline(r.ng, opt, &pipe, &to, &res);
    catch_stop_signals(0);
    if (pr.draw && pr.done)
        fputc('\n', stderr);
    /* nothing samples after training (evaluation runs other graphs, but to be sure) */
    if (ms && tg_monitor_set_detach(ms) != TG_OK) {
        rc = fail(EXIT_RUN, "monitors: %s", tg_last_error());
        goto done;
    }
    if (s != TG_OK && !pr.stopped) {
        rc = fail(EXIT_RUN, "%s: %s", o->spec, tg_last_error());
        if (ms)
            monitors_salvage(o, &r, ms);
    } else {
        rc = train_outputs(o, &r, &res, pr.stopped, t0, ms);
    }
done:
    tg_monitor_set_free(ms);  /* before the graph it watched */
    tg_pipeline_release(&pipe);
    tg_optim_free(opt);
    run_release(&r);
    return rc;
}

static int cmd_eval(const cli_opts *o)
{
    run r;
    double acc, loss;
    int rc;
    memset(&r, 0, sizeof r);
    if (!o->params)
        return fail(EXIT_INPUT, "eval: no --params FILE given");
    if (!(rc = load_spec(o, &r)) && !(rc = load_data(o, &r, 0)) &&
        !(rc = build_net(o, &r, 1, o->params))) {
        if (tg_net_accuracy_dataset(r.eval, &r.test, &acc) != TG_OK ||
            dataset_loss(r.net, r.spec.loss, &r.test, &loss) != TG_OK)
            rc = fail(EXIT_RUN, "%s: %s: %s", o->spec, o->params, tg_last_error());
        else
            printf("test_records %zu\ntest_loss %.10g\ntest_accuracy %.10g\n", r.test.n, loss,
                   acc);
    }
    run_release(&r);
    return rc;
}

static int cmd_graph(const cli_opts *o)
{
    run r;
    const char *ext;
    int rc;
    if (!o->output)
        return fail(EXIT_INPUT, "graph: no -o FILE given");
    ext = extension(o->output);
    if (strcmp(ext, "dot") && strcmp(ext, "svg") && strcmp(ext, "png"))
        return fail(EXIT_INPUT, "graph: '%s': unknown format '.%s' (use .dot, .svg or .png)",
                    o->output, ext);
    memset(&r, 0, sizeof r);
    if (!(rc = load_spec(o, &r)) && !(rc = build_net(o, &r, 0, NULL)))
        rc = write_graph(&r, o->output, ext, NULL, 0);
    run_release(&r);
    return rc;
}

static const command commands[] = {
    { "train", CMD_TRAIN, cmd_train, train_help },
    { "eval", CMD_EVAL, cmd_eval, eval_help },
    { "graph", CMD_GRAPH, cmd_graph, graph_help },
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const command *find_command(const char *name)
{
    size_t i;
    for (i = 0; i < N_COMMANDS; ++i)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    fail(EXIT_INPUT, "unknown command '%s' (commands: train, eval, graph, help)", name);
    return NULL;
}

static int dispatch(int argc, char **argv)
{
    const command *c;
    cli_opts o;
    int rc;
    if (argc < 2) {
        fputs(main_help, stderr);
        return EXIT_INPUT;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        (!strcmp(argv[1], "help") && argc == 2)) {
        fputs(main_help, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tapegrad %s\n", tg_version());
        return 0;
    }
    if (!strcmp(argv[1], "help")) {
        if (argc > 3)
            return fail(EXIT_INPUT, "help: one command expected");
        if (!(c = find_command(argv[2])))
            return EXIT_INPUT;
        fputs(c->help, stdout);
        return 0;
    }
    if (!(c = find_command(argv[1])))
        return EXIT_INPUT;
    rc = parse_args(c, argc - 1, argv + 1, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    return c->run(&o);
}

int main(int argc, char **argv)
{
    int rc = dispatch(argc, argv);
    if (fflush(stdout) != 0 || ferror(stdout))
        return fail(EXIT_RUN, "cannot write standard output: %s", strerror(errno));
    return rc;
}
