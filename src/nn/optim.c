/*
 * optim.c -- optimisers over a flat block of n values and its gradients: one loop per step.
 *
 * With g scaled by c = min(1, clip_norm / ||g||_2) when clipping, and lr_t from the schedule
 * (t = steps taken before this one):
 *   sgd       p -= lr g
 *   momentum  v = mu v + g;                    p -= lr v              (PyTorch's form)
 *   nesterov  v = mu v + g;                    p -= lr (g + mu v)
 *   adam      m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *             p -= (lr / (1-b1^(t+1))) m / (sqrt(v) / sqrt(1-b2^(t+1)) + eps)
 *   rmsprop   s = rho s + (1-rho) g^2;         p -= lr g / (sqrt(s) + eps)
 * The moments live in blocks allocated by tg_optim_new; a step allocates nothing. Plain SGD
 * without clipping can instead be applied by the net graph inside backward (the fused step,
 * tgi_optim_sgd_lr and tgi_optim_step_fused; docs/performance.md).
 */
#include <math.h>
#include <string.h>
#include "../ops/ops_internal.h"

struct tg_optim {
    tg_optim_opts o;
    float *p;                 /* (n) values, borrowed */
    const float *g;           /* (n) gradients, borrowed */
    size_t n;
    float *m1, *m2;           /* (n) first / second moments, NULL when the kind has none */
    long t;                   /* steps applied */
    double grad_norm;         /* ||g||_2 at the last step */
};

static const char *const names[] = { "sgd", "momentum", "nesterov", "adam", "rmsprop" };
#define N_KINDS ((int)(sizeof names / sizeof names[0]))

const char *tg_optim_name(tg_optim_kind kind)
{
    return (int)kind >= 0 && (int)kind < N_KINDS ? names[kind] : NULL;
}

int tg_optim_find(const char *name)
{
    int i;
    for (i = 0; name && i < N_KINDS; ++i)
        if (!strcmp(names[i], name))
            return i;
    tg_error_set(TG_ERR_ARG, "optim: unknown optimiser '%s' (known: sgd, momentum, nesterov, "
                 "adam, rmsprop)", name ? name : "(null)");
    return -1;
}

tg_optim_opts tg_optim_defaults(tg_optim_kind kind, double lr)
{
    tg_optim_opts o;
    memset(&o, 0, sizeof o);
    o.kind = kind;
    o.lr = lr;
    o.momentum = 0.9;
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.rho = 0.9;
    o.eps = 1e-8;
    o.schedule = TG_LR_CONSTANT;
    o.step_size = 1;
    o.gamma = 1.0;
    return o;
}

/* TG_ERR_ARG unless 0 <= x < 1. */
static tg_status check_unit(const char *kind, const char *field, double x)
{
    if (!(x >= 0.0 && x < 1.0))
        return tg_error_set(TG_ERR_ARG, "optim %s: %s %g outside [0,1)", kind, field, x);
    return TG_OK;
}

static tg_status check_opts(const tg_optim_opts *o)
{
    const char *k = tg_optim_name(o->kind);
    tg_status s = TG_OK;
    if (!k)
        return tg_error_set(TG_ERR_ARG, "optim: kind %d is unknown", (int)o->kind);
    if (!(o->lr > 0.0) || !isfinite(o->lr))
        return tg_error_set(TG_ERR_ARG, "optim %s: lr %g (must be finite and > 0)", k, o->lr);
    if (o->kind == TG_OPTIM_MOMENTUM || o->kind == TG_OPTIM_NESTEROV)
        s = check_unit(k, "momentum", o->momentum);
    if (o->kind == TG_OPTIM_ADAM && (s = check_unit(k, "beta1", o->beta1)) == TG_OK)
        s = check_unit(k, "beta2", o->beta2);
    if (o->kind == TG_OPTIM_RMSPROP)
        s = check_unit(k, "rho", o->rho);
    if (s != TG_OK)
        return s;
    if ((o->kind == TG_OPTIM_ADAM || o->kind == TG_OPTIM_RMSPROP) &&
        (!(o->eps > 0.0) || !isfinite(o->eps)))
        return tg_error_set(TG_ERR_ARG, "optim %s: eps %g (must be finite and > 0)", k, o->eps);
    if ((int)o->schedule < TG_LR_CONSTANT || (int)o->schedule > TG_LR_EXPONENTIAL)
        return tg_error_set(TG_ERR_ARG, "optim %s: schedule %d is unknown", k, (int)o->schedule);
    if (o->schedule != TG_LR_CONSTANT && (!(o->gamma > 0.0) || !isfinite(o->gamma)))
        return tg_error_set(TG_ERR_ARG, "optim %s: gamma %g (must be finite and > 0)", k,
                            o->gamma);
    if (o->schedule == TG_LR_STEP && o->step_size < 1)
        return tg_error_set(TG_ERR_ARG, "optim %s: step_size %ld (must be >= 1)", k,
                            o->step_size);
    if (!(o->clip_norm >= 0.0) || !isfinite(o->clip_norm))
        return tg_error_set(TG_ERR_ARG, "optim %s: clip_norm %g (must be finite, >= 0; 0 = "
                            "off)", k, o->clip_norm);
    return TG_OK;
}

