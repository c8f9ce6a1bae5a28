/*
 * loss.c -- losses: ops with a scalar output [] and a tg_reduce_arg (sum over the batch, or its
 * mean; the mean when the node has no args).
 *
 * softmax_xent  logits x [B,C], target t [B,C] (probabilities, one-hot) or [B] (labels c_b):
 *               per row, with m = max_j x_j and ls = ln sum_j e^(x_j - m),
 *               log p_j = (x_j - m) - ls,   loss_b = -sum_j t_j log p_j  (= -log p_{c_b})
 *               dx_j = dy (p_j sum_k t_k - t_j) (/ B for the mean); no gradient into t.
 *               Computed from log-softmax, so an underflowing true-class probability gives a
 *               large finite loss (about the logit gap), never -log 0; terms with t_j = 0 are
 *               skipped, so a masked (-inf) logit with no target mass costs nothing.
 * mse           y = sum_i (p_i - t_i)^2 (/ N for the mean over all N elements)
 *               dp = 2 dy (p - t) (/ N);  dt = -dp
 * Row statistics (m, ls) of softmax_xent sit in scratch ([B,2] floats) between forward and
 * backward.
 */
#include <math.h>
#include <string.h>
#include "ops_internal.h"

/* The node's reduction (the mean without args); reduce_check has accepted it in shape(). */
static tg_reduce node_reduce(const tg_node *n)
{
    return n->args ? ((const tg_reduce_arg *)n->args)->reduce : TG_REDUCE_MEAN;
}

static tg_status reduce_check(const tg_node *n)
{
    tg_reduce r = node_reduce(n);
    if (r != TG_REDUCE_SUM && r != TG_REDUCE_MEAN)
        return tg_error_set(TG_ERR_ARG, "%s: reduce is %d; use TG_REDUCE_SUM or TG_REDUCE_MEAN",
                            n->op->name, (int)r);
    return TG_OK;
}

/* ---- softmax_xent ----------------------------------------------------------------------- */
static int has_labels(const tg_node *n)
{
    return n->in[1]->rank == 1;
}

/* The class of row b of a label target: TG_ERR_RANGE unless an integer in 0..C-1. The range
 * is tested on the float first, so NaN or a huge label never reaches the int conversion. */
static tg_status label_at(const tg_tensor *t, int b, int C, int *c)
{
    const float v = t->data[b];
    if (!(v >= 0.0f && v <= (float)(C - 1)))
        return tg_error_set(TG_ERR_RANGE, "softmax_xent: label %g at row %d outside 0..%d",
                            (double)v, b, C - 1);
    *c = (int)v;
    if ((float)*c != v)
        return tg_error_set(TG_ERR_RANGE, "softmax_xent: label %g at row %d is not an integer "
                            "class 0..%d", (double)v, b, C - 1);
    return TG_OK;
}

static tg_status xent_shape(tg_node *n)
{
    const tg_tensor *x = n->in[0], *t = n->in[1];
    char dx[TGI_DESC_LEN], dt[TGI_DESC_LEN];
    tg_status s = reduce_check(n);
    if (s != TG_OK)
        return s;
    if (x->rank != 2)
        return tg_error_set(TG_ERR_SHAPE, "softmax_xent: logits %s must be [B,C]",
                            tgi_desc(x, dx));
    if (!tgi_same_shape(x, t) && !(t->rank == 1 && t->shape[0] == x->shape[0]))
        return tg_error_set(TG_ERR_SHAPE, "softmax_xent: target %s must be [%d,%d] "
                            "(probabilities) or [%d] (labels) for logits %s", tgi_desc(t, dt),
                            x->shape[0], x->shape[1], x->shape[0], tgi_desc(x, dx));
    if ((s = tg_node_scratch(n, (size_t)x->shape[0] * 2 * sizeof(float))) != TG_OK)
        return s;
    return tg_node_set_shape(n, 0, NULL);
}

static tg_status xent_forward(tg_node *n)
{
    const tg_tensor *x = n->in[0], *t = n->in[1];
    const int B = x->shape[0], C = x->shape[1];
    float *stat = n->scratch; /* [B,2]: m, ls */
    double total = 0;
    int b, j, c;
    tg_status s;
    for (b = 0; b < B && has_labels(n); ++b) /* all labels first: no half-computed loss */
        if ((s = label_at(t, b, C, &c)) != TG_OK)
            return s;
    for (b = 0; b < B; ++b) {
        const float *xb = x->data + (size_t)b * C;
        float m = xb[0];
        double sum = 0, ls;
        for (j = 1; j < C; ++j)
            m = xb[j] > m ? xb[j] : m;
        for (j = 0; j < C; ++j)
            sum += expf(xb[j] - m);
        ls = log(sum);
        stat[2 * b] = m;
        stat[2 * b + 1] = (float)ls;
        if (has_labels(n)) {
            c = (int)t->data[b]; /* checked above */
            total += ls - ((double)xb[c] - m);
        } else {
            const float *tb = t->data + (size_t)b * C;
            for (j = 0; j < C; ++j)
                if (tb[j] != 0.0f)
                    total -= tb[j] * (((double)xb[j] - m) - ls);
        }
    }
    n->out->data[0] = (float)(node_reduce(n) == TG_REDUCE_MEAN ? total / B : total);
    return TG_OK;
}

