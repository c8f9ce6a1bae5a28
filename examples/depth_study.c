/*
 * depth_study.c -- the depth and initialisation study end to end, and its report.
 *
 * Usage: depth_study [--data DIR] [--out DIR] [--full | --epochs N | --quick]
 *
 * Trains the study's four nets with their original initialisation and with a proper one, all
 * with the public API only (tapegrad.h), and writes everything into one folder (default
 * out/depth-study) with a report, index.html, that shows it on one page:
 *   wide-2   784-2048-2048-10 tanh  U[-r,r], r = 0.0357, 0.022, 0.022   lr 0.01
 *   mid-4    784-256x4-10 tanh      r = 0.0357, then 0.0625             lr 0.001
 *   deep-16  784-64x16-10 tanh      r = 0.0357, then 0.125              lr 0.001
 *   relu-10  784-64x10-10 relu      r = 0.0357, then 0.125              lr 0.001
 * (the specs in examples/specs: NAME.json, NAME-glorot.json, relu-10-he.json). All: biases 0,
 * identity output layer, summed softmax cross-entropy, plain SGD, batch 30, pixels centred by
 * the training mean, seed 1. Proper initialisation: Glorot uniform (tanh nets) or He uniform
 * (relu-10's hidden layers, Glorot for its output layer), biases 0.
 *
 * Monitors, as in the original: the loss; dL/db of the first and the last layer (heatmaps);
 * for relu-10 the weights of layers 0, 4, 8 and activations of layers 0 and 8. Added for the
 * log chart and the diagnosis: ||dL/dz|| of every layer, and every layer's weights and
 * activations (so the others are a superset of relu-10's). The diagnosis is taken over the
 * first epoch ("early in training", where the original saw the gap) and over the whole run.
 *
 * Schedules: --full is the original's 30 epochs. The default is a short run that finishes in
 * about five minutes on two cores: 10 epochs, at most 3000 steps, and wide-2 at most 800 steps
 * (its 2048x2048 products run at ~10 steps/s on a CPU whose OpenBLAS falls back to generic
 * kernels); training accuracy on at most 10,000 records. --epochs N: N epochs for every net,
 * no caps. --quick: 30 steps per net and accuracies on 1,000 records (for tests).
 * Data: --data DIR; else data/mnist; else ../shared/data/mnist-10k (real MNIST digits beside
 * the checkout); else Debian's Fashion-MNIST (/usr/share/datasets/fashion-mnist).
 *
 * Output (DIR/NET-INIT/ per run, INIT = original, glorot or he):
 *   monitors/NAME.csv  every monitor (step,epoch,unit,value)
 *   plots/NAME.png     loss curve, gradient heatmaps, per-layer gradient norms, histograms
 *   graph.dot, graph.svg  the training graph, tensors coloured by mean gradient norm
 *   diagnosis.json     first epoch and whole run
 * DIR/summary.csv, DIR/summary.json (one row per run) and DIR/index.html.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "tapegrad.h"

#define N_INPUTS 784
#define BATCH 30
#define EVAL_BATCH 500
#define MAX_LAYERS 17
#define PATH_LEN 4096
#define DIR_LEN 2048        /* a run's folder; --out is at most DIR_LEN - 80 bytes */
#define SAMPLES 150         /* monitor samples aimed at per run: period = steps / SAMPLES */
#define MAX_PLOTS 256

/* ---- the study's nets ------------------------------------------------------------------ */
typedef struct net_def {
    const char *name, *shape;
    int n_hidden, width;
    int relu;               /* hidden activation: 1 relu, 0 tanh */
    double r_first, r_rest; /* original: layer 0 weights U[-r_first, r_first], then r_rest */
    double lr;
    int act_shown[2];       /* activation heatmaps shown first (the original's for relu-10) */
} net_def;

static const net_def nets[] = {
    { "wide-2", "784-2048-2048-10", 2, 2048, 0, 0.0357, 0.022, 0.01, { 0, 1 } },
    { "mid-4", "784-256x4-10", 4, 256, 0, 0.0357, 0.0625, 0.001, { 0, 3 } },
    { "deep-16", "784-64x16-10", 16, 64, 0, 0.0357, 0.125, 0.001, { 0, 15 } },
    { "relu-10", "784-64x10-10", 10, 64, 1, 0.0357, 0.125, 0.001, { 0, 8 } },
};
#define N_NETS (int)(sizeof nets / sizeof nets[0])

static const char *init_name(const net_def *d, int proper)
{
    return !proper ? "original" : d->relu ? "he" : "glorot";
}

static const char *init_title(const net_def *d, int proper)
{
    return !proper ? "original init" : d->relu ? "He init" : "Glorot init";
}

/* ---- options and results ---------------------------------------------------------------- */
typedef struct plan {
    const char *mode;       /* "quick", "default", "full", "epochs" */
    long epochs;            /* per net (0: quick) */
    long cap, cap_wide;     /* most steps per net, for wide-2 (0: none) */
    long quick_steps;
    size_t eval_train, eval_test; /* records evaluated (0: all) */
} plan;

typedef struct result {
    const net_def *def;
    int proper;
    char tag[64];           /* "deep-16-original": the run's folder */
    long steps, period, epoch_steps, early_to;
    double seconds, steps_per_s, loss, train_acc, test_acc;
    size_t n_train_eval, n_test_eval;
    tg_diagnosis early, whole;
    int n_csv, n_plots, have_svg;
    char *plots[MAX_PLOTS]; /* sorted PNG names in plots/ */
} result;

typedef struct study {
    plan plan;
    const char *out;
    char data_dir[PATH_LEN], data_desc[PATH_LEN + 160];
    tg_dataset train, test;
    double mean;
    result res[2 * N_NETS];
    int n_res;
    double seconds;
} study;

static int fail(const char *what)
{
    fprintf(stderr, "depth_study: %s: %s\n", what, tg_last_error());
    return 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    char buf[PATH_LEN];
    char *p;
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
    for (p = buf + 1;; ++p)
        if (*p == '/' || !*p) {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                fprintf(stderr, "depth_study: cannot create '%s': %s\n", buf, strerror(errno));
                return -1;
            }
            if (!c)
                return 0;
            *p = c;
        }
}

/* ---- data --------------------------------------------------------------------------------- */
#define SHARED_MNIST "../shared/data/mnist-10k"