tg_optim *tg_optim_new(const tg_optim_opts *opts, float *values, const float *grads, size_t n)
{
    tg_optim *opt;
    int moments;
    if (!opts || !values || !grads || !n) {
        tg_error_set(TG_ERR_ARG, "optim: %s", !opts ? "opts is NULL" : !n ? "no values (n = 0)"
                     : "values or grads is NULL");
        return NULL;
    }
    if (check_opts(opts) != TG_OK)
        return NULL;
    moments = opts->kind == TG_OPTIM_SGD ? 0 : opts->kind == TG_OPTIM_ADAM ? 2 : 1;
    opt = tgi_calloc(1, sizeof *opt);
    if (opt && moments >= 1)
        opt->m1 = tgi_calloc(n, sizeof(float));
    if (opt && moments == 2)
        opt->m2 = tgi_calloc(n, sizeof(float));
    if (!opt || (moments >= 1 && !opt->m1) || (moments == 2 && !opt->m2)) {
        tg_optim_free(opt);
        tg_error_set(TG_ERR_NOMEM, "optim %s: out of memory for %d moment blocks of %zu floats",
                     tg_optim_name(opts->kind), moments, n);
        return NULL;
    }
    opt->o = *opts;
    opt->p = values;
    opt->g = grads;
    opt->n = n;
    return opt;
}

tg_optim *tg_optim_new_net(const tg_optim_opts *opts, tg_net *net)
{
    size_t n;
    float *values = tg_net_values(net, &n);
    if (!net) {
        tg_error_set(TG_ERR_ARG, "optim: net is NULL");
        return NULL;
    }
    return tg_optim_new(opts, values, tg_net_grads(net, NULL), n);
}

void tg_optim_free(tg_optim *opt)
{
    if (!opt)
        return;
    tgi_free(opt->m1);
    tgi_free(opt->m2);
    tgi_free(opt);
}

void tg_optim_reset(tg_optim *opt)
{
    if (!opt)
        return;
    if (opt->m1)
        memset(opt->m1, 0, opt->n * sizeof(float));
    if (opt->m2)
        memset(opt->m2, 0, opt->n * sizeof(float));
    opt->t = 0;
    opt->grad_norm = 0;
}

long tg_optim_steps(const tg_optim *opt) { return opt ? opt->t : 0; }
double tg_optim_grad_norm(const tg_optim *opt) { return opt ? opt->grad_norm : 0.0; }

double tg_optim_lr(const tg_optim *opt)
{
    if (!opt)
        return 0.0;
    switch (opt->o.schedule) {
    case TG_LR_STEP:
        return opt->o.lr * pow(opt->o.gamma, (double)(opt->t / opt->o.step_size));
    case TG_LR_EXPONENTIAL:
        return opt->o.lr * pow(opt->o.gamma, (double)opt->t);
    default:
        return opt->o.lr;
    }
}

float tgi_optim_sgd_lr(const tg_optim *opt, const float *values, size_t n)
{
    if (!opt || opt->o.kind != TG_OPTIM_SGD || opt->o.clip_norm > 0 || opt->p != values ||
        opt->n != n)
        return 0.0f;
    return (float)tg_optim_lr(opt);
}

