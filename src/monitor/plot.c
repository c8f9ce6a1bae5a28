/*
 * plot.c -- plots of monitors with PLplot's cairo devices (pngcairo, svgcairo): line charts
 * (the loss; per-layer gradient norms on a log axis, with a legend), heatmaps of |value| over
 * steps x units with a colour bar, and per-layer histograms overlaid at one step.
 *
 * Every plot gets its own PLplot stream (plmkstrm ... plend1), draws into path.tmp and renames
 * it once PLplot reported no error and the file is not empty. PLplot reports recoverable errors
 * through plsError (kept, never printed) and fatal ones through plexit, which would print and
 * exit: our exit handler longjmps back instead. The handlers and PLplot's stream table are
 * process-global, hence the one lock; it is the only mutable file-scope state besides them.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

#ifndef HAVE_PLPLOT

static tg_status unavailable(const char *who)
{
    return tg_error_set(TG_ERR_UNAVAILABLE, "%s: plots not available in this build "
                        "(configure found no PLplot)", who);
}

tg_status tg_plot_lines(const char *path, const tg_series *s, int n, const tg_plot_opts *o)
{
    (void)path, (void)s, (void)n, (void)o;
    return unavailable("plot_lines");
}

tg_status tg_plot_heatmap(const char *path, const tg_monitor *m, const tg_plot_opts *o)
{
    (void)path, (void)m, (void)o;
    return unavailable("plot_heatmap");
}

tg_status tg_plot_hist(const char *path, const tg_monitor *const ms[], int n, long step,
                       const tg_plot_opts *o)
{
    (void)path, (void)ms, (void)n, (void)step, (void)o;
    return unavailable("plot_hist");
}

#else /* HAVE_PLPLOT */

#include <plplot.h>
#include <pthread.h>
#include <setjmp.h>

#define DEFAULT_W 960
#define DEFAULT_H 640
#define MAX_CELLS 480   /* heatmap cells per axis; more samples or units are averaged */
#define TEXT_LEN 256
#define MAX_LEGEND 64  /* legend entries; further series are drawn but not listed */

/* cmap0: background, axes, grid, then ten line colours (matplotlib's "tab10"). */
static const PLINT pal_r[] = { 255, 0, 200, 31, 255, 44, 214, 148, 140, 227, 127, 188, 23 };
static const PLINT pal_g[] = { 255, 0, 200, 119, 127, 160, 39, 103, 86, 119, 127, 189, 190 };
static const PLINT pal_b[] = { 255, 0, 200, 180, 14, 44, 40, 189, 75, 194, 127, 34, 207 };
#define COL_AXES 1
#define COL_GRID 2
#define COL_LINE0 3
#define N_LINE_COLS 10

/* cmap1: ColorBrewer's diverging RdYlBu, red (low) to blue (high). */
static const unsigned char rdylbu[11][3] = {
    { 165, 0, 38 }, { 215, 48, 39 }, { 244, 109, 67 }, { 253, 174, 97 }, { 254, 224, 144 },
    { 255, 255, 191 }, { 224, 243, 248 }, { 171, 217, 233 }, { 116, 173, 209 },
    { 69, 117, 180 }, { 49, 54, 149 } };

static jmp_buf plot_jmp;            /* where a fatal PLplot error lands */
static char plot_first_err[256];    /* first error PLplot reported during this plot */
static char plot_errmsg[1024];      /* plsError buffer: PLplot writes here instead of stderr */
static PLINT plot_errcode;

static void plot_on_abort(const char *msg)
{
    if (!plot_first_err[0])
        snprintf(plot_first_err, sizeof plot_first_err, "%s", msg);
}

static int plot_on_fatal(const char *msg)
{
    plot_on_abort(msg);
    longjmp(plot_jmp, 1);
}

/* PLplot reads '#' as an escape in text; double it. */
static const char *esc(const char *s, char *buf)
{
    size_t k = 0;
    for (; *s && k + 2 < TEXT_LEN; ++s) {
        if (*s == '#')
            buf[k++] = '#';
        buf[k++] = *s;
    }
    buf[k] = 0;
    return buf;
}

static void labels(const tg_plot_opts *o, const char *x, const char *y, const char *title)
{
    char bx[TEXT_LEN], by[TEXT_LEN], bt[TEXT_LEN];
    plcol0(COL_AXES);
    pllab(esc(o->xlabel ? o->xlabel : x, bx), esc(o->ylabel ? o->ylabel : y, by),
          esc(o->title ? o->title : title, bt));
}

