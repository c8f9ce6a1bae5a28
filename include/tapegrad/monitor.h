/*
 * tapegrad/monitor.h -- monitors (a hook on one tensor + a reduction + a steps x units store),
 * their CSV export and plots drawn with PLplot.
 *
 * A monitor samples its tensor's value or gradient when step % period == 0 (the step set by
 * tg_graph_set_step), at most once per (step, epoch): the first firing in a step wins, so extra
 * forwards in the same step (evaluation, gradient checks) add no rows. Each sample is `units`
 * floats (the reduction's output) plus its step and epoch.
 *
 * Memory: storage for `planned` samples is reserved at creation, so sampling allocates nothing
 * until that many samples are held; past it the store doubles. With a cap the store never holds
 * more than cap samples: when full, every other sample is dropped and the period doubles (keep
 * every k-th). A 110,000-step run then keeps an evenly spaced sketch of the whole run, start
 * included, where a ring buffer would lose the early steps in which gradients vanish.
 *
 * Lifetime: a monitor holds a hook on its tensor, so free (or detach) every monitor BEFORE
 * freeing its graph. A detached monitor no longer samples, and its data stay readable after
 * the graph is gone. Non-finite values are stored as they are. Not thread-safe per monitor.
 *
 * Shapes: the per-unit reductions see a tensor of rank >= 2 as a matrix [R, C] with
 * R = shape[0], C = size / R (a batch [B,U] of activations, a weight [O,I]); a tensor of rank
 * 0 or 1 holds one value per unit.
 */
#ifndef TAPEGRAD_MONITOR_H
#define TAPEGRAD_MONITOR_H

#include "graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_monitor tg_monitor;

/* What a sample holds; `units` is the number of floats per sample. */
typedef enum {
    TG_MON_COPY = 0,       /* units = size: every element */
    TG_MON_MEAN,           /* 1: mean of all elements */
    TG_MON_NORM,           /* 1: L2 norm sqrt(sum x^2) */
    TG_MON_MINMAX,         /* 2: min, max (NaN skipped; both NaN when every value is) */
    TG_MON_HIST,           /* bins + 3: counts of bins of width (hi-lo)/bins over [lo, hi] (the
                              last bin includes hi), then the counts below lo, above hi, NaN */
    TG_MON_UNIT_MEAN,      /* C: column means of [R,C] (activation per unit over the batch) */
    TG_MON_UNIT_NORM,      /* R: row L2 norms of [R,C] (weight or weight gradient per unit) */
    TG_MON_UNIT_SATURATED, /* C: fraction of each column with |x| > threshold (tanh, sigmoid) */
    TG_MON_UNIT_ZERO,      /* C: fraction of each column equal to 0 (dead ReLU units) */
    TG_MON_STATS           /* 3: L2 norm, mean, standard deviation (population) */
} tg_monitor_kind;

/* Creation options; zero fields take the defaults noted. */
typedef struct tg_monitor_opts {
    tg_monitor_kind kind;
    int grad;              /* 0: watch the value (TG_ON_VALUE); 1: the gradient (TG_ON_GRAD) */
    long period;           /* sample when step % period == 0; must be >= 1 */
    long planned;          /* samples reserved at creation; 0 -> 64 */
    long cap;              /* 0: unbounded; else >= 2, most samples kept (thinning, see top) */
    int bins;              /* TG_MON_HIST: >= 1 */
    float lo, hi;          /* TG_MON_HIST: finite, lo < hi */
    float threshold;       /* TG_MON_UNIT_SATURATED: finite, >= 0 (e.g. 0.95 for tanh) */
    const char *name;      /* copied; NULL -> "<tensor>_<value|grad>_<kind>" */
} tg_monitor_opts;

/* A monitor on t, hooked at once. NULL with the last error set: TG_ERR_ARG (NULL tensor, period
 * 0, bad histogram range or threshold, gradient of a tensor without one), TG_ERR_LIMIT (more
 * than INT_MAX units), TG_ERR_OVERFLOW, TG_ERR_NOMEM. */
TG_API tg_monitor *tg_monitor_new(tg_tensor *t, const tg_monitor_opts *opts);
/* Remove the hook (the graph must still be alive); samples stay readable. TG_ERR_STATE if the
 * monitor is detached already. */
