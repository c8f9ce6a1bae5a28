/*
 * check_monitor.c -- monitors, CSV and plots: sampling every `period` steps on a linear + tanh
 * graph against a double reference, every reduction against hand-computed numbers,
 * non-finite values, store growth and thinning (a 110,000-step run), no allocation while
 * sampling, removal, argument errors, CSV round trips (bitwise, nan/inf, comma locale, I/O
 * errors and allocation failures with nothing left behind) and PNG/SVG plots (files, pixels,
 * errors, silence).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests.h"

/* ---- a counting, failing allocator ------------------------------------------------------ */
static long n_calls, fail_at = -1;

static void *count_malloc(size_t n, void *u)
{
    (void)u;
    if (n_calls++ == fail_at)
        return NULL;
    return malloc(n);
}

static void *count_realloc(void *p, size_t n, void *u)
{
    (void)u;
    if (n_calls++ == fail_at)
        return NULL;
    return realloc(p, n);
}

static void count_free(void *p, void *u)
{
    (void)u;
    free(p);
}

static void setup(void)
{
    static const tg_allocator a = { count_malloc, count_realloc, count_free, NULL };
    n_calls = 0;
    fail_at = -1;
    tg_set_allocator(&a);
    tg_error_clear();
}

static void teardown(void)
{
    tg_set_allocator(NULL);
}

/* ---- the test graph: y = tanh(x w^T + b), loss = sum(y), x [2,3], w [2,3], b [2] ------- */
typedef struct {
    tg_graph *g;
    tg_tensor *x, *w, *b, *z, *y, *loss;
    float xbuf[6];
} net;

static const float x0v[] = { 0.5f, -1.0f, 0.25f, 2.0f, 0.1f, -0.3f };
static const float wv[] = { 0.2f, 0.4f, -0.6f, -0.1f, 0.3f, 0.5f };
static const float bv[] = { 0.05f, -0.2f };

static void net_build(net *n)
{
    tg_tensor *r, *c;
    memcpy(n->xbuf, x0v, sizeof x0v);
    n->g = tg_graph_new();
    ck_assert_ptr_nonnull(n->g);
    n->x = tg_input(n->g, "x", 2, (const int[]){ 2, 3 });
    n->w = tg_param(n->g, "w", 2, (const int[]){ 2, 3 });
    n->b = tg_param(n->g, "b", 1, (const int[]){ 2 });
    ck_assert_int_eq(tg_tensor_bind(n->x, n->xbuf), TG_OK);
    ck_assert_int_eq(tg_tensor_set(n->w, wv, 6), TG_OK);
    ck_assert_int_eq(tg_tensor_set(n->b, bv, 2), TG_OK);
    r = tg_const(n->g, "ones_r", 2, (const int[]){ 1, 2 }, (const float[]){ 1, 1 });
    c = tg_const(n->g, "ones_c", 2, (const int[]){ 2, 1 }, (const float[]){ 1, 1 });
    n->z = tg_linear(n->g, n->x, n->w, n->b);
    n->y = tg_tanh(n->g, n->z);
    n->loss = tg_matmul(n->g, tg_matmul(n->g, r, n->y, 0, 0), c, 0, 0);
    ck_assert_ptr_nonnull(n->loss);
    ck_assert_int_eq(tg_tensor_set_name(n->z, "z"), TG_OK);
    ck_assert_int_eq(tg_tensor_set_name(n->y, "y"), TG_OK);
}

/* The inputs of step s: x0 * (1 + s/10). */
static void net_step(net *n, long s, long epoch)
{
    int k;
    for (k = 0; k < 6; ++k)
        n->xbuf[k] = x0v[k] * (1.0f + 0.1f * (float)s);
    tg_graph_set_step(n->g, s, epoch);
    ck_assert_int_eq(tg_graph_forward(n->g), TG_OK);
    ck_assert_int_eq(tg_backward(n->g, n->loss), TG_OK);
}

/* Reference in double for step s: z, y (2x2) and db = sum_i (1 - y^2). */
static void net_ref(long s, double z[4], double y[4], double db[2])
{
    int i, o, k;
    db[0] = db[1] = 0;
    for (i = 0; i < 2; ++i)
        for (o = 0; o < 2; ++o) {
            double acc = bv[o];
            for (k = 0; k < 3; ++k)
                acc += (double)(x0v[i * 3 + k] * (1.0f + 0.1f * (float)s)) * wv[o * 3 + k];
            z[i * 2 + o] = acc;
            y[i * 2 + o] = tanh(acc);
            db[o] += 1 - y[i * 2 + o] * y[i * 2 + o];
        }
}

static tg_monitor *mon(tg_tensor *t, tg_monitor_opts o)
{
    tg_monitor *m = tg_monitor_new(t, &o);
    ck_assert_msg(m != NULL, "monitor_new: %s", tg_last_error());
    return m;
}

/* ---- sampling ------------------------------------------------------------------------- */
START_TEST(test_monitor_period_samples)
{
    net n;
    tg_monitor *my, *mdb, *mz;
    long s;
    int i, u;
    net_build(&n);
    my = mon(n.y, (tg_monitor_opts){ .kind = TG_MON_COPY, .period = 3 });
    mdb = mon(n.b, (tg_monitor_opts){ .kind = TG_MON_COPY, .grad = 1, .period = 3 });
    mz = mon(n.z, (tg_monitor_opts){ .kind = TG_MON_UNIT_MEAN, .period = 3 });
    for (s = 0; s < 10; ++s)
        net_step(&n, s, s / 4);
    ck_assert_int_eq(tg_monitor_n_samples(my), 4);
    ck_assert_int_eq(tg_monitor_n_samples(mdb), 4);
    ck_assert_int_eq(tg_monitor_n_units(my), 4);
    ck_assert_int_eq(tg_monitor_n_units(mdb), 2);
    ck_assert_int_eq(tg_monitor_n_units(mz), 2);
    for (i = 0; i < 4; ++i) {
        double z[4], y[4], db[2];
        const long step = 3 * i;
        net_ref(step, z, y, db);
        ck_assert_int_eq(tg_monitor_steps(my)[i], step);
        ck_assert_int_eq(tg_monitor_epochs(my)[i], step / 4);
        ck_assert_int_eq(tg_monitor_steps(mdb)[i], step);
        for (u = 0; u < 4; ++u)
            ck_assert_double_eq_tol(tg_monitor_values(my)[i * 4 + u], y[u], 1e-6);
        for (u = 0; u < 2; ++u) {
            ck_assert_double_eq_tol(tg_monitor_values(mdb)[i * 2 + u], db[u], 1e-5);
            ck_assert_double_eq_tol(tg_monitor_values(mz)[i * 2 + u], (z[u] + z[2 + u]) / 2,
                                    1e-6);
        }
    }
    ck_assert_str_eq(tg_monitor_name(mdb), "b_grad_copy");
    ck_assert_str_eq(tg_monitor_what(mdb), "every element of the gradient of 'b' [2], every 3 "
                     "steps");
    tg_monitor_free(my);
    tg_monitor_free(mdb);
    tg_monitor_free(mz);
    tg_graph_free(n.g);
}
END_TEST

/* A second forward or backward in the same step adds no sample; a new epoch at the same step
 * number does. */
START_TEST(test_monitor_once_per_step)
{
    net n;
    tg_monitor *m;
    net_build(&n);
    m = mon(n.b, (tg_monitor_opts){ .kind = TG_MON_NORM, .grad = 1, .period = 1 });
    net_step(&n, 0, 0);
    net_step(&n, 0, 0);
    ck_assert_int_eq(tg_backward(n.g, n.loss), TG_OK);
    ck_assert_int_eq(tg_monitor_n_samples(m), 1);
    net_step(&n, 0, 1);
    ck_assert_int_eq(tg_monitor_n_samples(m), 2);
    ck_assert_int_eq(tg_monitor_epochs(m)[1], 1);
    tg_monitor_free(m);
    tg_graph_free(n.g);
}
END_TEST

START_TEST(test_monitor_period_beyond_steps)
{
    net n;
    tg_monitor *m;
    long s;
    double z[4], y[4], db[2];
    net_build(&n);
    m = mon(n.y, (tg_monitor_opts){ .kind = TG_MON_MEAN, .period = 1000 });
    for (s = 0; s < 10; ++s)
        net_step(&n, s, 0);
    ck_assert_int_eq(tg_monitor_n_samples(m), 1);
    ck_assert_int_eq(tg_monitor_steps(m)[0], 0);
    net_ref(0, z, y, db);
    ck_assert_double_eq_tol(tg_monitor_values(m)[0], (y[0] + y[1] + y[2] + y[3]) / 4, 1e-6);
    tg_monitor_free(m);
    tg_graph_free(n.g);
}
END_TEST

