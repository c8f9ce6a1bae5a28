/*
 * init.c -- parameter initialisers: names, validation and filling.
 *
 * For a weight W [O,I], fan_in = I and fan_out = O; a bias [O] takes the fans of its layer's
 * weight. Glorot keeps Var(z) ~ Var(x) forward and backward: Var(w) = 2 / (fan_in + fan_out),
 * uniform bound sqrt(3 Var). He doubles LeCun's 1 / fan_in for ReLU, which zeroes half the
 * signal. Orthogonal: Gram-Schmidt (twice, in double) on min(O,I) standard normal vectors of
 * length max(O,I), which is Q of a QR with R's diagonal positive: a Haar-random orthonormal set.
 */
#include <math.h>
#include <string.h>
#include "internal.h"

static const struct {
    const char *name;
    tg_init_kind kind;
} init_names[] = {
    { "uniform", TG_INIT_UNIFORM },
    { "zeros", TG_INIT_ZEROS },
    { "constant", TG_INIT_CONSTANT },
    { "normal", TG_INIT_NORMAL },
    { "glorot_uniform", TG_INIT_GLOROT_UNIFORM },
    { "glorot_normal", TG_INIT_GLOROT_NORMAL },
    { "he_uniform", TG_INIT_HE_UNIFORM },
    { "he_normal", TG_INIT_HE_NORMAL },
    { "lecun_normal", TG_INIT_LECUN_NORMAL },
    { "orthogonal", TG_INIT_ORTHOGONAL },
    /* aliases after the canonical names, so tg_init_name finds the canonical one */
    { "xavier_uniform", TG_INIT_GLOROT_UNIFORM },
    { "xavier_normal", TG_INIT_GLOROT_NORMAL },
    { "kaiming_uniform", TG_INIT_HE_UNIFORM },
    { "kaiming_normal", TG_INIT_HE_NORMAL },
};
#define N_NAMES (sizeof init_names / sizeof init_names[0])

const char *tg_init_name(tg_init_kind kind)
{
    size_t i;
    for (i = 0; i < N_NAMES; ++i)
        if (init_names[i].kind == kind)
            return init_names[i].name;
    return NULL;
}

int tg_init_find(const char *name)
{
    size_t i;
    for (i = 0; name && i < N_NAMES; ++i)
        if (!strcmp(init_names[i].name, name))
            return (int)init_names[i].kind;
    tg_error_set(TG_ERR_ARG, "init: unknown initialiser '%s' (known: uniform, zeros, constant, "
                 "normal, glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_normal, "
                 "orthogonal; xavier_* and kaiming_* are aliases)", name ? name : "(null)");
    return -1;
}

static int gain_kind(tg_init_kind k)
{
    return k >= TG_INIT_GLOROT_UNIFORM && k <= TG_INIT_ORTHOGONAL;
}

tg_status tg_init_check(const tg_init *init, const char *field)
{
    const char *f = field ? field : "param";
    if (!init)
        return tg_error_set(TG_ERR_ARG, "%s_init is NULL", f);
    switch (init->kind) {
    case TG_INIT_UNIFORM:
        if (!isfinite(init->a))
            return tg_error_set(TG_ERR_ARG, "init_%s_lower is %g", f, init->a);
        if (!isfinite(init->b))
            return tg_error_set(TG_ERR_ARG, "init_%s_upper is %g", f, init->b);
        if (init->a > init->b)
            return tg_error_set(TG_ERR_ARG, "init_%s_lower %g > init_%s_upper %g", f, init->a,
                                f, init->b);
        return TG_OK;
    case TG_INIT_ZEROS:
        return TG_OK;
    case TG_INIT_CONSTANT:
        if (!isfinite(init->a))
            return tg_error_set(TG_ERR_ARG, "init_%s_value is %g", f, init->a);
        return TG_OK;
    case TG_INIT_NORMAL:
        if (!isfinite(init->a))
            return tg_error_set(TG_ERR_ARG, "init_%s_mean is %g", f, init->a);
        if (!isfinite(init->b) || init->b < 0)
            return tg_error_set(TG_ERR_ARG, "init_%s_std is %g (must be finite and >= 0)", f,
                                init->b);
        return TG_OK;
    default:
        if (!gain_kind(init->kind))
            return tg_error_set(TG_ERR_ARG, "%s_init kind %d is unknown", f, (int)init->kind);
        if (!isfinite(init->a) || init->a < 0)
            return tg_error_set(TG_ERR_ARG, "init_%s_gain is %g (must be finite and > 0; 0 "
                                "means 1)", f, init->a);
        return TG_OK;
    }
}

