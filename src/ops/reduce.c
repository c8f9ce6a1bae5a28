/*
 * reduce.c -- reductions: sum and mean of every element (output [], rank 0), and sum, mean and
 * max along one axis, which is removed from the shape.
 *
 * sum       y = sum_i x_i                dx_i = dy
 * mean      y = sum_i x_i / N            dx_i = dy / N
 * Along an axis x is viewed as [P, A, Q] (P = dims before the axis, A = its length, Q = dims
 * after it) and y as [P, Q]:
 * sum_axis  y[p,q] = sum_a x[p,a,q]      dx[p,a,q] = dy[p,q]
 * mean_axis y[p,q] = sum_a x[p,a,q] / A  dx[p,a,q] = dy[p,q] / A
 * max_axis  y[p,q] = max_a x[p,a,q]      dx[p,a,q] = dy[p,q] at the first argmax a, else 0
 * The axis comes from a tg_axis_arg (negative counts from the end); without one it is the last.
 */
#include <string.h>
#include "ops_internal.h"

/* ---- sum and mean of everything ------------------------------------------------------- */
static tg_status all_shape(tg_node *n)
{
    return tg_node_set_shape(n, 0, NULL);
}

static double sum_all(const tg_tensor *x)
{
    const float *v = x->data;
    double s = 0;
    size_t i;
    for (i = 0; i < x->size; ++i)
        s += v[i];
    return s;
}

/* dx_i = c for every i, assigned or accumulated */
static void fill_grad(tg_node *n, float c)
{
    float *dx = n->in[0]->grad;
    size_t i, N = n->in[0]->size;
    if (!dx)
        return;
    if (n->accum[0]) {
        TGI_IVDEP for (i = 0; i < N; ++i)
            dx[i] += c;
    } else {
        TGI_IVDEP for (i = 0; i < N; ++i)
            dx[i] = c;
    }
}

static tg_status sum_forward(tg_node *n)
{
    n->out->data[0] = (float)sum_all(n->in[0]);
    return TG_OK;
}

static tg_status sum_backward(tg_node *n)
{
    fill_grad(n, n->out->grad[0]);
    return TG_OK;
}

const tg_op_def tg_op_sum = { "sum", 1, TG_OP_GRAD_ASSIGN, all_shape, sum_forward,
                              sum_backward };

tg_tensor *tg_sum(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_sum, x);
}

static tg_status mean_forward(tg_node *n)
{
    n->out->data[0] = (float)(sum_all(n->in[0]) / (double)n->in[0]->size);
    return TG_OK;
}

static tg_status mean_backward(tg_node *n)
{
    fill_grad(n, (float)(n->out->grad[0] / (double)n->in[0]->size));
    return TG_OK;
}

const tg_op_def tg_op_mean = { "mean", 1, TG_OP_GRAD_ASSIGN, all_shape, mean_forward,
                               mean_backward };

tg_tensor *tg_mean(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_mean, x);
}

/* ---- along one axis --------------------------------------------------------------------- */
typedef struct {
    size_t P, A, Q;
} axis_view;

/* The axis of n in 0..rank-1 (shape() has checked it). */
static int node_axis(const tg_node *n)
{
    int axis = n->args ? ((const tg_axis_arg *)n->args)->axis : -1;
    return axis < 0 ? axis + n->in[0]->rank : axis;
}

static axis_view view_of(const tg_node *n)
{
    const tg_tensor *x = n->in[0];
    int axis = node_axis(n), d;
    axis_view v = { 1, (size_t)x->shape[axis], 1 };
    for (d = 0; d < axis; ++d)
        v.P *= (size_t)x->shape[d];
    for (d = axis + 1; d < x->rank; ++d)
        v.Q *= (size_t)x->shape[d];
    return v;
}

static tg_status axis_shape(tg_node *n)
{
    const tg_tensor *x = n->in[0];
    int axis = n->args ? ((const tg_axis_arg *)n->args)->axis : -1, dims[TG_MAX_RANK], d, r = 0;
    char dx[TGI_DESC_LEN];
    if (x->rank < 1)
        return tg_error_set(TG_ERR_SHAPE, "%s: %s is a scalar; it has no axis to reduce",
                            n->op->name, tgi_desc(x, dx));
    if (axis < -x->rank || axis >= x->rank)
        return tg_error_set(TG_ERR_ARG, "%s: axis %d outside %d..%d for %s", n->op->name, axis,
                            -x->rank, x->rank - 1, tgi_desc(x, dx));
    axis = node_axis(n);
    for (d = 0; d < x->rank; ++d)
        if (d != axis)
            dims[r++] = x->shape[d];
    return tg_node_set_shape(n, r, dims);
}

