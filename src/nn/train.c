/*
 * train.c -- the training loop over a batch source, predict and accuracy.
 *
 * A step: next batch -> bind x [B,I] and the target ([B] labels or [B,C] one-hot, as the loss
 * wants) -> forward (numerics checked) -> loss finite? -> backward -> optimiser step (fused
 * into backward by the net graph for plain SGD: tgi_net_graph_backward_step). Any failure
 * before the optimiser step leaves the parameters as they were. The loop knows nothing about
 * monitors: they are hooks on the graph's tensors. Losses are summed in double.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "../ops/ops_internal.h"

tg_train_opts tg_train_defaults(void)
{
    tg_train_opts o;
    memset(&o, 0, sizeof o);
    o.check_numerics = 1;
    return o;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Re-issue the last error as "train: step S (epoch E): <message>; parameters not updated". */
static tg_status step_error(tg_status s, long step, long epoch)
{
    char msg[900];
    snprintf(msg, sizeof msg, "%s", tg_last_status() == s ? tg_last_error() : tg_strerror(s));
    return tg_error_set(s, "train: step %ld (epoch %ld): %s; parameters not updated", step,
                        epoch, msg);
}

/* One step on batch b: forward, loss check, backward, update. *loss gets the loss. */
static tg_status train_step(tg_net_graph *ng, tg_optim *opt, const tg_batch *b, long step,
                            double *loss)
{
    tg_graph *g = tg_net_graph_tape(ng);
    tg_tensor *lt = tg_net_graph_loss(ng);
    const tg_loss *ld = tg_net_graph_loss_def(ng);
    float *y = ld->target == TG_TARGET_LABELS ? b->labels : b->onehot;
    tg_status s;
    if (b->n != (size_t)tg_net_graph_batch(ng))
        return tg_error_set(TG_ERR_SHAPE, "train: step %ld: batch of %zu rows for a graph of "
                            "batch %d (drop the last partial batch)", step, b->n,
                            tg_net_graph_batch(ng));
    if (!b->x || !y)
        return tg_error_set(TG_ERR_ARG, "train: step %ld: the batch has no %s", step,
                            !b->x ? "x" : ld->target == TG_TARGET_LABELS ? "labels"
                            : "one-hot targets");
    if ((s = tg_net_graph_bind(ng, b->x, y)) != TG_OK)
        return s;
    tg_graph_set_step(g, step, b->epoch);
    if ((s = tg_graph_forward(g)) != TG_OK)
        return step_error(s, step, b->epoch);
    *loss = lt->data[0];
    if (!isfinite(*loss))
        return tg_error_set(TG_ERR_NONFINITE, "train: step %ld (epoch %d): loss '%s' is %g; "
                            "parameters not updated (numerics checking names the first op)",
                            step, b->epoch, lt->name, *loss);
    if ((s = tgi_net_graph_backward_step(ng, opt)) != TG_OK)
        return step_error(s, step, b->epoch);
    return TG_OK;
}

tg_status tg_train(tg_net_graph *ng, tg_optim *opt, tg_batch_fn next, void *src,
                   const tg_train_opts *opts, tg_train_result *res)
{
    tg_train_opts o = opts ? *opts : tg_train_defaults();
    tg_train_result r;
    double t0 = now_s(), epoch_sum = 0.0;
    long epoch_n = 0, cur_epoch = -1;
    const uint64_t flush_prev = tgi_flush_save();
    tg_status s = TG_OK;

    memset(&r, 0, sizeof r);
    if (!ng || !opt || !next)
        s = tg_error_set(TG_ERR_ARG, "train: %s is NULL", !ng ? "graph" : !opt ? "optimiser"
                         : "batch source");
    else if (!tg_net_graph_loss(ng))
        s = tg_error_set(TG_ERR_STATE, "train: the graph was built without a loss");
    else if (o.max_epochs < 0 || o.max_steps < 0)
        s = tg_error_set(TG_ERR_ARG, "train: max_epochs %ld and max_steps %ld must be >= 0",
                         o.max_epochs, o.max_steps);
    else if (o.flush_subnormals)
        s = tg_set_flush_subnormals(1);
    if (s == TG_OK)
        tg_graph_set_check_numerics(tg_net_graph_tape(ng), o.check_numerics);

    while (s == TG_OK && (!o.max_steps || r.steps < o.max_steps)) {
        long step = tg_optim_steps(opt);
        double loss = 0.0;
        tg_batch b;
        memset(&b, 0, sizeof b);
        if ((s = next(src, &b)) != TG_OK || !b.n || (o.max_epochs && b.epoch >= o.max_epochs))
            break;
        if ((s = train_step(ng, opt, &b, step, &loss)) != TG_OK)
            break;
        if (b.epoch != cur_epoch) {
            cur_epoch = b.epoch;
            epoch_sum = 0.0;
            epoch_n = 0;
        }
        epoch_sum += loss;
        r.epoch_loss = epoch_sum / (double)++epoch_n;
        r.steps++;
        r.epoch = b.epoch;
        r.loss = loss;
        if (o.progress) {
            double dt = now_s() - t0;
            tg_train_progress p = { step, b.epoch, loss, dt > 0 ? (double)r.steps / dt : 0.0,
                                    o.max_steps, o.max_epochs };
            tg_error_clear();
            if ((s = o.progress(&p, o.progress_user)) != TG_OK && tg_last_status() == TG_OK)
                tg_error_set(s, "train: the progress callback stopped training at step %ld",
                             step);
        }
    }
    r.seconds = now_s() - t0;
    if (o.flush_subnormals)
        tgi_flush_restore(flush_prev);
    if (res)
        *res = r;
    return s;
}

