/*
 * shape.c -- ops that move values without arithmetic: reshape, transpose, concat, slice_rows.
 *
 * reshape     y = x with new dims (same element count)       dx = dy
 * transpose   y[j,i] = x[i,j]: [M,N] -> [N,M]                 dx[i,j] = dy[j,i]
 * concat      y = [x_0 | x_1 | ...] along an axis             dx_k = the block of dy from x_k
 * slice_rows  y = x[start:end] along axis 0                   dx = dy in those rows, 0 elsewhere
 * Along an axis a tensor is viewed as [P, A, Q] (dims before, the axis, dims after): concat
 * copies, for each p, a block of A_k Q floats per input. reshape and slice_rows need their
 * argument struct; concat's axis defaults to 0.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "ops_internal.h"

/* "[7,9]" */
static const char *dims_str(char *buf, size_t len, int rank, const int *dims)
{
    size_t off = (size_t)snprintf(buf, len, "[");
    int d;
    for (d = 0; d < rank && off < len; ++d)
        off += (size_t)snprintf(buf + off, len - off, d ? ",%d" : "%d", dims[d]);
    if (off < len)
        snprintf(buf + off, len - off, "]");
    return buf;
}

/* dx = or += dy over N floats, as n->accum[k] says */
static void grad_copy(const tg_node *n, int k, float *dx, const float *dy, size_t N)
{
    size_t i;
    if (n->accum[k]) {
        TGI_IVDEP for (i = 0; i < N; ++i)
            dx[i] += dy[i];
    } else {
        memcpy(dx, dy, N * sizeof(float));
    }
}

/* ---- reshape ---------------------------------------------------------------------------- */
static tg_status reshape_shape(tg_node *n)
{
    const tg_reshape_args *a = n->args;
    const tg_tensor *x = n->in[0];
    char dx[TGI_DESC_LEN], ds[64];
    size_t count = 1;
    int d;
    if (!a)
        return tg_error_set(TG_ERR_ARG, "reshape: needs tg_reshape_args (the new shape)");
    if (a->rank < 0 || a->rank > TG_MAX_RANK)
        return tg_error_set(TG_ERR_SHAPE, "reshape: rank %d outside 0..%d (reshaping %s)",
                            a->rank, TG_MAX_RANK, tgi_desc(x, dx));
    for (d = 0; d < a->rank; ++d) {
        if (a->dims[d] <= 0)
            return tg_error_set(TG_ERR_SHAPE, "reshape: dim %d of %s is %d (reshaping %s)", d,
                                dims_str(ds, sizeof ds, a->rank, a->dims), a->dims[d],
                                tgi_desc(x, dx));
        if (!tgi_mul_size(count, (size_t)a->dims[d], &count))
            return tg_error_set(TG_ERR_OVERFLOW, "reshape: element count of %s overflows",
                                dims_str(ds, sizeof ds, a->rank, a->dims));
    }
    if (count != x->size)
        return tg_error_set(TG_ERR_SHAPE, "reshape: %zu elements to %s=%zu (reshaping %s)",
                            x->size, dims_str(ds, sizeof ds, a->rank, a->dims), count,
                            tgi_desc(x, dx));
    return tg_node_set_shape(n, a->rank, a->dims);
}

static tg_status reshape_forward(tg_node *n)
{
    memcpy(n->out->data, n->in[0]->data, n->out->size * sizeof(float));
    return TG_OK;
}

static tg_status reshape_backward(tg_node *n)
{
    if (n->in[0]->grad)
        grad_copy(n, 0, n->in[0]->grad, n->out->grad, n->out->size);
    return TG_OK;
}

const tg_op_def tg_op_reshape = { "reshape", 1, TG_OP_GRAD_ASSIGN, reshape_shape,
                                  reshape_forward, reshape_backward,
    sizeof(tg_reshape_args) };

tg_tensor *tg_reshape(tg_graph *g, tg_tensor *x, int rank, const int *dims)
{
    tg_reshape_args a = { rank, { 1, 1, 1, 1 } };
    int d;
    if (rank > 0 && !dims) {
        tg_error_set(TG_ERR_ARG, "reshape: dims is NULL for rank %d", rank);
        return NULL;
    }
    for (d = 0; d < rank && d < TG_MAX_RANK; ++d)
        a.dims[d] = dims[d];
    return TGI_APPLY1A(g, tg_op_reshape, x, &a);
}

