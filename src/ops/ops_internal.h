/*
 * ops_internal.h -- helpers shared by the built-in op families: input checks with messages
 * naming the op, the tensors and their shapes, and the broadcast rule of binary ops.
 */
#ifndef TAPEGRAD_OPS_INTERNAL_H
#define TAPEGRAD_OPS_INTERNAL_H

#include "internal.h"

/* Builder shorthand: record op on one or two inputs, without or with an argument struct. */
#define TGI_APPLY1(g, op, x) tg_apply((g), &(op), (tg_tensor *const[]){ (x) }, 1, NULL, 0, NULL)
#define TGI_APPLY1A(g, op, x, args) \
    tg_apply((g), &(op), (tg_tensor *const[]){ (x) }, 1, (args), sizeof *(args), NULL)
#define TGI_APPLY2(g, op, a, b) \
    tg_apply((g), &(op), (tg_tensor *const[]){ (a), (b) }, 2, NULL, 0, NULL)
#define TGI_APPLY2A(g, op, a, b, args) \
    tg_apply((g), &(op), (tg_tensor *const[]){ (a), (b) }, 2, (args), sizeof *(args), NULL)

/* Same shape (rank and dims)? */
int tgi_same_shape(const tg_tensor *a, const tg_tensor *b);

/* Broadcast of a binary elementwise op: how an operand is indexed for output element i. */
typedef enum { TGI_BC_FULL = 0, TGI_BC_ROW = 1, TGI_BC_SCALAR = 2 } tgi_bcast;
/* Decide the modes of a and b and the output shape; TG_ERR_SHAPE naming both otherwise. */
tg_status tgi_broadcast(tg_node *n, tgi_bcast *ma, tgi_bcast *mb);

/* Shape function of elementwise unary ops: output shape = input shape. */
tg_status tgi_shape_same(tg_node *n);

#endif