TG_API tg_status tg_monitor_detach(tg_monitor *m);
/* Detach if still attached, then free. NULL is fine. */
TG_API void tg_monitor_free(tg_monitor *m);

/* Read-back. The pointers stay valid until the next sample or tg_monitor_free. */
TG_API long tg_monitor_n_samples(const tg_monitor *m);
TG_API int tg_monitor_n_units(const tg_monitor *m);
TG_API const float *tg_monitor_values(const tg_monitor *m);  /* (samples, units) row-major */
TG_API const long *tg_monitor_steps(const tg_monitor *m);    /* (samples) */
TG_API const long *tg_monitor_epochs(const tg_monitor *m);   /* (samples) */
TG_API const char *tg_monitor_name(const tg_monitor *m);
/* e.g. "L2 norm of the gradient of 'b1' [16], every 10 steps". */
TG_API const char *tg_monitor_what(const tg_monitor *m);
/* Current period: the one given, doubled at each thinning. */
TG_API long tg_monitor_period(const tg_monitor *m);
/* The options in force (defaults filled in; name points to the monitor's copy). */
TG_API const tg_monitor_opts *tg_monitor_options(const tg_monitor *m);
/* "copy", "mean", "norm", "minmax", "hist", "unit_mean", ...; "?" for an unknown kind. */
TG_API const char *tg_monitor_kind_name(tg_monitor_kind k);

/* ---- CSV ------------------------------------------------------------------------------ */
/* Write m's samples to path: header "step,epoch,unit,value", then one row per sample and unit
 * (unit 0 for scalars), numbers in the C locale whatever the process locale, "%.9g" so floats
 * read back bitwise, "nan", "inf", "-inf" spelled out. Written to path.tmp, flushed, fsynced
 * and renamed over path; on failure TG_ERR_IO naming the path and the system's reason, the
 * temporary removed and any previous file at path untouched. */
TG_API tg_status tg_monitor_write_csv(const tg_monitor *m, const char *path);

/* ---- plots (PLplot, cairo devices) ------------------------------------------------------ */
/* The format follows the extension of path: ".png" or ".svg". Files are drawn into path.tmp
 * and renamed. Non-finite values are skipped and axis ranges come from finite values only.
 * Without PLplot at build time every plot call returns TG_ERR_UNAVAILABLE. PLplot holds global
 * state: plots are drawn one at a time (a lock), and PLplot's exit and abort handlers are set
 * during a call and reset to PLplot's defaults after it. */
typedef struct tg_plot_opts {
    const char *title;     /* NULL: a default from the data */
    const char *xlabel;    /* NULL: "step" (lines, heatmap), "value" (hist) */
    const char *ylabel;    /* NULL: a default from the data */
    int width, height;     /* pixels (PNG) or points (SVG); 0 -> 960 x 640 */
    int log_y;             /* lines, hist: log10 y axis; values <= 0 are skipped */
    int log_z;             /* heatmap: colour by log10 |value|; zeros take the lowest colour */
} tg_plot_opts;

/* One line of a line chart: y[i * stride] over x[i] for i < n. */
typedef struct tg_series {
    const char *label;     /* legend text; NULL or "" leaves it out of the legend */
    const long *x;         /* (n) steps */
    const float *y;
    long n;
    long stride;           /* 0 -> 1 */
} tg_series;

/* Unit `unit` of m as a series labelled with m's name (pointers into m: valid as the
 * monitor's read-back). TG_ERR_ARG if unit is out of range. */
TG_API tg_status tg_monitor_series(const tg_monitor *m, int unit, tg_series *out);
/* A line chart of n series over steps, with a legend when any has a label: the loss curve, or
 * per-layer gradient norms on a log y axis. TG_ERR_NONFINITE (no file) if no series has a
 * point to draw. */
TG_API tg_status tg_plot_lines(const char *path, const tg_series *s, int n,
                               const tg_plot_opts *o);
/* Heatmap of |value| of every sample (x: step) and unit (y), coloured with the diverging
 * red-yellow-blue scale (red = small, blue = large), with a colour bar. More than 480 samples
 * or units are averaged in equal groups. Non-finite cells stay blank; TG_ERR_NONFINITE if all
 * are, TG_ERR_ARG if m has no sample. */