/* --data DIR; else data/mnist; else the shared real digits; else Fashion-MNIST. */
static int find_data(study *st, const char *arg)
{
    const int found = tg_data_find(arg, st->data_dir, sizeof st->data_dir, st->data_desc,
                                   sizeof st->data_desc) == TG_OK;
    if (!arg && (!found || strstr(st->data_dir, "fashion")) &&
        access(SHARED_MNIST "/train-images-idx3-ubyte.gz", R_OK) == 0) {
        snprintf(st->data_dir, sizeof st->data_dir, "%s", SHARED_MNIST);
        snprintf(st->data_desc, sizeof st->data_desc, "MNIST digits (%s)", SHARED_MNIST);
        return 0;
    }
    if (!found)
        return fail("data");
    if (arg && strstr(arg, "mnist-10k"))
        snprintf(st->data_desc, sizeof st->data_desc, "MNIST digits (%s)", arg);
    if (strstr(st->data_dir, "fashion"))
        snprintf(st->data_desc, sizeof st->data_desc, "Fashion-MNIST, not digits: clothing "
                 "images (%s, Debian's dataset-fashion-mnist)", st->data_dir);
    return 0;
}

static int load_data(study *st)
{
    if (tg_mnist_load(st->data_dir, "train", &st->train) != TG_OK ||
        tg_mnist_load(st->data_dir, "t10k", &st->test) != TG_OK)
        return fail("data");
    if (st->train.n_features != N_INPUTS || st->train.n_classes != 10) {
        fprintf(stderr, "depth_study: %s: records of %d values, %d classes; the study needs "
                "28x28 images of 10 classes\n", st->data_dir, st->train.n_features,
                st->train.n_classes);
        return 1;
    }
    st->mean = tg_dataset_mean(&st->train);
    if (tg_dataset_shift(&st->train, st->mean) != TG_OK ||
        tg_dataset_shift(&st->test, st->mean) != TG_OK)
        return fail("centring");
    return 0;
}

/* ---- one run ------------------------------------------------------------------------------ */
static int layers_of(const net_def *d, int proper, tg_layer_spec *ls)
{
    const tg_init zeros = { TG_INIT_ZEROS, 0, 0 };
    int l, n = d->n_hidden + 1;
    memset(ls, 0, (size_t)n * sizeof *ls);
    for (l = 0; l < n; ++l) {
        const int out = l == d->n_hidden;
        const double r = l == 0 ? d->r_first : d->r_rest;
        ls[l].n_nodes = out ? 10 : d->width;
        ls[l].activation = out ? &tg_op_identity : d->relu ? &tg_op_relu : &tg_op_tanh;
        if (!proper)
            ls[l].weight_init = (tg_init){ TG_INIT_UNIFORM, -r, r };
        else
            ls[l].weight_init = (tg_init){ d->relu && !out ? TG_INIT_HE_UNIFORM
                                           : TG_INIT_GLOROT_UNIFORM, 0, 0 };
        ls[l].bias_init = zeros;
    }
    return n;
}

/* Steps of this net under the plan, given the batches of one epoch. */
static long planned_steps(const plan *p, const net_def *d, long per_epoch)
{
    long steps, cap = !strcmp(d->name, "wide-2") && p->cap_wide ? p->cap_wide : p->cap;
    if (p->quick_steps)
        return p->quick_steps < per_epoch ? p->quick_steps : per_epoch;
    steps = p->epochs * per_epoch;
    return cap && cap < steps ? cap : steps;
}

typedef struct progress {
    const char *tag;
    long total;
    double last;
} progress;

/* A redrawn progress line on a terminal. */
static tg_status show_progress(const tg_train_progress *tp, void *user)
{
    progress *pr = user;
    double t = now_s();
    if (t - pr->last < 0.5 && tp->step + 1 < pr->total)
        return TG_OK;
    pr->last = t;
    fprintf(stderr, "\r  %-18s step %ld/%ld  loss %-9.4g %5.0f steps/s\033[K", pr->tag,
            tp->step + 1, pr->total, tp->loss, tp->steps_per_s);
    return TG_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The PNG names in dir/plots, sorted. */
static void list_plots(const char *dir, result *r)
{
    char path[PATH_LEN];
    struct dirent *e;
    DIR *dp;
    snprintf(path, sizeof path, "%s/plots", dir);
    if (!(dp = opendir(path)))
        return;
    while ((e = readdir(dp)) && r->n_plots < MAX_PLOTS) {
        size_t n = strlen(e->d_name);
        if (n > 4 && !strcmp(e->d_name + n - 4, ".png") && (r->plots[r->n_plots] =
                                                                 strdup(e->d_name)))
            r->n_plots++;
    }
    closedir(dp);
    qsort(r->plots, (size_t)r->n_plots, sizeof *r->plots, cmp_str);
}

static int count_files(const char *dir, const char *ext)
{
    struct dirent *e;
    DIR *dp = opendir(dir);
    int n = 0;
    if (!dp)
        return 0;
    while ((e = readdir(dp))) {
        size_t k = strlen(e->d_name), m = strlen(ext);
        n += k > m && !strcmp(e->d_name + k - m, ext);
    }
    closedir(dp);
    return n;
}

/* JSON: a string with quotes and escapes. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* JSON: a number, or null when it is not finite. */
static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

/* The diagnosis's JSON object (the library writes a member, "diagnosis": {...}). */
static void json_diagnosis(FILE *f, const tg_diagnosis *d)
{
    size_t len = tg_diagnosis_json(d, NULL, 0);
    char *text = malloc(len + 1), *brace;
    if (!text || (tg_diagnosis_json(d, text, len + 1), !(brace = strchr(text, '{'))))
        fputs("null", f);
    else
        fputs(brace, f);
    free(text);
}

/* Open path.tmp for writing; commit renames it over path (and reports failures). */
static FILE *open_tmp(const char *path, char *tmp, size_t n)
{
    FILE *f;
    snprintf(tmp, n, "%s.tmp", path);
    if (!(f = fopen(tmp, "w")))
        fprintf(stderr, "depth_study: cannot write '%s': %s\n", tmp, strerror(errno));
    return f;
}

static int commit(FILE *f, const char *tmp, const char *path)
{
    int bad = ferror(f) || fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad = fclose(f) != 0 || bad;
    if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, "depth_study: cannot write '%s': %s\n", path, strerror(errno));
        unlink(tmp);
        return 1;
    }
    return 0;
}