/* Grid, then box and labelled axes over it. */
static void axes(double xmin, double xmax, double ymin, double ymax, int log_y)
{
    plwind(xmin, xmax, ymin, ymax);
    plcol0(COL_GRID);
    plwidth(0.5);
    plbox("g", 0, 0, "g", 0, 0);
    plcol0(COL_AXES);
    plwidth(1.0);
    plbox("bcnst", 0, 0, log_y ? "bcnstvl" : "bcnstv", 0, 0);
}

static const char *device_for(const char *path)
{
    size_t n = strlen(path);
    if (n > 4 && !strcasecmp(path + n - 4, ".png"))
        return "pngcairo";
    if (n > 4 && !strcasecmp(path + n - 4, ".svg"))
        return "svgcairo";
    return NULL;
}

typedef void (*draw_fn)(const void *arg, const tg_plot_opts *o);

/* With the lock held and a new current stream: draw into file tmp. 1 on a fatal error. */
static int stream_draw(const char *dev, const char *tmp, const tg_plot_opts *o, draw_fn draw,
                       const void *arg)
{
    PLFLT pos[11], r[11], g[11], b[11];
    volatile int fatal = 0;
    int i;
    for (i = 0; i < 11; ++i) {
        pos[i] = i / 10.0;
        r[i] = rdylbu[i][0] / 255.0;
        g[i] = rdylbu[i][1] / 255.0;
        b[i] = rdylbu[i][2] / 255.0;
    }
    if (setjmp(plot_jmp) == 0) {
        plsdev(dev);
        plsfnam(tmp);
        plspage(0, 0, o->width > 0 ? o->width : DEFAULT_W, o->height > 0 ? o->height : DEFAULT_H,
                0, 0);
        plscmap0(pal_r, pal_g, pal_b, (PLINT)(sizeof pal_r / sizeof pal_r[0]));
        plscmap1n(256);
        plscmap1l(1, 11, pos, r, g, b, NULL);
        plinit();
        pladv(0);
        draw(arg, o);
        plend1();
    } else {
        fatal = 1;
        if (setjmp(plot_jmp) == 0)
            plend1(); /* a second fatal error leaves the stream to PLplot */
    }
    return fatal;
}

/* Set up a stream writing path.tmp, draw, close the stream, rename on success. */
static tg_status plot_run(const char *who, const char *path, const tg_plot_opts *o,
                          draw_fn draw, const void *arg)
{
    const char *dev = device_for(path);
    PLINT old_strm = 0, strm = -1;
    struct stat st;
    tg_status s = TG_OK;
    size_t len = strlen(path);
    char *tmp;
    int fd, fatal;

    if (!dev)
        return tg_error_set(TG_ERR_ARG, "%s: '%s': give a .png or .svg file name", who, path);
    if (!(tmp = tgi_malloc(len + 5)))
        return tg_error_set(TG_ERR_NOMEM, "%s: out of memory", who);
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    /* create it here, so that an unwritable directory is our error, not PLplot's prompt */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        s = tg_error_set(TG_ERR_IO, "%s: cannot create '%s': %s", who, tmp, strerror(errno));
        tgi_free(tmp);
        return s;
    }
    close(fd);

    pthread_mutex_lock(&tgi_render_lock);
    plot_first_err[0] = 0;
    plot_errcode = 0;
    plgstrm(&old_strm);
    plmkstrm(&strm);
    if (strm < 0) {
        pthread_mutex_unlock(&tgi_render_lock);
        unlink(tmp);
        tgi_free(tmp);
        return tg_error_set(TG_ERR_LIMIT, "%s: PLplot has no free stream", who);
    }
    plsError(&plot_errcode, plot_errmsg);
    plsabort(plot_on_abort);
    plsexit(plot_on_fatal);
    fatal = stream_draw(dev, tmp, o, draw, arg);
    plsexit(NULL);
    plsabort(NULL);
    plsstrm(old_strm);
    if (fatal || plot_errcode || plot_first_err[0])
        s = tg_error_set(TG_ERR_IO, "%s: PLplot failed on '%s': %s", who, path,
                         plot_first_err[0] ? plot_first_err : "unknown error");
    pthread_mutex_unlock(&tgi_render_lock);

    if (s == TG_OK && (stat(tmp, &st) != 0 || st.st_size == 0))
        s = tg_error_set(TG_ERR_IO, "%s: PLplot (%s) wrote nothing to '%s'", who, dev, tmp);
    if (s == TG_OK && rename(tmp, path) != 0)
        s = tg_error_set(TG_ERR_IO, "%s: cannot rename '%s' to '%s': %s", who, tmp, path,
                         strerror(errno));
    if (s != TG_OK)
        unlink(tmp);
    tgi_free(tmp);
    return s;
}

