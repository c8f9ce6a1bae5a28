/*
 * monitor.c -- monitors: one hook on one tensor, a reduction, a (samples, units) store.
 *
 * The store is one block: steps (cap) | epochs (cap) | values (cap, units), sized for the
 * planned number of samples at creation; the hook writes into it and allocates only to grow
 * past that. With a cap it thins instead (keep every other sample, double the period).
 * Reductions accumulate in double. A tensor of rank >= 2 is seen as [R, C], R = shape[0]:
 *   unit_mean[c] = 1/R sum_r x[r,c]        unit_norm[r] = sqrt(sum_c x[r,c]^2)
 *   unit_saturated[c] = #{r : |x[r,c]| > threshold} / R    unit_zero[c] = #{r : x[r,c] = 0} / R
 *   stats = (sqrt(sum x^2), mean, sqrt(1/N sum (x - mean)^2))
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

#define DEFAULT_PLANNED 64

struct tg_monitor {
    tg_tensor *t;            /* watched tensor; NULL once detached */
    int hook_id;
    tg_monitor_opts opts;    /* as given, defaults filled in; opts.name == name */
    char *name, *what;
    int units;               /* floats per sample */
    size_t rows, cols;       /* the tensor seen as [rows, cols] */
    long period;             /* opts.period * 2^(thinnings) */
    long n, reserved;        /* samples held; samples the block holds */
    void *block;
    long *steps, *epochs;    /* (reserved) */
    float *values;           /* (reserved, units) */
};

static const char *const kind_names[] = { "copy", "mean", "norm", "minmax", "hist", "unit_mean",
                                          "unit_norm", "unit_saturated", "unit_zero", "stats" };
#define N_KINDS ((int)(sizeof kind_names / sizeof kind_names[0]))

const char *tg_monitor_kind_name(tg_monitor_kind k)
{
    return (int)k >= 0 && (int)k < N_KINDS ? kind_names[k] : "?";
}

/* Doubles beyond FLT_MAX become inf (the conversion itself is undefined in ISO C). */
static float narrow(double d)
{
    if (d > FLT_MAX)
        return INFINITY;
    if (d < -FLT_MAX)
        return -INFINITY;
    return (float)d;
}

/* ---- reductions: x (t->size) -> out (units) --------------------------------------------- */
static void reduce_stats(const float *x, size_t n, float *out)
{
    double s = 0, s2 = 0, mean, d2 = 0;
    size_t i;
    for (i = 0; i < n; ++i) {
        s += x[i];
        s2 += (double)x[i] * x[i];
    }
    mean = s / (double)n;
    for (i = 0; i < n; ++i)
        d2 += (x[i] - mean) * (x[i] - mean);
    out[0] = narrow(sqrt(s2));
    out[1] = narrow(mean);
    out[2] = narrow(sqrt(d2 / (double)n));
}

static void reduce_hist(const tg_monitor *m, const float *x, size_t n, float *out)
{
    const int bins = m->opts.bins;
    const double lo = m->opts.lo, hi = m->opts.hi, scale = bins / (hi - lo);
    size_t i;
    memset(out, 0, (size_t)m->units * sizeof *out);
    for (i = 0; i < n; ++i) {
        if (isnan(x[i])) {
            out[bins + 2] += 1;
        } else if (x[i] < lo) {
            out[bins] += 1;
        } else if (x[i] > hi) {
            out[bins + 1] += 1;
        } else {
            /* x in [lo, hi]: the index is in [0, bins], the int conversion defined */
            int b = (int)((x[i] - lo) * scale);
            out[b < bins ? b : bins - 1] += 1;
        }
    }
}