/* ---- transpose -------------------------------------------------------------------------- */
static tg_status transpose_shape(tg_node *n)
{
    const tg_tensor *x = n->in[0];
    char dx[TGI_DESC_LEN];
    if (x->rank != 2)
        return tg_error_set(TG_ERR_SHAPE, "transpose: %s must be 2-D", tgi_desc(x, dx));
    return tg_node_set_shape(n, 2, (const int[]){ x->shape[1], x->shape[0] });
}

static tg_status transpose_forward(tg_node *n)
{
    const float *x = n->in[0]->data;
    float *y = n->out->data;
    size_t M = (size_t)n->in[0]->shape[0], N = (size_t)n->in[0]->shape[1], i, j;
    for (j = 0; j < N; ++j) {
        TGI_IVDEP for (i = 0; i < M; ++i)
            y[j * M + i] = x[i * N + j];
    }
    return TG_OK;
}

static tg_status transpose_backward(tg_node *n)
{
    const float *dy = n->out->grad;
    float *dx = n->in[0]->grad;
    size_t M = (size_t)n->in[0]->shape[0], N = (size_t)n->in[0]->shape[1], i, j;
    if (!dx)
        return TG_OK;
    for (i = 0; i < M; ++i) {
        if (n->accum[0]) {
            TGI_IVDEP for (j = 0; j < N; ++j)
                dx[i * N + j] += dy[j * M + i];
        } else {
            TGI_IVDEP for (j = 0; j < N; ++j)
                dx[i * N + j] = dy[j * M + i];
        }
    }
    return TG_OK;
}

const tg_op_def tg_op_transpose = { "transpose", 1, TG_OP_GRAD_ASSIGN, transpose_shape,
                                    transpose_forward, transpose_backward };

tg_tensor *tg_transpose(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_transpose, x);
}

/* ---- concat ------------------------------------------------------------------------------- */
static int concat_axis(const tg_node *n)
{
    int axis = n->args ? ((const tg_axis_arg *)n->args)->axis : 0;
    return axis < 0 ? axis + n->in[0]->rank : axis;
}

/* P (dims before the axis) and Q (dims after it) of the output */
static void concat_pq(const tg_node *n, size_t *P, size_t *Q)
{
    int axis = concat_axis(n), d;
    *P = *Q = 1;
    for (d = 0; d < axis; ++d)
        *P *= (size_t)n->out->shape[d];
    for (d = axis + 1; d < n->out->rank; ++d)
        *Q *= (size_t)n->out->shape[d];
}

static tg_status concat_shape(tg_node *n)
{
    const tg_tensor *x0 = n->in[0];
    int axis = n->args ? ((const tg_axis_arg *)n->args)->axis : 0, dims[TG_MAX_RANK], d, k;
    long total = 0;
    char da[TGI_DESC_LEN], db[TGI_DESC_LEN];
    if (x0->rank < 1)
        return tg_error_set(TG_ERR_SHAPE, "concat: input 0 %s is a scalar; it has no axis",
                            tgi_desc(x0, da));
    if (axis < -x0->rank || axis >= x0->rank)
        return tg_error_set(TG_ERR_ARG, "concat: axis %d outside %d..%d for input 0 %s", axis,
                            -x0->rank, x0->rank - 1, tgi_desc(x0, da));
    axis = concat_axis(n);
    for (k = 0; k < n->n_in; ++k) {
        const tg_tensor *x = n->in[k];
        int ok = x->rank == x0->rank;
        for (d = 0; ok && d < x0->rank; ++d)
            ok = d == axis || x->shape[d] == x0->shape[d];
        if (!ok)
            return tg_error_set(TG_ERR_SHAPE, "concat: input %d %s does not match input 0 %s "
                                "outside axis %d", k, tgi_desc(x, da), tgi_desc(x0, db), axis);
        total += x->shape[axis];
    }
    if (total > INT_MAX)
        return tg_error_set(TG_ERR_OVERFLOW, "concat: axis %d would have %ld entries", axis,
                            total);
    for (d = 0; d < x0->rank; ++d)
        dims[d] = d == axis ? (int)total : x0->shape[d];
    return tg_node_set_shape(n, x0->rank, dims);
}

