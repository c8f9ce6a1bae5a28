/*
 * softmax.c -- softmax and log-softmax along the last axis: x viewed as [R, L] rows, L the last
 * dim (1 for a scalar).
 *
 * softmax      y_j = e^(x_j - m) / s,  m = max_j x_j,  s = sum_j e^(x_j - m)
 *              dx_j = y_j (dy_j - sum_k dy_k y_k)
 * log_softmax  y_j = x_j - m - ln s
 *              dx_j = dy_j - e^(y_j) sum_k dy_k
 * Subtracting the max keeps every exponent <= 0: no overflow at any logit, s >= 1, and a -inf
 * (masked) logit gives an exact 0 (log-softmax -inf) with a finite gradient.
 */
#include <math.h>
#include <string.h>
#include "ops_internal.h"

static size_t row_len(const tg_tensor *x)
{
    return x->rank ? (size_t)x->shape[x->rank - 1] : 1;
}

/* m = max_j x_j of a row of L */
static float row_max(const float *x, size_t L)
{
    float m = x[0];
    size_t j;
    for (j = 1; j < L; ++j)
        m = x[j] > m ? x[j] : m;
    return m;
}

/* s = sum_j e^(x_j - m) in double, with each e^(x_j - m) stored in e[j] */
static double row_exp_sum(const float *x, size_t L, float m, float *e)
{
    double s = 0;
    size_t j;
    for (j = 0; j < L; ++j) {
        e[j] = expf(x[j] - m);
        s += e[j];
    }
    return s;
}

/* ---- softmax ------------------------------------------------------------------------------ */
static tg_status softmax_forward(tg_node *n)
{
    const float *x = n->in[0]->data;
    float *y = n->out->data;
    size_t L = row_len(n->in[0]), R = n->out->size / L, r, j;
    for (r = 0; r < R; ++r) {
        const float *xr = x + r * L;
        float *yr = y + r * L;
        const float inv = (float)(1.0 / row_exp_sum(xr, L, row_max(xr, L), yr));
        TGI_IVDEP for (j = 0; j < L; ++j)
            yr[j] *= inv;
    }
    return TG_OK;
}

static tg_status softmax_backward(tg_node *n)
{
    const float *y = n->out->data, *dy = n->out->grad;
    float *dx = n->in[0]->grad;
    size_t L = row_len(n->in[0]), R = n->out->size / L, r, j;
    if (!dx)
        return TG_OK;
    for (r = 0; r < R; ++r) {
        const float *yr = y + r * L, *dyr = dy + r * L;
        float *dxr = dx + r * L;
        double dot = 0;
        float d;
        for (j = 0; j < L; ++j)
            dot += (double)dyr[j] * yr[j];
        d = (float)dot;
        if (n->accum[0]) {
            TGI_IVDEP for (j = 0; j < L; ++j)
                dxr[j] += yr[j] * (dyr[j] - d);
        } else {
            TGI_IVDEP for (j = 0; j < L; ++j)
                dxr[j] = yr[j] * (dyr[j] - d);
        }
    }
    return TG_OK;
}

const tg_op_def tg_op_softmax = { "softmax", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same,
                                  softmax_forward, softmax_backward };

tg_tensor *tg_softmax(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_softmax, x);
}

/* ---- log_softmax: y = (x - m) - ln s, the exponentials parked in y first ----------------- */
static tg_status log_softmax_forward(tg_node *n)
{
    const float *x = n->in[0]->data;
    float *y = n->out->data;
    size_t L = row_len(n->in[0]), R = n->out->size / L, r, j;
    for (r = 0; r < R; ++r) {
        const float *xr = x + r * L;
        float *yr = y + r * L;
        const float m = row_max(xr, L);
        const float ls = (float)log(row_exp_sum(xr, L, m, yr));
        TGI_IVDEP for (j = 0; j < L; ++j)
            yr[j] = (xr[j] - m) - ls;
    }
    return TG_OK;
}

static tg_status log_softmax_backward(tg_node *n)
{
    const float *y = n->out->data, *dy = n->out->grad;
    float *dx = n->in[0]->grad;
    size_t L = row_len(n->in[0]), R = n->out->size / L, r, j;
    if (!dx)
        return TG_OK;
    for (r = 0; r < R; ++r) {
        const float *yr = y + r * L, *dyr = dy + r * L;
        float *dxr = dx + r * L;
        double sum = 0;
        float s;
        for (j = 0; j < L; ++j)
            sum += dyr[j];
        s = (float)sum;
        if (n->accum[0]) {
            for (j = 0; j < L; ++j)
                dxr[j] += dyr[j] - expf(yr[j]) * s;
        } else {
            for (j = 0; j < L; ++j)
                dxr[j] = dyr[j] - expf(yr[j]) * s;
        }
    }
    return TG_OK;
}

const tg_op_def tg_op_log_softmax = { "log_softmax", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same,
                                      log_softmax_forward, log_softmax_backward };

tg_tensor *tg_log_softmax(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_log_softmax, x);
}