static int write_diagnosis(const study *st, const result *r, const char *path)
{
    char tmp[PATH_LEN + 32];
    FILE *f = open_tmp(path, tmp, sizeof tmp);
    if (!f)
        return 1;
    fputs("{\"network\": ", f);
    json_str(f, r->def->name);
    fputs(", \"init\": ", f);
    json_str(f, init_name(r->def, r->proper));
    fputs(", \"data\": ", f);
    json_str(f, st->data_desc);
    fprintf(f, ", \"steps\": %ld, \"period\": %ld, \"first_epoch_steps\": [0, %ld],\n"
            " \"diagnosis_first_epoch\": ", r->steps, r->period, r->early_to);
    json_diagnosis(f, &r->early);
    fputs(",\n \"diagnosis\": ", f);
    json_diagnosis(f, &r->whole);
    fputs("}\n", f);
    return commit(f, tmp, path);
}

/* Graph files coloured by the set's mean gradient norms; a build without Graphviz gets a
 * warning. Returns 1 on failure, 0 else; *svg says whether graph.svg was written. */
static int write_graph(tg_net_graph *ng, const tg_monitor_set *ms, const result *r,
                       const char *dir, int *svg)
{
    tg_graph *g = tg_net_graph_tape(ng);
    const int n = tg_graph_n_tensors(g);
    double *metric = malloc((size_t)n * sizeof *metric + 1);
    char path[PATH_LEN], title[256];
    tg_dot_opts o;
    tg_status s;
    *svg = 0;
    if (!metric || tg_monitor_set_metric(ms, TG_METRIC_MEAN, metric, n, NULL) != TG_OK) {
        free(metric);
        return fail("graph metric");
    }
    snprintf(title, sizeof title, "%s, %s: mean gradient norm of each tensor", r->def->name,
             init_title(r->def, r->proper));
    memset(&o, 0, sizeof o);
    o.title = title;
    o.tensor_metric = metric;
    o.n_metric = n;
    o.metric_label = "|grad|";
    snprintf(path, sizeof path, "%s/graph.dot", dir);
    s = tg_dot_write(g, path, &o);
    if (s == TG_OK) {
        snprintf(path, sizeof path, "%s/graph.svg", dir);
        s = tg_dot_render(g, path, "svg", &o);
        *svg = s == TG_OK;
    }
    free(metric);
    if (s == TG_ERR_UNAVAILABLE) {
        fprintf(stderr, "depth_study: graph not drawn: %s\n", tg_last_error());
        return 0;
    }
    return s == TG_OK ? 0 : fail("graph");
}

/* Outputs of a trained, detached run: CSVs, plots, graph, diagnoses. */
static int run_outputs(const study *st, tg_net_graph *ng, const tg_monitor_set *ms, result *r,
                       const char *dir)
{
    char path[PATH_LEN];
    tg_diagnose_opts dopt;
    tg_status s;
    snprintf(path, sizeof path, "%s/monitors", dir);
    if (tg_monitor_set_write_csv(ms, path) != TG_OK)
        return fail("csv");
    r->n_csv = count_files(path, ".csv");
    snprintf(path, sizeof path, "%s/plots", dir);
    s = tg_monitor_set_plot(ms, path, "png");
    if (s == TG_ERR_UNAVAILABLE || s == TG_ERR_NONFINITE)
        fprintf(stderr, "depth_study: %s: some plots not drawn: %s\n", r->tag, tg_last_error());
    else if (s != TG_OK)
        return fail("plots");
    list_plots(dir, r);
    if (write_graph(ng, ms, r, dir, &r->have_svg))
        return 1;
    memset(&dopt, 0, sizeof dopt);
    dopt.lr = r->def->lr;
    dopt.to_step = r->early_to;
    if (tg_diagnose(ms, &dopt, &r->early) != TG_OK)
        return fail("diagnosis (first epoch)");
    dopt.to_step = 0;
    if (tg_diagnose(ms, &dopt, &r->whole) != TG_OK)
        return fail("diagnosis");
    snprintf(path, sizeof path, "%s/diagnosis.json", dir);
    return write_diagnosis(st, r, path);
}

static int run_one(study *st, const net_def *d, int proper, result *r)
{
    tg_layer_spec ls[MAX_LAYERS];
    const int n_layers = layers_of(d, proper, ls);
    tg_pipeline_opts po = { .batch = BATCH, .shuffle = 1, .seed = 1, .drop_remainder = 1 };
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, d->lr);
    tg_train_opts to = tg_train_defaults();
    tg_monitor_set_opts mo;
    tg_train_result tr;
    tg_net *net = tg_net_new(N_INPUTS, ls, n_layers, 1);
    tg_net_graph *ng = net ? tg_net_graph_new(net, BATCH, &tg_loss_softmax_xent_sum) : NULL;
    tg_net_graph *eval = ng ? tg_net_graph_new(net, EVAL_BATCH, NULL) : NULL;
    tg_optim *opt = eval ? tg_optim_new_net(&oo, net) : NULL;
    tg_monitor_set *ms = NULL;
    tg_pipeline p;
    progress pr;
    char dir[DIR_LEN];
    const long per_epoch = (long)(st->train.n / BATCH);
    int rc = 1;
    memset(&p, 0, sizeof p);
    r->def = d;
    r->proper = proper;
    snprintf(r->tag, sizeof r->tag, "%s-%s", d->name, init_name(d, proper));
    snprintf(dir, sizeof dir, "%s/%s", st->out, r->tag);
    r->steps = planned_steps(&st->plan, d, per_epoch);
    r->epoch_steps = per_epoch;
    r->early_to = (r->steps < per_epoch ? r->steps : per_epoch) - 1;
    r->period = r->steps / SAMPLES > 1 ? r->steps / SAMPLES : 1;
    po.epochs = (int)((r->steps + per_epoch - 1) / per_epoch);
    memset(&mo, 0, sizeof mo);
    mo.steps = r->steps;
    if (!opt || tg_pipeline_init(&p, &st->train, &po) != TG_OK) {
        fail(r->tag);
        goto done;
    }
    if (!(ms = tg_monitor_set_new(ng, &mo)) ||
        tg_monitor_set_add(ms, TG_WATCH_LOSS, r->period, 0) != TG_OK ||
        tg_monitor_set_add(ms, TG_WATCH_GRAD, r->period, 0) != TG_OK ||
        tg_monitor_set_add(ms, TG_WATCH_GRAD, r->period, -1) != TG_OK ||
        tg_monitor_set_add_diagnosis(ms, r->period) != TG_OK) {
        fail("monitors");
        goto done;
    }
    to.max_steps = r->steps;
    pr.tag = r->tag;
    pr.total = r->steps;
    pr.last = 0.0;
    if (isatty(STDERR_FILENO)) {
        to.progress = show_progress;
        to.progress_user = &pr;
    }
    if (tg_train_pipeline(ng, opt, &p, &to, &tr) != TG_OK) {
        if (to.progress)
            fputc('\n', stderr);
        fail(r->tag);
        goto done;
    }
    if (to.progress)
        fputs("\r\033[K", stderr);
    if (tg_monitor_set_detach(ms) != TG_OK) {
        fail("detach");
        goto done;
    }
    r->steps = tr.steps;
    r->seconds = tr.seconds;
    r->steps_per_s = tr.seconds > 0 ? (double)tr.steps / tr.seconds : 0.0;
    r->loss = tr.epoch_loss / BATCH;
    r->n_train_eval = st->plan.eval_train && st->plan.eval_train < st->train.n
                      ? st->plan.eval_train : st->train.n;
    r->n_test_eval = st->plan.eval_test && st->plan.eval_test < st->test.n
                     ? st->plan.eval_test : st->test.n;
    if (tg_net_accuracy(eval, st->train.x, st->train.labels, r->n_train_eval, &r->train_acc)
        != TG_OK ||
        tg_net_accuracy(eval, st->test.x, st->test.labels, r->n_test_eval, &r->test_acc)
        != TG_OK) {
        fail("accuracy");
        goto done;
    }
    if (make_dirs(dir) == 0)
        rc = run_outputs(st, ng, ms, r, dir);
