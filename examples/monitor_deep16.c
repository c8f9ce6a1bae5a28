/*
 * monitor_deep16.c -- the study's deep net watched by layer monitors, diagnosed, and timed.
 *
 * Usage: monitor_deep16 DATA_DIR OUTDIR            (DATA_DIR holds train-*-ubyte[.gz])
 *        monitor_deep16 --bench DATA_DIR [ROUNDS]  (steps/s with and without monitors)
 * deep-16 is 784-64x16-10: 16 tanh layers of 64 units and an identity output layer, summed
 * softmax cross-entropy, SGD lr 0.001, batch 30, centred pixels, one epoch. Two inits:
 *   original  weights U[-0.0357, 0.0357] in layer 0, U[-0.125, 0.125] after; biases 0
 *   glorot    weights U[-r, r], r = sqrt(6 / (fan_in + fan_out)); biases 0
 * Each run watches the loss, dL/db of layers 0 and -1, ||dL/dz|| of every layer, weights and
 * activations every 20 steps, then writes OUTDIR/<init>/csv/NAME.csv and plots/NAME.png,
 * OUTDIR/<init>/graph.png (tensors coloured by mean gradient norm) and prints the diagnosis.
 * --bench alternates ROUNDS (default 3) epochs without monitors and with the same monitors at
 * period 200, printing each epoch's steps per second of wall and of CPU time, and medians.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "tapegrad.h"

#define HIDDEN 16
#define WIDTH 64
#define LR 0.001
#define BATCH 30

static int fail(const char *what)
{
    fprintf(stderr, "monitor_deep16: %s: %s\n", what, tg_last_error());
    return 1;
}

static tg_net *deep16(int glorot)
{
    tg_layer_spec ls[HIDDEN + 1];
    const tg_init zeros = { TG_INIT_ZEROS, 0, 0 };
    int l;
    for (l = 0; l <= HIDDEN; ++l) {
        const double r = l == 0 ? 0.0357 : 0.125;
        ls[l].n_nodes = l < HIDDEN ? WIDTH : 10;
        ls[l].activation = l < HIDDEN ? &tg_op_tanh : &tg_op_identity;
        ls[l].act_args = NULL;
        ls[l].act_args_size = 0;
        ls[l].weight_init = glorot ? (tg_init){ TG_INIT_GLOROT_UNIFORM, 0, 0 }
                                   : (tg_init){ TG_INIT_UNIFORM, -r, r };
        ls[l].bias_init = zeros;
    }
    return tg_net_new(784, ls, HIDDEN + 1, 1);
}

/* The study's monitors: loss, dL/db of the first and last layers, every layer's gradient
 * norms, weights and activations. */
static tg_status add_study(tg_monitor_set *ms, long period)
{
    tg_status s;
    if ((s = tg_monitor_set_add(ms, TG_WATCH_LOSS, period, 0)) != TG_OK ||
        (s = tg_monitor_set_add(ms, TG_WATCH_GRAD, period, 0)) != TG_OK ||
        (s = tg_monitor_set_add(ms, TG_WATCH_GRAD, period, -1)) != TG_OK)
        return s;
    return tg_monitor_set_add_diagnosis(ms, period);
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One epoch; with monitors when period > 0 (then *out gets the set, detached). Steps per
 * second of wall time and of this process's CPU time (less sensitive to other processes). */
static int run(const tg_dataset *ds, int glorot, long period, tg_monitor_set **out,
               double *steps_per_s, double *steps_per_cpu_s)
{
    tg_pipeline_opts po = { .batch = BATCH, .epochs = 1, .shuffle = 1, .seed = 1,
                            .drop_remainder = 1 };
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, LR);
    tg_net *net = deep16(glorot);
    tg_net_graph *ng = net ? tg_net_graph_new(net, BATCH, &tg_loss_softmax_xent_sum) : NULL;
    tg_optim *opt = ng ? tg_optim_new_net(&oo, net) : NULL;
    tg_monitor_set_opts mo = { .steps = (long)(ds->n / BATCH) };
    tg_monitor_set *ms = NULL;
    tg_train_result res;
    tg_pipeline p;
    double cpu0;
    int rc = 1;
    memset(&p, 0, sizeof p);
    if (!opt || tg_pipeline_init(&p, ds, &po) != TG_OK) {
        fail("setup");
        goto done;
    }
    if (period > 0 && (!(ms = tg_monitor_set_new(ng, &mo)) || add_study(ms, period) != TG_OK)) {
        fail("monitors");
        goto done;
    }
    cpu0 = cpu_s();
    if (tg_train_pipeline(ng, opt, &p, NULL, &res) != TG_OK) {
        fail("train");
        goto done;
    }
    *steps_per_cpu_s = (double)res.steps / (cpu_s() - cpu0);
    *steps_per_s = (double)res.steps / res.seconds;
    if (out && ms) {
        /* the graph goes below: keep the data, drop the hooks */
        if (tg_monitor_set_detach(ms) != TG_OK) {
            fail("detach");
            goto done;
        }
        *out = ms;
        ms = NULL;
    }
    rc = 0;
done:
    tg_monitor_set_free(ms);
    tg_pipeline_release(&p);
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    tg_net_free(net);
    return rc;
}

