/*
 * tapegrad/nn.h -- feed-forward nets: layer specs, initialisers, the net and its graphs,
 * losses, optimisers, the training loop, predict and accuracy.
 *
 * A net is an input width plus layers; layer l (0-based, -1 = output layer) has weights
 * w [O,I] (row-major, PyTorch layout) and biases b [O], and computes z = x w^T + b, a = f(z).
 * All parameters sit in one flat float block and all gradients in another, laid out
 * w0 b0 w1 b1 ...; every graph built from the net (a training graph of batch 30, an eval
 * graph of batch 500) binds its params to those blocks, and an optimiser step is one loop.
 * Tensors are named "x", "y" (target), "w1", "b1", "z1", "a1", ... (1-based) and "loss".
 * The library prints nothing: progress reaches the caller through a callback.
 */
#ifndef TAPEGRAD_NN_H
#define TAPEGRAD_NN_H

#include "ops.h"
#include "data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- initialisers ------------------------------------------------------------------- */
/* fan_in = I and fan_out = O of the layer's weight [O,I]; the gain g is `a` (0 means 1). */
typedef enum {
    TG_INIT_UNIFORM = 0,    /* U[a, b]: the original's init_*_lower, init_*_upper */
    TG_INIT_ZEROS,          /* 0 */
    TG_INIT_CONSTANT,       /* a */
    TG_INIT_NORMAL,         /* N(a, b^2): mean a, std b */
    TG_INIT_GLOROT_UNIFORM, /* U[-r, r], r = g sqrt(6 / (fan_in + fan_out))  (xavier) */
    TG_INIT_GLOROT_NORMAL,  /* N(0, s^2), s = g sqrt(2 / (fan_in + fan_out)) */
    TG_INIT_HE_UNIFORM,     /* U[-r, r], r = g sqrt(6 / fan_in)  (kaiming, for ReLU) */
    TG_INIT_HE_NORMAL,      /* N(0, s^2), s = g sqrt(2 / fan_in) */
    TG_INIT_LECUN_NORMAL,   /* N(0, s^2), s = g sqrt(1 / fan_in) */
    TG_INIT_ORTHOGONAL,     /* g Q: Q [O,I] with orthonormal rows (O <= I) or columns (O > I) */
    TG_INIT_KIND_COUNT
} tg_init_kind;

typedef struct tg_init {
    tg_init_kind kind;
    double a, b;            /* meaning per kind, above */
} tg_init;

/* Name of a kind ("glorot_uniform"), or NULL if out of range. */
TG_API const char *tg_init_name(tg_init_kind kind);
/* Kind for a name; "xavier_*" and "kaiming_*" are accepted aliases. -1 with TG_ERR_ARG (the
 * message lists the known names) if unknown. */
TG_API int tg_init_find(const char *name);
/* Check an initialiser's numbers; `field` ("weight", "bias") names it in messages, e.g.
 * "init_weight_lower 0.5 > init_weight_upper 0.1". TG_ERR_ARG on NaN/Inf, lower > upper,
 * std < 0, gain <= 0, unknown kind. */
TG_API tg_status tg_init_check(const tg_init *init, const char *field);
/* Fill x (n floats) from init with the given fans, drawing from *rng. Orthogonal needs
 * n == fan_in * fan_out (the matrix [fan_out, fan_in]) and builds Q by Gram-Schmidt in double
 * (a scratch of n doubles). Errors: those of tg_init_check, TG_ERR_SHAPE, TG_ERR_NOMEM. */
TG_API tg_status tg_init_fill(const tg_init *init, float *x, size_t n, int fan_in, int fan_out,
                              uint64_t *rng);