TG_API tg_status tg_plot_heatmap(const char *path, const tg_monitor *m, const tg_plot_opts *o);
/* Histograms of n TG_MON_HIST monitors (one per layer, say) at one step, overlaid as fractions
 * of all values (outside [lo, hi] included in the total; the legend shows that share), in the
 * manner of Glorot & Bengio (2010). step < 0 takes each monitor's last sample. TG_ERR_ARG if a
 * monitor is not a histogram or has no sample at that step. */
TG_API tg_status tg_plot_hist(const char *path, const tg_monitor *const ms[], int n, long step,
                              const tg_plot_opts *o);

/* ---- layer monitors: the study's views of a net's graph (layers.c) -------------------------
 * A monitor set owns tg_monitor's on one tg_net_graph (nn.h), each with a role below, added by
 * kind + period + layer (the builder's index: 0 = first layer, -1 = the output layer). Layer
 * l has w [O,I], b [O], z = x w^T + b [B,O] and a = f(z) [B,O]; B is the graph's batch.
 *   loss        "loss": the batch loss of each sampled step (computed before its update)
 *   grad        "grad_layerL_bias" dL/db per unit (steps x units: the original's heatmap),
 *               "grad_layerL_weight" ||dL/dW row|| per unit, "grad_layerL_hist" a histogram
 *               of dL/dz over [-grad_hist_range, grad_hist_range]
 *   gradnorm    "gradnorm_layerL" ||dL/dz||_F over the batch (the back-propagated gradient,
 *               a grad hook on z), "gradnorm_layerL_weight" ||dL/dW||, "gradnorm_layerL_bias"
 *               ||dL/db||. Note db = sum_b dz[b,:], so ||db|| <= sqrt(B) ||dz|| and it can be
 *               small while dz is not (signs cancel over the batch): the diagnosis uses ||dz||.
 *   weight      "weight_layerL_units" ||W row|| per unit, "weight_layerL" (||W||, mean, std)
 *   activation  "act_layerL_mean" mean of a per unit over the batch; for tanh
 *               "act_layerL_saturated" the fraction of |a| > 0.99 per unit, for sigmoid the
 *               same name for a < 0.01 or a > 0.99 (watched on z: |z| > ln 99), for relu
 *               "act_layerL_dead" the fraction of a == 0 per unit; "act_layerL_hist" a
 *               histogram of a (tanh [-1,1], sigmoid [0,1], relu [0,4], others [-4,4]).
 * Monitor names are also the CSV and plot file names. The set holds hooks on the graph: free
 * it (or tg_monitor_set_detach it) before freeing the graph; a detached set keeps its data,
 * CSV, plots, metric and diagnosis working. Watch the training graph: a forward of the same
 * graph for evaluation would be sampled at the training step if it came first.
 */
struct tg_net_graph;  /* nn.h's tg_net_graph: no second typedef (C99) */
typedef struct tg_monitor_set tg_monitor_set;

typedef enum {
    TG_WATCH_LOSS = 0,     /* "loss" */
    TG_WATCH_GRAD,         /* "grad" */
    TG_WATCH_GRADNORM,     /* "gradnorm" (also "grad_norm") */
    TG_WATCH_WEIGHT,       /* "weight" */
    TG_WATCH_ACTIVATION,   /* "activation" */
    TG_WATCH_KIND_COUNT
} tg_watch_kind;

/* Each monitor's role in its set (names as above, L the 0-based layer). */
typedef enum {
    TG_ROLE_LOSS = 0,        /* loss [1] */
    TG_ROLE_BIAS_GRAD,       /* grad: dL/db [O] */
    TG_ROLE_WEIGHT_GRAD_UNIT,/* grad: row norms of dL/dW [O] */
    TG_ROLE_PRE_GRAD_HIST,   /* grad: histogram of dL/dz [bins + 3] */
    TG_ROLE_PRE_GRAD_NORM,   /* gradnorm: ||dL/dz|| [1] */
    TG_ROLE_WEIGHT_GRAD_NORM,/* gradnorm: ||dL/dW|| [1] */
    TG_ROLE_BIAS_GRAD_NORM,  /* gradnorm: ||dL/db|| [1] */
    TG_ROLE_WEIGHT_UNIT,     /* weight: row norms of W [O] */
    TG_ROLE_WEIGHT_STATS,    /* weight: ||W||, mean, std [3] */
    TG_ROLE_ACT_MEAN,        /* activation: mean per unit [O] */
    TG_ROLE_ACT_SATURATED,   /* activation (tanh, sigmoid): fraction saturated per unit [O] */
    TG_ROLE_ACT_DEAD,        /* activation (relu): fraction at zero per unit [O] */
    TG_ROLE_ACT_HIST,        /* activation: histogram of a [bins + 3] */
    TG_ROLE_COUNT
} tg_monitor_role;

