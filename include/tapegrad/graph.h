/*
 * tapegrad/graph.h -- the tape: graphs, nodes, op descriptors, replay, backward, hooks,
 * gradient checking.
 *
 * Applying an op records a node and computes its value at once. The recorded tape is the
 * graph: tg_graph_forward replays it with whatever data is bound to the inputs, tg_backward
 * walks it in reverse. The first forward+backward sizes every buffer; after that a step makes
 * no heap allocation.
 */
#ifndef TAPEGRAD_GRAPH_H
#define TAPEGRAD_GRAPH_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Op flags. */
enum {
    /* backward honours n->accum[k]: when 0 it overwrites in[k]->grad instead of adding,
     * which saves the engine a memset. Ops without it always get accum[k] = 1. */
    TG_OP_GRAD_ASSIGN = 1u << 0
};

/* One op: a name and three functions. Built-in and user ops use this same struct. */
typedef struct tg_op_def {
    const char *name;                   /* in error messages and DOT labels */
    int n_in;                           /* number of inputs; -1 = variadic (>= 1) */
    unsigned flags;                     /* TG_OP_* */
    tg_status (*shape)(tg_node *n);     /* check inputs, tg_node_set_shape, reserve scratch */
    tg_status (*forward)(tg_node *n);   /* n->out->data from n->in[k]->data */
    tg_status (*backward)(tg_node *n);  /* into n->in[k]->grad where non-NULL, given out->grad */
    size_t args_size;                   /* size of the argument struct the op reads, 0 if it
                                           reads none; tg_apply refuses args of another size */
} tg_op_def;

/* A recorded application of an op. Readable by the op's functions. */
struct tg_node {
    const tg_op_def *op;
    tg_graph *graph;
    int index;                  /* recording order (DOT names it op<index>) */
    int n_in;
    tg_tensor **in;             /* (n_in) */
    tg_tensor *out;
    const void *args;           /* copy of the builder's argument struct, or NULL */
    size_t args_size;           /* its size in bytes (0 when args is NULL) */
    void *user;                 /* the builder's user pointer, not owned */
    void *scratch;              /* bytes reserved by shape() with tg_node_scratch */
    size_t scratch_size;
    unsigned char *accum;       /* (n_in) set before backward: 1 = add into grad, 0 = assign */
};

/* A new, empty graph. NULL on allocation failure. */
TG_API tg_graph *tg_graph_new(void);
/* Frees the graph and everything it owns (tensors, buffers, hooks). NULL is fine. */
TG_API void tg_graph_free(tg_graph *g);

/* Record op on inputs in[0..n_in) and compute its value. args (args_size bytes) is copied.
 * Returns the output tensor, or NULL with the last error set; a NULL input gives NULL with
 * TG_ERR_ARG, so composed expressions are checked once. No node is added on failure. */
TG_API tg_tensor *tg_apply(tg_graph *g, const tg_op_def *op, tg_tensor *const in[], int n_in,
                           const void *args, size_t args_size, void *user);

/* For op shape functions: set the output shape (rank 0..4, dims >= 0 checked for overflow). */
TG_API tg_status tg_node_set_shape(tg_node *n, int rank, const int *dims);
/* For op shape functions: reserve `bytes` of scratch (64-byte aligned) in n->scratch. */
TG_API tg_status tg_node_scratch(tg_node *n, size_t bytes);

/* Replay every node in recording order with the data now bound to inputs. */
TG_API tg_status tg_graph_forward(tg_graph *g);
/* Replay only the nodes needed to compute t (all nodes recorded up to t's producer). */
TG_API tg_status tg_graph_forward_to(tg_graph *g, tg_tensor *t);
/* Gradients of the scalar `loss` with respect to every tensor that requires one. Every
 * gradient is recomputed from zero (calling it twice gives the same gradients); a tensor no
 * path reaches gets zeros. TG_ERR_SHAPE if loss is not a scalar, TG_ERR_STATE before forward. */
TG_API tg_status tg_backward(tg_graph *g, tg_tensor *loss);
/* As tg_backward from a non-scalar output, with dLoss/dout given in seed (out->size floats). */
TG_API tg_status tg_backward_seed(tg_graph *g, tg_tensor *out, const float *seed);
/* Set every gradient in the graph to zero. */
TG_API void tg_graph_zero_grad(tg_graph *g);

/* Step and epoch passed to hooks; the trainer sets them before each step. */
TG_API void tg_graph_set_step(tg_graph *g, long step, long epoch);
TG_API long tg_graph_step(const tg_graph *g);
TG_API long tg_graph_epoch(const tg_graph *g);
/* Numerics check: after each op, a NaN or Inf in its output stops the run with
 * TG_ERR_NONFINITE naming the op, the tensor and the first bad index. Off by default. */
