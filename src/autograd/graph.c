/*
 * graph.c -- the tape: recording ops (tg_apply), replaying them forward, enumerating them.
 *
 * A node, its output tensor, its argument copy, its input list and its scratch all come from
 * the graph's arena; a failed apply rolls the arena back so nothing is added to the tape.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

tg_graph *tg_graph_new(void)
{
    tg_graph *g = tgi_calloc(1, sizeof *g);
    if (!g) {
        tg_error_set(TG_ERR_NOMEM, "graph_new: out of memory");
        return NULL;
    }
    g->magic = TGI_GRAPH_MAGIC;
    g->next_hook_id = 1;
    return g;
}

void tg_graph_free(tg_graph *g)
{
    int i;
    if (!g)
        return;
    if (g->n_hooks)
        for (i = 0; i < g->n_tensors; ++i)
            tgi_hooks_free(g->tensors[i]);
    tgi_arena_release(&g->arena);
    tgi_free(g->tensors);
    tgi_free(g->nodes);
    g->magic = 0;
    tgi_free(g);
}

int tgi_graph_ok(const tg_graph *g, const char *who)
{
    if (!g) {
        tg_error_set(TG_ERR_ARG, "%s: graph is NULL", who);
        return 0;
    }
    if (g->magic != TGI_GRAPH_MAGIC) {
        tg_error_set(TG_ERR_STATE, "%s: not a live graph (freed?)", who);
        return 0;
    }
    return 1;
}

/* Blocks of 256 floats are tested first with integer operations that vectorise: the exponent
 * field is all ones (Inf or NaN) exactly when adding 1 to it carries into bit 31. Only a block
 * that has one is searched element by element. Built for AVX-512, AVX2 and the baseline
 * (TGI_CLONES: the numerics check scans every op output of every step). */
TGI_CLONES size_t tgi_first_nonfinite(const float *x, size_t n)
{
    enum { BLOCK = 256 };
    size_t i, j, m;
    for (i = 0; i < n; i += m) {
        uint32_t bad = 0, u;
        m = n - i < BLOCK ? n - i : BLOCK;
        for (j = 0; j < m; ++j) {
            memcpy(&u, x + i + j, sizeof u);
            bad |= (u & 0x7f800000u) + 0x00800000u;
        }
        if (bad & 0x80000000u)
            for (j = i; j < i + m; ++j)
                if (!isfinite(x[j]))
                    return j;
    }
    return n;
}

tg_status tg_node_set_shape(tg_node *n, int rank, const int *dims)
{
    size_t size = 1;
    int i;
    if (!n)
        return tg_error_set(TG_ERR_ARG, "node_set_shape: node is NULL");
    if (rank < 0 || rank > TG_MAX_RANK)
        return tg_error_set(TG_ERR_SHAPE, "%s: output rank %d outside 0..%d", n->op->name, rank,
                            TG_MAX_RANK);
    for (i = 0; i < rank; ++i) {
        if (dims[i] <= 0)
            return tg_error_set(TG_ERR_SHAPE, "%s: output dim %d is %d", n->op->name, i, dims[i]);
        if (!tgi_mul_size(size, (size_t)dims[i], &size) || size > SIZE_MAX / 2 / sizeof(float))
            return tg_error_set(TG_ERR_OVERFLOW, "%s: output element count overflows",
                                n->op->name);
    }
    n->out->rank = rank;
    for (i = 0; i < TG_MAX_RANK; ++i)
        n->out->shape[i] = i < rank ? dims[i] : 1;
    n->out->size = size;
    return TG_OK;
}

tg_status tg_node_scratch(tg_node *n, size_t bytes)
{
    if (!n)
        return tg_error_set(TG_ERR_ARG, "node_scratch: node is NULL");
    n->scratch = tgi_arena_alloc(&n->graph->arena, bytes);
    if (!n->scratch)
        return tg_error_set(TG_ERR_NOMEM, "%s: out of memory for %zu bytes of scratch",
                            n->op->name, bytes);
    n->scratch_size = bytes;
    return TG_OK;
}

static tg_status graph_add_node(tg_graph *g, tg_node *n)
{
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 64;
        tg_node **p = tgi_realloc(g->nodes, (size_t)cap * sizeof *p);
        if (!p)
            return tg_error_set(TG_ERR_NOMEM, "graph: out of memory growing the node list to %d", cap);
        g->nodes = p;
        g->cap_nodes = cap;
    }
    n->index = g->n_nodes;
    g->nodes[g->n_nodes++] = n;
    return TG_OK;
}