static void reduce(const tg_monitor *m, const float *x, float *out)
{
    const size_t R = m->rows, C = m->cols, n = R * C;
    size_t r, c;
    switch (m->opts.kind) {
    case TG_MON_COPY:
        memcpy(out, x, n * sizeof *out);
        break;
    case TG_MON_MEAN:
    case TG_MON_NORM:
    case TG_MON_STATS: {
        float st[3];
        reduce_stats(x, n, st);
        if (m->opts.kind == TG_MON_STATS)
            memcpy(out, st, sizeof st);
        else
            out[0] = m->opts.kind == TG_MON_MEAN ? st[1] : st[0];
        break;
    }
    case TG_MON_MINMAX: {
        float lo = NAN, hi = NAN;
        for (r = 0; r < n; ++r) {
            if (isnan(x[r]))
                continue;
            if (isnan(lo) || x[r] < lo)
                lo = x[r];
            if (isnan(hi) || x[r] > hi)
                hi = x[r];
        }
        out[0] = lo;
        out[1] = hi;
        break;
    }
    case TG_MON_HIST:
        reduce_hist(m, x, n, out);
        break;
    case TG_MON_UNIT_NORM:
        for (r = 0; r < R; ++r) {
            double s2 = 0;
            for (c = 0; c < C; ++c)
                s2 += (double)x[r * C + c] * x[r * C + c];
            out[r] = narrow(sqrt(s2));
        }
        break;
    case TG_MON_UNIT_MEAN:
    case TG_MON_UNIT_SATURATED:
    case TG_MON_UNIT_ZERO:
        for (c = 0; c < C; ++c) {
            double s = 0;
            for (r = 0; r < R; ++r) {
                const float v = x[r * C + c];
                if (m->opts.kind == TG_MON_UNIT_MEAN)
                    s += v;
                else if (m->opts.kind == TG_MON_UNIT_SATURATED)
                    s += fabsf(v) > m->opts.threshold;
                else
                    s += v == 0.0f;
            }
            out[c] = narrow(s / (double)R);
        }
        break;
    }
}

/* ---- the store ------------------------------------------------------------------------- */
/* Move the samples into a block of `cap` samples; the old block is kept on failure. */
static tg_status store_resize(tg_monitor *m, long cap)
{
    size_t row = 2 * sizeof(long), vals, bytes;
    char *b;
    if (!tgi_mul_size((size_t)m->units, sizeof(float), &vals) || SIZE_MAX - vals < row ||
        !tgi_mul_size((size_t)cap, row + vals, &bytes))
        return tg_error_set(TG_ERR_OVERFLOW, "monitor '%s': %ld samples of %d units overflow "
                            "the address space", m->name, cap, m->units);
    b = tgi_malloc(bytes);
    if (!b)
        return tg_error_set(TG_ERR_NOMEM, "monitor '%s': out of memory for %ld samples of %d "
                            "units (%zu bytes)", m->name, cap, m->units, bytes);
    if (m->n) {
        memcpy(b, m->steps, (size_t)m->n * sizeof(long));
        memcpy(b + (size_t)cap * sizeof(long), m->epochs, (size_t)m->n * sizeof(long));
        memcpy(b + (size_t)cap * row, m->values, (size_t)m->n * vals);
    }
    tgi_free(m->block);
    m->block = b;
    m->steps = (long *)b;
    m->epochs = (long *)(b + (size_t)cap * sizeof(long));
    m->values = (float *)(b + (size_t)cap * row);
    m->reserved = cap;
    return TG_OK;
}

/* Keep samples 0, 2, 4, ... and double the period: they are the ones a period twice as long
 * would have taken when sampling started at a multiple of it. */
static void store_thin(tg_monitor *m)
{
    const size_t u = (size_t)m->units;
    long i, k = 0;
    for (i = 0; i < m->n; i += 2, ++k) {
        m->steps[k] = m->steps[i];
        m->epochs[k] = m->epochs[i];
        memmove(m->values + (size_t)k * u, m->values + (size_t)i * u, u * sizeof(float));
    }
    m->n = k;
    if (m->period <= LONG_MAX / 2)
        m->period *= 2;
    if (m->t)
        tg_hook_set_period(m->t, m->hook_id, m->period);
}

static tg_status monitor_hook(const tg_tensor *t, int when, const float *x, long step,
                              long epoch, void *user)
{
    tg_monitor *m = user;
    (void)t;
    (void)when;
    if (step % m->period != 0)
        return TG_OK;
    if (m->n && m->steps[m->n - 1] == step && m->epochs[m->n - 1] == epoch)
        return TG_OK; /* sampled already in this step */
    if (m->n == m->reserved) {
        if (m->opts.cap && m->n >= m->opts.cap) {
            store_thin(m);
            if (step % m->period != 0)
                return TG_OK;
        } else {
            long cap = m->reserved <= LONG_MAX / 2 ? 2 * m->reserved : LONG_MAX;
            if (m->opts.cap && cap > m->opts.cap)
                cap = m->opts.cap;
            if (store_resize(m, cap) != TG_OK)
                return tg_last_status();
        }
    }
    reduce(m, x, m->values + (size_t)m->n * (size_t)m->units);
    m->steps[m->n] = step;
    m->epochs[m->n] = epoch;
    m->n++;
    return TG_OK;
}