TG_API void tg_graph_set_check_numerics(tg_graph *g, int on);

/* Enumerating the tape (pointers live as long as the graph). */
TG_API int tg_graph_n_nodes(const tg_graph *g);
TG_API tg_node *tg_graph_node(const tg_graph *g, int i);
TG_API int tg_graph_n_tensors(const tg_graph *g);
TG_API tg_tensor *tg_graph_tensor(const tg_graph *g, int i);
/* First tensor with this name, or NULL (no error set). */
TG_API tg_tensor *tg_graph_find(const tg_graph *g, const char *name);

/* ---- hooks ---------------------------------------------------------------------------- */
enum { TG_ON_VALUE = 1, TG_ON_GRAD = 2 };

/* A hook sees `values` (t->size floats: the value or the gradient, as `when` says). It must not
 * modify them or allocate; a non-OK return stops the step and is returned to the caller. */
typedef tg_status (*tg_hook_fn)(const tg_tensor *t, int when, const float *values, long step,
                                long epoch, void *user);
/* Register fn on t for TG_ON_VALUE and/or TG_ON_GRAD; *id (may be NULL) receives its id.
 * Value hooks fire after the tensor is computed (inputs/params at the start of a forward);
 * grad hooks fire once its gradient is complete during backward. */
TG_API tg_status tg_hook_add(tg_tensor *t, int when, tg_hook_fn fn, void *user, int *id);
/* Fire hook id of t only on steps that are multiples of period (>= 1; 1 = every step, the
 * default). Monitors that sample every N steps say so, which lets the trainer take its fused
 * SGD path on the other steps. TG_ERR_ARG for period < 1, TG_ERR_STATE for an unknown id. */
TG_API tg_status tg_hook_set_period(tg_tensor *t, int id, long period);
/* Remove hook id from t; TG_ERR_STATE if t has no such hook (e.g. removed twice). */
TG_API tg_status tg_hook_remove(tg_tensor *t, int id);

/* ---- gradient checking ---------------------------------------------------------------- */
typedef struct tg_gradcheck_opts {
    double h;           /* relative step: h_i = h * max(1, |x_i|); 0 -> 1e-3 */
    double atol, rtol;  /* pass when |analytic - numeric| <= atol + rtol * |numeric| */
    double lo, hi;      /* inputs drawn uniform in [lo, hi) (gradcheck_op only) */
    double kink;        /* redraw inputs closer than kink to 0 (relu, abs); 0 = none */
    uint64_t seed;      /* inputs and projection weights */
    /* Optional (gradcheck_op): fill input k's n values yourself, e.g. labels or positive
     * numbers; return 1 to check its gradient, 0 to leave it without one (targets). */
    int (*fill)(int k, float *data, size_t n, uint64_t *rng, void *fill_user);
    void *fill_user;
} tg_gradcheck_opts;

/* Uniform float in [lo, hi) from a xorshift state (for fill callbacks and initialisers). */
TG_API double tg_rand_uniform(uint64_t *rng, double lo, double hi);

typedef struct tg_gradcheck_report {
    double max_abs_err;     /* max |analytic - numeric| over all checked elements */
    double max_rel_err;     /* max |a - n| / max(|a|, |n|, 1e-6) */
    double worst_excess;    /* max (|a-n| - atol - rtol*|n|); > 0 means failed */
    int worst_input;        /* input index of the worst element */
    size_t worst_index;     /* element index of the worst element */
    double worst_analytic, worst_numeric;
    size_t n_checked;
    int passed;             /* 1 when every element met the tolerance */
} tg_gradcheck_report;

/* Check d(sum(w * out))/d(t) for t in wrt[0..n_wrt) by central differences, where out is the
 * graph tensor `out` and w fixed random weights (a plain sum would hide softmax errors).
 * The graph must already have been run forward; its values are restored afterwards.
 * Returns TG_OK when the check ran (see report->passed), an error status otherwise. */
TG_API tg_status tg_gradcheck_graph(tg_graph *g, tg_tensor *out, tg_tensor *const wrt[],
                                    int n_wrt, const tg_gradcheck_opts *opts,
                                    tg_gradcheck_report *report);
/* Build a fresh graph with op applied to inputs of the given shapes (random in [lo, hi)),
 * and check the gradient of every input. shapes[k] holds rank[k] dims. */
TG_API tg_status tg_gradcheck_op(const tg_op_def *op, int n_in, const int *rank,
                                 const int (*shapes)[TG_MAX_RANK], const void *args,
                                 size_t args_size, void *user, const tg_gradcheck_opts *opts,
                                 tg_gradcheck_report *report);

#ifdef __cplusplus
}
#endif
#endif