/* Widen an empty range so that PLplot can draw it; a log axis (values are log10) spans whole
 * decades, so that it always has labelled ticks. */
static void widen(double *lo, double *hi, double pad_frac, int log_axis)
{
    double pad = (*hi - *lo) * pad_frac;
    if (log_axis) {
        *lo = floor(*lo);
        *hi = ceil(*hi) > *lo ? ceil(*hi) : *lo + 1;
        return;
    }
    if (*hi == *lo)
        pad = *lo != 0 ? fabs(*lo) * 0.1 : 1.0;
    *lo -= pad;
    *hi += pad;
}

/* ---- legends: one line sample per series, right of the viewport ----------------------- */
typedef struct {
    int n;
    size_t max_len;                     /* longest text, for the room it needs */
    const char *text[MAX_LEGEND];
    char buf[MAX_LEGEND][TEXT_LEN];
    PLINT opt[MAX_LEGEND], col[MAX_LEGEND], sty[MAX_LEGEND];
    PLFLT wid[MAX_LEGEND];
} legend;

/* Colour and dash of series k: ten colours, then the next dash pattern. */
static PLINT series_col(int k) { return COL_LINE0 + k % N_LINE_COLS; }
static PLINT series_sty(int k) { return 1 + (k / N_LINE_COLS) % 8; }

static void legend_add(legend *l, int k, const char *text)
{
    if (l->n == MAX_LEGEND || !text || !*text)
        return;
    l->opt[l->n] = PL_LEGEND_LINE;
    l->col[l->n] = series_col(k);
    l->sty[l->n] = series_sty(k);
    l->wid[l->n] = 1.5;
    l->text[l->n] = esc(text, l->buf[l->n]);
    if (strlen(text) > l->max_len)
        l->max_len = strlen(text);
    l->n++;
}

/* Right edge of the viewport leaving room for the legend. Text scales with the page: at
 * 960 px a character takes about 12 px, the line sample and margins 96 px. */
static double legend_right(const legend *l)
{
    if (!l->n)
        return 0.95;
    return fmax(0.5, 0.97 - (96.0 + 12.0 * (double)l->max_len) / DEFAULT_W);
}

static void legend_draw(const legend *l)
{
    PLFLT lw, lh;
    if (l->n)
        pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
                 PL_POSITION_RIGHT | PL_POSITION_OUTSIDE, 0.02, 0.0, 0.05, 0, COL_AXES, 1, 0, 0,
                 l->n, l->opt, 0.8, 0.9, 2.0, 0.0, l->col, l->text, NULL, NULL, NULL, NULL,
                 l->col, l->sty, l->wid, NULL, NULL, NULL, NULL);
}

/* ---- line charts ----------------------------------------------------------------------- */
typedef struct {
    const tg_series *s;
    int n, n_labels;            /* series, series with a label (a legend needs two) */
    double xmin, xmax, ymin, ymax;
    PLFLT *px, *py;             /* (longest series) scratch */
} lines_arg;

static int point_ok(const tg_series *s, long i, int log_y, double *y)
{
    const float v = s->y[(size_t)i * (size_t)(s->stride ? s->stride : 1)];
    if (!isfinite(v) || (log_y && v <= 0))
        return 0;
    *y = log_y ? log10(v) : v;
    return 1;
}

static void draw_segment(PLINT k, const PLFLT *x, const PLFLT *y)
{
    if (k > 1)
        plline(k, x, y);
    else if (k == 1)
        plpoin(1, x, y, 17); /* a lone point */
}