/* ---- layer specs -------------------------------------------------------------------- */
typedef struct tg_layer_spec {
    int n_nodes;                   /* O, units of the layer (>= 1) */
    const tg_op_def *activation;   /* a built-in activation (tg_op_is_activation) or a user
                                      op of one input; identity for a linear output layer */
    const void *act_args;          /* the activation's argument struct (e.g. tg_float_arg for
                                      leaky_relu), copied by the net; NULL when none */
    size_t act_args_size;
    tg_init weight_init;           /* w [O, I] */
    tg_init bias_init;             /* b [O] (fans are those of the layer's weight) */
} tg_layer_spec;

/* A built-in activation by name ("tanh"; "linear" and "none" mean identity), or NULL with
 * TG_ERR_ARG naming it if unknown or not an activation. */
TG_API const tg_op_def *tg_activation_find(const char *name);
/* Validate a net spec: n_inputs >= 1, 1 <= n_layers, each layer's n_nodes >= 1, activation
 * non-NULL and an activation, inits valid. TG_ERR_ARG naming the layer index and the field:
 * "layer 2: init_weight_lower 0.5 > init_weight_upper 0.1". */
TG_API tg_status tg_layers_check(int n_inputs, const tg_layer_spec *layers, int n_layers);

/* ---- the net: spec, RNG and the flat parameter blocks -------------------------------- */
typedef struct tg_net tg_net;

/* A net of n_inputs inputs and the given layers (copied), its parameters drawn with `seed`
 * (the same seed gives bit-identical parameters). NULL with the last error set:
 * TG_ERR_ARG (tg_layers_check), TG_ERR_OVERFLOW, TG_ERR_NOMEM. */
TG_API tg_net *tg_net_new(int n_inputs, const tg_layer_spec *layers, int n_layers,
                          uint64_t seed);
/* Free the net (graphs built from it must be freed first). NULL is fine. */
TG_API void tg_net_free(tg_net *net);
/* Re-seed the net's RNG and draw every parameter again (layer by layer, w then b). */
TG_API tg_status tg_net_init_params(tg_net *net, uint64_t seed);
/* The net's RNG state (for callers that need more seeded draws, e.g. dropout masks). */
TG_API uint64_t *tg_net_rng(tg_net *net);

TG_API int tg_net_n_inputs(const tg_net *net);
TG_API int tg_net_n_outputs(const tg_net *net);   /* n_nodes of the output layer */
TG_API int tg_net_n_layers(const tg_net *net);
/* Layer l's spec (l < 0 counts from the end), or NULL with TG_ERR_ARG naming the range. */
TG_API const tg_layer_spec *tg_net_layer(const tg_net *net, int layer);
/* Layer l's weight shape [*n_out, *n_in] (either pointer may be NULL). */
TG_API tg_status tg_net_layer_shape(const tg_net *net, int layer, int *n_out, int *n_in);
/* Pointers into the flat blocks: w (O*I floats, row-major [O,I]), b (O), and their
 * gradients; NULL with TG_ERR_ARG for a bad layer index. Valid for the net's lifetime. */
TG_API float *tg_net_weight(tg_net *net, int layer);
TG_API float *tg_net_bias(tg_net *net, int layer);
TG_API float *tg_net_weight_grad(tg_net *net, int layer);
TG_API float *tg_net_bias_grad(tg_net *net, int layer);
/* The flat blocks: all values, all gradients; *n (may be NULL) gets their length. */
TG_API float *tg_net_values(tg_net *net, size_t *n);
TG_API float *tg_net_grads(tg_net *net, size_t *n);

/* ---- losses ------------------------------------------------------------------------- */
/* A loss records ops on g from the net's output [B,C] and the target, returning a scalar. */
typedef tg_tensor *(*tg_loss_fn)(tg_graph *g, tg_tensor *output, tg_tensor *target,
                                 void *user);
typedef enum {
    TG_TARGET_LABELS = 0,  /* target [B]: class indices stored as floats */
    TG_TARGET_ONEHOT = 1   /* target [B,C]: one-hot rows (or any dense targets) */
} tg_target_kind;
typedef struct tg_loss {
    const char *name;
    tg_loss_fn fn;
    tg_target_kind target; /* the target tensor's layout */
    void *user;            /* passed to fn */
} tg_loss;