done:
    tg_monitor_set_free(ms);  /* before the graph it watched */
    tg_pipeline_release(&p);
    tg_optim_free(opt);
    tg_net_graph_free(eval);
    tg_net_graph_free(ng);
    tg_net_free(net);
    return rc;
}

static void result_release(result *r)
{
    int i;
    tg_diagnosis_release(&r->early);
    tg_diagnosis_release(&r->whole);
    for (i = 0; i < r->n_plots; ++i)
        free(r->plots[i]);
    r->n_plots = 0;
}

static int has_plot(const result *r, const char *name)
{
    return bsearch(&name, r->plots, (size_t)r->n_plots, sizeof *r->plots, cmp_str) != NULL;
}

static void print_run(const study *st, const result *r)
{
    const char *o = st->out;
    printf("%-18s %5ld steps %6.1f steps/s  loss %.4f  accuracy train %.4f test %.4f  "
           "first/last grad %.2g (first epoch), %.2g (run): %s\n", r->tag, r->steps,
           r->steps_per_s, r->loss, r->train_acc, r->test_acc, r->early.first_to_last,
           r->whole.first_to_last, tg_verdict_name(r->whole.verdict));
    printf("    %s/%s/: diagnosis.json, graph.dot%s, monitors/ (%d CSV), plots/ (%d PNG: "
           "loss.png, gradnorm.png, grad_layer0_bias.png, grad_layer%d_bias.png, ...)\n", o,
           r->tag, r->have_svg ? ", graph.svg" : "", r->n_csv, r->n_plots, r->def->n_hidden);
}

/* ---- summary files ---------------------------------------------------------------------- */
static int write_summary(const study *st)
{
    char path[PATH_LEN], tmp[PATH_LEN + 8];
    FILE *f;
    int i;
    snprintf(path, sizeof path, "%s/summary.csv", st->out);
    if (!(f = open_tmp(path, tmp, sizeof tmp)))
        return 1;
    fputs("network,init,steps,epochs,steps_per_second,final_loss,train_accuracy,"
          "test_accuracy,first_to_last_first_epoch,first_to_last_run,verdict_first_epoch,"
          "verdict\n", f);
    for (i = 0; i < st->n_res; ++i) {
        const result *r = &st->res[i];
        fprintf(f, "%s,%s,%ld,%.3f,%.4g,%.6g,%.6g,%.6g,%.6g,%.6g,%s,%s\n", r->def->name,
                init_name(r->def, r->proper), r->steps, (double)r->steps / r->epoch_steps,
                r->steps_per_s, r->loss, r->train_acc, r->test_acc, r->early.first_to_last,
                r->whole.first_to_last, tg_verdict_name(r->early.verdict),
                tg_verdict_name(r->whole.verdict));
    }
    if (commit(f, tmp, path))
        return 1;
    snprintf(path, sizeof path, "%s/summary.json", st->out);
    if (!(f = open_tmp(path, tmp, sizeof tmp)))
        return 1;
    fputs("{\"data\": ", f);
    json_str(f, st->data_desc);
    fprintf(f, ", \"data_dir\": ");
    json_str(f, st->data_dir);
    fprintf(f, ", \"train_records\": %zu, \"test_records\": %zu, \"mode\": \"%s\", "
            "\"seconds\": %.1f, \"tapegrad_version\": ", st->train.n, st->test.n,
            st->plan.mode, st->seconds);
    json_str(f, tg_version());
    fputs(",\n \"runs\": [", f);
    for (i = 0; i < st->n_res; ++i) {
        const result *r = &st->res[i];
        fprintf(f, "%s\n  {\"network\": \"%s\", \"init\": \"%s\", \"dir\": \"%s\", "
                "\"steps\": %ld, \"train_seconds\": %.2f, \"steps_per_second\": ",
                i ? "," : "", r->def->name, init_name(r->def, r->proper), r->tag, r->steps,
                r->seconds);
        json_num(f, r->steps_per_s);
        fputs(", \"final_loss\": ", f);
        json_num(f, r->loss);
        fputs(", \"train_accuracy\": ", f);
        json_num(f, r->train_acc);
        fprintf(f, ", \"train_records_evaluated\": %zu, \"test_accuracy\": ", r->n_train_eval);
        json_num(f, r->test_acc);
        fprintf(f, ", \"test_records_evaluated\": %zu,\n   \"first_to_last_first_epoch\": ",
                r->n_test_eval);
        json_num(f, r->early.first_to_last);
        fputs(", \"first_to_last_run\": ", f);
        json_num(f, r->whole.first_to_last);
        fprintf(f, ", \"verdict_first_epoch\": \"%s\", \"verdict\": \"%s\"}",
                tg_verdict_name(r->early.verdict), tg_verdict_name(r->whole.verdict));
    }
    fputs("]}\n", f);
    return commit(f, tmp, path);
}

