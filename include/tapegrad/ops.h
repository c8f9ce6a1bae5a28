/*
 * tapegrad/ops.h -- the built-in ops: builders (record + compute) and their descriptors.
 *
 * Every builder returns the output tensor or NULL with the last error set, and passes a NULL
 * input on as NULL, so an expression is checked once:
 *     h = tg_tanh(g, tg_add(g, tg_matmul(g, x, w, 0, 1), b));
 * Shapes: B batch, I in, O out, C classes. Broadcasting in add/sub/mul/div: both shapes equal,
 * or one operand a row vector ([n] or [1,n]) matching the other's last dim, or a scalar (size 1).
 */
#ifndef TAPEGRAD_OPS_H
#define TAPEGRAD_OPS_H

#include "graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- linear algebra ------------------------------------------------------------------ */
/* y = op(a) op(b), op(m) = m^T when its flag is set; 2-D only: [M,K] x [K,N] -> [M,N]. */
TG_API tg_tensor *tg_matmul(tg_graph *g, tg_tensor *a, tg_tensor *b, int trans_a, int trans_b);
/* y = x w^T + b: x [B,I], w [O,I], b [O] (or NULL: no bias) -> [B,O]. One node, one GEMM:
 * dx = dy w; dw = dy^T x; db = column sums of dy. */
TG_API tg_tensor *tg_linear(tg_graph *g, tg_tensor *x, tg_tensor *w, tg_tensor *b);

/* ---- elementwise, binary (broadcasting as above) ------------------------------------- */
TG_API tg_tensor *tg_add(tg_graph *g, tg_tensor *a, tg_tensor *b);   /* a + b */
TG_API tg_tensor *tg_sub(tg_graph *g, tg_tensor *a, tg_tensor *b);   /* a - b */
TG_API tg_tensor *tg_mul(tg_graph *g, tg_tensor *a, tg_tensor *b);   /* a * b */
TG_API tg_tensor *tg_div(tg_graph *g, tg_tensor *a, tg_tensor *b);   /* a / b */

/* ---- elementwise, unary ------------------------------------------------------------- */
TG_API tg_tensor *tg_scale(tg_graph *g, tg_tensor *x, float s);      /* s x */
TG_API tg_tensor *tg_shift(tg_graph *g, tg_tensor *x, float c);      /* x + c */
TG_API tg_tensor *tg_neg(tg_graph *g, tg_tensor *x);                 /* -x */
TG_API tg_tensor *tg_exp(tg_graph *g, tg_tensor *x);                 /* e^x */
TG_API tg_tensor *tg_log(tg_graph *g, tg_tensor *x);                 /* ln x */
TG_API tg_tensor *tg_sqrt(tg_graph *g, tg_tensor *x);                /* sqrt x */
TG_API tg_tensor *tg_square(tg_graph *g, tg_tensor *x);              /* x^2 */
TG_API tg_tensor *tg_abs(tg_graph *g, tg_tensor *x);                 /* |x| (d/dx 0 at 0) */
TG_API tg_tensor *tg_pow(tg_graph *g, tg_tensor *x, float p);        /* x^p */

/* ---- activations (usable by name in layer specs) ------------------------------------ */
TG_API tg_tensor *tg_tanh(tg_graph *g, tg_tensor *x);
TG_API tg_tensor *tg_sigmoid(tg_graph *g, tg_tensor *x);             /* 1 / (1 + e^-x) */
TG_API tg_tensor *tg_relu(tg_graph *g, tg_tensor *x);                /* max(x, 0) */
TG_API tg_tensor *tg_leaky_relu(tg_graph *g, tg_tensor *x, float alpha); /* x>0 ? x : a x */
TG_API tg_tensor *tg_elu(tg_graph *g, tg_tensor *x, float alpha);    /* x>0 ? x : a(e^x-1) */
TG_API tg_tensor *tg_softplus(tg_graph *g, tg_tensor *x);            /* ln(1 + e^x), stable */
TG_API tg_tensor *tg_softsign(tg_graph *g, tg_tensor *x);            /* x / (1 + |x|) */
TG_API tg_tensor *tg_identity(tg_graph *g, tg_tensor *x);            /* x */