/* Render the net's graph coloured by the set's mean gradient norms. */
static int render(const tg_monitor_set *ms, int glorot, const char *path)
{
    tg_net *net = deep16(glorot);
    tg_net_graph *ng = net ? tg_net_graph_new(net, BATCH, &tg_loss_softmax_xent_sum) : NULL;
    tg_graph *g = tg_net_graph_tape(ng);
    int n = g ? tg_graph_n_tensors(g) : 0, rc = 1;
    double *metric = calloc((size_t)n + 1, sizeof *metric);
    tg_dot_opts o = { .title = glorot ? "deep-16, Glorot init: mean gradient norms"
                                      : "deep-16, original init: mean gradient norms",
                      .tensor_metric = metric, .n_metric = n, .metric_label = "|grad|" };
    if (g && metric && tg_monitor_set_metric(ms, TG_METRIC_MEAN, metric, n, NULL) == TG_OK &&
        tg_dot_render(g, path, NULL, &o) == TG_OK)
        rc = 0;
    else
        fail("render");
    free(metric);
    tg_net_graph_free(ng);
    tg_net_free(net);
    return rc;
}

static int study(const tg_dataset *ds, int glorot, const char *outdir)
{
    const char *tag = glorot ? "glorot" : "original";
    tg_diagnose_opts dopt = { .lr = LR };
    tg_monitor_set *ms = NULL;
    tg_diagnosis d;
    char dir[4096], sub[4200];
    double sps, cps;
    size_t len;
    char *json;
    int l, rc;
    snprintf(dir, sizeof dir, "%s/%s", outdir, tag);
    mkdir(dir, 0777);
    if (run(ds, glorot, 20, &ms, &sps, &cps))
        return 1;
    snprintf(sub, sizeof sub, "%s/csv", dir);
    rc = tg_monitor_set_write_csv(ms, sub) != TG_OK ? fail("csv") : 0;
    snprintf(sub, sizeof sub, "%s/plots", dir);
    if (!rc && tg_monitor_set_plot(ms, sub, "png") != TG_OK)
        rc = fail("plots");
    snprintf(sub, sizeof sub, "%s/graph.png", dir);
    if (!rc)
        rc = render(ms, glorot, sub);
    if (!rc && tg_diagnose(ms, &dopt, &d) != TG_OK)
        rc = fail("diagnose");
    if (!rc) {
        printf("== deep-16, %s init: %.1f steps/s (%.1f per CPU s) with monitors every 20 "
               "steps\n", tag, sps, cps);
        printf("layer  ||dL/dz||    ratio      ||dL/dW||   saturated  lr|dW|/|W|\n");
        for (l = 0; l < d.n_layers; ++l) {
            const tg_diagnosis_layer *r = &d.layers[l];
            printf("%5d  %.3e  %.3e  %.3e  %9.4f  %.3e\n", r->layer, r->grad_norm, r->ratio,
                   r->weight_grad_norm, r->saturation, r->update_ratio);
        }
        printf("verdict: %s\n%s\n", tg_verdict_name(d.verdict), d.message);
        len = tg_diagnosis_json(&d, NULL, 0);
        if ((json = malloc(len + 1))) {
            tg_diagnosis_json(&d, json, len + 1);
            printf("{%s}\n", json);
            free(json);
        }
        tg_diagnosis_release(&d);
    }
    tg_monitor_set_free(ms);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static int bench(const tg_dataset *ds, int rounds)
{
    double none[16], with[16], none_cpu[16], with_cpu[16], mn, mw, cn, cw;
    int i;
    if (rounds < 1 || rounds > 16)
        rounds = 3;
    for (i = 0; i < rounds; ++i) {
        if (run(ds, 0, 0, NULL, &none[i], &none_cpu[i]) ||
            run(ds, 0, 200, NULL, &with[i], &with_cpu[i]))
            return 1;
        printf("round %d: no monitors %.1f steps/s (%.1f per CPU s), monitors at period 200 "
               "%.1f (%.1f)\n", i + 1, none[i], none_cpu[i], with[i], with_cpu[i]);
    }
    mn = median(none, rounds);
    mw = median(with, rounds);
    cn = median(none_cpu, rounds);
    cw = median(with_cpu, rounds);
    printf("median steps/s: wall %.1f without, %.1f with (overhead %.1f%%); CPU %.1f without, "
           "%.1f with (overhead %.1f%%)\n", mn, mw, 100.0 * (mn / mw - 1.0), cn, cw,
           100.0 * (cn / cw - 1.0));
    return 0;
}

int main(int argc, char **argv)
{
    const int is_bench = argc >= 3 && !strcmp(argv[1], "--bench");
    const char *data = is_bench ? argv[2] : argv[1];
    tg_dataset ds;
    int rc;
    if (!(is_bench && argc <= 4) && !(!is_bench && argc == 3)) {
        fprintf(stderr, "usage: monitor_deep16 DATA_DIR OUTDIR\n"
                        "       monitor_deep16 --bench DATA_DIR [ROUNDS]\n");
        return 2;
    }
    if (tg_mnist_load(data, "train", &ds) != TG_OK)
        return fail("data");
    if (tg_dataset_shift(&ds, tg_dataset_mean(&ds)) != TG_OK) {
        tg_dataset_release(&ds);
        return fail("centre");
    }
    if (is_bench) {
        rc = bench(&ds, argc == 4 ? atoi(argv[3]) : 3);
    } else {
        mkdir(argv[2], 0777);
        rc = study(&ds, 0, argv[2]) || study(&ds, 1, argv[2]);
    }
    tg_dataset_release(&ds);
    return rc;
}