/* ---- reductions against hand-computed numbers ------------------------------------------ */
/* p = [[1, -2, 0, 4], [0.5, 0, -1, 3], [-3, 0, 2, 0.25]]:
 * sum 4.75, sum of squares 44.3125, row sums of squares 21, 10.25, 13.0625. */
static const float P[12] = { 1, -2, 0, 4, 0.5f, 0, -1, 3, -3, 0, 2, 0.25f };

/* One sample of a monitor on a [rank]-dim param holding v; returns its units in out. */
static int sample_once(const float *v, int rank, const int *dims, tg_monitor_opts o, float *out)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *p = tg_param(g, "p", rank, dims);
    tg_monitor *m;
    int units;
    ck_assert_int_eq(tg_tensor_set(p, v, p->size), TG_OK);
    m = mon(p, o);
    ck_assert_int_eq(tg_graph_forward(g), TG_OK);
    ck_assert_int_eq(tg_monitor_n_samples(m), 1);
    units = tg_monitor_n_units(m);
    memcpy(out, tg_monitor_values(m), (size_t)units * sizeof *out);
    tg_monitor_free(m);
    tg_graph_free(g);
    return units;
}

#define P_DIMS 2, (const int[]){ 3, 4 }

START_TEST(test_monitor_reduce_copy_mean_norm)
{
    float out[12];
    ck_assert_int_eq(sample_once(P, P_DIMS, (tg_monitor_opts){ .kind = TG_MON_COPY,
                                                              .period = 1 }, out), 12);
    ck_assert_mem_eq(out, P, sizeof P);
    ck_assert_int_eq(sample_once(P, P_DIMS, (tg_monitor_opts){ .kind = TG_MON_MEAN,
                                                              .period = 1 }, out), 1);
    ck_assert_float_eq_tol(out[0], 4.75f / 12, 1e-7f);
    ck_assert_int_eq(sample_once(P, P_DIMS, (tg_monitor_opts){ .kind = TG_MON_NORM,
                                                              .period = 1 }, out), 1);
    ck_assert_float_eq_tol(out[0], sqrtf(44.3125f), 1e-6f);
}
END_TEST

START_TEST(test_monitor_reduce_minmax_stats)
{
    float out[3];
    const double mean = 4.75 / 12;
    ck_assert_int_eq(sample_once(P, P_DIMS, (tg_monitor_opts){ .kind = TG_MON_MINMAX,
                                                              .period = 1 }, out), 2);
    ck_assert_float_eq(out[0], -3.0f);
    ck_assert_float_eq(out[1], 4.0f);
    ck_assert_int_eq(sample_once(P, P_DIMS, (tg_monitor_opts){ .kind = TG_MON_STATS,
                                                              .period = 1 }, out), 3);
    ck_assert_float_eq_tol(out[0], sqrtf(44.3125f), 1e-6f);
    ck_assert_float_eq_tol(out[1], mean, 1e-7f);
    /* population variance: E[x^2] - mean^2 */
    ck_assert_float_eq_tol(out[2], sqrt(44.3125 / 12 - mean * mean), 1e-6f);
}
END_TEST

START_TEST(test_monitor_reduce_hist)
{
    /* 4 bins of width 1 over [-2, 2]: -2 -> bin 0 (lo is in the first bin), -1 -> bin 1,
     * 0 0 0 0.25 0.5 -> bin 2, 1 and 2 -> bin 3 (hi is in the last bin); -3 below; 3, 4 above */
    static const float expect[7] = { 1, 1, 5, 2, 1, 2, 0 };
    float out[7];
    ck_assert_int_eq(sample_once(P, P_DIMS, (tg_monitor_opts){ .kind = TG_MON_HIST, .period = 1,
                                 .bins = 4, .lo = -2, .hi = 2 }, out), 7);
    ck_assert_mem_eq(out, expect, sizeof expect);
}
END_TEST

START_TEST(test_monitor_reduce_per_unit)
{
    float out[4];
    ck_assert_int_eq(sample_once(P, P_DIMS, (tg_monitor_opts){ .kind = TG_MON_UNIT_MEAN,
                                                              .period = 1 }, out), 4);
    ck_assert_float_eq_tol(out[0], (1 + 0.5 - 3) / 3, 1e-7f);
    ck_assert_float_eq_tol(out[1], -2.0 / 3, 1e-7f);
    ck_assert_float_eq_tol(out[2], 1.0 / 3, 1e-7f);
    ck_assert_float_eq_tol(out[3], 7.25 / 3, 1e-6f);
    ck_assert_int_eq(sample_once(P, P_DIMS, (tg_monitor_opts){ .kind = TG_MON_UNIT_NORM,
                                                              .period = 1 }, out), 3);
    ck_assert_float_eq_tol(out[0], sqrt(21.0), 1e-6f);
    ck_assert_float_eq_tol(out[1], sqrt(10.25), 1e-6f);
    ck_assert_float_eq_tol(out[2], sqrt(13.0625), 1e-6f);
    /* |x| > 0.9 per column: {1, 3}, {2}, {1, 2}, {4, 3} out of 3 rows */
    ck_assert_int_eq(sample_once(P, P_DIMS, (tg_monitor_opts){ .kind = TG_MON_UNIT_SATURATED,
                                 .period = 1, .threshold = 0.9f }, out), 4);
    ck_assert_float_eq_tol(out[0], 2.0 / 3, 1e-7f);
    ck_assert_float_eq_tol(out[1], 1.0 / 3, 1e-7f);
    ck_assert_float_eq_tol(out[2], 2.0 / 3, 1e-7f);
    ck_assert_float_eq_tol(out[3], 2.0 / 3, 1e-7f);
    /* zeros per column: none, two, one, none */
    ck_assert_int_eq(sample_once(P, P_DIMS, (tg_monitor_opts){ .kind = TG_MON_UNIT_ZERO,
                                                              .period = 1 }, out), 4);
    ck_assert_float_eq(out[0], 0.0f);
    ck_assert_float_eq_tol(out[1], 2.0 / 3, 1e-7f);
    ck_assert_float_eq_tol(out[2], 1.0 / 3, 1e-7f);
    ck_assert_float_eq(out[3], 0.0f);
}
END_TEST

/* Rank 1: one value per unit for every per-unit kind. */
START_TEST(test_monitor_reduce_rank1)
{
    static const float v[3] = { -3, 0, 0.5f };
    float out[3];
    ck_assert_int_eq(sample_once(v, 1, (const int[]){ 3 }, (tg_monitor_opts){
                     .kind = TG_MON_UNIT_NORM, .period = 1 }, out), 3);
    ck_assert_float_eq(out[0], 3.0f);
    ck_assert_float_eq(out[1], 0.0f);
    ck_assert_float_eq(out[2], 0.5f);
    ck_assert_int_eq(sample_once(v, 1, (const int[]){ 3 }, (tg_monitor_opts){
                     .kind = TG_MON_UNIT_MEAN, .period = 1 }, out), 3);
    ck_assert_mem_eq(out, v, sizeof v);
    ck_assert_int_eq(sample_once(v, 1, (const int[]){ 3 }, (tg_monitor_opts){
                     .kind = TG_MON_UNIT_ZERO, .period = 1 }, out), 3);
    ck_assert_float_eq(out[0], 0.0f);
    ck_assert_float_eq(out[1], 1.0f);
    ck_assert_float_eq(out[2], 0.0f);
}
END_TEST

