/*
 * gradcheck.c -- finite-difference gradient checks of a graph or of one op.
 *
 * f(x) = sum_i w_i out_i with fixed random w in [-1, 1) (a plain sum hides softmax errors),
 * accumulated in double. For each element x_j of each checked tensor: the central difference
 * (f(x_j + h_j) - f(x_j - h_j)) / (x_j+ - x_j-), h_j = h max(1, |x_j|), with the denominator
 * taken from the float values actually stored. Round-off is about 6e-8 |f_j| / h where f_j is
 * the part of f that depends on x_j; truncation about h^2 |f'''|.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

static double project(const tg_tensor *out, const float *w)
{
    double f = 0;
    size_t i;
    for (i = 0; i < out->size; ++i)
        f += (double)w[i] * (double)out->data[i];
    return f;
}

static void opts_default(tg_gradcheck_opts *o, const tg_gradcheck_opts *in)
{
    memset(o, 0, sizeof *o);
    if (in)
        *o = *in;
    if (o->h <= 0)
        o->h = 1e-3;
    if (o->atol <= 0 && o->rtol <= 0) {
        o->atol = 1e-3;
        o->rtol = 1e-2;
    }
    if (o->lo == 0 && o->hi == 0) {
        o->lo = -1;
        o->hi = 1;
    }
    if (!o->seed)
        o->seed = 42;
}

tg_status tg_gradcheck_graph(tg_graph *g, tg_tensor *out, tg_tensor *const wrt[], int n_wrt,
                             const tg_gradcheck_opts *opts, tg_gradcheck_report *report)
{
    tg_gradcheck_opts o;
    tg_gradcheck_report r;
    float *w = NULL, **analytic = NULL;
    uint64_t rng;
    tg_status s = TG_OK;
    int k;
    size_t i;

    if (!report)
        return tg_error_set(TG_ERR_ARG, "gradcheck: report is NULL");
    memset(report, 0, sizeof *report);
    if (!tgi_graph_ok(g, "gradcheck"))
        return tg_last_status();
    if (!out || out->graph != g || (n_wrt > 0 && !wrt) || n_wrt < 0)
        return tg_error_set(TG_ERR_ARG, "gradcheck: output NULL or from another graph, or "
                            "bad wrt list");
    for (k = 0; k < n_wrt; ++k) {
        if (!wrt[k] || wrt[k]->graph != g)
            return tg_error_set(TG_ERR_ARG, "gradcheck: wrt[%d] is NULL or from another graph",
                                k);
        if (!wrt[k]->requires_grad || wrt[k]->producer)
            return tg_error_set(TG_ERR_ARG, "gradcheck: wrt[%d] '%s' must be a leaf with a "
                                "gradient", k, wrt[k]->name);
    }
    opts_default(&o, opts);
    rng = o.seed;
    memset(&r, 0, sizeof r);
    r.passed = 1;
    r.worst_excess = -INFINITY;

    w = tgi_malloc(out->size * sizeof *w);
    analytic = tgi_calloc((size_t)(n_wrt ? n_wrt : 1), sizeof *analytic);
    if (!w || !analytic) {
        s = tg_error_set(TG_ERR_NOMEM, "gradcheck: out of memory");
        goto done;
    }
    for (i = 0; i < out->size; ++i)
        w[i] = (float)tg_rand_uniform(&rng, -1, 1);

    if ((s = tg_graph_forward(g)) != TG_OK || (s = tg_backward_seed(g, out, w)) != TG_OK)
        goto done;
    for (k = 0; k < n_wrt; ++k) {
        analytic[k] = tgi_malloc(wrt[k]->size * sizeof(float));
        if (!analytic[k]) {
            s = tg_error_set(TG_ERR_NOMEM, "gradcheck: out of memory");
            goto done;
        }
        memcpy(analytic[k], wrt[k]->grad, wrt[k]->size * sizeof(float));
    }

    for (k = 0; k < n_wrt; ++k) {
        float *x = wrt[k]->data;
        for (i = 0; i < wrt[k]->size; ++i) {
            float x0 = x[i];
            double h = o.h * fmax(1.0, fabs((double)x0)), fp, fm, num, a, err, excess, den;
            float xp = (float)(x0 + h), xm = (float)(x0 - h);
            x[i] = xp;
            s = tg_graph_forward_to(g, out);
            fp = project(out, w);
            x[i] = xm;
            if (s == TG_OK)
                s = tg_graph_forward_to(g, out);
            fm = project(out, w);
            x[i] = x0;
            if (s != TG_OK)
                break;
            num = (fp - fm) / ((double)xp - (double)xm);
            a = analytic[k][i];
            err = fabs(a - num);
            excess = err - o.atol - o.rtol * fabs(num);
            den = fmax(fmax(fabs(a), fabs(num)), 1e-6);
            if (err > r.max_abs_err || isnan(err))
                r.max_abs_err = err;
            if (err / den > r.max_rel_err || isnan(err))
                r.max_rel_err = err / den;
            if (excess > r.worst_excess || isnan(excess)) {
                r.worst_excess = excess;
                r.worst_input = k;
                r.worst_index = i;
                r.worst_analytic = a;
                r.worst_numeric = num;
            }
            if (!(excess <= 0))
                r.passed = 0;
            r.n_checked++;
        }
        if (s != TG_OK)
            break;
    }
    /* restore values and the analytic gradients */
    if (s == TG_OK && (s = tg_graph_forward(g)) == TG_OK)
        s = tg_backward_seed(g, out, w);
    *report = r;
