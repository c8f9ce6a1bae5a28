/*
 * diagnose.c -- a per-layer table and one verdict from a monitor set, and its JSON member.
 *
 * Over the samples s in the window, per layer l (L = the output layer):
 *   grad_norm_l = mean_s ||dL/dz_l||        ratio_l = grad_norm_l / grad_norm_L
 *   weight_grad_norm_l = mean_s ||dL/dW_l||
 *   saturation_l = mean_s (saturated activations / B O), dead_l = mean_s (units at 0 in all
 *   B rows) / O: a healthy ReLU layer has about half its activations at 0, but few units
 *   at 0 for a whole batch
 *   update_ratio_l = mean over steps sampled by both monitors of lr ||dL/dW_l|| / ||W_l||
 * Verdict, first that applies: exploding (a non-finite mean norm), dead, saturated (causes
 * of vanishing, so named first), vanishing (smallest ratio), exploding (largest ratio),
 * healthy. Thresholds: monitor.h and docs/diagnosis.md.
 * Numbers are formatted in the C locale, whatever the process's LC_NUMERIC.
 */
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

const char *tg_verdict_name(tg_verdict v)
{
    static const char *const names[] = { "healthy", "vanishing", "exploding", "saturated",
                                         "dead" };
    return (int)v >= 0 && (int)v < 5 ? names[v] : "?";
}

void tg_diagnosis_release(tg_diagnosis *d)
{
    if (!d)
        return;
    tgi_free(d->layers);
    memset(d, 0, sizeof *d);
}

static int in_window(const tg_diagnose_opts *o, long step)
{
    return step >= o->from_step && (o->to_step <= 0 || step <= o->to_step);
}

enum { ALL_UNITS = -1, FULL_UNITS = -2 };

/* Mean over the window's samples of: unit `unit` (>= 0), the mean over units (ALL_UNITS), or
 * the fraction of units whose value is 1 (FULL_UNITS: units at zero in every row of the
 * batch). NaN when m is NULL or has no sample there. *count (may be NULL) gets the samples
 * used. */
static double window_mean(const tg_monitor *m, int unit, const tg_diagnose_opts *o,
                          long *count)
{
    const long n = tg_monitor_n_samples(m), *st = tg_monitor_steps(m);
    const int units = tg_monitor_n_units(m);
    const float *v = tg_monitor_values(m);
    double acc = 0;
    long i, k = 0;
    for (i = 0; m && i < n; ++i) {
        const float *row = v + (size_t)i * (size_t)units;
        double s = 0;
        int u;
        if (!in_window(o, st[i]))
            continue;
        if (unit >= 0) {
            s = row[unit];
        } else {
            for (u = 0; u < units; ++u)
                s += unit == FULL_UNITS ? row[u] >= 1.0f : row[u];
            s /= units;
        }
        acc += s;
        k++;
    }
    if (count)
        *count = k;
    return k ? acc / (double)k : NAN;
}

/* Mean over steps sampled by both (steps ascend in both) of lr * ||dW|| / ||W||. */
static double update_ratio(const tg_monitor *dw, const tg_monitor *w, double lr,
                           const tg_diagnose_opts *o)
{
    const long nd = tg_monitor_n_samples(dw), nw = tg_monitor_n_samples(w);
    const long *sd = tg_monitor_steps(dw), *sw = tg_monitor_steps(w);
    const long *ed = tg_monitor_epochs(dw), *ew = tg_monitor_epochs(w);
    const float *vd = tg_monitor_values(dw), *vw = tg_monitor_values(w);
    double acc = 0;
    long i = 0, j = 0, k = 0;
    if (!dw || !w || !(lr > 0))
        return NAN;
    while (i < nd && j < nw) {
        if (sd[i] < sw[j]) {
            ++i;
        } else if (sd[i] > sw[j]) {
            ++j;
        } else {
            if (ed[i] == ew[j] && in_window(o, sd[i])) {
                acc += lr * vd[i] / vw[(size_t)j * 3]; /* unit 0 of the stats: ||W|| */
                k++;
            }
            ++i;
            ++j;
        }
    }
    return k ? acc / (double)k : NAN;
}