static void lines_draw(const void *varg, const tg_plot_opts *o)
{
    const lines_arg *a = varg;
    legend l;
    int i;

    l.n = 0;
    l.max_len = 0;
    for (i = 0; a->n_labels > 1 && i < a->n; ++i)
        legend_add(&l, i, a->s[i].label);
    plschr(0, 0.9);
    plvpor(0.1, legend_right(&l), 0.11, 0.88);
    axes(a->xmin, a->xmax, a->ymin, a->ymax, o->log_y);
    for (i = 0; i < a->n; ++i) {
        const tg_series *s = &a->s[i];
        PLINT k = 0;
        long j;
        double y;
        plcol0(series_col(i));
        pllsty(series_sty(i));
        plwidth(1.5);
        for (j = 0; j < s->n; ++j) {
            if (point_ok(s, j, o->log_y, &y)) {
                a->px[k] = (PLFLT)s->x[j];
                a->py[k++] = y;
            } else {
                draw_segment(k, a->px, a->py);
                k = 0;
            }
        }
        draw_segment(k, a->px, a->py);
    }
    pllsty(1);
    plwidth(1.0);
    labels(o, "step", o->log_y ? "value (log scale)" : "value",
           a->n == 1 && a->s[0].label ? a->s[0].label : "");
    legend_draw(&l);
}

tg_status tg_plot_lines(const char *path, const tg_series *s, int n, const tg_plot_opts *o)
{
    static const tg_plot_opts defaults;
    lines_arg a = { 0 };
    long longest = 0, pts = 0, j;
    tg_status st;
    int i;
    if (!path || !s || n < 1)
        return tg_error_set(TG_ERR_ARG, "plot_lines: %s", !path ? "path is NULL"
                            : !s ? "series is NULL" : "no series (n < 1)");
    o = o ? o : &defaults;
    a.s = s;
    a.n = n;
    a.xmin = a.ymin = INFINITY;
    a.xmax = a.ymax = -INFINITY;
    for (i = 0; i < n; ++i) {
        if (s[i].n < 0 || s[i].stride < 0 || (s[i].n > 0 && (!s[i].x || !s[i].y)))
            return tg_error_set(TG_ERR_ARG, "plot_lines: series %d has n %ld, stride %ld, x %s,"
                                " y %s", i, s[i].n, s[i].stride, s[i].x ? "set" : "NULL",
                                s[i].y ? "set" : "NULL");
        a.n_labels += s[i].label && *s[i].label;
        if (s[i].n > longest)
            longest = s[i].n;
        for (j = 0; j < s[i].n; ++j) {
            double y;
            if (!point_ok(&s[i], j, o->log_y, &y))
                continue;
            pts++;
            a.xmin = fmin(a.xmin, (double)s[i].x[j]);
            a.xmax = fmax(a.xmax, (double)s[i].x[j]);
            a.ymin = fmin(a.ymin, y);
            a.ymax = fmax(a.ymax, y);
        }
    }
    if (!pts)
        return tg_error_set(TG_ERR_NONFINITE, "plot_lines: '%s': none of %d series has a %s "
                            "value to draw", path, n, o->log_y ? "finite positive" : "finite");
    widen(&a.xmin, &a.xmax, 0.0, 0);
    widen(&a.ymin, &a.ymax, 0.05, o->log_y);
    a.px = tgi_malloc((size_t)longest * sizeof(PLFLT));
    a.py = tgi_malloc((size_t)longest * sizeof(PLFLT));
    st = a.px && a.py ? plot_run("plot_lines", path, o, lines_draw, &a)
                      : tg_error_set(TG_ERR_NOMEM, "plot_lines: out of memory");
    tgi_free(a.px);
    tgi_free(a.py);
    return st;
}

/* ---- heatmap --------------------------------------------------------------------------- */
typedef struct {
    const tg_monitor *m;
    PLFLT **z;                  /* (nx)(ny): cell values, NaN = blank */
    int nx, ny;
    long gx, gy;                /* samples per column, units per row */
    double zmin, zmax;
} heat_arg;

/* Corner (ix, iy) of the cell grid in plot coordinates: x halfway between the steps of
 * neighbouring columns, y on half units. */