START_TEST(test_monitor_reduce_nonfinite)
{
    const float with_inf[4] = { 1, INFINITY, -1, 2 }, with_nan[4] = { 1, NAN, 2, -3 };
    const int d[1] = { 4 };
    float out[7];
    sample_once(with_inf, 1, d, (tg_monitor_opts){ .kind = TG_MON_NORM, .period = 1 }, out);
    ck_assert(isinf(out[0]) && out[0] > 0);
    sample_once(with_inf, 1, d, (tg_monitor_opts){ .kind = TG_MON_MINMAX, .period = 1 }, out);
    ck_assert_float_eq(out[0], -1.0f);
    ck_assert(isinf(out[1]) && out[1] > 0);
    sample_once(with_nan, 1, d, (tg_monitor_opts){ .kind = TG_MON_MEAN, .period = 1 }, out);
    ck_assert(isnan(out[0]));
    sample_once(with_nan, 1, d, (tg_monitor_opts){ .kind = TG_MON_STATS, .period = 1 }, out);
    ck_assert(isnan(out[0]) && isnan(out[1]) && isnan(out[2]));
    /* NaN skipped by min/max */
    sample_once(with_nan, 1, d, (tg_monitor_opts){ .kind = TG_MON_MINMAX, .period = 1 }, out);
    ck_assert_float_eq(out[0], -3.0f);
    ck_assert_float_eq(out[1], 2.0f);
    /* 2 bins over [0, 2]: 1, 2 in bin 1; -3 below; NaN counted apart; inf above */
    sample_once(with_nan, 1, d, (tg_monitor_opts){ .kind = TG_MON_HIST, .period = 1, .bins = 2,
                .lo = 0, .hi = 2 }, out);
    ck_assert_mem_eq(out, ((const float[]){ 0, 2, 1, 0, 1 }), 5 * sizeof(float));
    sample_once(with_inf, 1, d, (tg_monitor_opts){ .kind = TG_MON_HIST, .period = 1, .bins = 2,
                .lo = 0, .hi = 2 }, out);
    ck_assert_mem_eq(out, ((const float[]){ 0, 2, 1, 1, 0 }), 5 * sizeof(float));
    /* a sum of squares beyond FLT_MAX is inf, not undefined behaviour */
    sample_once((const float[]){ FLT_MAX, FLT_MAX, 0, 0 }, 1, d,
                (tg_monitor_opts){ .kind = TG_MON_NORM, .period = 1 }, out);
    ck_assert(isinf(out[0]));
}
END_TEST

/* ---- the store ------------------------------------------------------------------------- */
/* A graph with a single scalar param; each step sets it to the step number. */
typedef struct {
    tg_graph *g;
    tg_tensor *p;
} scalar_graph;

static void scalar_build(scalar_graph *s)
{
    s->g = tg_graph_new();
    s->p = tg_param(s->g, "p", 1, (const int[]){ 1 });
    ck_assert_ptr_nonnull(s->p);
}

static tg_status scalar_step(scalar_graph *s, long step)
{
    float v = (float)step;
    ck_assert_int_eq(tg_tensor_set(s->p, &v, 1), TG_OK);
    tg_graph_set_step(s->g, step, 0);
    return tg_graph_forward(s->g);
}

START_TEST(test_monitor_store_grows)
{
    scalar_graph s;
    tg_monitor *m;
    long i;
    scalar_build(&s);
    m = mon(s.p, (tg_monitor_opts){ .kind = TG_MON_MEAN, .period = 1, .planned = 2 });
    for (i = 0; i < 9; ++i)
        ck_assert_int_eq(scalar_step(&s, i), TG_OK);
    ck_assert_int_eq(tg_monitor_n_samples(m), 9);
    for (i = 0; i < 9; ++i) {
        ck_assert_int_eq(tg_monitor_steps(m)[i], i);
        ck_assert_float_eq(tg_monitor_values(m)[i], (float)i);
    }
    tg_monitor_free(m);
    tg_graph_free(s.g);
}
END_TEST

/* cap 4, period 1: 0 1 2 3 | step 4 thins to 0 2 (period 2) and adds 4; 6 fills it; step 8
 * thins to 0 4 (period 4) and adds 8. */
START_TEST(test_monitor_store_thins)
{
    scalar_graph s;
    tg_monitor *m;
    long i;
    scalar_build(&s);
    m = mon(s.p, (tg_monitor_opts){ .kind = TG_MON_MEAN, .period = 1, .planned = 2, .cap = 4 });
    for (i = 0; i < 10; ++i)
        ck_assert_int_eq(scalar_step(&s, i), TG_OK);
    ck_assert_int_eq(tg_monitor_n_samples(m), 3);
    ck_assert_int_eq(tg_monitor_period(m), 4);
    for (i = 0; i < 3; ++i) {
        ck_assert_int_eq(tg_monitor_steps(m)[i], 4 * i);
        ck_assert_float_eq(tg_monitor_values(m)[i], (float)(4 * i));
    }
    tg_monitor_free(m);
    tg_graph_free(s.g);
}
END_TEST

/* Count the data rows of a CSV file (lines after the header). */
static long csv_rows(const char *path)
{
    FILE *f = fopen(path, "r");
    long rows = -1;
    int c;
    ck_assert_ptr_nonnull(f);
    while ((c = getc(f)) != EOF)
        rows += c == '\n';
    fclose(f);
    return rows;
}

/* RELIABILITY #62/#74: 110,000 steps sampled every step stay within the cap, spread evenly
 * over the whole run, and the CSV holds exactly the samples kept. */
START_TEST(test_monitor_store_long_run_bounded)
{
    scalar_graph s;
    tg_monitor *m;
    char path[512];
    long i, n, period;
    scalar_build(&s);
    m = mon(s.p, (tg_monitor_opts){ .kind = TG_MON_STATS, .period = 1, .planned = 1000,
                                    .cap = 1000 });
    for (i = 0; i < 110000; ++i)
        ck_assert_int_eq(scalar_step(&s, i), TG_OK);
    n = tg_monitor_n_samples(m);
    period = tg_monitor_period(m);
    ck_assert(n > 500 && n <= 1000);
    ck_assert_int_eq(tg_monitor_steps(m)[0], 0);
    ck_assert(tg_monitor_steps(m)[n - 1] > 110000 - 1 - period);
    for (i = 1; i < n; ++i)
        ck_assert_int_eq(tg_monitor_steps(m)[i] - tg_monitor_steps(m)[i - 1], period);
    for (i = 0; i < n; ++i) /* a scalar: norm |p|, mean p, std 0 */
        ck_assert_float_eq(tg_monitor_values(m)[3 * i + 1], (float)tg_monitor_steps(m)[i]);
    snprintf(path, sizeof path, "%s/mon_long.csv", test_tmpdir());
    ck_assert_int_eq(tg_monitor_write_csv(m, path), TG_OK);
    ck_assert_int_eq(csv_rows(path), 3 * n);
    unlink(path);
    tg_monitor_free(m);
    tg_graph_free(s.g);
}
END_TEST

/* After the first step sized everything, steps with every kind of monitor sampling (and one
 * thinning) make no allocator call. */
START_TEST(test_monitor_sampling_allocates_nothing)
{
    net n;
    tg_monitor *m[9];
    long before, s;
    int k;
    net_build(&n);
    m[0] = mon(n.y, (tg_monitor_opts){ .kind = TG_MON_COPY, .period = 1, .planned = 32 });
    m[1] = mon(n.w, (tg_monitor_opts){ .kind = TG_MON_UNIT_NORM, .grad = 1, .period = 1,
                                       .planned = 32 });
    m[2] = mon(n.z, (tg_monitor_opts){ .kind = TG_MON_HIST, .period = 1, .planned = 32,
                                       .bins = 10, .lo = -1, .hi = 1 });
    m[3] = mon(n.y, (tg_monitor_opts){ .kind = TG_MON_UNIT_SATURATED, .period = 2,
                                       .planned = 32, .threshold = 0.5f });
    m[4] = mon(n.y, (tg_monitor_opts){ .kind = TG_MON_UNIT_ZERO, .period = 1, .planned = 32 });
    m[5] = mon(n.b, (tg_monitor_opts){ .kind = TG_MON_STATS, .grad = 1, .period = 1,
                                       .planned = 32 });
    m[6] = mon(n.loss, (tg_monitor_opts){ .kind = TG_MON_MEAN, .period = 1, .planned = 32 });
    m[7] = mon(n.w, (tg_monitor_opts){ .kind = TG_MON_MINMAX, .period = 1, .planned = 32 });
    m[8] = mon(n.z, (tg_monitor_opts){ .kind = TG_MON_UNIT_MEAN, .period = 1, .cap = 8 });
    net_step(&n, 0, 0);
    before = n_calls;
    for (s = 1; s <= 20; ++s)
        net_step(&n, s, 0);
    ck_assert_int_eq(n_calls, before);
    ck_assert_int_eq(tg_monitor_n_samples(m[0]), 21);
    ck_assert_int_eq(tg_monitor_n_samples(m[3]), 11);
    ck_assert_int_eq(tg_monitor_period(m[8]), 4);
    for (k = 0; k < 9; ++k)
        tg_monitor_free(m[k]);
    tg_graph_free(n.g);
}
END_TEST

