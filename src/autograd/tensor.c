/*
 * tensor.c -- creating leaf tensors (inputs, params, consts), binding caller storage,
 * names and shape strings. Values and gradients live in the graph's arena.
 */
#include <stdio.h>
#include <string.h>
#include "internal.h"

const char *tg_kind_name(tg_kind k)
{
    switch (k) {
    case TG_INPUT: return "input";
    case TG_PARAM: return "param";
    case TG_CONST: return "const";
    case TG_INTERMEDIATE: return "intermediate";
    }
    return "?";
}

char *tg_shape_str(const tg_tensor *t, char *buf, size_t len)
{
    size_t off = 0;
    int i;
    if (!buf || !len)
        return buf;
    buf[0] = '\0';
    if (!t)
        return buf;
    off += (size_t)snprintf(buf, len, "[");
    for (i = 0; i < t->rank && off < len; ++i)
        off += (size_t)snprintf(buf + off, len - off, i ? ",%d" : "%d", t->shape[i]);
    if (off < len)
        snprintf(buf + off, len - off, "]");
    return buf;
}

const char *tgi_desc(const tg_tensor *t, char *buf)
{
    char shp[64];
    if (!t) {
        snprintf(buf, TGI_DESC_LEN, "(null)");
        return buf;
    }
    tg_shape_str(t, shp, sizeof shp);
    if (t->name[0])
        snprintf(buf, TGI_DESC_LEN, "'%.80s' %s", t->name, shp);
    else
        snprintf(buf, TGI_DESC_LEN, "t%d %s", t->index, shp);
    return buf;
}

/* Register t in g's tensor list (growing it by doubling). */
static tg_status graph_add_tensor(tg_graph *g, tg_tensor *t)
{
    if (g->n_tensors == g->cap_tensors) {
        int cap = g->cap_tensors ? 2 * g->cap_tensors : 64;
        tg_tensor **p = tgi_realloc(g->tensors, (size_t)cap * sizeof *p);
        if (!p)
            return tg_error_set(TG_ERR_NOMEM, "graph: out of memory growing the tensor list to %d", cap);
        g->tensors = p;
        g->cap_tensors = cap;
    }
    t->index = g->n_tensors;
    g->tensors[g->n_tensors++] = t;
    return TG_OK;
}

tg_tensor *tgi_tensor_alloc(tg_graph *g, tg_kind kind, const char *name, int rank,
                            const int *dims, const char *who)
{
    tg_tensor *t;
    size_t size = 1;
    int i;
    if (rank < 0 || rank > TG_MAX_RANK) {
        tg_error_set(TG_ERR_SHAPE, "%s: rank %d outside 0..%d", who, rank, TG_MAX_RANK);
        return NULL;
    }
    if (rank > 0 && !dims) {
        tg_error_set(TG_ERR_ARG, "%s: dims is NULL for rank %d", who, rank);
        return NULL;
    }
    for (i = 0; i < rank; ++i) {
        if (dims[i] <= 0) {
            tg_error_set(TG_ERR_SHAPE, "%s: dim %d is %d (dims must be >= 1)", who, i, dims[i]);
            return NULL;
        }
        if (!tgi_mul_size(size, (size_t)dims[i], &size) || size > SIZE_MAX / 2 / sizeof(float)) {
            tg_error_set(TG_ERR_OVERFLOW, "%s: element count overflows at dim %d (%d)", who, i,
                         dims[i]);
            return NULL;
        }
    }
    t = tgi_arena_alloc(&g->arena, sizeof *t);
    if (!t) {
        tg_error_set(TG_ERR_NOMEM, "%s: out of memory for a tensor", who);
        return NULL;
    }
    t->graph = g;
    t->kind = kind;
    t->rank = rank;
    for (i = 0; i < TG_MAX_RANK; ++i)
        t->shape[i] = i < rank ? dims[i] : 1;
    t->size = size;
    t->name = tgi_arena_strdup(&g->arena, name ? name : "");
    if (!t->name) {
        tg_error_set(TG_ERR_NOMEM, "%s: out of memory for a name", who);
        return NULL;
    }
    return t;
}

/* A leaf of the given kind on storage the caller lends (data != NULL: no storage of its own
 * is made, so a net's parameters cost their flat block and nothing more) or on zeroed storage
 * from the graph's arena. */
static tg_tensor *leaf_new(tg_graph *g, tg_kind kind, const char *name, int rank,
                           const int *dims, float *data, const char *who)
{
    tgi_arena_mark m;
    tg_tensor *t;
    if (!tgi_graph_ok(g, who))
        return NULL;
    m = tgi_arena_save(&g->arena);
    t = tgi_tensor_alloc(g, kind, name, rank, dims, who);
    if (!t)
        return NULL;
    t->data = data ? data : (t->own_data = tgi_arena_alloc(&g->arena, t->size * sizeof(float)));
    if (!t->data) {
        tg_error_set(TG_ERR_NOMEM, "%s: out of memory for %zu values", who, t->size);
        tgi_arena_rollback(&g->arena, m);
        return NULL;
    }
    if (graph_add_tensor(g, t) != TG_OK) {
        tgi_arena_rollback(&g->arena, m);
        return NULL;
    }
    t->requires_grad = kind == TG_PARAM;
    return t;
}