/* y[p,q] = c sum_a x[p,a,q], accumulated row by row so the inner loop runs over q */
static void sum_along(tg_node *n, float c)
{
    const axis_view v = view_of(n);
    const float *x = n->in[0]->data;
    float *y = n->out->data;
    size_t p, a, q;
    memset(y, 0, v.P * v.Q * sizeof(float));
    for (p = 0; p < v.P; ++p) {
        float *yp = y + p * v.Q;
        for (a = 0; a < v.A; ++a) {
            const float *xa = x + (p * v.A + a) * v.Q;
            TGI_IVDEP for (q = 0; q < v.Q; ++q)
                yp[q] += xa[q];
        }
        if (c != 1.0f) {
            TGI_IVDEP for (q = 0; q < v.Q; ++q)
                yp[q] *= c;
        }
    }
}

/* dx[p,a,q] = c dy[p,q], assigned or accumulated */
static void spread_along(tg_node *n, float c)
{
    const axis_view v = view_of(n);
    const float *dy = n->out->grad;
    float *dx = n->in[0]->grad;
    size_t p, a, q;
    if (!dx)
        return;
    for (p = 0; p < v.P; ++p) {
        const float *dyp = dy + p * v.Q;
        for (a = 0; a < v.A; ++a) {
            float *dxa = dx + (p * v.A + a) * v.Q;
            if (n->accum[0]) {
                TGI_IVDEP for (q = 0; q < v.Q; ++q)
                    dxa[q] += c * dyp[q];
            } else {
                TGI_IVDEP for (q = 0; q < v.Q; ++q)
                    dxa[q] = c * dyp[q];
            }
        }
    }
}

static tg_status sum_axis_forward(tg_node *n)
{
    sum_along(n, 1.0f);
    return TG_OK;
}

static tg_status sum_axis_backward(tg_node *n)
{
    spread_along(n, 1.0f);
    return TG_OK;
}

const tg_op_def tg_op_sum_axis = { "sum_axis", 1, TG_OP_GRAD_ASSIGN, axis_shape,
                                   sum_axis_forward, sum_axis_backward,
    sizeof(tg_axis_arg) };

tg_tensor *tg_sum_axis(tg_graph *g, tg_tensor *x, int axis)
{
    tg_axis_arg a = { axis };
    return TGI_APPLY1A(g, tg_op_sum_axis, x, &a);
}

static tg_status mean_axis_forward(tg_node *n)
{
    sum_along(n, 1.0f / (float)view_of(n).A);
    return TG_OK;
}

static tg_status mean_axis_backward(tg_node *n)
{
    spread_along(n, 1.0f / (float)view_of(n).A);
    return TG_OK;
}

const tg_op_def tg_op_mean_axis = { "mean_axis", 1, TG_OP_GRAD_ASSIGN, axis_shape,
                                    mean_axis_forward, mean_axis_backward,
    sizeof(tg_axis_arg) };

tg_tensor *tg_mean_axis(tg_graph *g, tg_tensor *x, int axis)
{
    tg_axis_arg a = { axis };
    return TGI_APPLY1A(g, tg_op_mean_axis, x, &a);
}

/* ---- max_axis: scratch holds the argmax a of each output element ([P,Q] ints) --------- */
static tg_status max_axis_shape(tg_node *n)
{
    tg_status s = axis_shape(n);
    if (s != TG_OK)
        return s;
    return tg_node_scratch(n, n->out->size * sizeof(int));
}

static tg_status max_axis_forward(tg_node *n)
{
    const axis_view v = view_of(n);
    const float *x = n->in[0]->data;
    float *y = n->out->data;
    int *arg = n->scratch;
    size_t p, a, q;
    for (p = 0; p < v.P; ++p) {
        float *yp = y + p * v.Q;
        int *ap = arg + p * v.Q;
        memcpy(yp, x + p * v.A * v.Q, v.Q * sizeof(float));
        memset(ap, 0, v.Q * sizeof(int));
        for (a = 1; a < v.A; ++a) {
            const float *xa = x + (p * v.A + a) * v.Q;
            for (q = 0; q < v.Q; ++q) {
                /* strictly greater keeps the first argmax; the first NaN wins and stays */
                if (xa[q] > yp[q] || (xa[q] != xa[q] && yp[q] == yp[q])) {
                    yp[q] = xa[q];
                    ap[q] = (int)a;
                }
            }
        }
    }
    return TG_OK;
}

static tg_status max_axis_backward(tg_node *n)
{
    const axis_view v = view_of(n);
    const float *dy = n->out->grad;
    const int *arg = n->scratch;
    float *dx = n->in[0]->grad;
    size_t p, q;
    if (!dx)
        return TG_OK;
    if (!n->accum[0])
        memset(dx, 0, n->in[0]->size * sizeof(float));
    for (p = 0; p < v.P; ++p)
        for (q = 0; q < v.Q; ++q)
            dx[(p * v.A + (size_t)arg[p * v.Q + q]) * v.Q + q] += dy[p * v.Q + q];
    return TG_OK;
}

const tg_op_def tg_op_max_axis = { "max_axis", 1, TG_OP_GRAD_ASSIGN, max_axis_shape,
                                   max_axis_forward, max_axis_backward,
    sizeof(tg_axis_arg) };

tg_tensor *tg_max_axis(tg_graph *g, tg_tensor *x, int axis)
{
    tg_axis_arg a = { axis };
    return TGI_APPLY1A(g, tg_op_max_axis, x, &a);
}