/* ---- removal --------------------------------------------------------------------------- */
START_TEST(test_monitor_free_removes_hook)
{
    net n;
    tg_monitor *a, *b;
    long s;
    net_build(&n);
    a = mon(n.y, (tg_monitor_opts){ .kind = TG_MON_MEAN, .period = 1 });
    b = mon(n.y, (tg_monitor_opts){ .kind = TG_MON_NORM, .period = 1 });
    net_step(&n, 0, 0);
    tg_monitor_free(a); /* under ASan, a hook left behind would write into freed memory */
    for (s = 1; s < 5; ++s)
        net_step(&n, s, 0);
    ck_assert_int_eq(tg_monitor_n_samples(b), 5);
    ck_assert_ptr_nonnull(n.y->hooks);
    tg_monitor_free(b);
    ck_assert_ptr_null(n.y->hooks);
    net_step(&n, 5, 0);
    tg_graph_free(n.g);
}
END_TEST

/* Detached: no more samples, data readable after the graph is gone; detaching twice fails. */
START_TEST(test_monitor_detach_outlives_graph)
{
    net n;
    tg_monitor *m;
    net_build(&n);
    m = mon(n.b, (tg_monitor_opts){ .kind = TG_MON_COPY, .grad = 1, .period = 1 });
    net_step(&n, 0, 0);
    ck_assert_int_eq(tg_monitor_detach(m), TG_OK);
    net_step(&n, 1, 0);
    ck_assert_int_eq(tg_monitor_n_samples(m), 1);
    tg_graph_free(n.g);
    ck_assert_int_eq(tg_monitor_detach(m), TG_ERR_STATE);
    ck_assert_error(TG_ERR_STATE, "'b_grad_copy' is detached already");
    ck_assert_int_eq(tg_monitor_steps(m)[0], 0);
    ck_assert(tg_monitor_values(m)[0] > 0.0f);
    tg_monitor_free(m);
}
END_TEST

/* ---- errors ---------------------------------------------------------------------------- */
START_TEST(test_monitor_errors_period)
{
    net n;
    net_build(&n);
    ck_assert_ptr_null(tg_monitor_new(n.y, &(tg_monitor_opts){ .kind = TG_MON_MEAN }));
    ck_assert_error(TG_ERR_ARG, "'y' [2,2]: period is 0");
    ck_assert_ptr_null(tg_monitor_new(n.y, &(tg_monitor_opts){ .kind = TG_MON_MEAN,
                                                              .period = -5 }));
    ck_assert_error(TG_ERR_ARG, "period is -5");
    ck_assert_ptr_null(n.y->hooks);
    tg_graph_free(n.g);
}
END_TEST

START_TEST(test_monitor_errors_args)
{
    net n;
    tg_series s;
    tg_monitor *m;
    net_build(&n);
    ck_assert_ptr_null(tg_monitor_new(NULL, &(tg_monitor_opts){ .period = 1 }));
    ck_assert_error(TG_ERR_ARG, "monitor_new: tensor is NULL");
    ck_assert_ptr_null(tg_monitor_new(n.y, NULL));
    ck_assert_error(TG_ERR_ARG, "monitor_new: opts is NULL");
    ck_assert_ptr_null(tg_monitor_new(n.y, &(tg_monitor_opts){ .kind = 99, .period = 1 }));
    ck_assert_error(TG_ERR_ARG, "unknown kind 99");
    ck_assert_ptr_null(tg_monitor_new(n.y, &(tg_monitor_opts){ .kind = TG_MON_HIST,
                                                              .period = 1, .lo = 1, .hi = 1,
                                                              .bins = 3 }));
    ck_assert_error(TG_ERR_ARG, "3 bins over [1, 1]");
    ck_assert_ptr_null(tg_monitor_new(n.y, &(tg_monitor_opts){ .kind = TG_MON_HIST,
                                                              .period = 1, .hi = 1 }));
    ck_assert_error(TG_ERR_ARG, "histogram needs bins >= 1");
    ck_assert_ptr_null(tg_monitor_new(n.y, &(tg_monitor_opts){ .kind = TG_MON_HIST,
                                                              .period = 1, .bins = 2,
                                                              .lo = NAN, .hi = 1 }));
    ck_assert_error(TG_ERR_ARG, "finite lo < hi");
    ck_assert_ptr_null(tg_monitor_new(n.y, &(tg_monitor_opts){ .kind = TG_MON_UNIT_SATURATED,
                                                              .period = 1, .threshold = -1 }));
    ck_assert_error(TG_ERR_ARG, "saturation threshold -1");
    ck_assert_ptr_null(tg_monitor_new(n.y, &(tg_monitor_opts){ .kind = TG_MON_MEAN,
                                                              .period = 1, .cap = 1 }));
    ck_assert_error(TG_ERR_ARG, "cap is 1");
    ck_assert_ptr_null(tg_monitor_new(n.x, &(tg_monitor_opts){ .kind = TG_MON_MEAN,
                                                              .period = 1, .grad = 1 }));
    ck_assert_error(TG_ERR_ARG, "'x' has no gradient to watch");
    ck_assert_ptr_null(n.x->hooks);
    m = mon(n.b, (tg_monitor_opts){ .kind = TG_MON_MINMAX, .period = 1, .name = "bmm" });
    ck_assert_int_eq(tg_monitor_series(m, 2, &s), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "'bmm' has units 0..1, not 2");
    ck_assert_int_eq(tg_monitor_series(m, 1, &s), TG_OK);
    ck_assert_int_eq(s.stride, 2);
    ck_assert_str_eq(s.label, "bmm");
    ck_assert_int_eq(tg_monitor_detach(NULL), TG_ERR_ARG);
    tg_monitor_free(NULL);
    tg_monitor_free(m);
    tg_graph_free(n.g);
}
END_TEST

/* Growing past the plan with no memory: the step fails with NOMEM naming the monitor, the
 * samples so far survive, and the next step (memory back) records again. */
START_TEST(test_monitor_errors_grow_nomem)
{
    scalar_graph s;
    tg_monitor *m;
    scalar_build(&s);
    m = mon(s.p, (tg_monitor_opts){ .kind = TG_MON_MEAN, .period = 1, .planned = 1 });
    ck_assert_int_eq(scalar_step(&s, 0), TG_OK);
    fail_at = n_calls;
    ck_assert_int_eq(scalar_step(&s, 1), TG_ERR_NOMEM);
    ck_assert_error(TG_ERR_NOMEM, "monitor 'p_value_mean': out of memory for 2 samples");
    fail_at = -1;
    ck_assert_int_eq(tg_monitor_n_samples(m), 1);
    ck_assert_int_eq(scalar_step(&s, 2), TG_OK);
    ck_assert_int_eq(tg_monitor_n_samples(m), 2);
    ck_assert_float_eq(tg_monitor_values(m)[0], 0.0f);
    ck_assert_float_eq(tg_monitor_values(m)[1], 2.0f);
    tg_monitor_free(m);
    tg_graph_free(s.g);
}
END_TEST

/* Every allocation of tg_monitor_new failing in turn: NULL with NOMEM, no hook left on the
 * tensor, nothing leaked (LSan). */
START_TEST(test_monitor_errors_new_nomem)
{
    scalar_graph s;
    tg_monitor *m;
    long total, k;
    scalar_build(&s);
    n_calls = 0;
    m = mon(s.p, (tg_monitor_opts){ .kind = TG_MON_HIST, .period = 1, .bins = 4, .lo = 0,
                                    .hi = 1 });
    total = n_calls;
    tg_monitor_free(m);
    ck_assert(total >= 4);
    for (k = 0; k < total; ++k) {
        n_calls = 0;
        fail_at = k;
        ck_assert_ptr_null(tg_monitor_new(s.p, &(tg_monitor_opts){ .kind = TG_MON_HIST,
                                          .period = 1, .bins = 4, .lo = 0, .hi = 1 }));
        ck_assert_int_eq(tg_last_status(), TG_ERR_NOMEM);
        ck_assert_ptr_null(s.p->hooks);
    }
    fail_at = -1;
    ck_assert_int_eq(scalar_step(&s, 0), TG_OK);
    tg_graph_free(s.g);
}
END_TEST

/* ---- CSV ------------------------------------------------------------------------------- */
/* Values no decimal printer gets right by accident, and the non-finite ones. */
static const float TRICKY[10] = { 0.1f, -1.0f / 3, 1e-40f, FLT_MAX, -FLT_MIN, -0.0f,
                                  16777217.0f, NAN, INFINITY, -INFINITY };

static tg_monitor *tricky_monitor(tg_graph **g)
{
    tg_tensor *p;
    tg_monitor *m;
    long s;
    *g = tg_graph_new();
    p = tg_param(*g, "tricky", 1, (const int[]){ 10 });
    ck_assert_int_eq(tg_tensor_set(p, TRICKY, 10), TG_OK);
    m = mon(p, (tg_monitor_opts){ .kind = TG_MON_COPY, .period = 2 });
    for (s = 0; s < 4; ++s) {
        tg_graph_set_step(*g, s, 7 + s);
        ck_assert_int_eq(tg_graph_forward(*g), TG_OK);
    }
    ck_assert_int_eq(tg_monitor_n_samples(m), 2);
    return m;
}