static tg_status concat_forward(tg_node *n)
{
    int axis = concat_axis(n), k;
    size_t P, Q, p, row, off = 0;
    concat_pq(n, &P, &Q);
    row = (size_t)n->out->shape[axis] * Q;
    for (k = 0; k < n->n_in; ++k) {
        const tg_tensor *x = n->in[k];
        size_t len = (size_t)x->shape[axis] * Q; /* floats of x_k per p */
        for (p = 0; p < P; ++p)
            memcpy(n->out->data + p * row + off, x->data + p * len, len * sizeof(float));
        off += len;
    }
    return TG_OK;
}

static tg_status concat_backward(tg_node *n)
{
    int axis = concat_axis(n), k;
    size_t P, Q, p, row, off = 0;
    concat_pq(n, &P, &Q);
    row = (size_t)n->out->shape[axis] * Q;
    for (k = 0; k < n->n_in; ++k) {
        const tg_tensor *x = n->in[k];
        size_t len = (size_t)x->shape[axis] * Q;
        if (x->grad)
            for (p = 0; p < P; ++p)
                grad_copy(n, k, x->grad + p * len, n->out->grad + p * row + off, len);
        off += len;
    }
    return TG_OK;
}

const tg_op_def tg_op_concat = { "concat", -1, TG_OP_GRAD_ASSIGN, concat_shape, concat_forward,
                                 concat_backward,
    sizeof(tg_axis_arg) };

tg_tensor *tg_concat(tg_graph *g, tg_tensor *const xs[], int n, int axis)
{
    tg_axis_arg a = { axis };
    return tg_apply(g, &tg_op_concat, xs, n, &a, sizeof a, NULL);
}

/* ---- slice_rows --------------------------------------------------------------------------- */
static tg_status slice_rows_shape(tg_node *n)
{
    const tg_slice_args *a = n->args;
    const tg_tensor *x = n->in[0];
    char dx[TGI_DESC_LEN];
    int dims[TG_MAX_RANK], d;
    if (!a)
        return tg_error_set(TG_ERR_ARG, "slice_rows: needs tg_slice_args (start, end)");
    if (x->rank < 1)
        return tg_error_set(TG_ERR_SHAPE, "slice_rows: %s is a scalar; it has no rows",
                            tgi_desc(x, dx));
    if (a->start < 0 || a->start >= a->end || a->end > x->shape[0])
        return tg_error_set(TG_ERR_ARG, "slice_rows: rows [%d,%d) are not a non-empty range "
                            "within [0,%d) of %s", a->start, a->end, x->shape[0],
                            tgi_desc(x, dx));
    for (d = 0; d < x->rank; ++d)
        dims[d] = d ? x->shape[d] : a->end - a->start;
    return tg_node_set_shape(n, x->rank, dims);
}

static tg_status slice_rows_forward(tg_node *n)
{
    const tg_slice_args *a = n->args;
    size_t row = n->in[0]->size / (size_t)n->in[0]->shape[0];
    memcpy(n->out->data, n->in[0]->data + (size_t)a->start * row,
           n->out->size * sizeof(float));
    return TG_OK;
}

static tg_status slice_rows_backward(tg_node *n)
{
    const tg_slice_args *a = n->args;
    const tg_tensor *x = n->in[0];
    size_t row = x->size / (size_t)x->shape[0], lo = (size_t)a->start * row;
    if (!x->grad)
        return TG_OK;
    if (!n->accum[0]) { /* rows outside the slice get no gradient: zeros */
        memset(x->grad, 0, lo * sizeof(float));
        memset(x->grad + lo + n->out->size, 0, (x->size - lo - n->out->size) * sizeof(float));
    }
    grad_copy(n, 0, x->grad + lo, n->out->grad, n->out->size);
    return TG_OK;
}

const tg_op_def tg_op_slice_rows = { "slice_rows", 1, TG_OP_GRAD_ASSIGN, slice_rows_shape,
                                     slice_rows_forward, slice_rows_backward,
    sizeof(tg_slice_args) };

tg_tensor *tg_slice_rows(tg_graph *g, tg_tensor *x, int start, int end)
{
    tg_slice_args a = { start, end };
    return TGI_APPLY1A(g, tg_op_slice_rows, x, &a);
}