/* ---- the report ----------------------------------------------------------------------------
 * All text from data (names, messages, paths) goes through esc(); markup is constant. */
static void esc(FILE *f, const char *fmt, ...) TG_PRINTF(2, 3);
static void esc(FILE *f, const char *fmt, ...)
{
    char buf[8192];
    const char *c;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (c = buf; *c; ++c)
        switch (*c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*c, f);
        }
}

/* <td>text</td> with the text escaped. */
static void cell(FILE *f, const char *fmt, ...) TG_PRINTF(2, 3);
static void cell(FILE *f, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fputs("<td>", f);
    esc(f, "%s", buf);
    fputs("</td>", f);
}

/* A table cell of a number, a dash when it was not measured (NaN). */
static void num_cell(FILE *f, double v)
{
    if (isnan(v))
        fputs("<td>&ndash;</td>", f);
    else
        cell(f, "%.3g", v);
}

static const char css[] =
    "*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,"
    "'DejaVu Sans',sans-serif;"
    "margin:0 auto;max-width:1400px;padding:0 20px 40px;color:#1d232a;background:#fff}\n"
    "h1{font-size:26px;margin:24px 0 4px}h2{font-size:21px;margin:36px 0 6px;padding-top:12px;"
    "border-top:2px solid #d5dbe1}h3{font-size:16px;margin:18px 0 4px}\n"
    ".lead{color:#46525e;margin:0 0 12px}\n"
    "table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 9px;text-align:right;"
    "border-bottom:1px solid #e3e7eb;font-variant-numeric:tabular-nums}th{background:#f3f5f7}"
    "td.l,th.l{text-align:left}\n"
    ".pair{display:grid;grid-template-columns:1fr 1fr;gap:16px;align-items:start}\n"
    ".pair>div{min-width:0}figure{margin:4px 0 12px}figure img{width:100%;height:auto;"
    "border:1px solid #e3e7eb}figcaption{font-size:13px;color:#46525e}\n"
    ".col{font-weight:600;font-size:15px;padding:4px 0;border-bottom:1px solid #d5dbe1}\n"
    ".missing{font-size:13px;color:#8a96a3;padding:24px 0}\n"
    ".graph img{width:100%;height:auto;border:1px solid #e3e7eb}\n"
    ".v{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600}"
    ".v-healthy{background:#2b8a3e}.v-vanishing{background:#c92a2a}.v-exploding{background:#"
    "862e9c}.v-saturated{background:#e67700}.v-dead{background:#495057}\n"
    ".bar{display:inline-block;height:9px;background:#4c6ef5;vertical-align:middle}\n"
    ".diag td:nth-child(4){text-align:left;width:90px}.diag{font-size:13px}\n"
    ".note{background:#f8f9fa;border-left:4px solid #4c6ef5;padding:8px 12px;margin:12px 0}\n"
    "details{margin:10px 0}summary{cursor:pointer;font-weight:600}\n"
    "code{background:#f1f3f5;padding:0 3px}\n";

static void badge(FILE *f, tg_verdict v)
{
    fputs("<span class=\"v v-", f);
    esc(f, "%s", tg_verdict_name(v));
    fputs("\">", f);
    esc(f, "%s", tg_verdict_name(v));
    fputs("</span>", f);
}

static void html_head(FILE *f, const study *st)
{
    const plan *p = &st->plan;
    int i;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>tapegrad depth study</title>\n<style>\n", f);
    fputs(css, f);
    fputs("</style></head><body>\n<h1>Depth and initialisation: where gradients die</h1>\n"
          "<p class=\"lead\">", f);
    esc(f, "Data: %s, %zu training and %zu test records, pixels centred (training mean "
        "%.4f). ", st->data_desc, st->train.n, st->test.n, st->mean);
    if (p->quick_steps)
        esc(f, "Quick mode: %ld steps per net, accuracies on %zu records: a smoke test, not "
            "the study.", p->quick_steps, p->eval_train);
    else if (p->cap)
        esc(f, "Short run: %ld epochs, at most %ld steps per net and %ld for wide-2 (whose "
            "2048x2048 products are slow on this CPU); training accuracy on at most %zu "
            "records. The original trained 30 epochs: depth_study --full.", p->epochs, p->cap,
            p->cap_wide, p->eval_train);
    else
        esc(f, "%ld epoch%s for every net%s.", p->epochs, p->epochs == 1 ? "" : "s",
            p->epochs == 30 ? ", the original's schedule" : "");
    esc(f, " Batch %d, plain SGD, summed softmax cross-entropy. Total time %.0f s; "
        "tapegrad %s.", BATCH, st->seconds, tg_version());
    fputs("</p>\n", f);
    /* what the study shows, with the measured figures */
    for (i = 0; i + 1 < st->n_res; i += 2) {
        const result *a = &st->res[i], *b = &st->res[i + 1];
        if (strcmp(a->def->name, "deep-16"))
            continue;
        fputs("<div class=\"note\">", f);
        esc(f, "Early in training (the first %ld steps), deep-16's first layer receives a "
            "back-propagated gradient %.2g times its last layer's with the original "
            "initialisation, and %.2g times with Glorot's: ", a->early_to + 1,
            a->early.first_to_last, b->early.first_to_last);
        fputs("<b>", f);
        if (a->early.first_to_last > 0 && b->early.first_to_last > 0)
            esc(f, "the gap narrows by %.1f orders of magnitude",
                log10(b->early.first_to_last / a->early.first_to_last));
        fputs("</b>", f);
        esc(f, ". Test accuracy: %.1f%% (original) against %.1f%% (Glorot).",
            100 * a->test_acc, 100 * b->test_acc);
        fputs("</div>\n", f);
    }
    fputs("<p>The original study trained four nets of growing depth with small uniform "
          "initial weights and watched their gradients. With such weights every tanh layer "
          "shrinks the signal it passes back, so the layers near the input hardly learn: "
          "their gradients are orders of magnitude below the last layer's (Glorot &amp; "
          "Bengio, 2010). Initialising each layer for its fan-in and fan-out (Glorot for "
          "tanh, He for ReLU) keeps the back-propagated gradient about the same size in "
          "every layer. Each net below is shown with both initialisations side by side. "
          "<i>Gradient</i> here is the back-propagated gradient ||dL/dz|| of a layer's "
          "pre-activation z (summed over the batch of 30), which is what the diagnosis "
          "judges; the weight gradients can look alike across layers while it vanishes.</p>\n",
          f);
}