/* Read a CSV written from tricky_monitor and compare bitwise (the C locale must be on). */
static void check_tricky_csv(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[256];
    long rows = 0;
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "step,epoch,unit,value\n");
    while (fgets(line, sizeof line, f)) {
        long step, epoch;
        int unit, used = 0;
        char value[64], *end;
        float v, want;
        ck_assert_int_eq(sscanf(line, "%ld,%ld,%d,%63s%n", &step, &epoch, &unit, value, &used),
                         4);
        ck_assert_str_eq(line + used, "\n");
        ck_assert_int_eq(step, 2 * (rows / 10));
        ck_assert_int_eq(epoch, 7 + step);
        ck_assert_int_eq(unit, rows % 10);
        want = TRICKY[unit];
        if (isnan(want)) {
            ck_assert_str_eq(value, "nan");
        } else if (isinf(want)) {
            ck_assert_str_eq(value, want > 0 ? "inf" : "-inf");
        } else {
            ck_assert_ptr_null(strchr(value, ','));
            v = strtof(value, &end);
            ck_assert_str_eq(end, "");
            ck_assert_mem_eq(&v, &want, sizeof v);
        }
        rows++;
    }
    fclose(f);
    ck_assert_int_eq(rows, 20);
}

/* No "*.tmp" left in dir. */
static void assert_no_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        ck_assert_msg(n < 4 || strcmp(e->d_name + n - 4, ".tmp"),
                      "temporary file %s left in %s", e->d_name, dir);
    }
    closedir(d);
}

static void make_dir(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", test_tmpdir(), name);
    ck_assert(mkdir(buf, 0777) == 0 || errno == EEXIST);
}

START_TEST(test_csv_round_trip)
{
    tg_graph *g;
    tg_monitor *m = tricky_monitor(&g);
    char dir[400], path[512];
    make_dir(dir, sizeof dir, "mon_csv");
    snprintf(path, sizeof path, "%s/tricky.csv", dir);
    ck_assert_int_eq(tg_monitor_write_csv(m, path), TG_OK);
    check_tricky_csv(path);
    /* an existing file is replaced whole */
    ck_assert_int_eq(tg_monitor_write_csv(m, path), TG_OK);
    check_tricky_csv(path);
    assert_no_tmp(dir);
    unlink(path);
    tg_monitor_free(m);
    tg_graph_free(g);
}
END_TEST

/* A locale whose decimal point is ',' set for LC_NUMERIC: an installed one, else one built
 * with localedef (no root needed) under the test directory and found through LOCPATH.
 * Returns 0 if neither is possible on this machine. */
static int set_comma_locale(void)
{
    static const char *const names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                         "fr_FR.utf8", "tg_comma.UTF-8" };
    char dir[400], src[512], cmd[1400], probe[16];
    size_t i;
    FILE *f;
    for (i = 0; i < sizeof names / sizeof names[0]; ++i) {
        if (i == sizeof names / sizeof names[0] - 1) {
            make_dir(dir, sizeof dir, "mon_locale");
            snprintf(src, sizeof src, "%s/tg_comma.src", dir);
            f = fopen(src, "w");
            ck_assert_ptr_nonnull(f);
            fputs("LC_NUMERIC\ndecimal_point \"<U002C>\"\nthousands_sep \"<U002E>\"\n"
                  "grouping 3;3\nEND LC_NUMERIC\n", f);
            fclose(f);
            snprintf(cmd, sizeof cmd, "localedef -c -i '%s' -f UTF-8 '%s/tg_comma.UTF-8' "
                     ">/dev/null 2>&1", src, dir);
            if (system(cmd) == -1)
                return 0;
            setenv("LOCPATH", dir, 1);
        }
        if (setlocale(LC_NUMERIC, names[i])) {
            snprintf(probe, sizeof probe, "%.1f", 0.5);
            if (!strcmp(probe, "0,5"))
                return 1;
        }
    }
    return 0;
}

/* RELIABILITY #60: the process in a comma-decimal locale still gets "0.1", not "0,1". */
START_TEST(test_csv_comma_locale)
{
    tg_graph *g;
    tg_monitor *m = tricky_monitor(&g);
    char path[512];
    int have_comma = set_comma_locale();
    snprintf(path, sizeof path, "%s/mon_locale.csv", test_tmpdir());
    ck_assert_int_eq(tg_monitor_write_csv(m, path), TG_OK);
    if (have_comma) {
        char probe[16];
        snprintf(probe, sizeof probe, "%.1f", 0.5);
        ck_assert_str_eq(probe, "0,5"); /* still in force after the write */
    } else {
        fprintf(stderr, "check_monitor: no comma-decimal locale could be set or built; "
                "test_csv_comma_locale ran in the C locale only\n");
    }
    setlocale(LC_NUMERIC, "C");
    unsetenv("LOCPATH");
    check_tricky_csv(path);
    unlink(path);
    tg_monitor_free(m);
    tg_graph_free(g);
}
END_TEST

/* RELIABILITY #55/#58: missing directory, a file as a directory, a directory as the target,
 * an unwritable directory (when not root): TG_ERR_IO with path and reason, no temp left. */
START_TEST(test_csv_io_errors)
{
    tg_graph *g;
    tg_monitor *m = tricky_monitor(&g);
    char dir[400], path[600], file[512];
    FILE *f;
    make_dir(dir, sizeof dir, "mon_csv_err");
    snprintf(path, sizeof path, "%s/missing/x.csv", dir);
    ck_assert_int_eq(tg_monitor_write_csv(m, path), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, path);
    ck_assert_error(TG_ERR_IO, strerror(ENOENT));
    snprintf(file, sizeof file, "%s/plain", dir);
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/plain/x.csv", dir);
    ck_assert_int_eq(tg_monitor_write_csv(m, path), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, strerror(ENOTDIR));
    snprintf(path, sizeof path, "%s/adir", dir);
    ck_assert(mkdir(path, 0777) == 0 || errno == EEXIST);
    ck_assert_int_eq(tg_monitor_write_csv(m, path), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, "cannot rename");
    ck_assert_error(TG_ERR_IO, strerror(EISDIR));
    if (geteuid() != 0) {
        snprintf(path, sizeof path, "%s/ro", dir);
        ck_assert(mkdir(path, 0555) == 0 || errno == EEXIST);
        snprintf(path, sizeof path, "%s/ro/x.csv", dir);
        ck_assert_int_eq(tg_monitor_write_csv(m, path), TG_ERR_IO);
        ck_assert_error(TG_ERR_IO, strerror(EACCES));
    }
    assert_no_tmp(dir);
    ck_assert_int_eq(tg_monitor_write_csv(m, ""), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "path is NULL or empty");
    /* the samples are still there for a retry */
    ck_assert_int_eq(tg_monitor_n_samples(m), 2);
    unlink(file);
    tg_monitor_free(m);
    tg_graph_free(g);
}
END_TEST

/* RELIABILITY #59: a write failing part-way (here a file size limit, as a full disk would):
 * TG_ERR_IO, the previous file intact, no temp left. */
START_TEST(test_csv_write_fails_midway)
{
    tg_graph *g;
    tg_monitor *m = tricky_monitor(&g);
    char dir[400], path[512], buf[64];
    struct rlimit old, lim;
    void (*old_sig)(int);
    FILE *f;
    make_dir(dir, sizeof dir, "mon_csv_full");
    snprintf(path, sizeof path, "%s/keep.csv", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("old contents\n", f);
    fclose(f);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 100;
    old_sig = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ck_assert_int_eq(tg_monitor_write_csv(m, path), TG_ERR_IO);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_sig);
    ck_assert_error(TG_ERR_IO, strerror(EFBIG));
    ck_assert_error(TG_ERR_IO, path);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    fclose(f);
    ck_assert_str_eq(buf, "old contents\n");
    assert_no_tmp(dir);
    unlink(path);
    tg_monitor_free(m);
    tg_graph_free(g);
}
END_TEST

static char *slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)*len + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)*len, f), *len);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

/* The whole of path (as text) equals the whole of ref's. */
static void assert_same_file(const char *path, const char *ref)
{
    long n, nr;
    char *a = slurp(path, &n), *b = slurp(ref, &nr);
    ck_assert_msg(n == nr && !memcmp(a, b, (size_t)n), "%s differs from %s", path, ref);
    free(a), free(b);
}