/* A layer index meaning "every layer" (for tg_monitor_set_add and specs without a LAYER). */
#define TG_ALL_LAYERS (-2147483647 - 1)

/* "loss", "grad", "gradnorm", "weight", "activation"; NULL if out of range. */
TG_API const char *tg_watch_name(tg_watch_kind kind);
/* Kind for a name ("grad_norm" is an alias of "gradnorm"), or -1 with TG_ERR_ARG listing
 * the known names. */
TG_API int tg_watch_find(const char *name);

/* A monitor request, as given on the command line: "KIND:PERIOD[:LAYER]". */
typedef struct tg_monitor_spec {
    tg_watch_kind kind;
    long period;           /* >= 1 */
    int layer;             /* builder's index (negative from the end) or TG_ALL_LAYERS */
} tg_monitor_spec;

/* Parse "KIND:PERIOD[:LAYER]" ("grad:200:-1", "gradnorm:20", "loss:10"): decimal integers,
 * no spaces; without LAYER every layer is watched; loss takes no LAYER. The layer's range is
 * checked when the spec is added to a set. TG_ERR_ARG naming the text and the fault (unknown
 * kind, period < 1 or not a number, bad or extra field). */
TG_API tg_status tg_monitor_spec_parse(const char *text, tg_monitor_spec *out);

typedef struct tg_monitor_set_opts {
    long steps;            /* expected training steps: each monitor reserves steps/period + 2
                              samples (no allocation while sampling); 0 -> tg_monitor default */
    long cap;              /* most samples per monitor (thinning, see the top); 0 = unbounded */
    int hist_bins;         /* histograms' bins; 0 -> 50 */
    float grad_hist_range; /* dL/dz histograms over [-r, r]; 0 -> the bound of |dL/dz| of a
                              softmax cross-entropy output: 1 for a "_sum" loss, else 1/B */
    const long *hist_steps;/* (n_hist_steps) steps whose histograms tg_monitor_set_plot draws; */
    int n_hist_steps;      /*   none: the first and the last sample */
} tg_monitor_set_opts;

/* An empty set on ng (borrowed; it must outlive the set's hooks). opts may be NULL. NULL with
 * TG_ERR_ARG (NULL graph, negative steps/cap/bins, cap 1, range not finite and > 0) or
 * TG_ERR_NOMEM. */
TG_API tg_monitor_set *tg_monitor_set_new(struct tg_net_graph *ng,
                                          const tg_monitor_set_opts *opts);
/* Add the monitors of `kind` on `layer` (or TG_ALL_LAYERS; ignored for loss), sampling every
 * period steps. All or nothing: on error the set is as it was. TG_ERR_ARG: unknown kind,
 * period < 1, layer outside -n..n-1, a role already watched on that layer (its name given);
 * TG_ERR_STATE: loss on a graph without one; TG_ERR_NOMEM. */
TG_API tg_status tg_monitor_set_add(tg_monitor_set *ms, tg_watch_kind kind, long period,
                                    int layer);
/* tg_monitor_set_add(ms, spec->kind, spec->period, spec->layer). */
TG_API tg_status tg_monitor_set_add_spec(tg_monitor_set *ms, const tg_monitor_spec *spec);
/* What tg_diagnose needs on every layer: gradnorm, weight and activation, every period. */
TG_API tg_status tg_monitor_set_add_diagnosis(tg_monitor_set *ms, long period);
/* Remove every hook (the graph must still be alive); the data stay. TG_ERR_STATE if detached
 * already. */