static void html_summary(FILE *f, const study *st)
{
    int i;
    fputs("<h2 id=\"summary\">Summary</h2>\n<table><tr><th class=\"l\">network</th>"
          "<th class=\"l\">init</th><th>steps</th><th>epochs</th><th>steps/s</th>"
          "<th>loss / record<br>(last epoch)</th><th>train acc.</th><th>test acc.</th>"
          "<th>first/last gradient<br>first epoch</th><th>first/last gradient<br>whole run</th>"
          "<th class=\"l\">verdict<br>(whole run)</th></tr>\n", f);
    for (i = 0; i < st->n_res; ++i) {
        const result *r = &st->res[i];
        fputs("<tr><td class=\"l\"><a href=\"#", f);
        esc(f, "%s", r->def->name);
        fputs("\">", f);
        esc(f, "%s", r->def->name);
        fputs("</a></td><td class=\"l\">", f);
        esc(f, "%s", init_title(r->def, r->proper));
        fputs("</td>", f);
        cell(f, "%ld", r->steps);
        cell(f, "%.2f", (double)r->steps / r->epoch_steps);
        cell(f, "%.1f", r->steps_per_s);
        cell(f, "%.4f", r->loss);
        cell(f, "%.4f", r->train_acc);
        cell(f, "%.4f", r->test_acc);
        cell(f, "%.2g", r->early.first_to_last);
        cell(f, "%.2g", r->whole.first_to_last);
        fputs("<td class=\"l\">", f);
        badge(f, r->whole.verdict);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n<p class=\"lead\">Steps/s are measured with every monitor running. "
          "Accuracy is the fraction of records whose largest output is the label. The "
          "ratio is the mean ||dL/dz|| of the first layer over the sampled steps divided by "
          "the last layer's. Files: <a href=\"summary.csv\">summary.csv</a>, "
          "<a href=\"summary.json\">summary.json</a>.</p>\n", f);
}

/* One picture of a run, or a note that it was not drawn. */
static void figure(FILE *f, const result *r, const char *png, const char *caption)
{
    fputs("<div>", f);
    if (has_plot(r, png)) {
        fputs("<figure><a href=\"", f);
        esc(f, "%s/plots/%s", r->tag, png);
        fputs("\"><img src=\"", f);
        esc(f, "%s/plots/%s", r->tag, png);
        fputs("\" alt=\"", f);
        esc(f, "%s: %s", r->tag, caption);
        fputs("\" loading=\"eager\"></a><figcaption>", f);
        esc(f, "%s, %s", r->def->name, init_title(r->def, r->proper));
        fputs("</figcaption></figure>", f);
    } else {
        fputs("<p class=\"missing\">", f);
        esc(f, "%s: not drawn", png);
        fputs("</p>", f);
    }
    fputs("</div>\n", f);
}

/* A row of two pictures with a heading and a line of explanation. */
static void pair(FILE *f, const result *a, const result *b, const char *png,
                 const char *heading, const char *text)
{
    if (!has_plot(a, png) && !has_plot(b, png))
        return;
    fputs("<h3>", f);
    esc(f, "%s", heading);
    fputs("</h3><p class=\"lead\">", f);
    esc(f, "%s", text);
    fputs("</p>\n<div class=\"pair\">\n", f);
    figure(f, a, png, heading);
    figure(f, b, png, heading);
    fputs("</div>\n", f);
}

/* Plot names of both runs that start with prefix (and end in suffix), in order, unique. */
static int names_with(const result *a, const result *b, const char *prefix, const char *suffix,
                      const char **out, int max)
{
    const result *rs[2] = { a, b };
    int k, i, j, n = 0;
    for (k = 0; k < 2; ++k)
        for (i = 0; i < rs[k]->n_plots && n < max; ++i) {
            const char *p = rs[k]->plots[i];
            size_t lp = strlen(p), ls = strlen(suffix);
            int dup = 0;
            if (strncmp(p, prefix, strlen(prefix)) || lp < ls || strcmp(p + lp - ls, suffix))
                continue;
            for (j = 0; j < n; ++j)
                dup |= !strcmp(out[j], p);
            if (!dup)
                out[n++] = p;
        }
    return n;
}

/* The step in "..._stepS.png", for ordering histograms. */
static long step_of(const char *png)
{
    const char *s = strstr(png, "_step");
    return s ? atol(s + 5) : 0;
}

static int cmp_step(const void *x, const void *y)
{
    long a = step_of(*(const char *const *)x), b = step_of(*(const char *const *)y);
    return (a > b) - (a < b);
}

static void diag_table(FILE *f, const result *r)
{
    const tg_diagnosis *w = &r->whole, *e = &r->early;
    int l;
    fputs("<div><p>", f);
    badge(f, w->verdict);
    fputs(" ", f);
    esc(f, "%s", w->message);
    fputs("</p><p class=\"lead\">First epoch: ", f);
    badge(f, e->verdict);
    fputs(" ", f);
    esc(f, "%s", e->message);
    fputs("</p>\n<table class=\"diag\"><tr><th>layer</th><th>||dL/dz||</th><th>ratio</th>"
          "<th class=\"l\">log<sub>10</sub> ratio (-6..2)</th><th>ratio<br>1st epoch</th>"
          "<th>||dL/dW||</th><th>saturated</th><th>dead</th><th>lr|dW|/|W|</th></tr>\n", f);
    for (l = 0; l < w->n_layers; ++l) {
        const tg_diagnosis_layer *d = &w->layers[l];
        double x = d->ratio > 0 && isfinite(d->ratio) ? (log10(d->ratio) + 6.0) / 8.0 : 0.0;
        x = x < 0 ? 0 : x > 1 ? 1 : x;
        fputs("<tr>", f);
        cell(f, "%d", d->layer);
        num_cell(f, d->grad_norm);
        num_cell(f, d->ratio);
        fprintf(f, "<td><span class=\"bar\" style=\"width:%dpx\"></span></td>",
                (int)(x * 80.0 + 0.5));
        num_cell(f, l < e->n_layers ? e->layers[l].ratio : NAN);
        num_cell(f, d->weight_grad_norm);
        num_cell(f, d->saturation);
        num_cell(f, d->dead);
        num_cell(f, d->update_ratio);
        fputs("</tr>\n", f);
    }
    fputs("</table><p class=\"lead\"><a href=\"", f);
    esc(f, "%s/diagnosis.json", r->tag);
    fputs("\">diagnosis.json</a> &middot; <a href=\"", f);
    esc(f, "%s/monitors/", r->tag);
    fputs("\">monitors/ (CSV)</a> &middot; <a href=\"", f);
    esc(f, "%s/plots/", r->tag);
    fputs("\">plots/</a></p></div>\n", f);
}