/* ---- creation -------------------------------------------------------------------------- */
static tg_status check_opts(const tg_tensor *t, const tg_monitor_opts *o)
{
    char d[TGI_DESC_LEN];
    if ((int)o->kind < 0 || (int)o->kind >= N_KINDS)
        return tg_error_set(TG_ERR_ARG, "monitor_new: %s: unknown kind %d", tgi_desc(t, d),
                            (int)o->kind);
    if (o->period < 1)
        return tg_error_set(TG_ERR_ARG, "monitor_new: %s: period is %ld; sample every period "
                            ">= 1 steps", tgi_desc(t, d), o->period);
    if (o->planned < 0)
        return tg_error_set(TG_ERR_ARG, "monitor_new: %s: planned samples is %ld (< 0)",
                            tgi_desc(t, d), o->planned);
    if (o->cap < 0 || o->cap == 1)
        return tg_error_set(TG_ERR_ARG, "monitor_new: %s: cap is %ld; use 0 (unbounded) or "
                            ">= 2", tgi_desc(t, d), o->cap);
    if (o->kind == TG_MON_HIST &&
        (o->bins < 1 || !isfinite(o->lo) || !isfinite(o->hi) || !(o->lo < o->hi)))
        return tg_error_set(TG_ERR_ARG, "monitor_new: %s: histogram needs bins >= 1 and finite "
                            "lo < hi; got %d bins over [%g, %g]", tgi_desc(t, d), o->bins,
                            (double)o->lo, (double)o->hi);
    if (o->kind == TG_MON_UNIT_SATURATED && !(isfinite(o->threshold) && o->threshold >= 0))
        return tg_error_set(TG_ERR_ARG, "monitor_new: %s: saturation threshold %g is not a "
                            "finite number >= 0", tgi_desc(t, d), (double)o->threshold);
    if (o->grad != 0 && o->grad != 1)
        return tg_error_set(TG_ERR_ARG, "monitor_new: %s: grad is %d; use 0 (value) or 1 "
                            "(gradient)", tgi_desc(t, d), o->grad);
    return TG_OK;
}

static void describe(tg_monitor *m, char *buf, size_t len)
{
    const tg_monitor_opts *o = &m->opts;
    char d[TGI_DESC_LEN];
    int k;
    switch (o->kind) {
    case TG_MON_COPY: k = snprintf(buf, len, "every element"); break;
    case TG_MON_MEAN: k = snprintf(buf, len, "mean"); break;
    case TG_MON_NORM: k = snprintf(buf, len, "L2 norm"); break;
    case TG_MON_MINMAX: k = snprintf(buf, len, "min and max"); break;
    case TG_MON_HIST:
        k = snprintf(buf, len, "histogram (%d bins over [%g, %g], below, above, NaN)", o->bins,
                     (double)o->lo, (double)o->hi);
        break;
    case TG_MON_UNIT_MEAN: k = snprintf(buf, len, "mean per unit over the batch"); break;
    case TG_MON_UNIT_NORM: k = snprintf(buf, len, "L2 norm per unit (row)"); break;
    case TG_MON_UNIT_SATURATED:
        k = snprintf(buf, len, "fraction saturated (|x| > %g) per unit", (double)o->threshold);
        break;
    case TG_MON_UNIT_ZERO: k = snprintf(buf, len, "fraction at zero per unit"); break;
    default: k = snprintf(buf, len, "L2 norm, mean, std"); break;
    }
    if (k >= 0 && (size_t)k < len)
        snprintf(buf + k, len - (size_t)k, " of the %s of %s, every %ld step%s",
                 o->grad ? "gradient" : "value", tgi_desc(m->t, d), o->period,
                 o->period == 1 ? "" : "s");
}

static int count_units(const tg_monitor *m, size_t *units)
{
    switch (m->opts.kind) {
    case TG_MON_COPY: *units = m->t->size; break;
    case TG_MON_MEAN: case TG_MON_NORM: *units = 1; break;
    case TG_MON_MINMAX: *units = 2; break;
    case TG_MON_STATS: *units = 3; break;
    case TG_MON_HIST: *units = (size_t)m->opts.bins + 3; break;
    case TG_MON_UNIT_NORM: *units = m->rows; break;
    default: *units = m->cols; break;
    }
    return *units <= INT_MAX;
}

