/*
 * backward.c -- reverse-mode differentiation over the tape.
 *
 * Walking nodes from the loss's producer down to the first, each node's backward receives
 * out->grad complete (every consumer came later on the tape). A gradient that has not been
 * written in this pass is either assigned by an op that declares TG_OP_GRAD_ASSIGN or zeroed
 * first; gradients nothing reached are zeroed at the end. So backward never reads stale values
 * and calling it twice gives the same gradients.
 */
#include <string.h>
#include "internal.h"

tg_status tgi_graph_alloc_grads(tg_graph *g)
{
    int i;
    for (i = 0; i < g->n_tensors; ++i) {
        tg_tensor *t = g->tensors[i];
        /* a gradient bound to caller storage (a net's flat block) gets no copy of its own;
         * tg_tensor_bind_grad(t, NULL) leaves it NULL and the next backward makes one */
        if (t->requires_grad && !t->grad) {
            t->grad = t->own_grad = tgi_arena_alloc(&g->arena, t->size * sizeof(float));
            if (!t->own_grad)
                return tg_error_set(TG_ERR_NOMEM, "backward: out of memory for the gradient of "
                                    "'%s' (%zu floats)", t->name, t->size);
        }
    }
    return TG_OK;
}

void tg_graph_zero_grad(tg_graph *g)
{
    int i;
    if (!g)
        return;
    for (i = 0; i < g->n_tensors; ++i)
        if (g->tensors[i]->grad)
            memset(g->tensors[i]->grad, 0, g->tensors[i]->size * sizeof(float));
}

/* 1 if node input k is the same tensor as another input of the node. */
static int aliased(const tg_node *n, int k)
{
    int j;
    for (j = 0; j < n->n_in; ++j)
        if (j != k && n->in[j] == n->in[k])
            return 1;
    return 0;
}

static tg_status run_backward(tg_graph *g, tg_tensor *out, const float *seed, const char *who)
{
    char d[TGI_DESC_LEN];
    tg_status s;
    int i, k, last;

    if (!tgi_graph_ok(g, who))
        return tg_last_status();
    if (!out)
        return tg_error_set(TG_ERR_ARG, "%s: tensor is NULL (did the op that made it fail?)", who);
    if (out->graph != g)
        return tg_error_set(TG_ERR_ARG, "%s: %s belongs to another graph", who,
                            tgi_desc(out, d));
    if (!seed && out->size != 1)
        return tg_error_set(TG_ERR_SHAPE, "%s: loss %s is not a scalar; use tg_backward_seed "
                            "with a gradient for it", who, tgi_desc(out, d));
    if (g->stale)
        return tg_error_set(TG_ERR_STATE, "%s: values are not current (inputs changed or a "
                            "forward failed since the last complete forward); run "
                            "tg_graph_forward first", who);
    if (!out->requires_grad)
        return tg_error_set(TG_ERR_ARG, "%s: %s does not depend on any parameter or "
                            "grad-requiring input", who, tgi_desc(out, d));
    if ((s = tgi_graph_alloc_grads(g)) != TG_OK)
        return s;

    for (i = 0; i < g->n_tensors; ++i)
        g->tensors[i]->grad_written = 0;
    if (seed)
        memcpy(out->grad, seed, out->size * sizeof(float));
    else
        out->grad[0] = 1.0f;
    out->grad_written = 1;

    last = out->producer ? out->producer->index : -1;
    for (i = last; i >= 0; --i) {
        tg_node *n = g->nodes[i];
        if (!n->out->grad_written)
            continue; /* not on a path to out: contributes nothing */
        if (n->out->hooks && (s = tgi_hooks_fire(g, n->out, TG_ON_GRAD)) != TG_OK)
            return s;
        if (!n->op->backward)
            return tg_error_set(TG_ERR_STATE, "%s: op '%s' (node %d) has no backward but a "
                                "gradient flows through it", who, n->op->name, i);
        for (k = 0; k < n->n_in; ++k) {
            tg_tensor *t = n->in[k];
            n->accum[k] = 1;
            if (!t->grad || t->grad_written)
                continue;
            if ((n->op->flags & TG_OP_GRAD_ASSIGN) && !aliased(n, k))
                n->accum[k] = 0;
            else
                memset(t->grad, 0, t->size * sizeof(float));
        }
        s = n->op->backward(n);
        if (s != TG_OK) {
            if (tg_last_status() != s)
                tg_error_set(s, "%s (node %d): backward failed", n->op->name, i);
            return s;
        }
        for (k = 0; k < n->n_in; ++k)
            if (n->in[k]->grad)
                n->in[k]->grad_written = 1;
    }
    for (i = 0; i < g->n_tensors; ++i) {
        tg_tensor *t = g->tensors[i];
        if (!t->grad)
            continue;
        if (!t->grad_written)
            memset(t->grad, 0, t->size * sizeof(float));
        if (t->hooks && !t->producer && (s = tgi_hooks_fire(g, t, TG_ON_GRAD)) != TG_OK)
            return s;
    }
    return TG_OK;
}

tg_status tg_backward(tg_graph *g, tg_tensor *loss)
{
    return run_backward(g, loss, NULL, "backward");
}

tg_status tg_backward_seed(tg_graph *g, tg_tensor *out, const float *seed)
{
    if (!seed)
        return tg_error_set(TG_ERR_ARG, "backward_seed: seed is NULL");
    return run_backward(g, out, seed, "backward_seed");
}