static tg_status pipeline_next(void *p, tg_batch *b)
{
    return tg_pipeline_next(p, b);
}

tg_status tg_train_pipeline(tg_net_graph *ng, tg_optim *opt, tg_pipeline *p,
                            const tg_train_opts *opts, tg_train_result *res)
{
    tg_net *net = tg_net_graph_net(ng);
    if (!ng || !p || !p->ds)
        return tg_error_set(TG_ERR_ARG, "train_pipeline: %s is NULL", !ng ? "graph" : "pipeline");
    if (p->ds->n_features != tg_net_n_inputs(net))
        return tg_error_set(TG_ERR_MISMATCH, "train_pipeline: data set rows have %d features, "
                            "the net takes %d inputs", p->ds->n_features, tg_net_n_inputs(net));
    if (p->opts.batch != (size_t)tg_net_graph_batch(ng))
        return tg_error_set(TG_ERR_SHAPE, "train_pipeline: pipeline batch %zu, graph batch %d",
                            p->opts.batch, tg_net_graph_batch(ng));
    if (tg_net_graph_loss_def(ng) && tg_net_graph_loss_def(ng)->target == TG_TARGET_ONEHOT &&
        p->ds->n_classes != tg_net_n_outputs(net))
        return tg_error_set(TG_ERR_MISMATCH, "train_pipeline: %d classes in the data set, %d "
                            "net outputs for one-hot targets", p->ds->n_classes,
                            tg_net_n_outputs(net));
    return tg_train(ng, opt, pipeline_next, p, opts, res);
}

/* ---- predict and accuracy ------------------------------------------------------------ */
tg_status tg_net_predict(tg_net_graph *ng, const float *x, size_t n, float *logits,
                         int *classes)
{
    tg_net *net = tg_net_graph_net(ng);
    tg_tensor *out = tg_net_graph_output(ng);
    size_t B, I, C, r, i;
    float *pad = NULL;
    tg_status s = TG_OK;
    if (!ng || (!x && n))
        return tg_error_set(TG_ERR_ARG, "predict: %s is NULL", !ng ? "graph" : "x");
    B = (size_t)tg_net_graph_batch(ng);
    I = (size_t)tg_net_n_inputs(net);
    C = (size_t)tg_net_n_outputs(net);
    for (r = 0; r < n && s == TG_OK; r += B) {
        size_t m = n - r < B ? n - r : B;
        float *xb = (float *)(x + r * I); /* bound read-only: the graph never writes inputs */
        if (m < B) {
            pad = tgi_calloc(B * I, sizeof *pad);
            if (!pad)
                return tg_error_set(TG_ERR_NOMEM, "predict: out of memory for a padded batch "
                                    "[%zu,%zu]", B, I);
            memcpy(pad, xb, m * I * sizeof *pad);
            xb = pad;
        }
        if ((s = tg_net_graph_bind(ng, xb, NULL)) != TG_OK ||
            (s = tg_graph_forward_to(tg_net_graph_tape(ng), out)) != TG_OK)
            break;
        for (i = 0; i < m; ++i) {
            const float *row = out->data + i * C;
            size_t c, best = 0;
            for (c = 0; c < C; ++c) {
                if (!isfinite(row[c])) {
                    s = tg_error_set(TG_ERR_NONFINITE, "predict: row %zu: output %zu is %g",
                                     r + i, c, (double)row[c]);
                    break;
                }
                if (row[c] > row[best])
                    best = c;
            }
            if (s != TG_OK)
                break;
            if (logits)
                memcpy(logits + (r + i) * C, row, C * sizeof *row);
            if (classes)
                classes[r + i] = (int)best;
        }
    }
    tg_tensor_bind(tg_net_graph_input(ng), NULL); /* x and pad are not ours to keep */
    tgi_free(pad);
    return s;
}

tg_status tg_net_accuracy(tg_net_graph *ng, const float *x, const uint8_t *labels, size_t n,
                          double *acc)
{
    size_t i, right = 0;
    int *cls;
    tg_status s;
    if (!ng || !x || !labels || !acc || !n)
        return tg_error_set(TG_ERR_ARG, "accuracy: %s", !n ? "no rows (n = 0)"
                            : "graph, x, labels or acc is NULL");
    cls = tgi_calloc(n, sizeof *cls);
    if (!cls)
        return tg_error_set(TG_ERR_NOMEM, "accuracy: out of memory for %zu classes", n);
    s = tg_net_predict(ng, x, n, NULL, cls);
    for (i = 0; s == TG_OK && i < n; ++i)
        right += cls[i] == (int)labels[i];
    tgi_free(cls);
    if (s == TG_OK)
        *acc = (double)right / (double)n;
    return s;
}

tg_status tg_net_accuracy_dataset(tg_net_graph *ng, const tg_dataset *ds, double *acc)
{
    if (!ng || !ds)
        return tg_error_set(TG_ERR_ARG, "accuracy: %s is NULL", !ng ? "graph" : "data set");
    if (ds->n_features != tg_net_n_inputs(tg_net_graph_net(ng)))
        return tg_error_set(TG_ERR_MISMATCH, "accuracy: data set rows have %d features, the "
                            "net takes %d inputs", ds->n_features,
                            tg_net_n_inputs(tg_net_graph_net(ng)));
    return tg_net_accuracy(ng, ds->x, ds->labels, ds->n, acc);
}