tg_monitor *tg_monitor_new(tg_tensor *t, const tg_monitor_opts *opts)
{
    char buf[TGI_DESC_LEN + 160];
    tg_monitor *m;
    size_t units;
    if (!t || !opts) {
        tg_error_set(TG_ERR_ARG, "monitor_new: %s is NULL", t ? "opts" : "tensor");
        return NULL;
    }
    if (!tgi_graph_ok(t->graph, "monitor_new") || check_opts(t, opts) != TG_OK)
        return NULL;
    m = tgi_calloc(1, sizeof *m);
    if (!m) {
        tg_error_set(TG_ERR_NOMEM, "monitor_new: out of memory");
        return NULL;
    }
    m->t = t;
    m->opts = *opts;
    if (!m->opts.planned)
        m->opts.planned = DEFAULT_PLANNED;
    m->period = opts->period;
    m->rows = t->rank >= 2 ? (size_t)t->shape[0] : 1;
    m->cols = t->size / m->rows;
    if (m->opts.kind == TG_MON_UNIT_NORM && t->rank < 2) {
        m->rows = t->size; /* one value per unit: a row of one column each */
        m->cols = 1;
    }
    if (!count_units(m, &units)) {
        char d[TGI_DESC_LEN];
        tg_error_set(TG_ERR_LIMIT, "monitor_new: %s: %zu units per sample (more than %d)",
                     tgi_desc(t, d), units, INT_MAX);
        goto fail;
    }
    m->units = (int)units;
    if (opts->name) {
        m->name = tgi_strdup(opts->name);
    } else {
        if (*t->name)
            snprintf(buf, sizeof buf, "%s_%s_%s", t->name, opts->grad ? "grad" : "value",
                     kind_names[opts->kind]);
        else
            snprintf(buf, sizeof buf, "t%d_%s_%s", t->index, opts->grad ? "grad" : "value",
                     kind_names[opts->kind]);
        m->name = tgi_strdup(buf);
    }
    if (!m->name)
        goto nomem;
    m->opts.name = m->name;
    describe(m, buf, sizeof buf);
    if (!(m->what = tgi_strdup(buf)))
        goto nomem;
    if (m->opts.cap && m->opts.cap < m->opts.planned)
        m->opts.planned = m->opts.cap;
    if (store_resize(m, m->opts.planned) != TG_OK)
        goto fail;
    if (tg_hook_add(t, opts->grad ? TG_ON_GRAD : TG_ON_VALUE, monitor_hook, m,
                    &m->hook_id) != TG_OK)
        goto fail;
    /* the hook fires on sampled steps only, so other steps keep the trainer's fused path */
    tg_hook_set_period(t, m->hook_id, m->period);
    return m;
nomem:
    tg_error_set(TG_ERR_NOMEM, "monitor_new: out of memory");
fail:
    m->t = NULL;
    tg_monitor_free(m);
    return NULL;
}

tg_status tg_monitor_detach(tg_monitor *m)
{
    tg_status s;
    if (!m)
        return tg_error_set(TG_ERR_ARG, "monitor_detach: monitor is NULL");
    if (!m->t)
        return tg_error_set(TG_ERR_STATE, "monitor_detach: '%s' is detached already", m->name);
    s = tg_hook_remove(m->t, m->hook_id);
    m->t = NULL;
    return s;
}

void tg_monitor_free(tg_monitor *m)
{
    if (!m)
        return;
    if (m->t)
        tg_hook_remove(m->t, m->hook_id);
    tgi_free(m->block);
    tgi_free(m->name);
    tgi_free(m->what);
    tgi_free(m);
}

/* ---- read-back ------------------------------------------------------------------------- */
long tg_monitor_n_samples(const tg_monitor *m) { return m ? m->n : 0; }
int tg_monitor_n_units(const tg_monitor *m) { return m ? m->units : 0; }
const float *tg_monitor_values(const tg_monitor *m) { return m ? m->values : NULL; }
const long *tg_monitor_steps(const tg_monitor *m) { return m ? m->steps : NULL; }
const long *tg_monitor_epochs(const tg_monitor *m) { return m ? m->epochs : NULL; }
const char *tg_monitor_name(const tg_monitor *m) { return m ? m->name : ""; }
const char *tg_monitor_what(const tg_monitor *m) { return m ? m->what : ""; }
long tg_monitor_period(const tg_monitor *m) { return m ? m->period : 0; }
const tg_monitor_opts *tg_monitor_options(const tg_monitor *m) { return m ? &m->opts : NULL; }

tg_status tg_monitor_series(const tg_monitor *m, int unit, tg_series *out)
{
    if (!m || !out)
        return tg_error_set(TG_ERR_ARG, "monitor_series: %s is NULL", m ? "out" : "monitor");
    if (unit < 0 || unit >= m->units)
        return tg_error_set(TG_ERR_ARG, "monitor_series: '%s' has units 0..%d, not %d", m->name,
                            m->units - 1, unit);
    out->label = m->name;
    out->x = m->steps;
    out->y = m->values + unit;
    out->n = m->n;
    out->stride = m->units;
    return TG_OK;
}