static void heat_corner(PLFLT ix, PLFLT iy, PLFLT *tx, PLFLT *ty, PLPointer data)
{
    const heat_arg *a = data;
    const long *steps = tg_monitor_steps(a->m), n = tg_monitor_n_samples(a->m);
    const double units = tg_monitor_n_units(a->m);
    const long i = (long)ix * a->gx;
    const double half = n > 1 ? 0.5 * (double)(steps[n - 1] - steps[0]) / (double)(n - 1) : 0.5;
    if (i <= 0)
        *tx = (double)steps[0] - half;
    else if (i >= n)
        *tx = (double)steps[n - 1] + half;
    else
        *tx = 0.5 * ((double)steps[i - 1] + (double)steps[i]);
    *ty = fmin((double)iy * (double)a->gy, units) - 0.5;
}

/* The colour bar is an image of CB_STEPS levels (PLplot's gradient colour bar leaks a cairo
 * pattern per call in its cairo driver). */
#define CB_STEPS 128

static void heat_draw(const void *varg, const tg_plot_opts *o)
{
    const heat_arg *a = varg;
    PLFLT x0, y0, x1, y1, cw, ch, levels[CB_STEPS];
    const PLFLT *values[1] = { levels };
    const char *cb_labels[1] = { o->log_z ? "log#d10#u |value|" : "|value|" };
    const char *axis_opts[1] = { "bcvtm" };
    PLINT label_opts[1] = { PL_COLORBAR_LABEL_RIGHT }, n_values[1] = { CB_STEPS };
    PLINT sub_ticks[1] = { 0 };
    PLFLT ticks[1] = { 0 };
    int i;

    for (i = 0; i < CB_STEPS; ++i)
        levels[i] = a->zmin + (a->zmax - a->zmin) * i / (CB_STEPS - 1);
    plschr(0, 0.9);
    plvpor(0.09, 0.84, 0.11, 0.88);
    heat_corner(0, 0, &x0, &y0, (PLPointer)a);
    heat_corner(a->nx, a->ny, &x1, &y1, (PLPointer)a);
    plwind(x0, x1, y0, y1);
    plimagefr((PLFLT_MATRIX)a->z, a->nx, a->ny, x0, x1, y0, y1, a->zmin, a->zmax, a->zmin,
              a->zmax, heat_corner, (PLPointer)a);
    plcol0(COL_AXES);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    labels(o, "step", a->gy > 1 ? "unit (groups averaged)" : "unit", tg_monitor_what(a->m));
    plcolorbar(&cw, &ch, PL_COLORBAR_IMAGE, PL_POSITION_RIGHT | PL_POSITION_OUTSIDE |
               PL_POSITION_VIEWPORT, 0.02, 0.0, 0.03, 1.0, 0, COL_AXES, 1, 0, 0, 0, 0, 1,
               label_opts, cb_labels, 1, axis_opts, ticks, sub_ticks, n_values, values);
}

static long lmin(long a, long b) { return a < b ? a : b; }

/* Mean |v| over the finite entries of a cell, NaN if none is. */
static double cell_mean(const tg_monitor *m, long i0, long i1, long u0, long u1)
{
    const float *v = tg_monitor_values(m);
    const size_t units = (size_t)tg_monitor_n_units(m);
    double s = 0;
    long i, u, k = 0;
    for (i = i0; i < i1; ++i)
        for (u = u0; u < u1; ++u) {
            const float x = v[(size_t)i * units + (size_t)u];
            if (isfinite(x)) {
                s += fabs(x);
                k++;
            }
        }
    return k ? s / (double)k : NAN;
}

