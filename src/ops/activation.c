/*
 * activation.c -- elementwise activations, each a forward + backward pair over x [any shape].
 *
 * tanh     y = tanh x;                 dx += dy (1 - y^2)
 * Backward reuses out->data where cheaper; with accum[0] == 0 it assigns dx.
 */
#include <math.h>
#include "ops_internal.h"

/* ---- tanh ------------------------------------------------------------------------------- */
static tg_status tanh_forward(tg_node *n)
{
    const float *x = n->in[0]->data;
    float *y = n->out->data;
    size_t i, N = n->out->size;
    for (i = 0; i < N; ++i)
        y[i] = tanhf(x[i]);
    return TG_OK;
}

static tg_status tanh_backward(tg_node *n)
{
    const float *y = n->out->data, *dy = n->out->grad;
    float *dx = n->in[0]->grad;
    size_t i, N = n->out->size;
    if (!dx)
        return TG_OK;
    if (n->accum[0])
        for (i = 0; i < N; ++i)
            dx[i] += dy[i] * (1.0f - y[i] * y[i]);
    else
        for (i = 0; i < N; ++i)
            dx[i] = dy[i] * (1.0f - y[i] * y[i]);
    return TG_OK;
}

const tg_op_def tg_op_tanh = { "tanh", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same, tanh_forward,
                               tanh_backward };

tg_tensor *tg_tanh(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_tanh, x);
}