/* RELIABILITY #65: each allocation of a CSV write failing in turn: TG_ERR_NOMEM, the previous
 * file unchanged, no temp file, the samples kept; with memory back the retry writes it all
 * and the monitor samples on. */
START_TEST(test_csv_alloc_failures)
{
    tg_graph *g;
    tg_monitor *m = tricky_monitor(&g);
    char dir[400], path[512], *text;
    long k, len;
    FILE *f;
    make_dir(dir, sizeof dir, "mon_csv_nomem");
    snprintf(path, sizeof path, "%s/tricky.csv", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("old contents\n", f);
    fclose(f);
    for (k = 0;; ++k) {
        tg_status s;
        n_calls = 0;
        fail_at = k;
        s = tg_monitor_write_csv(m, path);
        fail_at = -1;
        if (s == TG_OK)
            break;
        ck_assert_int_eq(s, TG_ERR_NOMEM);
        ck_assert_error(TG_ERR_NOMEM, "write_csv: '");
        ck_assert_error(TG_ERR_NOMEM, path);
        ck_assert_error(TG_ERR_NOMEM, "': out of memory");
        text = slurp(path, &len);
        ck_assert_str_eq(text, "old contents\n");
        free(text);
        assert_no_tmp(dir);
        ck_assert_int_eq(tg_monitor_n_samples(m), 2);
    }
    ck_assert_int_eq(k, 1); /* the temp file's name is the only allocation */
    check_tricky_csv(path);
    assert_no_tmp(dir);
    tg_graph_set_step(g, 4, 11);
    ck_assert_int_eq(tg_graph_forward(g), TG_OK);
    ck_assert_int_eq(tg_monitor_n_samples(m), 3);
    ck_assert_mem_eq(tg_monitor_values(m) + 20, TRICKY, sizeof TRICKY);
    unlink(path);
    tg_monitor_free(m);
    tg_graph_free(g);
}
END_TEST

/* A 3-2-2 tanh net, batch 2, with a monitor set (loss, gradnorm, weight, every step). */
typedef struct {
    tg_net *net;
    tg_net_graph *ng;
    tg_monitor_set *ms;
    float x[6], y[2];
} set_net;

static void set_net_build(set_net *s)
{
    const tg_init glorot = { TG_INIT_GLOROT_UNIFORM, 0, 0 }, zeros = { TG_INIT_ZEROS, 0, 0 };
    const tg_layer_spec ls[2] = { { 2, &tg_op_tanh, NULL, 0, glorot, zeros },
                                  { 2, &tg_op_identity, NULL, 0, glorot, zeros } };
    memcpy(s->x, x0v, sizeof x0v);
    s->y[0] = 1;
    s->y[1] = 0;
    s->net = tg_net_new(3, ls, 2, 65);
    ck_assert_ptr_nonnull(s->net);
    s->ng = tg_net_graph_new(s->net, 2, &tg_loss_softmax_xent_sum);
    ck_assert_ptr_nonnull(s->ng);
    ck_assert_int_eq(tg_net_graph_bind(s->ng, s->x, s->y), TG_OK);
    s->ms = tg_monitor_set_new(s->ng, &(tg_monitor_set_opts){ .steps = 4 });
    ck_assert_ptr_nonnull(s->ms);
    ck_assert_int_eq(tg_monitor_set_add(s->ms, TG_WATCH_LOSS, 1, 0), TG_OK);
    ck_assert_int_eq(tg_monitor_set_add(s->ms, TG_WATCH_GRADNORM, 1, TG_ALL_LAYERS), TG_OK);
    ck_assert_int_eq(tg_monitor_set_add(s->ms, TG_WATCH_WEIGHT, 1, TG_ALL_LAYERS), TG_OK);
}

/* Forward and backward at step `step`, the inputs scaled by 1 + step; returns the loss. */
static float set_net_step(set_net *s, long step)
{
    tg_graph *g = tg_net_graph_tape(s->ng);
    int k;
    for (k = 0; k < 6; ++k)
        s->x[k] = x0v[k] * (float)(1 + step);
    tg_graph_set_step(g, step, 0);
    ck_assert_int_eq(tg_graph_forward(g), TG_OK);
    ck_assert_int_eq(tg_backward(g, tg_net_graph_loss(s->ng)), TG_OK);
    return tg_net_graph_loss(s->ng)->data[0];
}

static void set_net_free(set_net *s)
{
    tg_monitor_set_free(s->ms);
    tg_net_graph_free(s->ng);
    tg_net_free(s->net);
}

/* Path of monitor i's CSV in dir. */
static const char *set_csv(char *buf, size_t len, const char *dir, const set_net *s, int i)
{
    snprintf(buf, len, "%s/%s.csv", dir, tg_monitor_name(tg_monitor_set_get(s->ms, i)));
    return buf;
}

/* The same for a monitor set's CSV directory: the write stops at the monitor whose allocation
 * failed, so the files before it are new, that one and the rest still the previous ones. The
 * loss file written at last holds the two steps' losses bitwise. */
START_TEST(test_csv_set_alloc_failures)
{
    set_net s;
    char dir[400], old[400], want[400], p[600], q[600];
    float loss[2];
    int i, count;
    long k;
    FILE *f;
    set_net_build(&s);
    count = tg_monitor_set_count(s.ms);
    ck_assert_int_eq(count, 1 + 3 * 2 + 2 * 2);
    snprintf(dir, sizeof dir, "%s/mon_set_nomem", test_tmpdir());
    snprintf(old, sizeof old, "%s/mon_set_old", test_tmpdir());
    snprintf(want, sizeof want, "%s/mon_set_new", test_tmpdir());
    loss[0] = set_net_step(&s, 0);
    ck_assert_int_eq(tg_monitor_set_write_csv(s.ms, dir), TG_OK);
    ck_assert_int_eq(tg_monitor_set_write_csv(s.ms, old), TG_OK);
    loss[1] = set_net_step(&s, 1);
    ck_assert_int_eq(tg_monitor_set_write_csv(s.ms, want), TG_OK);
    for (i = 0; i < count; ++i) {
        int units = tg_monitor_n_units(tg_monitor_set_get(s.ms, i));
        ck_assert_int_eq(csv_rows(set_csv(p, sizeof p, old, &s, i)), units);
        ck_assert_int_eq(csv_rows(set_csv(p, sizeof p, want, &s, i)), 2 * units);
    }
    for (k = 0;; ++k) {
        tg_status st;
        n_calls = 0;
        fail_at = k;
        st = tg_monitor_set_write_csv(s.ms, dir);
        fail_at = -1;
        if (st == TG_OK)
            break;
        ck_assert_int_eq(st, TG_ERR_NOMEM);
        ck_assert_error(TG_ERR_NOMEM, "write_csv: '");
        ck_assert_error(TG_ERR_NOMEM, set_csv(p, sizeof p, dir, &s, k));
        ck_assert_error(TG_ERR_NOMEM, "': out of memory");
        for (i = 0; i < count; ++i)
            assert_same_file(set_csv(p, sizeof p, dir, &s, i),
                             set_csv(q, sizeof q, i < k ? want : old, &s, i));
        assert_no_tmp(dir);
    }
    ck_assert_int_eq(k, count); /* one allocation per monitor */
    for (i = 0; i < count; ++i) {
        assert_same_file(set_csv(p, sizeof p, dir, &s, i), set_csv(q, sizeof q, want, &s, i));
        ck_assert_int_eq(tg_monitor_n_samples(tg_monitor_set_get(s.ms, i)), 2);
    }
    snprintf(p, sizeof p, "%s/loss.csv", dir);
    f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "step,epoch,unit,value "), 0);
    for (i = 0; i < 2; ++i) {
        long step, epoch;
        int unit;
        float v;
        ck_assert_int_eq(fscanf(f, "%ld,%ld,%d,%g ", &step, &epoch, &unit, &v), 4);
        ck_assert_int_eq(step, i);
        ck_assert_int_eq(epoch, 0);
        ck_assert_int_eq(unit, 0);
        ck_assert_mem_eq(&v, &loss[i], sizeof v);
    }
    ck_assert_int_eq(fgetc(f), EOF);
    fclose(f);
    set_net_step(&s, 2);
    for (i = 0; i < count; ++i)
        ck_assert_int_eq(tg_monitor_n_samples(tg_monitor_set_get(s.ms, i)), 3);
    set_net_free(&s);
}
END_TEST

/* ---- plots ----------------------------------------------------------------------------- */
#ifdef HAVE_PLPLOT

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void assert_png(const char *path, long min_bytes)
{
    static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    long len;
    char *buf = slurp(path, &len);
    ck_assert_msg(len > min_bytes, "%s: %ld bytes", path, len);
    ck_assert_mem_eq(buf, sig, 8);
    free(buf);
}