tg_status tg_plot_heatmap(const char *path, const tg_monitor *m, const tg_plot_opts *o)
{
    static const tg_plot_opts defaults;
    heat_arg a = { 0 };
    long n, units, ix, iy;
    double floor_pos = INFINITY;
    tg_status st;
    if (!path || !m)
        return tg_error_set(TG_ERR_ARG, "plot_heatmap: %s is NULL", path ? "monitor" : "path");
    o = o ? o : &defaults;
    n = tg_monitor_n_samples(m);
    units = tg_monitor_n_units(m);
    if (n < 1)
        return tg_error_set(TG_ERR_ARG, "plot_heatmap: monitor '%s' has no sample yet",
                            tg_monitor_name(m));
    a.m = m;
    a.gx = (n + MAX_CELLS - 1) / MAX_CELLS;
    a.gy = (units + MAX_CELLS - 1) / MAX_CELLS;
    a.nx = (int)((n + a.gx - 1) / a.gx);
    a.ny = (int)((units + a.gy - 1) / a.gy);
    a.z = tgi_calloc((size_t)a.nx, sizeof *a.z);
    if (!a.z)
        return tg_error_set(TG_ERR_NOMEM, "plot_heatmap: out of memory");
    for (ix = 0; ix < a.nx; ++ix)
        if (!(a.z[ix] = tgi_malloc((size_t)a.ny * sizeof **a.z))) {
            st = tg_error_set(TG_ERR_NOMEM, "plot_heatmap: out of memory");
            goto done;
        }
    a.zmin = INFINITY;
    a.zmax = -INFINITY;
    for (ix = 0; ix < a.nx; ++ix)
        for (iy = 0; iy < a.ny; ++iy) {
            double z = cell_mean(m, ix * a.gx, lmin((ix + 1) * a.gx, n), iy * a.gy,
                                 lmin((iy + 1) * a.gy, units));
            if (o->log_z && z > 0)
                floor_pos = fmin(floor_pos, z);
            a.z[ix][iy] = z;
        }
    for (ix = 0; ix < a.nx; ++ix)
        for (iy = 0; iy < a.ny; ++iy) {
            double z = a.z[ix][iy];
            if (o->log_z && !isnan(z))
                z = isfinite(floor_pos) ? log10(fmax(z, floor_pos)) : 0.0;
            if (!isnan(z)) {
                a.zmin = fmin(a.zmin, z);
                a.zmax = fmax(a.zmax, z);
            }
            a.z[ix][iy] = z;
        }
    if (!(a.zmin <= a.zmax)) {
        st = tg_error_set(TG_ERR_NONFINITE, "plot_heatmap: '%s': monitor '%s' holds no finite "
                          "value", path, tg_monitor_name(m));
        goto done;
    }
    widen(&a.zmin, &a.zmax, 0.0, 0);
    st = plot_run("plot_heatmap", path, o, heat_draw, &a);
done:
    for (ix = 0; ix < a.nx; ++ix)
        tgi_free(a.z[ix]);
    tgi_free(a.z);
    return st;
}

/* ---- histograms ------------------------------------------------------------------------ */
typedef struct {
    const tg_monitor *const *ms;
    int n;
    const long *row;            /* (n) sample index drawn for each monitor */
    long step;
    double xmin, xmax, ymin, ymax;
    PLFLT *px, *py;             /* (2 * most bins + 2) scratch */
} hist_arg;

/* Fraction of all values in bin b of monitor k's drawn sample, and the share outside. */
static double hist_frac(const hist_arg *a, int k, int b, double *outside)
{
    const tg_monitor *m = a->ms[k];
    const int units = tg_monitor_n_units(m), bins = units - 3;
    const float *v = tg_monitor_values(m) + (size_t)a->row[k] * (size_t)units;
    double total = 0;
    int u;
    for (u = 0; u < units; ++u)
        total += v[u];
    if (total <= 0)
        return 0;
    if (outside)
        *outside = (v[bins] + v[bins + 1] + v[bins + 2]) / total;
    return v[b] / total;
}

static void hist_draw(const void *varg, const tg_plot_opts *o)
{
    const hist_arg *a = varg;
    char title[64], buf[TEXT_LEN];
    legend l;
    int k, b;

    l.n = 0;
    l.max_len = 0;
    for (k = 0; k < a->n; ++k) {
        double outside = 0;
        hist_frac(a, k, 0, &outside);
        if (outside > 0)
            snprintf(buf, sizeof buf, "%s (%.1f%% outside)", tg_monitor_name(a->ms[k]),
                     100 * outside);
        else
            snprintf(buf, sizeof buf, "%s", tg_monitor_name(a->ms[k]));
        legend_add(&l, k, buf);
    }
    plschr(0, 0.9);
    plvpor(0.1, legend_right(&l), 0.11, 0.88);
    axes(a->xmin, a->xmax, a->ymin, a->ymax, o->log_y);
    for (k = 0; k < a->n; ++k) {
        const tg_monitor_opts *mo = tg_monitor_options(a->ms[k]);
        const double w = ((double)mo->hi - mo->lo) / mo->bins;
        PLINT j = 0;
        /* a staircase from (lo, bottom) over every bin to (hi, bottom) */
        a->px[j] = mo->lo;
        a->py[j++] = a->ymin;
        for (b = 0; b < mo->bins; ++b) {
            double f = hist_frac(a, k, b, NULL);
            f = o->log_y ? (f > 0 ? log10(f) : a->ymin) : f;
            a->px[j] = mo->lo + b * w;
            a->py[j++] = f;
            a->px[j] = mo->lo + (b + 1) * w;
            a->py[j++] = f;
        }
        a->px[j] = mo->hi;
        a->py[j++] = a->ymin;
        plcol0(series_col(k));
        pllsty(series_sty(k));
        plwidth(1.5);
        plline(j, a->px, a->py);
    }
    pllsty(1);
    plwidth(1.0);
    if (a->step < 0)
        snprintf(title, sizeof title, "histograms at the last sample");
    else
        snprintf(title, sizeof title, "histograms at step %ld", a->step);
    labels(o, "value", o->log_y ? "fraction of values (log scale)" : "fraction of values",
           title);
    legend_draw(&l);
}