done:
    if (analytic)
        for (k = 0; k < n_wrt; ++k)
            tgi_free(analytic[k]);
    tgi_free(analytic);
    tgi_free(w);
    return s;
}

tg_status tg_gradcheck_op(const tg_op_def *op, int n_in, const int *rank,
                          const int (*shapes)[TG_MAX_RANK], const void *args, size_t args_size,
                          void *user, const tg_gradcheck_opts *opts, tg_gradcheck_report *report)
{
    tg_gradcheck_opts o;
    tg_tensor *in[16], *wrt[16], *out;
    tg_graph *g;
    uint64_t rng;
    tg_status s;
    int k, n_wrt = 0;

    if (!report)
        return tg_error_set(TG_ERR_ARG, "gradcheck_op: report is NULL");
    memset(report, 0, sizeof *report);
    if (!op || n_in < 0 || n_in > 16 || (n_in && (!rank || !shapes)))
        return tg_error_set(TG_ERR_ARG, "gradcheck_op: op NULL, or bad inputs (n_in %d, at "
                            "most 16)", n_in);
    opts_default(&o, opts);
    rng = o.seed ^ 0x5DEECE66Dull;
    g = tg_graph_new();
    if (!g)
        return tg_last_status();
    for (k = 0; k < n_in; ++k) {
        char name[16];
        int check = 1;
        size_t i;
        snprintf(name, sizeof name, "in%d", k);
        in[k] = tg_input(g, name, rank[k], shapes[k]);
        if (!in[k]) {
            s = tg_last_status();
            goto done;
        }
        if (o.fill)
            check = o.fill(k, in[k]->data, in[k]->size, &rng, o.fill_user);
        else
            for (i = 0; i < in[k]->size; ++i) {
                double v;
                do {
                    v = tg_rand_uniform(&rng, o.lo, o.hi);
                } while (o.kink > 0 && fabs(v) < o.kink);
                in[k]->data[i] = (float)v;
            }
        if (check) {
            tg_tensor_requires_grad(in[k]);
            wrt[n_wrt++] = in[k];
        }
    }
    out = tg_apply(g, op, in, n_in, args, args_size, user);
    if (!out) {
        s = tg_last_status();
        goto done;
    }
    if (!n_wrt) {
        s = tg_error_set(TG_ERR_ARG, "gradcheck_op: '%s': no input to check", op->name);
        goto done;
    }
    s = tg_gradcheck_graph(g, out, wrt, n_wrt, &o, report);
done:
    tg_graph_free(g);
    return s;
}
