/*
 * tapegrad/tensor.h -- float32 tensors of rank 0..4, row-major and contiguous.
 *
 * Tensors belong to one graph and are never freed on their own: tg_graph_free releases them.
 * The struct is public so that ops (built-in and user-defined) read shapes and data directly;
 * treat every field as read-only and change tensors only through the functions below.
 */
#ifndef TAPEGRAD_TENSOR_H
#define TAPEGRAD_TENSOR_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TG_MAX_RANK 4

typedef struct tg_graph tg_graph;
typedef struct tg_node tg_node;
typedef struct tg_hook tg_hook;

typedef enum {
    TG_INPUT = 0,        /* data bound before each run; no gradient unless asked for */
    TG_PARAM = 1,        /* trainable; always has a gradient */
    TG_CONST = 2,        /* fixed values; never a gradient */
    TG_INTERMEDIATE = 3  /* output of an op */
} tg_kind;

typedef struct tg_tensor {
    tg_graph *graph;
    int index;                  /* position in the graph's tensor list (DOT names it t<index>) */
    tg_kind kind;
    int rank;                   /* 0 (scalar) .. TG_MAX_RANK */
    int shape[TG_MAX_RANK];     /* unused trailing entries are 1 */
    size_t size;                /* product of shape[0..rank) (1 for a scalar) */
    float *data;                /* (size) values; for inputs, borrowed from the caller */
    float *grad;                /* (size) dLoss/dthis after backward, or NULL if none */
    const char *name;           /* never NULL; "" when unnamed */
    int requires_grad;          /* 1 if a gradient flows into this tensor */
    tg_node *producer;          /* node that computes it, NULL for inputs/params/consts */
    tg_hook *hooks;             /* NULL when none: the run loop tests only this */
    /* engine bookkeeping, not for callers */
    int grad_written;           /* set once backward has written grad in this pass */
    float *own_data;            /* graph-owned storage restored by tg_tensor_bind(t, NULL) */
    float *own_grad;
} tg_tensor;

/* New tensors of each kind. dims has `rank` entries, each >= 1; rank <= TG_MAX_RANK.
 * Values start at zero. Errors: TG_ERR_ARG, TG_ERR_SHAPE, TG_ERR_OVERFLOW, TG_ERR_NOMEM. */
TG_API tg_tensor *tg_input(tg_graph *g, const char *name, int rank, const int *dims);
TG_API tg_tensor *tg_param(tg_graph *g, const char *name, int rank, const int *dims);
/* A param on storage the caller lends from the start: values `data` (size floats, required)
 * and gradient `grad` (size floats, or NULL: the graph makes one at the first backward).
 * Both are borrowed, never copied or freed, and must outlive the graph. No storage of its
 * own is made, so tg_tensor_bind(t, NULL) is TG_ERR_STATE; a net's parameters are made so
 * and cost only the net's flat blocks. */
TG_API tg_tensor *tg_param_bound(tg_graph *g, const char *name, int rank, const int *dims,
                                 float *data, float *grad);
/* A constant; values (size floats) are copied, or zeros when values is NULL. */
TG_API tg_tensor *tg_const(tg_graph *g, const char *name, int rank, const int *dims,
                           const float *values);
/* A constant scalar. */
TG_API tg_tensor *tg_scalar(tg_graph *g, float value);

/* Bind caller-owned storage (t->size floats) as the tensor's values; it is borrowed, never
 * copied or freed, and must outlive its use. Inputs, params and consts only. NULL restores
 * the graph's own storage (TG_ERR_STATE for a tensor made by tg_param_bound, which has none). */
TG_API tg_status tg_tensor_bind(tg_tensor *t, float *data);
/* Bind caller-owned storage as the tensor's gradient (params and grad-requiring inputs). */
TG_API tg_status tg_tensor_bind_grad(tg_tensor *t, float *grad);
/* Copy n = t->size floats into the tensor's values (inputs, params, consts). */
TG_API tg_status tg_tensor_set(tg_tensor *t, const float *values, size_t n);
/* Make an input tensor carry a gradient (for gradient checks or saliency). */
TG_API tg_status tg_tensor_requires_grad(tg_tensor *t);
/* Rename; the name is copied into the graph. */
TG_API tg_status tg_tensor_set_name(tg_tensor *t, const char *name);
/* Writes "[30,784]" into buf (always NUL-terminated); returns buf. */
TG_API char *tg_shape_str(const tg_tensor *t, char *buf, size_t len);
/* Name of a kind: "input", "param", "const", "intermediate". */
TG_API const char *tg_kind_name(tg_kind k);

#ifdef __cplusplus
}
#endif
#endif