tg_tensor *tg_input(tg_graph *g, const char *name, int rank, const int *dims)
{
    return leaf_new(g, TG_INPUT, name, rank, dims, NULL, "input");
}

tg_tensor *tg_param(tg_graph *g, const char *name, int rank, const int *dims)
{
    return leaf_new(g, TG_PARAM, name, rank, dims, NULL, "param");
}

tg_tensor *tg_param_bound(tg_graph *g, const char *name, int rank, const int *dims,
                          float *data, float *grad)
{
    tg_tensor *t;
    if (!data) {
        tg_error_set(TG_ERR_ARG, "param_bound: data is NULL for '%s'", name ? name : "");
        return NULL;
    }
    t = leaf_new(g, TG_PARAM, name, rank, dims, data, "param_bound");
    if (t)
        t->grad = grad;
    return t;
}

tg_tensor *tg_const(tg_graph *g, const char *name, int rank, const int *dims,
                    const float *values)
{
    tg_tensor *t = leaf_new(g, TG_CONST, name, rank, dims, NULL, "const");
    if (t && values)
        memcpy(t->data, values, t->size * sizeof(float));
    return t;
}

tg_tensor *tg_scalar(tg_graph *g, float value)
{
    char name[32];
    snprintf(name, sizeof name, "%g", (double)value);
    return tg_const(g, name, 0, NULL, &value);
}

static tg_status check_leaf(const tg_tensor *t, const char *who)
{
    if (!t)
        return tg_error_set(TG_ERR_ARG, "%s: tensor is NULL", who);
    if (t->kind == TG_INTERMEDIATE) {
        char d[TGI_DESC_LEN];
        return tg_error_set(TG_ERR_ARG, "%s: %s is an op output, not an input/param/const",
                            who, tgi_desc(t, d));
    }
    return TG_OK;
}

tg_status tg_tensor_bind(tg_tensor *t, float *data)
{
    tg_status s = check_leaf(t, "tensor_bind");
    if (s != TG_OK)
        return s;
    if (!data && !t->own_data) {
        char d[TGI_DESC_LEN];
        return tg_error_set(TG_ERR_STATE, "tensor_bind: %s was created bound and has no "
                            "storage of its own to go back to", tgi_desc(t, d));
    }
    t->data = data ? data : t->own_data;
    TGI_LEAF_CHANGED(t->graph);
    return TG_OK;
}

tg_status tg_tensor_bind_grad(tg_tensor *t, float *grad)
{
    tg_status s = check_leaf(t, "tensor_bind_grad");
    if (s != TG_OK)
        return s;
    if (!t->requires_grad) {
        char d[TGI_DESC_LEN];
        return tg_error_set(TG_ERR_ARG, "tensor_bind_grad: %s has no gradient", tgi_desc(t, d));
    }
    t->grad = grad ? grad : t->own_grad;
    return TG_OK;
}

tg_status tg_tensor_set(tg_tensor *t, const float *values, size_t n)
{
    tg_status s = check_leaf(t, "tensor_set");
    if (s != TG_OK)
        return s;
    if (!values)
        return tg_error_set(TG_ERR_ARG, "tensor_set: values is NULL");
    if (n != t->size) {
        char d[TGI_DESC_LEN];
        return tg_error_set(TG_ERR_SHAPE, "tensor_set: %zu values for %s of %zu elements", n,
                            tgi_desc(t, d), t->size);
    }
    memcpy(t->data, values, n * sizeof(float));
    TGI_LEAF_CHANGED(t->graph);
    return TG_OK;
}

tg_status tg_tensor_requires_grad(tg_tensor *t)
{
    if (!t)
        return tg_error_set(TG_ERR_ARG, "tensor_requires_grad: tensor is NULL");
    if (t->kind != TG_INPUT && t->kind != TG_PARAM) {
        char d[TGI_DESC_LEN];
        return tg_error_set(TG_ERR_ARG, "tensor_requires_grad: %s is a %s; only inputs can be "
                            "given a gradient", tgi_desc(t, d), tg_kind_name(t->kind));
    }
    if (t->graph->n_nodes > 0 && !t->requires_grad) {
        /* ops recorded already decided whether gradients flow through them */
        int i;
        for (i = 0; i < t->graph->n_nodes; ++i) {
            tg_node *n = t->graph->nodes[i];
            int k;
            for (k = 0; k < n->n_in; ++k)
                if (n->in[k] == t) {
                    char d[TGI_DESC_LEN];
                    return tg_error_set(TG_ERR_STATE, "tensor_requires_grad: %s is already used "
                                        "by op '%s'; ask before applying ops", tgi_desc(t, d),
                                        n->op->name);
                }
        }
    }
    t->requires_grad = 1;
    return TG_OK;
}

tg_status tg_tensor_set_name(tg_tensor *t, const char *name)
{
    char *c;
    if (!t || !name)
        return tg_error_set(TG_ERR_ARG, "tensor_set_name: tensor or name is NULL");
    c = tgi_arena_strdup(&t->graph->arena, name);
    if (!c)
        return tg_error_set(TG_ERR_NOMEM, "tensor_set_name: out of memory");
    t->name = c;
    return TG_OK;
}

tg_status tgi_graph_add_tensor(tg_graph *g, tg_tensor *t) { return graph_add_tensor(g, t); }