/* q (r vectors of length c, row-major) := an orthonormal set from standard normal draws. */
static void gram_schmidt(double *q, int r, int c, uint64_t *rng)
{
    int k, j, i, pass;
    for (k = 0; k < r; ++k) {
        double *v = q + (size_t)k * c, nrm;
        do {
            for (i = 0; i < c; ++i)
                v[i] = tgi_rng_normal(rng);
            for (pass = 0; pass < 2; ++pass) /* a second pass restores orthogonality lost */
                for (j = 0; j < k; ++j) {    /* to rounding in the first */
                    const double *u = q + (size_t)j * c;
                    double d = 0;
                    for (i = 0; i < c; ++i)
                        d += u[i] * v[i];
                    for (i = 0; i < c; ++i)
                        v[i] -= d * u[i];
                }
            nrm = 0;
            for (i = 0; i < c; ++i)
                nrm += v[i] * v[i];
            nrm = sqrt(nrm);
        } while (!(nrm > 1e-12)); /* a draw inside the span: probability 0, redraw */
        for (i = 0; i < c; ++i)
            v[i] /= nrm;
    }
}

static tg_status fill_orthogonal(float *x, size_t n, int fan_in, int fan_out, double g,
                                 uint64_t *rng)
{
    int O = fan_out, I = fan_in, r = O <= I ? O : I, c = O <= I ? I : O, o, i;
    double *q;
    if (fan_in < 1 || fan_out < 1 || n != (size_t)fan_in * (size_t)fan_out)
        return tg_error_set(TG_ERR_SHAPE, "init orthogonal: needs a matrix [fan_out %d, fan_in "
                            "%d], given %zu values", fan_out, fan_in, n);
    q = tgi_malloc(n * sizeof *q);
    if (!q)
        return tg_error_set(TG_ERR_NOMEM, "init orthogonal: out of memory for %zu doubles", n);
    gram_schmidt(q, r, c, rng);
    for (o = 0; o < O; ++o)          /* rows of Q when O <= I, else its columns */
        for (i = 0; i < I; ++i)
            x[(size_t)o * I + i] = (float)(g * (O <= I ? q[(size_t)o * I + i]
                                                        : q[(size_t)i * O + o]));
    tgi_free(q);
    return TG_OK;
}

static void fill_uniform(float *x, size_t n, double lo, double hi, uint64_t *rng)
{
    size_t i;
    for (i = 0; i < n; ++i)
        x[i] = (float)(lo + (hi - lo) * tgi_rng_uniform01(rng));
}

static void fill_normal(float *x, size_t n, double mean, double std, uint64_t *rng)
{
    size_t i;
    for (i = 0; i < n; ++i)
        x[i] = (float)(mean + std * tgi_rng_normal(rng));
}

tg_status tg_init_fill(const tg_init *init, float *x, size_t n, int fan_in, int fan_out,
                       uint64_t *rng)
{
    tg_status s = tg_init_check(init, "param");
    double g, r;
    size_t i;
    if (s != TG_OK)
        return s;
    if ((!x && n) || !rng)
        return tg_error_set(TG_ERR_ARG, "init_fill: values or rng is NULL");
    if (gain_kind(init->kind) && (fan_in < 1 || fan_out < 1))
        return tg_error_set(TG_ERR_ARG, "init_fill %s: fan_in %d and fan_out %d must be >= 1",
                            tg_init_name(init->kind), fan_in, fan_out);
    g = init->a > 0 ? init->a : 1.0;
    switch (init->kind) {
    case TG_INIT_UNIFORM:
        fill_uniform(x, n, init->a, init->b, rng);
        break;
    case TG_INIT_ZEROS:
    case TG_INIT_CONSTANT:
        for (i = 0; i < n; ++i)
            x[i] = init->kind == TG_INIT_ZEROS ? 0.0f : (float)init->a;
        break;
    case TG_INIT_NORMAL:
        fill_normal(x, n, init->a, init->b, rng);
        break;
    case TG_INIT_GLOROT_UNIFORM:
        r = g * sqrt(6.0 / ((double)fan_in + fan_out));
        fill_uniform(x, n, -r, r, rng);
        break;
    case TG_INIT_GLOROT_NORMAL:
        fill_normal(x, n, 0.0, g * sqrt(2.0 / ((double)fan_in + fan_out)), rng);
        break;
    case TG_INIT_HE_UNIFORM:
        r = g * sqrt(6.0 / fan_in);
        fill_uniform(x, n, -r, r, rng);
        break;
    case TG_INIT_HE_NORMAL:
        fill_normal(x, n, 0.0, g * sqrt(2.0 / fan_in), rng);
        break;
    case TG_INIT_LECUN_NORMAL:
        fill_normal(x, n, 0.0, g * sqrt(1.0 / fan_in), rng);
        break;
    case TG_INIT_ORTHOGONAL:
        return fill_orthogonal(x, n, fan_in, fan_out, g, rng);
    case TG_INIT_KIND_COUNT:
        break; /* rejected by tg_init_check */
    }
    return TG_OK;
}