static void assert_svg(const char *path)
{
    long len;
    char *buf = slurp(path, &len);
    ck_assert_msg(len > 2000, "%s: %ld bytes", path, len);
    ck_assert_ptr_nonnull(strstr(buf, "<svg"));
    ck_assert_ptr_nonnull(strstr(buf, "</svg>"));
    free(buf);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A small PNG reader for 8-bit RGB/RGBA, non-interlaced images; returns RGB, 3 bytes a pixel.
 * zlib's uncompress is already loaded with the library; dlsym avoids a link flag. */
static unsigned char *png_rgb(const char *path, int *w, int *h)
{
    typedef int (*uncompress_fn)(unsigned char *, unsigned long *, const unsigned char *,
                                 unsigned long);
    uncompress_fn unz = (uncompress_fn)dlsym(RTLD_DEFAULT, "uncompress");
    long len, pos = 8;
    unsigned char *buf = (unsigned char *)slurp(path, &len), *idat = malloc((size_t)len), *raw;
    unsigned char *rgb, *prev, *cur;
    unsigned long idat_len = 0, raw_len;
    int bpp = 0, x, y, c;
    ck_assert_ptr_nonnull(unz);
    while (pos + 12 <= len) {
        const uint32_t n = be32(buf + pos);
        const unsigned char *type = buf + pos + 4, *data = buf + pos + 8;
        if (!memcmp(type, "IHDR", 4)) {
            *w = (int)be32(data);
            *h = (int)be32(data + 4);
            ck_assert_int_eq(data[8], 8);
            ck_assert(data[9] == 2 || data[9] == 6);
            ck_assert_int_eq(data[12], 0);
            bpp = data[9] == 6 ? 4 : 3;
        } else if (!memcmp(type, "IDAT", 4)) {
            memcpy(idat + idat_len, data, n);
            idat_len += n;
        }
        pos += 12 + (long)n;
    }
    ck_assert_int_gt(bpp, 0);
    raw_len = (unsigned long)*h * (1 + (unsigned long)*w * bpp);
    raw = malloc(raw_len);
    ck_assert_int_eq(unz(raw, &raw_len, idat, idat_len), 0);
    rgb = malloc((size_t)*w * *h * 3);
    for (y = 0; y < *h; ++y) {
        const int stride = *w * bpp, f = raw[(size_t)y * (stride + 1)];
        cur = raw + (size_t)y * (stride + 1) + 1;
        prev = y ? cur - stride - 1 : NULL;
        for (x = 0; x < stride; ++x) {
            const int a = x >= bpp ? cur[x - bpp] : 0, b = prev ? prev[x] : 0;
            const int cc = x >= bpp && prev ? prev[x - bpp] : 0;
            int p, pa, pb, pc;
            switch (f) {
            case 1: cur[x] = (unsigned char)(cur[x] + a); break;
            case 2: cur[x] = (unsigned char)(cur[x] + b); break;
            case 3: cur[x] = (unsigned char)(cur[x] + (a + b) / 2); break;
            case 4:
                p = a + b - cc;
                pa = abs(p - a);
                pb = abs(p - b);
                pc = abs(p - cc);
                cur[x] = (unsigned char)(cur[x] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : cc));
                break;
            default: break;
            }
        }
        for (x = 0; x < *w; ++x)
            for (c = 0; c < 3; ++c)
                rgb[((size_t)y * *w + x) * 3 + c] = cur[x * bpp + c];
    }
    free(raw);
    free(idat);
    free(buf);
    return rgb;
}

static void plot_path(char *buf, size_t len, const char *name)
{
    char dir[400];
    make_dir(dir, sizeof dir, "mon_plots");
    snprintf(buf, len, "%s/%s", dir, name);
    unlink(buf);
}

/* Four layers of per-step gradient norms 10^-k, with a NaN and an Inf in the middle. */
static const long STEPS[6] = { 0, 10, 20, 30, 40, 50 };
static float norms[4][6];

static void fill_norms(void)
{
    int l, i;
    for (l = 0; l < 4; ++l)
        for (i = 0; i < 6; ++i)
            norms[l][i] = powf(10.0f, -(float)l) * (1.0f + 0.2f * (float)i);
    norms[1][2] = NAN;
    norms[2][3] = INFINITY;
    norms[3][4] = -1.0f; /* not drawable on a log axis */
}

START_TEST(test_plot_lines_png_svg)
{
    static const char *names[4] = { "w1 grad norm", "w2 grad norm", "w3 grad norm",
                                    "layer #4" };
    tg_series s[4];
    char png[512], svg[512];
    int l;
    fill_norms();
    for (l = 0; l < 4; ++l)
        s[l] = (tg_series){ names[l], STEPS, norms[l], 6, 1 };
    plot_path(png, sizeof png, "grad_norms.png");
    plot_path(svg, sizeof svg, "grad_norms.svg");
    ck_assert_int_eq(tg_plot_lines(png, s, 4, &(tg_plot_opts){ .log_y = 1, .title =
                                   "gradient norm per layer" }), TG_OK);
    assert_png(png, 8000);
    ck_assert_int_eq(tg_plot_lines(svg, s, 4, &(tg_plot_opts){ .log_y = 1 }), TG_OK);
    assert_svg(svg);
    /* one series, linear axis, default options */
    plot_path(png, sizeof png, "loss.png");
    ck_assert_int_eq(tg_plot_lines(png, s, 1, NULL), TG_OK);
    assert_png(png, 5000);
}
END_TEST

/* Rows of the heatmap of a known matrix: unit u holds u at every step, so unit 0 is red
 * (low) at the bottom and unit 3 blue (high) at the top; NaNs stay blank. */
START_TEST(test_plot_heatmap_not_blank)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *p = tg_param(g, "bands", 1, (const int[]){ 4 });
    tg_monitor *m;
    char png[512], svg[512];
    unsigned char *rgb;
    int w, h, x, y;
    long s, red = 0, blue = 0;
    double red_y = 0, blue_y = 0;
    ck_assert_int_eq(tg_tensor_set(p, (const float[]){ 0, -1, 2, 3 }, 4), TG_OK);
    m = mon(p, (tg_monitor_opts){ .kind = TG_MON_COPY, .period = 1 });
    for (s = 0; s < 30; ++s) {
        tg_graph_set_step(g, s, 0);
        ck_assert_int_eq(tg_graph_forward(g), TG_OK);
    }
    plot_path(png, sizeof png, "heat.png");
    plot_path(svg, sizeof svg, "heat.svg");
    ck_assert_int_eq(tg_plot_heatmap(png, m, NULL), TG_OK);
    ck_assert_int_eq(tg_plot_heatmap(svg, m, &(tg_plot_opts){ .log_z = 1 }), TG_OK);
    assert_png(png, 5000);
    assert_svg(svg);
    rgb = png_rgb(png, &w, &h);
    ck_assert_int_eq(w, 960);
    ck_assert_int_eq(h, 640);
    for (y = 0; y < h; ++y)
        for (x = 0; x < w; ++x) {
            const unsigned char *c = rgb + ((size_t)y * w + x) * 3;
            if (c[0] > 140 && c[1] < 60 && c[2] < 60) {
                red++;
                red_y += y;
            } else if (c[2] > 120 && c[0] < 80 && c[1] < 80) {
                blue++;
                blue_y += y;
            }
        }
    free(rgb);
    /* the image fills about 58% of the page: a quarter of it per unit band */
    ck_assert_msg(red > w * h / 10 && blue > w * h / 10, "red %ld, blue %ld pixels", red, blue);
    ck_assert(red_y / red > blue_y / blue); /* red (unit 0) below blue (unit 3) */
    tg_monitor_free(m);
    tg_graph_free(g);
}
END_TEST