/* The advice for vanishing gradients, from the hidden layers' activations. */
static const char *init_advice(const tg_monitor_set *ms)
{
    int l, squash = 0, relu = 0;
    for (l = 0; l + 1 < tg_monitor_set_n_layers(ms); ++l) {
        const char *a = tg_monitor_set_activation(ms, l);
        squash += !strcmp(a, "tanh") || !strcmp(a, "sigmoid");
        relu += !strcmp(a, "relu") || !strcmp(a, "leaky_relu");
    }
    if (squash && !relu)
        return "consider Glorot initialisation (tanh, sigmoid)";
    if (relu && !squash)
        return "consider He initialisation (ReLU)";
    return "consider Glorot (tanh) or He (ReLU) initialisation";
}

/* v with %.2g, NaN spelled "nan" whatever its sign bit. */
static const char *num(double v, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "nan");
    else
        snprintf(buf, len, "%.2g", v);
    return buf;
}

/* The verdict and its sentence. */
static void judge(const tg_monitor_set *ms, const tg_diagnose_opts *o, tg_diagnosis *d)
{
    const tg_diagnosis_layer *L = d->layers;
    int l, lo = -1, hi = -1, sat = -1, dead = -1, bad = -1;
    char grad[160], nb[32];
    for (l = 0; l < d->n_layers; ++l) {
        if (bad < 0 && !isfinite(L[l].grad_norm))
            bad = l;
        if (!isnan(L[l].ratio)) {
            if (lo < 0 || L[l].ratio < L[lo].ratio)
                lo = l;
            if (hi < 0 || L[l].ratio > L[hi].ratio)
                hi = l;
        }
        if (!isnan(L[l].saturation) && (sat < 0 || L[l].saturation > L[sat].saturation))
            sat = l;
        if (!isnan(L[l].dead) && (dead < 0 || L[l].dead > L[dead].dead))
            dead = l;
    }
    if (!(L[d->n_layers - 1].grad_norm > 0) || !isfinite(L[d->n_layers - 1].grad_norm))
        snprintf(grad, sizeof grad, "the last layer's gradient norm is %s, so no ratio",
                 num(L[d->n_layers - 1].grad_norm, nb, sizeof nb));
    else
        snprintf(grad, sizeof grad, "gradients at layer 0 are %.2g of the last layer's",
                 d->first_to_last);
    d->layer = -1;
    if (bad >= 0) {
        d->verdict = TG_VERDICT_EXPLODING;
        d->layer = bad;
        snprintf(d->message, sizeof d->message, "||dL/dz|| of layer %d is %s, not finite: "
                 "exploding; consider a lower learning rate, smaller initial weights or "
                 "gradient clipping", bad, num(L[bad].grad_norm, nb, sizeof nb));
    } else if (dead >= 0 && L[dead].dead > o->dead) {
        d->verdict = TG_VERDICT_DEAD;
        d->layer = dead;
        snprintf(d->message, sizeof d->message, "%.0f%% of layer %d's ReLU units output 0 for "
                 "whole batches: dead (%s); consider He initialisation, biases >= 0, a lower "
                 "learning rate or leaky ReLU", 100 * L[dead].dead, dead, grad);
    } else if (sat >= 0 && L[sat].saturation > o->saturated) {
        d->verdict = TG_VERDICT_SATURATED;
        d->layer = sat;
        snprintf(d->message, sizeof d->message, "%.0f%% of layer %d's %s units are saturated "
                 "on average: saturated (%s); consider smaller initial weights (Glorot), "
                 "centred inputs or a lower learning rate", 100 * L[sat].saturation, sat,
                 tg_monitor_set_activation(ms, sat), grad);
    } else if (lo >= 0 && L[lo].ratio < o->vanishing) {
        d->verdict = TG_VERDICT_VANISHING;
        d->layer = lo;
        snprintf(d->message, sizeof d->message, "gradients at layer %d are %.2g of the last "
                 "layer's: vanishing; %s", lo, L[lo].ratio, init_advice(ms));
    } else if (hi >= 0 && L[hi].ratio > o->exploding) {
        d->verdict = TG_VERDICT_EXPLODING;
        d->layer = hi;
        snprintf(d->message, sizeof d->message, "gradients at layer %d are %.2g times the last "
                 "layer's: exploding; consider smaller initial weights (Glorot for tanh, He "
                 "for ReLU), a lower learning rate or gradient clipping", hi, L[hi].ratio);
    } else {
        d->verdict = TG_VERDICT_HEALTHY;
        snprintf(d->message, sizeof d->message, "%s, every layer within %.2g..%.2g of it, no "
                 "layer saturated or dead: healthy", grad, o->vanishing, o->exploding);
    }
}