/* sum_b -log softmax(output_b)[y_b]: the original's loss (labels). */
TG_API extern const tg_loss tg_loss_softmax_xent_sum;
/* The same divided by B. */
TG_API extern const tg_loss tg_loss_softmax_xent_mean;
/* mean over B*C of (output - onehot)^2. */
TG_API extern const tg_loss tg_loss_mse;
/* "softmax_cross_entropy_sum", "softmax_cross_entropy_mean", "mse"; NULL with TG_ERR_ARG. */
TG_API const tg_loss *tg_loss_find(const char *name);

/* ---- a net's graph for a batch size --------------------------------------------------- */
typedef struct tg_net_graph tg_net_graph;
typedef enum {
    TG_LAYER_WEIGHT = 0,  /* param "w<l+1>" [O,I] */
    TG_LAYER_BIAS,        /* param "b<l+1>" [O] */
    TG_LAYER_PRE,         /* "z<l+1>" = x w^T + b  [B,O] */
    TG_LAYER_ACT          /* "a<l+1>" = f(z)  [B,O] (the output for the last layer) */
} tg_layer_part;

/* Record the net on a new graph for batches of `batch` rows: input "x" [B, n_inputs], per
 * layer w, b (bound to the net's flat blocks), z, a; with a loss (may be NULL: predict only),
 * a target input "y" in the loss's layout and the scalar "loss". The net is borrowed and must
 * outlive the graph. Numerics checking is on (tg_graph_set_check_numerics to change it).
 * NULL with the last error set (TG_ERR_ARG, TG_ERR_NOMEM, or the loss's error). */
TG_API tg_net_graph *tg_net_graph_new(tg_net *net, int batch, const tg_loss *loss);
/* Free the graph and its tape. NULL is fine. */
TG_API void tg_net_graph_free(tg_net_graph *ng);
/* The tape (for hooks, monitors, DOT export); owned by ng. */
TG_API tg_graph *tg_net_graph_tape(const tg_net_graph *ng);
TG_API tg_net *tg_net_graph_net(const tg_net_graph *ng);
TG_API int tg_net_graph_batch(const tg_net_graph *ng);
TG_API const tg_loss *tg_net_graph_loss_def(const tg_net_graph *ng);  /* NULL if none */
/* Layer l's tensor of the given part (l < 0 counts from the end), or NULL with TG_ERR_ARG. */
TG_API tg_tensor *tg_net_graph_layer(const tg_net_graph *ng, int layer, tg_layer_part part);
TG_API tg_tensor *tg_net_graph_input(const tg_net_graph *ng);   /* "x" [B, n_inputs] */
TG_API tg_tensor *tg_net_graph_output(const tg_net_graph *ng);  /* last "a" [B, C] */
TG_API tg_tensor *tg_net_graph_target(const tg_net_graph *ng);  /* "y" or NULL */
TG_API tg_tensor *tg_net_graph_loss(const tg_net_graph *ng);    /* "loss" [] or NULL */
/* Bind a batch (borrowed, B rows): x (B, n_inputs) and, when the graph has a loss, y in the
 * loss's layout ([B] labels or [B,C]); y may be NULL to keep the current target. */
TG_API tg_status tg_net_graph_bind(tg_net_graph *ng, float *x, float *y);

/* ---- optimisers on flat blocks -------------------------------------------------------- */
typedef enum {
    TG_OPTIM_SGD = 0,      /* p -= lr g  (the original) */
    TG_OPTIM_MOMENTUM,     /* v = mu v + g;  p -= lr v */
    TG_OPTIM_NESTEROV,     /* v = mu v + g;  p -= lr (g + mu v) */
    TG_OPTIM_ADAM,         /* m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
                              p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) */
    TG_OPTIM_RMSPROP       /* s = rho s + (1-rho) g^2;  p -= lr g / (sqrt(s) + eps) */
} tg_optim_kind;

