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

#ifdef __cplusplus
}
#endif
#endif