/* ---- reductions --------------------------------------------------------------------- */
TG_API tg_tensor *tg_sum(tg_graph *g, tg_tensor *x);                 /* all elements -> [] */
TG_API tg_tensor *tg_mean(tg_graph *g, tg_tensor *x);                /* all elements -> [] */
/* Along one axis (negative counts from the end); the axis is removed from the shape. */
TG_API tg_tensor *tg_sum_axis(tg_graph *g, tg_tensor *x, int axis);
TG_API tg_tensor *tg_mean_axis(tg_graph *g, tg_tensor *x, int axis);
TG_API tg_tensor *tg_max_axis(tg_graph *g, tg_tensor *x, int axis);  /* grad to first argmax */

/* ---- shape -------------------------------------------------------------------------- */
TG_API tg_tensor *tg_reshape(tg_graph *g, tg_tensor *x, int rank, const int *dims);
TG_API tg_tensor *tg_transpose(tg_graph *g, tg_tensor *x);           /* 2-D: [M,N] -> [N,M] */
/* Join n tensors along axis; all other dims must agree. */
TG_API tg_tensor *tg_concat(tg_graph *g, tg_tensor *const xs[], int n, int axis);
/* Rows [start, end) along axis 0. */
TG_API tg_tensor *tg_slice_rows(tg_graph *g, tg_tensor *x, int start, int end);

/* ---- softmax and losses (along the last axis; stable: max subtracted) --------------- */
TG_API tg_tensor *tg_softmax(tg_graph *g, tg_tensor *x);
TG_API tg_tensor *tg_log_softmax(tg_graph *g, tg_tensor *x);

typedef enum { TG_REDUCE_SUM = 0, TG_REDUCE_MEAN = 1 } tg_reduce;
/* Cross-entropy of softmax(logits) against target, from log-softmax (never log 0).
 * logits [B,C]; target [B,C] (one-hot or probabilities) or [B] integer labels stored as
 * floats (a non-integer or out-of-range label fails the forward with TG_ERR_RANGE).
 * Output [] : sum over the batch, or its mean (divided by B). No gradient into target. */
TG_API tg_tensor *tg_softmax_xent(tg_graph *g, tg_tensor *logits, tg_tensor *target,
                                  tg_reduce reduce);
/* Squared error (pred - target)^2 summed over all elements, or their mean. */
TG_API tg_tensor *tg_mse(tg_graph *g, tg_tensor *pred, tg_tensor *target, tg_reduce reduce);

/* ---- argument structs (what the builders copy into the node) ------------------------ */
/* Applied through tg_apply with args NULL (as layer specs do), ops use defaults: leaky_relu
 * alpha 0.01, elu alpha 1, scale 1, shift 0, pow 1, *_axis the last axis, concat axis 0,
 * softmax_xent and mse the mean; matmul no transposes. reshape and slice_rows need args. */
typedef struct { int trans_a, trans_b; } tg_matmul_args;
typedef struct { float value; } tg_float_arg;       /* scale, shift, pow, leaky_relu, elu */
typedef struct { int axis; } tg_axis_arg;           /* *_axis, concat */
typedef struct { int rank; int dims[TG_MAX_RANK]; } tg_reshape_args;
typedef struct { int start, end; } tg_slice_args;
typedef struct { tg_reduce reduce; } tg_reduce_arg; /* softmax_xent, mse */

/* ---- the op table ------------------------------------------------------------------- */
#define TG_OP(name) extern TG_API const tg_op_def tg_op_##name;
#include "ops.def"
#undef TG_OP

/* Every built-in op, in ops.def order; TG_BUILTIN_OP_COUNT entries. */
TG_API extern const tg_op_def *const tg_builtin_ops[];
enum {
#define TG_OP(name) TG_OPID_##name,
#include "ops.def"
#undef TG_OP
    TG_BUILTIN_OP_COUNT
};
/* Built-in op by name ("tanh"), or NULL. */
TG_API const tg_op_def *tg_op_find(const char *name);
/* 1 if op is an activation usable in layer specs (one input, elementwise). */
TG_API int tg_op_is_activation(const tg_op_def *op);

#ifdef __cplusplus
}
#endif
#endif