static void graph_cell(FILE *f, const result *r)
{
    fputs("<div>", f);
    if (r->have_svg) {
        fputs("<div class=\"graph\"><a href=\"", f);
        esc(f, "%s/graph.svg", r->tag);
        fputs("\"><img src=\"", f);
        esc(f, "%s/graph.svg", r->tag);
        fputs("\" alt=\"", f);
        esc(f, "%s graph", r->tag);
        fputs("\"></a></div><p class=\"lead\"><a href=\"", f);
        esc(f, "%s/graph.svg", r->tag);
        fputs("\">graph.svg at full size</a> &middot; <a href=\"", f);
        esc(f, "%s/graph.dot", r->tag);
        fputs("\">graph.dot</a></p>", f);
    } else {
        fputs("<p class=\"missing\">graph.svg not drawn (no Graphviz in this build)</p>", f);
    }
    fputs("</div>\n", f);
}

static void html_net(FILE *f, const result *a, const result *b)
{
    const net_def *d = a->def;
    const char *names[MAX_PLOTS];
    char png[64], head[128], text[512];
    int i, n, last = d->n_hidden;
    fputs("<h2 id=\"", f);
    esc(f, "%s", d->name);
    fputs("\">", f);
    esc(f, "%s", d->name);
    fputs("</h2><p class=\"lead\">", f);
    esc(f, "%s, %s hidden layers, identity output; original weights U[-r, r] with "
        "r = %g in layer 0 and %g after; lr %g. %s: %s.", d->shape,
        d->relu ? "ReLU" : "tanh", d->r_first, d->r_rest,
        d->lr, init_title(d, 1), d->relu ? "He uniform U[-r, r], r = sqrt(6 / fan_in), "
        "for the hidden layers, Glorot for the output" : "Glorot uniform U[-r, r], "
        "r = sqrt(6 / (fan_in + fan_out))");
    fputs("</p>\n<div class=\"pair\"><div class=\"col\">", f);
    esc(f, "%s, %s", d->name, init_title(d, 0));
    fputs("</div><div class=\"col\">", f);
    esc(f, "%s, %s", d->name, init_title(d, 1));
    fputs("</div></div>\n", f);
    pair(f, a, b, "loss.png", "Loss", "The summed cross-entropy of each sampled batch of 30 "
         "(ln 10 = 2.30 per record is chance).");
    pair(f, a, b, "gradnorm.png", "Gradient norm of every layer (log scale)",
         "||dL/dz|| per layer over the steps: lines spread over orders of magnitude when "
         "gradients vanish toward the input, and lie together when they do not.");
    pair(f, a, b, "grad_bias_layers.png", "First and last layer on one colour scale",
         "|dL/db| per unit (rows) over the steps, the first layer at the bottom and the last "
         "above it, coloured by log10 on ONE scale: red is small, blue is large.");
    snprintf(png, sizeof png, "grad_layer%d_bias.png", 0);
    pair(f, a, b, png, "First layer: gradient per unit (heatmap)",
         "The original's picture: |dL/db| of each unit of layer 0 over the steps, on its own "
         "log colour scale (see the colour bar for the magnitudes).");
    snprintf(png, sizeof png, "grad_layer%d_bias.png", last);
    snprintf(head, sizeof head, "Last layer (layer %d): gradient per unit (heatmap)", last);
    pair(f, a, b, png, head, "|dL/db| of each output unit over the steps, on its own scale.");
    pair(f, a, b, "gradnorm_weight.png", "Weight-gradient norm of every layer (log scale)",
         "||dL/dW|| per layer: the weight gradient also grows with the layer's input, so it "
         "hides the vanishing that ||dL/dz|| shows.");
    n = names_with(a, b, "grad_hist_step", ".png", names, MAX_PLOTS);
    qsort(names, (size_t)n, sizeof *names, cmp_step);
    for (i = 0; i < n; ++i) {
        snprintf(head, sizeof head, "Back-propagated gradients at step %ld (histogram)",
                 step_of(names[i]));
        pair(f, a, b, names[i], head, "dL/dz of every layer overlaid, as fractions of its "
             "values (Glorot & Bengio 2010, figure 7): narrow peaks at 0 for the layers "
             "near the input mean vanishing gradients.");
    }
    n = names_with(a, b, d->relu ? "act_hist_relu_" : "act_hist_tanh_", ".png", names,
                   MAX_PLOTS);
    qsort(names, (size_t)n, sizeof *names, cmp_step);
    for (i = 0; i < n; ++i) {
        snprintf(head, sizeof head, "Activations of the hidden layers at step %ld "
                 "(histogram)", step_of(names[i]));
        pair(f, a, b, names[i], head, d->relu ? "The values of each hidden layer's ReLU "
             "activations: a spike at 0 is units that are silent." : "The values of each "
             "hidden layer's tanh activations: units piled at -1 and +1 are saturated, a "
             "spike at 0 is a signal that has shrunk away.");
    }
    pair(f, a, b, "weight.png", "Weight norms", "||W|| of every layer over the steps.");
    for (i = 0; i < 2; ++i) {
        snprintf(png, sizeof png, "act_layer%d_mean.png", d->act_shown[i]);
        snprintf(head, sizeof head, "Activations of layer %d (heatmap)", d->act_shown[i]);
        snprintf(text, sizeof text, "Mean activation of each unit over the batch, over the "
                 "steps%s.", d->relu ? " (the original watched layers 0 and 8 of relu-10)"
                 : "");
        pair(f, a, b, png, head, text);
    }
    fputs("<h3>Diagnosis</h3><p class=\"lead\">Per layer over the whole run: mean "
          "||dL/dz||, its ratio to the last layer's, the weight-gradient norm, the fraction "
          "of saturated tanh (|a| &gt; 0.99) or dead ReLU units, and the SGD update relative "
          "to the weights.</p>\n<div class=\"pair\">\n", f);
    diag_table(f, a);
    diag_table(f, b);
    fputs("</div>\n<h3>Graph</h3><p class=\"lead\">The training graph; each tensor is "
          "labelled and coloured by its mean gradient norm over the sampled steps, dark red "
          "(smallest) to green (largest).</p>\n<div class=\"pair\">\n", f);
    graph_cell(f, a);
    graph_cell(f, b);
    fputs("</div>\n<details><summary>", f);
    esc(f, "More pictures of %s: the activations of every layer", d->name);
    fputs("</summary>\n", f);
    n = names_with(a, b, "act_hist_identity_", ".png", names, MAX_PLOTS);
    qsort(names, (size_t)n, sizeof *names, cmp_step);
    for (i = 0; i < n; ++i) {
        snprintf(head, sizeof head, "Outputs at step %ld (histogram)", step_of(names[i]));
        pair(f, a, b, names[i], head, "The output layer's values (the logits).");
    }
    for (i = 0; i <= last; ++i) {
        if (i == d->act_shown[0] || i == d->act_shown[1])
            continue;
        snprintf(png, sizeof png, "act_layer%d_mean.png", i);
        snprintf(head, sizeof head, "Activations of layer %d%s", i,
                 i == last ? " (output)" : "");
        pair(f, a, b, png, head, "Mean activation of each unit over the batch.");
    }
    fputs("</details>\n", f);
}