/* Per row: dx_j = scale p_j T - scale t_j, T = sum_k t_k (1 for a label): the first term
 * assigned or added over the row, the second subtracted after. */
static tg_status xent_backward(tg_node *n)
{
    const tg_tensor *x = n->in[0], *t = n->in[1];
    const int B = x->shape[0], C = x->shape[1];
    const float *stat = n->scratch;
    float *dx = x->grad, scale = n->out->grad[0];
    int b, j, c;
    tg_status s;
    if (t->grad && !n->accum[1])
        memset(t->grad, 0, t->size * sizeof(float));
    if (!dx)
        return TG_OK;
    if (node_reduce(n) == TG_REDUCE_MEAN)
        scale /= (float)B;
    for (b = 0; b < B; ++b) {
        const float *xb = x->data + (size_t)b * C, m = stat[2 * b], ls = stat[2 * b + 1];
        const float *tb = has_labels(n) ? NULL : t->data + (size_t)b * C;
        float *db = dx + (size_t)b * C, st = scale;
        if (tb) {
            double ts = 0;
            for (j = 0; j < C; ++j)
                ts += tb[j];
            st = (float)(scale * ts);
        } else if ((s = label_at(t, b, C, &c)) != TG_OK) {
            return s; /* labels changed in place since the forward */
        }
        if (n->accum[0]) {
            for (j = 0; j < C; ++j)
                db[j] += st * expf((xb[j] - m) - ls);
        } else {
            for (j = 0; j < C; ++j)
                db[j] = st * expf((xb[j] - m) - ls);
        }
        if (tb) {
            TGI_IVDEP for (j = 0; j < C; ++j)
                db[j] -= scale * tb[j];
        } else {
            db[c] -= scale;
        }
    }
    return TG_OK;
}

const tg_op_def tg_op_softmax_xent = { "softmax_xent", 2, TG_OP_GRAD_ASSIGN, xent_shape,
                                       xent_forward, xent_backward,
    sizeof(tg_reduce_arg) };

tg_tensor *tg_softmax_xent(tg_graph *g, tg_tensor *logits, tg_tensor *target, tg_reduce reduce)
{
    tg_reduce_arg a = { reduce };
    return TGI_APPLY2A(g, tg_op_softmax_xent, logits, target, &a);
}

/* ---- mse -------------------------------------------------------------------------------- */
static tg_status mse_shape(tg_node *n)
{
    const tg_tensor *p = n->in[0], *t = n->in[1];
    char dp[TGI_DESC_LEN], dt[TGI_DESC_LEN];
    tg_status s = reduce_check(n);
    if (s != TG_OK)
        return s;
    if (!tgi_same_shape(p, t))
        return tg_error_set(TG_ERR_SHAPE, "mse: pred %s and target %s must have the same shape",
                            tgi_desc(p, dp), tgi_desc(t, dt));
    return tg_node_set_shape(n, 0, NULL);
}

static tg_status mse_forward(tg_node *n)
{
    const float *p = n->in[0]->data, *t = n->in[1]->data;
    size_t i, N = n->in[0]->size;
    double s = 0;
    for (i = 0; i < N; ++i)
        s += ((double)p[i] - t[i]) * ((double)p[i] - t[i]);
    n->out->data[0] = (float)(node_reduce(n) == TG_REDUCE_MEAN ? s / (double)N : s);
    return TG_OK;
}

/* g (+)= c (p - t) */
static void mse_grad(const tg_node *n, int k, float c)
{
    const float *p = n->in[0]->data, *t = n->in[1]->data;
    float *g = n->in[k]->grad;
    size_t i, N = n->in[0]->size;
    if (!g)
        return;
    if (n->accum[k]) {
        TGI_IVDEP for (i = 0; i < N; ++i)
            g[i] += c * (p[i] - t[i]);
    } else {
        TGI_IVDEP for (i = 0; i < N; ++i)
            g[i] = c * (p[i] - t[i]);
    }
}

static tg_status mse_backward(tg_node *n)
{
    float c = 2.0f * n->out->grad[0];
    if (node_reduce(n) == TG_REDUCE_MEAN)
        c = (float)(c / (double)n->in[0]->size);
    mse_grad(n, 0, c);
    mse_grad(n, 1, -c);
    return TG_OK;
}

const tg_op_def tg_op_mse = { "mse", 2, TG_OP_GRAD_ASSIGN, mse_shape, mse_forward,
                              mse_backward,
    sizeof(tg_reduce_arg) };

tg_tensor *tg_mse(tg_graph *g, tg_tensor *pred, tg_tensor *target, tg_reduce reduce)
{
    tg_reduce_arg a = { reduce };
    return TGI_APPLY2A(g, tg_op_mse, pred, target, &a);
}