typedef enum {
    TG_LR_CONSTANT = 0,    /* lr */
    TG_LR_STEP,            /* lr gamma^floor(t / step_size) */
    TG_LR_EXPONENTIAL      /* lr gamma^t */
} tg_lr_schedule;          /* t = steps taken before this one */

typedef struct tg_optim_opts {
    tg_optim_kind kind;
    double lr;             /* > 0 */
    double momentum;       /* mu in [0,1) (momentum, nesterov) */
    double beta1, beta2;   /* in [0,1) (adam) */
    double rho;            /* in [0,1) (rmsprop) */
    double eps;            /* > 0 (adam, rmsprop) */
    tg_lr_schedule schedule;
    long step_size;        /* >= 1 (TG_LR_STEP) */
    double gamma;          /* in (0, 1] (step, exponential) */
    double clip_norm;      /* > 0: scale g by min(1, clip_norm / ||g||_2) over all params */
} tg_optim_opts;

typedef struct tg_optim tg_optim;

/* Options for kind with learning rate lr and the usual defaults: momentum 0.9, betas 0.9 and
 * 0.999, rho 0.9, eps 1e-8, constant schedule, gamma 1, step_size 1, no clipping. */
TG_API tg_optim_opts tg_optim_defaults(tg_optim_kind kind, double lr);
/* Name of a kind: "sgd", "momentum", "nesterov", "adam", "rmsprop" (NULL if unknown). */
TG_API const char *tg_optim_name(tg_optim_kind kind);
/* Kind for a name, or -1 with TG_ERR_ARG. */
TG_API int tg_optim_find(const char *name);
/* An optimiser over values[0..n) with gradients grads[0..n) (both borrowed, e.g.
 * tg_net_values/tg_net_grads); moments are allocated here, once. NULL with TG_ERR_ARG (lr NaN
 * or <= 0, momentum/betas/rho outside [0,1), eps <= 0, bad schedule) or TG_ERR_NOMEM. */
TG_API tg_optim *tg_optim_new(const tg_optim_opts *opts, float *values, const float *grads,
                              size_t n);
/* tg_optim_new over all of net's parameters (tg_net_values, tg_net_grads). */
TG_API tg_optim *tg_optim_new_net(const tg_optim_opts *opts, tg_net *net);
TG_API void tg_optim_free(tg_optim *opt);
/* One update of every value; no allocation. If the gradient norm is not finite nothing is
 * changed and TG_ERR_NONFINITE is returned. */
TG_API tg_status tg_optim_step(tg_optim *opt);
/* Zero the moments and the step count. */
TG_API void tg_optim_reset(tg_optim *opt);
TG_API long tg_optim_steps(const tg_optim *opt);         /* updates applied so far */
TG_API double tg_optim_lr(const tg_optim *opt);          /* lr of the next step */
/* ||g||_2 seen by the last step; NaN after a fused SGD step of tg_train, which never forms the
 * weight gradients (plain SGD, no clipping, no gradient hook sampling that step). */
TG_API double tg_optim_grad_norm(const tg_optim *opt);

/* ---- training ----------------------------------------------------------------------- */
/* A batch source: fill *b (data.h's tg_batch: n, epoch, x, labels, onehot), b->n == 0 at the
 * end of the data. tg_pipeline_next fits through tg_train_pipeline. */
typedef tg_status (*tg_batch_fn)(void *src, tg_batch *b);

typedef struct tg_train_progress {
    long step;             /* global step just taken (0-based) */
    long epoch;
    double loss;           /* this step's loss */
    double steps_per_s;    /* since the start of this tg_train call */
    long max_steps;        /* the options' limits, for a progress bar (0 = none) */
    long max_epochs;
} tg_train_progress;
/* Called after every step; a non-OK return stops training with that status. */
typedef tg_status (*tg_progress_fn)(const tg_train_progress *p, void *user);