/* After an op computed n->out: the numerics check and value hooks. */
static tg_status after_forward(tg_graph *g, tg_node *n)
{
    if (g->check_numerics) {
        size_t i = tgi_first_nonfinite(n->out->data, n->out->size);
        if (i < n->out->size) {
            char d[TGI_DESC_LEN];
            return tg_error_set(TG_ERR_NONFINITE, "%s (node %d) at step %ld: output %s holds %g "
                                "at index %zu", n->op->name, n->index, g->step,
                                tgi_desc(n->out, d), (double)n->out->data[i], i);
        }
    }
    if (n->out->hooks)
        return tgi_hooks_fire(g, n->out, TG_ON_VALUE);
    return TG_OK;
}

tg_tensor *tg_apply(tg_graph *g, const tg_op_def *op, tg_tensor *const in[], int n_in,
                    const void *args, size_t args_size, void *user)
{
    const char *who = op && op->name ? op->name : "apply";
    tgi_arena_mark m;
    tg_node *n;
    tg_tensor *out;
    tg_status s;
    int k, needs_grad = 0;

    if (!op || !op->shape || !op->forward) {
        tg_error_set(TG_ERR_ARG, "%s: op descriptor is NULL or lacks shape/forward", who);
        return NULL;
    }
    if (n_in < 0 || (op->n_in >= 0 && n_in != op->n_in) || (op->n_in < 0 && n_in < 1)) {
        tg_error_set(TG_ERR_ARG, "%s: given %d inputs, takes %d", who, n_in, op->n_in);
        return NULL;
    }
    if (n_in > 0 && !in) {
        tg_error_set(TG_ERR_ARG, "%s: input array is NULL", who);
        return NULL;
    }
    for (k = 0; k < n_in; ++k) {
        if (!in[k]) {
            /* In a composed expression the root cause keeps its status; the message says
             * which builder passed the NULL on. */
            tg_status root = tg_last_status();
            if (root == TG_OK)
                tg_error_set(TG_ERR_ARG, "%s: input %d is NULL", who, k);
            else if (!strstr(tg_last_error(), "is NULL after")) {
                char cause[900];
                snprintf(cause, sizeof cause, "%s", tg_last_error());
                tg_error_set(root, "%s: input %d is NULL after an earlier failure: %s", who, k,
                             cause);
            }
            return NULL;
        }
    }
    if (!g)
        g = n_in > 0 ? in[0]->graph : NULL;
    if (!tgi_graph_ok(g, who))
        return NULL;
    for (k = 0; k < n_in; ++k) {
        if (in[k]->graph != g) {
            tg_error_set(TG_ERR_ARG, "%s: input %d '%s' belongs to another graph", who, k,
                         in[k]->name);
            return NULL;
        }
        needs_grad |= in[k]->requires_grad;
    }
    if (args_size && !args) {
        tg_error_set(TG_ERR_ARG, "%s: args is NULL with args_size %zu", who, args_size);
        return NULL;
    }
    if (args && args_size != op->args_size) {
        tg_error_set(TG_ERR_ARG, "%s: args of %zu bytes; the op reads %zu", who, args_size,
                     op->args_size);
        return NULL;
    }

    m = tgi_arena_save(&g->arena);
    n = tgi_arena_alloc(&g->arena, sizeof *n);
    out = n ? tgi_tensor_alloc(g, TG_INTERMEDIATE, "", 0, NULL, who) : NULL;
    if (!n || !out)
        goto nomem;
    n->op = op;
    n->graph = g;
    n->n_in = n_in;
    n->out = out;
    n->user = user;
    n->in = tgi_arena_alloc(&g->arena, (size_t)(n_in ? n_in : 1) * sizeof *n->in);
    n->accum = tgi_arena_alloc(&g->arena, (size_t)(n_in ? n_in : 1));
    if (!n->in || !n->accum)
        goto nomem;
    for (k = 0; k < n_in; ++k)
        n->in[k] = in[k];
    if (args_size) {
        void *a = tgi_arena_alloc(&g->arena, args_size);
        if (!a)
            goto nomem;
        memcpy(a, args, args_size);
        n->args = a;
        n->args_size = args_size;
    }
    s = op->shape(n);
    if (s != TG_OK) {
        if (tg_last_status() != s)
            tg_error_set(s, "%s: shape check failed", who);
        goto fail;
    }
    out->data = out->own_data = tgi_arena_alloc(&g->arena, out->size * sizeof(float));
    if (!out->data)
        goto nomem;
    out->requires_grad = needs_grad;
    out->producer = n;
    s = op->forward(n);
    if (s != TG_OK) {
        if (tg_last_status() != s)
            tg_error_set(s, "%s: forward failed", who);
        goto fail;
    }
    if (g->check_numerics && after_forward(g, n) != TG_OK)
        goto fail; /* the message names the op and the first non-finite index */
    if (tgi_graph_add_tensor(g, out) != TG_OK)
        goto fail;
    if (graph_add_node(g, n) != TG_OK) {
        g->n_tensors--;
        goto fail;
    }
    return out;

nomem:
    tg_error_set(TG_ERR_NOMEM, "%s: out of memory while recording", who);
fail:
    tgi_arena_rollback(&g->arena, m);
    return NULL;
}