tg_status tg_diagnose(const tg_monitor_set *ms, const tg_diagnose_opts *opts,
                      tg_diagnosis *out)
{
    static const tg_diagnose_opts defaults;
    tg_diagnose_opts o = opts ? *opts : defaults;
    locale_t c_loc, old_loc;
    int l, n;
    if (out)
        memset(out, 0, sizeof *out);
    if (!ms || !out)
        return tg_error_set(TG_ERR_ARG, "diagnose: %s is NULL", ms ? "out" : "monitor set");
    if (!(o.lr >= 0) || !(o.vanishing >= 0) || !(o.exploding >= 0) || !(o.saturated >= 0) ||
        !(o.dead >= 0))
        return tg_error_set(TG_ERR_ARG, "diagnose: lr %g and thresholds (vanishing %g, "
                            "exploding %g, saturated %g, dead %g) must be numbers >= 0", o.lr,
                            o.vanishing, o.exploding, o.saturated, o.dead);
    o.vanishing = o.vanishing ? o.vanishing : TG_DIAG_VANISHING;
    o.exploding = o.exploding ? o.exploding : TG_DIAG_EXPLODING;
    o.saturated = o.saturated ? o.saturated : TG_DIAG_SATURATED;
    o.dead = o.dead ? o.dead : TG_DIAG_DEAD;
    n = tg_monitor_set_n_layers(ms);
    for (l = 0; l < n; ++l)
        if (!tg_monitor_set_lookup(ms, TG_ROLE_PRE_GRAD_NORM, l))
            return tg_error_set(TG_ERR_STATE, "diagnose: layer %d has no gradient-norm monitor "
                                "(add gradnorm on every layer, e.g. with "
                                "tg_monitor_set_add_diagnosis)", l);
    for (l = 0; l < n; ++l) {
        const tg_monitor *m = tg_monitor_set_lookup(ms, TG_ROLE_PRE_GRAD_NORM, l);
        long k = 0;
        window_mean(m, 0, &o, &k);
        if (!k)
            return tg_error_set(TG_ERR_STATE, "diagnose: '%s' has no sample in steps %ld..%s "
                                "(%ld samples in all)", tg_monitor_name(m), o.from_step,
                                o.to_step > 0 ? "to_step" : "end", tg_monitor_n_samples(m));
    }
    if (!(out->layers = tgi_calloc((size_t)n, sizeof *out->layers)))
        return tg_error_set(TG_ERR_NOMEM, "diagnose: out of memory for %d layers", n);
    out->n_layers = n;
    for (l = 0; l < n; ++l) {
        tg_diagnosis_layer *r = &out->layers[l];
        const tg_monitor *dw = tg_monitor_set_lookup(ms, TG_ROLE_WEIGHT_GRAD_NORM, l);
        r->layer = l;
        r->grad_norm = window_mean(tg_monitor_set_lookup(ms, TG_ROLE_PRE_GRAD_NORM, l), 0, &o,
                                   &r->samples);
        r->weight_grad_norm = window_mean(dw, 0, &o, NULL);
        r->saturation = window_mean(tg_monitor_set_lookup(ms, TG_ROLE_ACT_SATURATED, l),
                                    ALL_UNITS, &o, NULL);
        r->dead = window_mean(tg_monitor_set_lookup(ms, TG_ROLE_ACT_DEAD, l), FULL_UNITS, &o,
                              NULL);
        r->update_ratio = update_ratio(dw, tg_monitor_set_lookup(ms, TG_ROLE_WEIGHT_STATS, l),
                                       o.lr, &o);
    }
    for (l = 0; l < n; ++l) {
        const double last = out->layers[n - 1].grad_norm;
        out->layers[l].ratio = last > 0 && isfinite(last) ? out->layers[l].grad_norm / last
                                                          : NAN;
    }
    out->first_to_last = out->layers[0].ratio;
    /* glibc hands out its static C locale object here: no allocation */
    c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    old_loc = c_loc ? uselocale(c_loc) : (locale_t)0;
    judge(ms, &o, out);
    if (c_loc) {
        uselocale(old_loc);
        freelocale(c_loc);
    }
    return TG_OK;
}