TG_API tg_status tg_monitor_set_detach(tg_monitor_set *ms);
/* Detach if attached, free every monitor and the set. NULL is fine. */
TG_API void tg_monitor_set_free(tg_monitor_set *ms);

TG_API int tg_monitor_set_count(const tg_monitor_set *ms);
/* Monitor i (0 <= i < count, in the order added; owned by the set), or NULL. */
TG_API tg_monitor *tg_monitor_set_get(const tg_monitor_set *ms, int i);
TG_API tg_monitor_role tg_monitor_set_role(const tg_monitor_set *ms, int i);
TG_API int tg_monitor_set_layer(const tg_monitor_set *ms, int i);   /* 0-based; -1 for loss */
/* The monitor of `role` on `layer` (negative from the end; any for the loss), or NULL (no
 * error set) when that is not watched. */
TG_API tg_monitor *tg_monitor_set_lookup(const tg_monitor_set *ms, tg_monitor_role role,
                                         int layer);
/* Layers of the net the set was made for. */
TG_API int tg_monitor_set_n_layers(const tg_monitor_set *ms);
/* Name of layer l's activation op ("tanh"; l < 0 counts from the end), or NULL. */
TG_API const char *tg_monitor_set_activation(const tg_monitor_set *ms, int layer);

/* Write every monitor to dir/<name>.csv (tg_monitor_write_csv). dir is created if missing
 * (its parent must exist). Stops at the first failure: TG_ERR_IO naming the path. */
TG_API tg_status tg_monitor_set_write_csv(const tg_monitor_set *ms, const char *dir);
/* Draw into dir (created if missing) with extension ext ("png" or "svg"; NULL: "png"):
 * loss.EXT (loss curve); gradnorm.EXT (||dL/dz|| of every watched layer, log scale),
 * gradnorm_weight.EXT (||dL/dW||, log scale), weight.EXT (||W||); for each grad monitor a
 * heatmap <name>.EXT of |dL/db| over steps x units, coloured by log10 on its own scale, and
 * with two or more such layers grad_bias_layers.EXT, all of them stacked on ONE log colour
 * scale (where a vanishing layer shows red beside a healthy blue one); for each activation
 * monitor a heatmap of act_layerL_mean; histograms
 * grad_hist_stepS.EXT and act_hist_<activation>_stepS.EXT (every layer overlaid, Glorot &
 * Bengio 2010) at the chosen steps. Monitors without samples are skipped. Draws all it can
 * and returns the first error (TG_ERR_IO, TG_ERR_NONFINITE when a plot had nothing finite,
 * TG_ERR_UNAVAILABLE without PLplot). */
TG_API tg_status tg_monitor_set_plot(const tg_monitor_set *ms, const char *dir,
                                     const char *ext);

typedef enum {
    TG_METRIC_LAST = 0,    /* the latest sample */
    TG_METRIC_MEAN         /* the mean over all samples */
} tg_metric_pick;
/* Fill metric[0..n) for tg_dot_opts.tensor_metric (by tensor index of the set's graph; n is
 * usually tg_graph_n_tensors): z tensors get ||dL/dz||, biases ||dL/db||, weights ||dL/dW||
 * (from the gradnorm monitors, else from the grad monitors' per-unit values), all other
 * entries NaN. *n_set (may be NULL) gets the number of entries filled. TG_ERR_ARG on NULL
 * or n < 0. */
TG_API tg_status tg_monitor_set_metric(const tg_monitor_set *ms, tg_metric_pick pick,
                                       double *metric, int n, int *n_set);

/* ---- diagnosis (diagnose.c) -----------------------------------------------------------------
 * A per-layer table from a set's monitors and one verdict for the net, judged by the
 * BACK-PROPAGATED gradient ||dL/dz_l||, not the weight gradient: under a poor initialisation
 * weight gradients of all layers can look alike (dW = dz^T x grows with the inputs) while the
 * signal carried back shrinks by orders of magnitude toward the input (Glorot & Bengio 2010).
 * ratio_l = mean_s ||dL/dz_l|| / mean_s ||dL/dz_last|| over the sampled steps s in the window.
 * Verdicts, the first that applies (thresholds reasoned in docs/diagnosis.md from deep-16 on
 * MNIST: original init first/last 1.5e-4, Glorot 0.7-4):
 *   exploding  some layer's mean ||dL/dz|| is Inf or NaN
 *   dead       some layer's fraction of ReLU units at 0 for the whole batch > TG_DIAG_DEAD
 *   saturated  some layer's fraction of saturated tanh/sigmoid activations > TG_DIAG_SATURATED
 *   vanishing  the smallest ratio < TG_DIAG_VANISHING (1e-2)
 *   exploding  the largest ratio > TG_DIAG_EXPLODING (1e2)
 *   healthy    none of these
 * Dead and saturated units are causes of vanishing gradients, so they are named first.
 */