/* Value hooks of leaves fire at the start of a forward. */
static tg_status fire_leaf_value_hooks(tg_graph *g)
{
    int i;
    for (i = 0; i < g->n_tensors; ++i) {
        tg_tensor *t = g->tensors[i];
        if (t->hooks && !t->producer) {
            tg_status s = tgi_hooks_fire(g, t, TG_ON_VALUE);
            if (s != TG_OK)
                return s;
        }
    }
    return TG_OK;
}

static tg_status run_forward(tg_graph *g, int last)
{
    int i;
    tg_status s;
    g->stale = 1;
    if (g->n_hooks && (s = fire_leaf_value_hooks(g)) != TG_OK)
        return s;
    for (i = 0; i <= last; ++i) {
        tg_node *n = g->nodes[i];
        s = n->op->forward(n);
        if (s != TG_OK) {
            if (tg_last_status() != s)
                tg_error_set(s, "%s (node %d): forward failed", n->op->name, i);
            return s;
        }
        if ((g->check_numerics || n->out->hooks) && (s = after_forward(g, n)) != TG_OK)
            return s;
    }
    if (last == g->n_nodes - 1)
        g->stale = 0;
    return TG_OK;
}

tg_status tg_graph_forward(tg_graph *g)
{
    if (!tgi_graph_ok(g, "graph_forward"))
        return tg_last_status();
    return run_forward(g, g->n_nodes - 1);
}

tg_status tg_graph_forward_to(tg_graph *g, tg_tensor *t)
{
    if (!tgi_graph_ok(g, "graph_forward_to"))
        return tg_last_status();
    if (!t || t->graph != g)
        return tg_error_set(TG_ERR_ARG, "graph_forward_to: tensor is NULL or from another graph");
    if (!t->producer)
        return TG_OK;
    return run_forward(g, t->producer->index);
}

void tg_graph_set_step(tg_graph *g, long step, long epoch)
{
    if (g) {
        g->step = step;
        g->epoch = epoch;
    }
}

long tg_graph_step(const tg_graph *g) { return g ? g->step : 0; }
long tg_graph_epoch(const tg_graph *g) { return g ? g->epoch : 0; }
void tg_graph_set_check_numerics(tg_graph *g, int on)
{
    if (g)
        g->check_numerics = on != 0;
}

int tg_graph_n_nodes(const tg_graph *g) { return g ? g->n_nodes : 0; }
int tg_graph_n_tensors(const tg_graph *g) { return g ? g->n_tensors : 0; }

tg_node *tg_graph_node(const tg_graph *g, int i)
{
    return g && i >= 0 && i < g->n_nodes ? g->nodes[i] : NULL;
}

tg_tensor *tg_graph_tensor(const tg_graph *g, int i)
{
    return g && i >= 0 && i < g->n_tensors ? g->tensors[i] : NULL;
}

tg_tensor *tg_graph_find(const tg_graph *g, const char *name)
{
    int i;
    if (!g || !name)
        return NULL;
    for (i = 0; i < g->n_tensors; ++i)
        if (!strcmp(g->tensors[i]->name, name))
            return g->tensors[i];
    return NULL;
}