/* ---- JSON ------------------------------------------------------------------------------- */
typedef struct {
    char *buf;
    size_t len, pos;           /* pos counts every byte wanted, written or not */
} out_buf;

static void put(out_buf *b, const char *fmt, ...) TG_PRINTF(2, 3);
static void put(out_buf *b, const char *fmt, ...)
{
    va_list ap;
    int k;
    va_start(ap, fmt);
    k = vsnprintf(b->pos < b->len ? b->buf + b->pos : NULL, b->pos < b->len ? b->len - b->pos : 0,
                  fmt, ap);
    va_end(ap);
    if (k > 0)
        b->pos += (size_t)k;
}

static void put_num(out_buf *b, const char *key, double v)
{
    if (isfinite(v))
        put(b, "\"%s\": %.6g", key, v);
    else
        put(b, "\"%s\": null", key);
}

static void put_str(out_buf *b, const char *key, const char *s)
{
    put(b, "\"%s\": \"", key);
    for (; *s; ++s) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            put(b, "\\%c", c);
        else if (c == '\n')
            put(b, "\\n");
        else if (c == '\t')
            put(b, "\\t");
        else if (c == '\r')
            put(b, "\\r");
        else if (c < 0x20)
            put(b, "\\u%04x", c);
        else
            put(b, "%c", c);
    }
    put(b, "\"");
}

size_t tg_diagnosis_json(const tg_diagnosis *d, char *buf, size_t len)
{
    out_buf b = { buf, buf ? len : 0, 0 };
    locale_t c_loc, old_loc;
    int l;
    if (b.len)
        buf[0] = 0;
    if (!d)
        return 0;
    c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    old_loc = c_loc ? uselocale(c_loc) : (locale_t)0;
    put(&b, "\"diagnosis\": {");
    put_str(&b, "verdict", tg_verdict_name(d->verdict));
    put(&b, ", ");
    put_num(&b, "first_to_last_grad_ratio", d->first_to_last);
    put(&b, ", ");
    put_str(&b, "message", d->message);
    put(&b, ", \"layers\": [");
    for (l = 0; l < d->n_layers && d->layers; ++l) {
        const tg_diagnosis_layer *r = &d->layers[l];
        put(&b, "%s{\"layer\": %d, ", l ? ", " : "", r->layer);
        put_num(&b, "grad_norm", r->grad_norm);
        put(&b, ", ");
        put_num(&b, "ratio", r->ratio);
        put(&b, ", ");
        put_num(&b, "weight_grad_norm", r->weight_grad_norm);
        put(&b, ", ");
        put_num(&b, "saturation", r->saturation);
        put(&b, ", ");
        put_num(&b, "dead", r->dead);
        put(&b, ", ");
        put_num(&b, "update_ratio", r->update_ratio);
        put(&b, "}");
    }
    put(&b, "]}");
    if (c_loc) {
        uselocale(old_loc);
        freelocale(c_loc);
    }
    return b.pos;
}