typedef struct tg_train_opts {
    long max_epochs;       /* stop at the first batch of epoch >= max_epochs; 0 = no limit */
    long max_steps;        /* stop after this many steps in this call; 0 = no limit */
    int check_numerics;    /* 1: a NaN/Inf stops training naming the op (default 1) */
    int flush_subnormals;  /* 1: flush subnormals to zero in this thread during the call
                              (tg_set_flush_subnormals), restoring the caller's mode on
                              return; 0 leaves the mode as it is (default 0) */
    tg_progress_fn progress;
    void *progress_user;
} tg_train_opts;

typedef struct tg_train_result {
    long steps;            /* steps applied by this call */
    long epoch;            /* epoch of the last step */
    double loss;           /* loss of the last step */
    double epoch_loss;     /* mean loss over the last epoch's steps in this call */
    double seconds;        /* wall time of the loop */
} tg_train_result;

/* Defaults: no limits, numerics checked, subnormals not flushed, no progress callback. */
TG_API tg_train_opts tg_train_defaults(void);
/* Train: per step take a batch, bind x and the target, set the graph's step and epoch,
 * forward, check the loss is finite, backward, optimiser step. Step numbers continue from
 * tg_optim_steps(opt). A NaN/Inf stops with TG_ERR_NONFINITE naming the step and the first
 * op whose output became non-finite, and that step changes no parameter. After the first
 * step, a step makes no heap allocation (given a source that makes none). With plain SGD (no
 * clipping) and a loss that reads each weight only through its layer, a step folds the update
 * into the weight-gradient GEMM (w -= lr dz^T x) and leaves the weight gradients unwritten,
 * except on steps where a gradient hook on a parameter fires (tg_hook_set_period); the result
 * equals tg_backward + tg_optim_step to rounding (docs/performance.md). res may be NULL
 * and is filled also on error. Errors: TG_ERR_ARG, TG_ERR_SHAPE (batch rows != graph batch),
 * TG_ERR_NONFINITE, TG_ERR_STATE (graph without loss), TG_ERR_UNAVAILABLE (flush_subnormals
 * where tg_set_flush_subnormals fails), the source's or callback's status. */
TG_API tg_status tg_train(tg_net_graph *ng, tg_optim *opt, tg_batch_fn next, void *src,
                          const tg_train_opts *opts, tg_train_result *res);
/* tg_train over a pipeline (set drop_remainder: the graph takes full batches). Checked first:
 * TG_ERR_MISMATCH (features != net inputs; classes != outputs for one-hot losses),
 * TG_ERR_SHAPE (pipeline batch != graph batch). */
TG_API tg_status tg_train_pipeline(tg_net_graph *ng, tg_optim *opt, tg_pipeline *p,
                                   const tg_train_opts *opts, tg_train_result *res);

/* ---- predict and accuracy ----------------------------------------------------------- */
/* Run the net on n rows of x (n, n_inputs), any n, in batches of the graph's size (the last
 * partial batch goes through a zero-padded buffer allocated once per call). logits (n, C)
 * and classes (n, argmax per row) may each be NULL. TG_ERR_NONFINITE if an output row holds
 * NaN/Inf (naming the row). */
TG_API tg_status tg_net_predict(tg_net_graph *ng, const float *x, size_t n, float *logits,
                                int *classes);
/* Fraction of rows of x whose argmax equals labels[i] (n uint8 labels), in *acc. */
TG_API tg_status tg_net_accuracy(tg_net_graph *ng, const float *x, const uint8_t *labels,
                                 size_t n, double *acc);
/* Accuracy on a data set (ds->x, ds->labels). */
TG_API tg_status tg_net_accuracy_dataset(tg_net_graph *ng, const tg_dataset *ds, double *acc);

#ifdef __cplusplus
}
#endif
#endif