tg_status tg_plot_hist(const char *path, const tg_monitor *const ms[], int n, long step,
                       const tg_plot_opts *o)
{
    static const tg_plot_opts defaults;
    hist_arg a = { 0 };
    long *row;
    int k, b, most = 0;
    tg_status st;
    if (!path || !ms || n < 1)
        return tg_error_set(TG_ERR_ARG, "plot_hist: %s", !path ? "path is NULL"
                            : !ms ? "monitors is NULL" : "no monitor (n < 1)");
    o = o ? o : &defaults;
    if (!(row = tgi_malloc((size_t)n * sizeof *row)))
        return tg_error_set(TG_ERR_NOMEM, "plot_hist: out of memory");
    a.ms = ms;
    a.n = n;
    a.row = row;
    a.step = step;
    a.xmin = a.ymin = INFINITY;
    a.xmax = a.ymax = -INFINITY;
    for (k = 0; k < n; ++k) {
        const tg_monitor_opts *mo = ms[k] ? tg_monitor_options(ms[k]) : NULL;
        const long ns = tg_monitor_n_samples(ms[k]), *steps = tg_monitor_steps(ms[k]);
        long i = ns - 1;
        if (!mo || mo->kind != TG_MON_HIST) {
            st = tg_error_set(TG_ERR_ARG, "plot_hist: monitor %d%s%s%s is %s, not a histogram",
                              k, mo ? " '" : "", mo ? mo->name : "", mo ? "'" : "",
                              mo ? tg_monitor_kind_name(mo->kind) : "NULL");
            goto done;
        }
        if (step >= 0)
            while (i >= 0 && steps[i] != step)
                --i;
        if (i < 0) {
            st = tg_error_set(TG_ERR_ARG, "plot_hist: monitor '%s' has no sample at step %ld "
                              "(%ld samples%s)", mo->name, step, ns, ns ? ", see its steps" : "");
            goto done;
        }
        row[k] = i;
        most = mo->bins > most ? mo->bins : most;
        a.xmin = fmin(a.xmin, mo->lo);
        a.xmax = fmax(a.xmax, mo->hi);
        for (b = 0; b < mo->bins; ++b) {
            double f = hist_frac(&a, k, b, NULL);
            if (o->log_y && f <= 0)
                continue;
            f = o->log_y ? log10(f) : f;
            a.ymin = fmin(a.ymin, f);
            a.ymax = fmax(a.ymax, f);
        }
    }
    if (!(a.ymin <= a.ymax)) {
        st = tg_error_set(TG_ERR_NONFINITE, "plot_hist: '%s': no value falls in any bin", path);
        goto done;
    }
    if (o->log_y) {
        widen(&a.ymin, &a.ymax, 0.0, 1);
    } else {
        a.ymin = 0; /* fractions: from zero up, with 5% headroom */
        a.ymax = a.ymax > 0 ? a.ymax * 1.05 : 1.0;
    }
    a.px = tgi_malloc((2 * (size_t)most + 2) * sizeof(PLFLT));
    a.py = tgi_malloc((2 * (size_t)most + 2) * sizeof(PLFLT));
    st = a.px && a.py ? plot_run("plot_hist", path, o, hist_draw, &a)
                      : tg_error_set(TG_ERR_NOMEM, "plot_hist: out of memory");
    tgi_free(a.px);
    tgi_free(a.py);
done:
    tgi_free(row);
    return st;
}

#endif /* HAVE_PLPLOT */
