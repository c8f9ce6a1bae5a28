/*
 * op_table.c -- the built-in op table, generated from ops.def so that names, descriptors and
 * table entries cannot drift; lookup by name for layer specs.
 */
#include <string.h>
#include "ops_internal.h"

const tg_op_def *const tg_builtin_ops[] = {
#define TG_OP(name) &tg_op_##name,
#include "tapegrad/ops.def"
#undef TG_OP
    NULL
};

const tg_op_def *tg_op_find(const char *name)
{
    int i;
    if (!name)
        return NULL;
    for (i = 0; i < TG_BUILTIN_OP_COUNT; ++i)
        if (!strcmp(tg_builtin_ops[i]->name, name))
            return tg_builtin_ops[i];
    return NULL;
}

int tg_op_is_activation(const tg_op_def *op)
{
    static const tg_op_def *const acts[] = {
        &tg_op_tanh, &tg_op_sigmoid, &tg_op_relu, &tg_op_leaky_relu, &tg_op_elu,
        &tg_op_softplus, &tg_op_softsign, &tg_op_identity,
    };
    size_t i;
    for (i = 0; i < sizeof acts / sizeof acts[0]; ++i)
        if (op == acts[i])
            return 1;
    return 0;
}

int tgi_same_shape(const tg_tensor *a, const tg_tensor *b)
{
    int i;
    if (a->rank != b->rank)
        return 0;
    for (i = 0; i < a->rank; ++i)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

static int is_row_of(const tg_tensor *r, const tg_tensor *x)
{
    /* r is [n] or [1,n] and x's last dim is n (x of rank >= 1, larger than r) */
    if (x->rank < 1 || r->size >= x->size)
        return 0;
    if (r->rank == 1)
        return r->shape[0] == x->shape[x->rank - 1];
    if (r->rank == 2)
        return r->shape[0] == 1 && r->shape[1] == x->shape[x->rank - 1];
    return 0;
}

tg_status tgi_broadcast(tg_node *n, tgi_bcast *ma, tgi_bcast *mb)
{
    const tg_tensor *a = n->in[0], *b = n->in[1], *big = a;
    char da[TGI_DESC_LEN], db[TGI_DESC_LEN];
    *ma = *mb = TGI_BC_FULL;
    if (tgi_same_shape(a, b)) {
        big = a;
    } else if (b->size == 1) {
        *mb = TGI_BC_SCALAR;
    } else if (a->size == 1) {
        *ma = TGI_BC_SCALAR;
        big = b;
    } else if (is_row_of(b, a)) {
        *mb = TGI_BC_ROW;
    } else if (is_row_of(a, b)) {
        *ma = TGI_BC_ROW;
        big = b;
    } else {
        return tg_error_set(TG_ERR_SHAPE, "%s: %s and %s do not broadcast (need equal shapes, "
                            "a row vector matching the last dim, or a scalar)", n->op->name,
                            tgi_desc(a, da), tgi_desc(b, db));
    }
    return tg_node_set_shape(n, big->rank, big->shape);
}

tg_status tgi_shape_same(tg_node *n)
{
    return tg_node_set_shape(n, n->in[0]->rank, n->in[0]->shape);
}
