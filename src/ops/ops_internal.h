/*
 * ops_internal.h -- helpers shared by the built-in op families: input checks with messages
 * naming the op, the tensors and their shapes, the broadcast rule of binary ops, and the loop
 * macros of elementwise ops.
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

/* The tg_float_arg of n, or def when the node was applied without args (activations named
 * in layer specs are applied by descriptor alone). */
static inline float tgi_float_arg(const tg_node *n, float def)
{
    return n->args ? ((const tg_float_arg *)n->args)->value : def;
}

/* Marks a loop free of loop-carried memory dependences, so gcc vectorises it without runtime
 * alias checks. Only on loops that write each element once (never a reduction into memory). */
#if defined(__GNUC__) && !defined(__clang__)
#define TGI_IVDEP _Pragma("GCC ivdep")
#else
#define TGI_IVDEP
#endif

/* db[o] (= or += as accum says) scale sum_r dy[r,o] over the B rows of dy [B,O] (blas.c). */
void tgi_sum_rows(const float *dy, int B, int O, float scale, int accum, float *db);

/* ---- the fused SGD step (docs/performance.md) ----------------------------------------------
 * The net builder records each layer's linear node with user = an int flag. While the flag is
 * nonzero, linear's backward computes dx only and leaves dw and db to the net graph, which then
 * applies w -= lr dy^T x as one GEMM (beta = 1) and b -= lr sum_rows dy, after checking that
 * no gradient can be non-finite. These belong with the nn internals; they sit here because
 * this is the internal header the fused step's files share. */
/* optim.c: the learning rate of this step if opt is plain SGD without clipping over exactly
 * values[0..n), else 0 (the step must go through tg_optim_step). */
float tgi_optim_sgd_lr(const tg_optim *opt, const float *values, size_t n);
/* optim.c: count a step that was applied by the fused path (its gradient norm is NaN: the
 * gradient was never formed). */
void tgi_optim_step_fused(tg_optim *opt);
/* build.c: backward from the graph's loss and the optimiser step: the fused SGD step when
 * tgi_optim_sgd_lr allows it and no parameter has a gradient hook, else tg_backward +
 * tg_optim_step.
 * Either way nothing is updated unless every gradient is finite. */
tg_status tgi_net_graph_backward_step(tg_net_graph *ng, tg_optim *opt);

/* Elementwise unary loops over the n->out->size floats of a one-input op.
 * TGI_MAP:      y[i] = EXPR, where EXPR reads x (the input element).
 * TGI_MAP_GRAD: dx[i] = or += EXPR as n->accum[0] says, where EXPR reads x, y (the output
 *               element) and dy; nothing when the input has no gradient. */
#define TGI_MAP(n, EXPR)                                                                   \
    do {                                                                                   \
        const float *x_ = (n)->in[0]->data;                                                \
        float *y_ = (n)->out->data;                                                        \
        size_t i_, n_ = (n)->out->size;                                                    \
        TGI_IVDEP for (i_ = 0; i_ < n_; ++i_) {                                            \
            const float x = x_[i_];                                                        \
            y_[i_] = (EXPR);                                                               \
        }                                                                                  \
    } while (0)

#define TGI_MAP_GRAD(n, EXPR)                                                              \
    do {                                                                                   \
        const float *x_ = (n)->in[0]->data, *y_ = (n)->out->data, *dy_ = (n)->out->grad;   \
        float *dx_ = (n)->in[0]->grad;                                                     \
        size_t i_, n_ = (n)->out->size;                                                    \
        if (!dx_)                                                                          \
            break;                                                                         \
        if ((n)->accum[0]) {                                                               \
            TGI_IVDEP for (i_ = 0; i_ < n_; ++i_) {                                        \
                const float x = x_[i_], y = y_[i_], dy = dy_[i_];                          \
                (void)x, (void)y, (void)dy;                                                \
                dx_[i_] += (EXPR);                                                         \
            }                                                                              \
        } else {                                                                           \
            TGI_IVDEP for (i_ = 0; i_ < n_; ++i_) {                                        \
                const float x = x_[i_], y = y_[i_], dy = dy_[i_];                          \
                (void)x, (void)y, (void)dy;                                                \
                dx_[i_] = (EXPR);                                                          \
            }                                                                              \
        }                                                                                  \
    } while (0)

#endif