/* Glorot & Bengio style: per-layer activation histograms at one step, overlaid. */
START_TEST(test_plot_hist_layers)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a[3];
    const tg_monitor *ms[3];
    tg_monitor *m[3];
    float v[64];
    char png[512], name[8];
    int l, i;
    for (l = 0; l < 3; ++l) {
        snprintf(name, sizeof name, "a%d", l + 1);
        a[l] = tg_param(g, name, 2, (const int[]){ 8, 8 });
        /* tanh of a wider spread in each layer: the last one saturates near +-1 */
        for (i = 0; i < 64; ++i)
            v[i] = tanhf(((float)i - 31.5f) / 32.0f * (l == 0 ? 0.5f : l == 1 ? 2.0f : 8.0f));
        ck_assert_int_eq(tg_tensor_set(a[l], v, 64), TG_OK);
        ms[l] = m[l] = mon(a[l], (tg_monitor_opts){ .kind = TG_MON_HIST, .period = 5,
                                                    .bins = 20, .lo = -1, .hi = 1 });
    }
    for (i = 0; i < 11; ++i) {
        tg_graph_set_step(g, i, 0);
        ck_assert_int_eq(tg_graph_forward(g), TG_OK);
    }
    plot_path(png, sizeof png, "hist.png");
    ck_assert_int_eq(tg_plot_hist(png, ms, 3, 5, NULL), TG_OK);
    assert_png(png, 8000);
    ck_assert_int_eq(tg_plot_hist(png, ms, 3, -1, &(tg_plot_opts){ .log_y = 1 }), TG_OK);
    assert_png(png, 8000);
    ck_assert_int_eq(tg_plot_hist(png, ms, 3, 7, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "'a1_value_hist' has no sample at step 7");
    for (l = 0; l < 3; ++l)
        tg_monitor_free(m[l]);
    tg_graph_free(g);
}
END_TEST

/* Errors leave no file: all-NaN data, bad extension, missing directory, wrong monitor kind. */
START_TEST(test_plot_errors)
{
    static const float nan6[6] = { NAN, NAN, NAN, NAN, NAN, NAN };
    tg_graph *g = tg_graph_new();
    tg_tensor *p = tg_param(g, "p", 1, (const int[]){ 2 });
    tg_monitor *m = mon(p, (tg_monitor_opts){ .kind = TG_MON_NORM, .period = 1 });
    const tg_monitor *ms[1] = { m };
    tg_series s = { "all nan", STEPS, nan6, 6, 1 };
    char png[512], dir[400], path[600];
    plot_path(png, sizeof png, "nan.png");
    ck_assert_int_eq(tg_plot_lines(png, &s, 1, NULL), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "none of 1 series has a finite value");
    ck_assert_int_eq(file_size(png), -1);
    ck_assert_int_eq(tg_plot_heatmap(png, m, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "'p_value_norm' has no sample yet");
    ck_assert_int_eq(tg_tensor_set(p, (const float[]){ NAN, 1 }, 2), TG_OK);
    ck_assert_int_eq(tg_graph_forward(g), TG_OK);
    ck_assert_int_eq(tg_plot_heatmap(png, m, NULL), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "holds no finite value");
    ck_assert_int_eq(tg_plot_hist(png, ms, 1, -1, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "'p_value_norm' is norm, not a histogram");
    ck_assert_int_eq(file_size(png), -1);
    s.y = norms[0];
    fill_norms();
    plot_path(path, sizeof path, "chart.pdf");
    ck_assert_int_eq(tg_plot_lines(path, &s, 1, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "give a .png or .svg file name");
    make_dir(dir, sizeof dir, "mon_plots");
    snprintf(path, sizeof path, "%s/missing/chart.png", dir);
    ck_assert_int_eq(tg_plot_lines(path, &s, 1, NULL), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, strerror(ENOENT));
    ck_assert_error(TG_ERR_IO, "missing/chart.png.tmp");
    ck_assert_int_eq(tg_plot_lines(png, &s, 0, NULL), TG_ERR_ARG);
    assert_no_tmp(dir);
    tg_monitor_free(m);
    tg_graph_free(g);
}
END_TEST

/* The library prints nothing, PLplot included: stderr stays empty through every plot. */
START_TEST(test_plot_silent)
{
    tg_series s = { "loss", STEPS, NULL, 6, 1 };
    char png[512], svg[512], err[512];
    int saved, fd;
    fill_norms();
    s.y = norms[2];
    plot_path(png, sizeof png, "quiet.png");
    plot_path(svg, sizeof svg, "quiet.svg");
    plot_path(err, sizeof err, "stderr.txt");
    fflush(stderr);
    saved = dup(2);
    fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    ck_assert_int_eq(tg_plot_lines(png, &s, 1, &(tg_plot_opts){ .width = 300, .height = 200 }),
                     TG_OK);
    ck_assert_int_eq(tg_plot_lines(svg, &s, 1, &(tg_plot_opts){ .log_y = 1 }), TG_OK);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    ck_assert_int_eq(file_size(err), 0);
    assert_png(png, 1000);
    unlink(err);
}
END_TEST

static void *plot_thread(void *arg)
{
    const char *path = arg;
    tg_series s = { "t", STEPS, norms[0], 6, 1 };
    return (void *)(long)tg_plot_lines(path, &s, 1, NULL);
}

/* Two threads plotting at once (PLplot's global state behind the library's lock). */
START_TEST(test_plot_threads)
{
    char a[512], b[512];
    pthread_t ta, tb;
    void *ra, *rb;
    fill_norms();
    plot_path(a, sizeof a, "thread_a.png");
    plot_path(b, sizeof b, "thread_b.svg");
    ck_assert_int_eq(pthread_create(&ta, NULL, plot_thread, a), 0);
    ck_assert_int_eq(pthread_create(&tb, NULL, plot_thread, b), 0);
    pthread_join(ta, &ra);
    pthread_join(tb, &rb);
    ck_assert_int_eq((long)ra, TG_OK);
    ck_assert_int_eq((long)rb, TG_OK);
    assert_png(a, 5000);
    assert_svg(b);
}
END_TEST

#else /* !HAVE_PLPLOT */

START_TEST(test_plot_unavailable)
{
    tg_series s = { "x", (const long[]){ 0 }, (const float[]){ 1 }, 1, 1 };
    ck_assert_int_eq(tg_plot_lines("/tmp/x.png", &s, 1, NULL), TG_ERR_UNAVAILABLE);
    ck_assert_error(TG_ERR_UNAVAILABLE, "plots not available in this build (configure found "
                    "no PLplot)");
    ck_assert_int_eq(tg_plot_heatmap("/tmp/x.png", NULL, NULL), TG_ERR_UNAVAILABLE);
    ck_assert_int_eq(tg_plot_hist("/tmp/x.png", NULL, 0, 0, NULL), TG_ERR_UNAVAILABLE);
}
END_TEST

#endif

Suite *suite_monitor(void)
{
    Suite *s = suite_create("monitor");
    TCase *tc = tcase_create("sampling");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_monitor_period_samples);
    tcase_add_test(tc, test_monitor_once_per_step);
    tcase_add_test(tc, test_monitor_period_beyond_steps);
    suite_add_tcase(s, tc);

    tc = tcase_create("reductions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_monitor_reduce_copy_mean_norm);
    tcase_add_test(tc, test_monitor_reduce_minmax_stats);
    tcase_add_test(tc, test_monitor_reduce_hist);
    tcase_add_test(tc, test_monitor_reduce_per_unit);
    tcase_add_test(tc, test_monitor_reduce_rank1);
    tcase_add_test(tc, test_monitor_reduce_nonfinite);
    suite_add_tcase(s, tc);

    tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_monitor_store_grows);
    tcase_add_test(tc, test_monitor_store_thins);
    tcase_add_test(tc, test_monitor_store_long_run_bounded);
    tcase_add_test(tc, test_monitor_sampling_allocates_nothing);
    tcase_add_test(tc, test_monitor_free_removes_hook);
    tcase_add_test(tc, test_monitor_detach_outlives_graph);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_monitor_errors_period);
    tcase_add_test(tc, test_monitor_errors_args);
    tcase_add_test(tc, test_monitor_errors_grow_nomem);
    tcase_add_test(tc, test_monitor_errors_new_nomem);
    suite_add_tcase(s, tc);

    tc = tcase_create("csv");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_csv_round_trip);
    tcase_add_test(tc, test_csv_comma_locale);
    tcase_add_test(tc, test_csv_io_errors);
    tcase_add_test(tc, test_csv_write_fails_midway);
    tcase_add_test(tc, test_csv_alloc_failures);
    tcase_add_test(tc, test_csv_set_alloc_failures);
    suite_add_tcase(s, tc);

    tc = tcase_create("plots");
    tcase_add_checked_fixture(tc, setup, teardown);
#ifdef HAVE_PLPLOT
    tcase_add_test(tc, test_plot_lines_png_svg);
    tcase_add_test(tc, test_plot_heatmap_not_blank);
    tcase_add_test(tc, test_plot_hist_layers);
    tcase_add_test(tc, test_plot_errors);
    tcase_add_test(tc, test_plot_silent);
    tcase_add_test(tc, test_plot_threads);
#else
    tcase_add_test(tc, test_plot_unavailable);
#endif
    suite_add_tcase(s, tc);
    return s;
}