void tgi_optim_step_fused(tg_optim *opt)
{
    opt->grad_norm = NAN;
    opt->t++;
}

/* sum_i g_i^2 in double, in 8 partial sums: a fixed order, so it vectorises and is the same
 * on every run. */
static TGI_CLONES double sum_squares(const float *g, size_t n)
{
    double acc[8] = { 0 };
    size_t i, k;
    for (i = 0; i + 8 <= n; i += 8)
        for (k = 0; k < 8; ++k)
            acc[k] += (double)g[i + k] * g[i + k];
    for (; i < n; ++i)
        acc[0] += (double)g[i] * g[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static TGI_CLONES void sgd_update(float *p, const float *g, size_t n, float lr, float c)
{
    size_t i;
    TGI_IVDEP for (i = 0; i < n; ++i)
        p[i] -= lr * (c * g[i]);
}

tg_status tg_optim_step(tg_optim *opt)
{
    const float *g;
    float *p, *m1, *m2, c, lr;
    size_t i, n;
    if (!opt)
        return tg_error_set(TG_ERR_ARG, "optim_step: optimiser is NULL");
    g = opt->g;
    p = opt->p;
    m1 = opt->m1;
    m2 = opt->m2;
    n = opt->n;
    opt->grad_norm = sqrt(sum_squares(g, n));
    if (!isfinite(opt->grad_norm))
        return tg_error_set(TG_ERR_NONFINITE, "optim_step %s: gradient norm is %g at step %ld; "
                            "no value changed", tg_optim_name(opt->o.kind), opt->grad_norm,
                            opt->t);
    c = opt->o.clip_norm > 0 && opt->grad_norm > opt->o.clip_norm
        ? (float)(opt->o.clip_norm / opt->grad_norm) : 1.0f;
    lr = (float)tg_optim_lr(opt);
    switch (opt->o.kind) {
    case TG_OPTIM_SGD:
        sgd_update(p, g, n, lr, c);
        break;
    case TG_OPTIM_MOMENTUM: {
        const float mu = (float)opt->o.momentum;
        for (i = 0; i < n; ++i) {
            m1[i] = mu * m1[i] + c * g[i];
            p[i] -= lr * m1[i];
        }
        break;
    }
    case TG_OPTIM_NESTEROV: {
        const float mu = (float)opt->o.momentum;
        for (i = 0; i < n; ++i) {
            float gi = c * g[i];
            m1[i] = mu * m1[i] + gi;
            p[i] -= lr * (gi + mu * m1[i]);
        }
        break;
    }
    case TG_OPTIM_ADAM: {
        const double t1 = (double)(opt->t + 1);
        /* 1 - b in double: 1 - 0.999f would be off by 1.3e-5 relative */
        const float b1 = (float)opt->o.beta1, b2 = (float)opt->o.beta2, eps = (float)opt->o.eps;
        const float c1 = (float)(1.0 - opt->o.beta1), c2 = (float)(1.0 - opt->o.beta2);
        const float step = (float)(tg_optim_lr(opt) / (1.0 - pow(opt->o.beta1, t1)));
        const float rbc2 = (float)(1.0 / sqrt(1.0 - pow(opt->o.beta2, t1)));
        for (i = 0; i < n; ++i) {
            float gi = c * g[i];
            m1[i] = b1 * m1[i] + c1 * gi;
            m2[i] = b2 * m2[i] + c2 * gi * gi;
            p[i] -= step * m1[i] / (sqrtf(m2[i]) * rbc2 + eps);
        }
        break;
    }
    case TG_OPTIM_RMSPROP: {
        const float rho = (float)opt->o.rho, c_rho = (float)(1.0 - opt->o.rho);
        const float eps = (float)opt->o.eps;
        for (i = 0; i < n; ++i) {
            float gi = c * g[i];
            m1[i] = rho * m1[i] + c_rho * gi * gi;
            p[i] -= lr * gi / (sqrtf(m1[i]) + eps);
        }
        break;
    }
    }
    opt->t++;
    return TG_OK;
}