#define TG_DIAG_VANISHING 1e-2
#define TG_DIAG_EXPLODING 1e2
#define TG_DIAG_SATURATED 0.5
#define TG_DIAG_DEAD 0.5

typedef enum {
    TG_VERDICT_HEALTHY = 0,
    TG_VERDICT_VANISHING,
    TG_VERDICT_EXPLODING,
    TG_VERDICT_SATURATED,
    TG_VERDICT_DEAD
} tg_verdict;

/* "healthy", "vanishing", "exploding", "saturated", "dead"; "?" if out of range. */
TG_API const char *tg_verdict_name(tg_verdict v);

typedef struct tg_diagnose_opts {
    double lr;             /* SGD learning rate: update_ratio = lr ||dW|| / ||W||; 0: none */
    long from_step;        /* samples with from_step <= step (<= to_step when to_step > 0) */
    long to_step;
    double vanishing, exploding, saturated, dead; /* thresholds; 0 -> the TG_DIAG_ defaults */
} tg_diagnose_opts;

/* One layer's row; NaN where not measured. Means are over the samples in the window. */
typedef struct tg_diagnosis_layer {
    int layer;             /* 0-based */
    long samples;          /* samples of ||dL/dz|| averaged */
    double grad_norm;      /* mean ||dL/dz|| */
    double ratio;          /* grad_norm / the last layer's */
    double weight_grad_norm; /* mean ||dL/dW|| (gradnorm monitor) */
    double saturation;     /* tanh/sigmoid: mean fraction of activations saturated */
    double dead;           /* relu: mean fraction of units at 0 in every row of the batch */
    double update_ratio;   /* mean over steps of lr ||dW|| / ||W|| (needs weight monitor) */
} tg_diagnosis_layer;

typedef struct tg_diagnosis {
    tg_verdict verdict;
    double first_to_last;  /* ratio of layer 0 */
    int layer;             /* the layer the verdict names (-1 when healthy) */
    int n_layers;
    tg_diagnosis_layer *layers; /* (n_layers), owned: tg_diagnosis_release */
    char message[512];     /* e.g. "gradients at layer 0 are 1.5e-04 of the last layer's:
                              vanishing; consider Glorot initialisation (tanh)" */
} tg_diagnosis;

/* Diagnose from ms (attached or detached) into *out (zeroed first; release it). opts may be
 * NULL. TG_ERR_STATE naming the layer if a layer has no gradnorm monitor or no ||dL/dz|| sample
 * in the window (add them with tg_monitor_set_add_diagnosis); TG_ERR_ARG on NULL or a
 * negative threshold or lr; TG_ERR_NOMEM. */
TG_API tg_status tg_diagnose(const tg_monitor_set *ms, const tg_diagnose_opts *opts,
                             tg_diagnosis *out);
/* Free out->layers and zero *d. NULL is fine. */
TG_API void tg_diagnosis_release(tg_diagnosis *d);
/* The diagnosis as a JSON member for a summary file, written like snprintf (always
 * NUL-terminated when len > 0; returns the length it needs, excluding the NUL):
 *   "diagnosis": {"verdict": "vanishing", "first_to_last_grad_ratio": 0.00015,
 *    "message": "...", "layers": [{"layer": 0, "grad_norm": ..., "ratio": ...,
 *    "weight_grad_norm": ..., "saturation": ..., "dead": ..., "update_ratio": ...}, ...]}
 * Numbers in the C locale with 6 significant digits, NaN and Inf as null, strings escaped. */
TG_API size_t tg_diagnosis_json(const tg_diagnosis *d, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