static int write_html(const study *st)
{
    char path[PATH_LEN], tmp[PATH_LEN + 8];
    FILE *f;
    int i;
    snprintf(path, sizeof path, "%s/index.html", st->out);
    if (!(f = open_tmp(path, tmp, sizeof tmp)))
        return 1;
    html_head(f, st);
    html_summary(f, st);
    for (i = 0; i + 1 < st->n_res; i += 2)
        html_net(f, &st->res[i], &st->res[i + 1]);
    fputs("<p class=\"lead\">Written by examples/depth_study.c with the tapegrad C "
          "library; every picture is a file beside this page.</p>\n</body></html>\n", f);
    return commit(f, tmp, path);
}

/* ---- main --------------------------------------------------------------------------------- */
static int usage(void)
{
    fprintf(stderr, "usage: depth_study [--data DIR] [--out DIR] [--full | --epochs N | "
            "--quick]\n"
            "  --data DIR   MNIST-layout directory (default: data/mnist, else "
            SHARED_MNIST ",\n"
            "               else /usr/share/datasets/fashion-mnist)\n"
            "  --out DIR    output folder (default: out/depth-study)\n"
            "  --full       the original's schedule: 30 epochs for every net\n"
            "  --epochs N   N epochs for every net\n"
            "  --quick      30 steps per net (a smoke test)\n"
            "Default: 10 epochs, at most 3000 steps per net and 800 for wide-2.\n");
    return 2;
}

int main(int argc, char **argv)
{
    static study st;
    const char *data = NULL;
    double t0 = now_s();
    int i, k, rc = 0;
    st.out = "out/depth-study";
    st.plan = (plan){ .mode = "default", .epochs = 10, .cap = 3000, .cap_wide = 800,
                      .eval_train = 10000 };
    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            data = argv[++i];
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            st.out = argv[++i];
        } else if (!strcmp(argv[i], "--full")) {
            st.plan = (plan){ .mode = "full", .epochs = 30 };
        } else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 1000)
                return usage();
            st.plan = (plan){ .mode = "epochs", .epochs = n };
        } else if (!strcmp(argv[i], "--quick")) {
            st.plan = (plan){ .mode = "quick", .quick_steps = 30, .eval_train = 1000,
                              .eval_test = 1000 };
        } else {
            return usage();
        }
    }
    if (strlen(st.out) > DIR_LEN - 80) {
        fprintf(stderr, "depth_study: --out: at most %d bytes\n", DIR_LEN - 80);
        return 2;
    }
    if (find_data(&st, data) || load_data(&st) || make_dirs(st.out))
        return 1;
    printf("depth_study: data: %s: %zu training, %zu test records (%s)\n", st.data_desc,
           st.train.n, st.test.n, st.data_dir);
    if (st.plan.quick_steps)
        printf("depth_study: quick mode: %ld steps per net\n", st.plan.quick_steps);
    else if (st.plan.cap)
        printf("depth_study: short run: %ld epochs of %zu steps, at most %ld steps per net, "
               "%ld for wide-2 (slow here); --full for the original's 30 epochs\n",
               st.plan.epochs, st.train.n / BATCH, st.plan.cap, st.plan.cap_wide);
    else
        printf("depth_study: %ld epoch%s of %zu steps for every net\n", st.plan.epochs,
               st.plan.epochs == 1 ? "" : "s", st.train.n / BATCH);
    fflush(stdout);
    for (i = 0; i < N_NETS && !rc; ++i)
        for (k = 0; k < 2 && !rc; ++k) {
            result *r = &st.res[st.n_res++];
            rc = run_one(&st, &nets[i], k, r);
            if (!rc)
                print_run(&st, r);
            fflush(stdout);
        }
    st.seconds = now_s() - t0;
    if (!rc)
        rc = write_summary(&st) || write_html(&st);
    if (!rc) {
        for (i = 0; i + 1 < st.n_res; i += 2)
            if (!strcmp(st.res[i].def->name, "deep-16"))
                printf("deep-16, first %ld steps: first-layer gradients are %.2g of the last "
                       "layer's with the original init, %.2g with Glorot's\n",
                       st.res[i].early_to + 1, st.res[i].early.first_to_last,
                       st.res[i + 1].early.first_to_last);
        printf("depth_study: %.0f s; wrote %s/summary.csv, %s/summary.json\n"
               "depth_study: report: %s/index.html\n", st.seconds, st.out, st.out, st.out);
    }
    for (i = 0; i < st.n_res; ++i)
        result_release(&st.res[i]);
    tg_dataset_release(&st.train);
    tg_dataset_release(&st.test);
    return rc;
}
