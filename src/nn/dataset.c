/*
 * dataset.c -- MNIST-layout data sets and the batch pipeline.
 *
 * A data set is x (n, F) floats = pixel / 255 and labels (n) in 0..C-1, with F = rows * cols.
 * The pipeline walks a permutation of 0..n-1 (Fisher-Yates, j uniform in [0, i], redrawn each
 * epoch from the pipeline's own xorshift state) and copies B rows per batch into buffers
 * allocated once: x (B, F), labels (B) and one-hot (B, C).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "internal.h"

#define PATH_LEN 4096

/* ---- loading ------------------------------------------------------------------------- */
tg_status tg_dataset_load(const char *images, const char *labels, int n_classes,
                          uint64_t max_bytes, tg_dataset *ds)
{
    tg_idx im = { 0 }, lb = { 0 };
    tg_idx_opts o = { TG_IDX_U8, 3, max_bytes };
    const uint8_t *px;
    size_t i, nx;
    tg_status s;
    if (!ds)
        return tg_error_set(TG_ERR_ARG, "dataset: output struct is NULL");
    memset(ds, 0, sizeof *ds);
    if (!images || !labels)
        return tg_error_set(TG_ERR_ARG, "dataset: images or labels path is NULL");
    if (n_classes < 1 || n_classes > 256)
        return tg_error_set(TG_ERR_ARG, "dataset: n_classes %d outside 1..256", n_classes);
    if ((s = tg_idx_read(images, &o, &im)) != TG_OK)
        return s;
    o.ndims = 1;
    if ((s = tg_idx_read(labels, &o, &lb)) != TG_OK)
        goto out;
    if (im.dims[0] != lb.dims[0]) {
        s = tg_error_set(TG_ERR_MISMATCH, "dataset: '%s' has %u images but '%s' has %u labels",
                         images, im.dims[0], labels, lb.dims[0]);
        goto out;
    }
    if ((uint64_t)im.dims[1] * im.dims[2] > 1u << 30) {
        s = tg_error_set(TG_ERR_LIMIT, "dataset: '%s': images of %ux%u exceed 2^30 values",
                         images, im.dims[1], im.dims[2]);
        goto out;
    }
    for (i = 0; i < lb.count; ++i) {
        unsigned v = ((const uint8_t *)lb.data)[i];
        if (v >= (unsigned)n_classes) {
            s = tg_error_set(TG_ERR_RANGE, "dataset: '%s': label %u at record %zu (offset %zu) "
                             ">= %d classes", labels, v, i, 8 + i, n_classes);
            goto out;
        }
    }
    ds->n = lb.count;
    ds->rows = (int)im.dims[1];
    ds->cols = (int)im.dims[2];
    ds->n_features = ds->rows * ds->cols;
    ds->n_classes = n_classes;
    nx = im.count; /* n * F, already bounded by the cap */
    ds->x = tgi_calloc(nx, sizeof(float));
    ds->labels_f = tgi_calloc(ds->n, sizeof(float));
    if (!ds->x || !ds->labels_f) {
        s = tg_error_set(TG_ERR_NOMEM, "dataset: cannot allocate %zu floats for '%s'",
                         nx + ds->n, images);
        goto out;
    }
    px = im.data;
    for (i = 0; i < nx; ++i)
        ds->x[i] = (float)px[i] / 255.0f;
    ds->labels = lb.data; /* ownership moves to ds */
    lb.data = NULL;
    for (i = 0; i < ds->n; ++i)
        ds->labels_f[i] = (float)ds->labels[i];
out:
    tg_idx_release(&im);
    tg_idx_release(&lb);
    if (s != TG_OK)
        tg_dataset_release(ds);
    return s;
}

/* dir/<set>-<kind>-idx<d>-ubyte, or with .gz when only that exists. */
static tg_status mnist_path(const char *dir, const char *set, const char *kind, char *out)
{
    struct stat st;
    int k = snprintf(out, PATH_LEN, "%s/%s-%s-ubyte", dir, set, kind);
    if (k < 0 || k + 3 >= PATH_LEN)
        return tg_error_set(TG_ERR_ARG, "mnist: path for '%s' in '%s' is too long", set, dir);
    if (stat(out, &st) == 0)
        return TG_OK;
    strcat(out, ".gz");
    if (stat(out, &st) == 0)
        return TG_OK;
    out[k] = '\0';
    return tg_error_set(TG_ERR_IO, "mnist: neither '%s' nor '%s.gz' exists: %s", out, out,
                        strerror(ENOENT));
}

tg_status tg_mnist_load(const char *dir, const char *set, tg_dataset *ds)
{
    char im[PATH_LEN], lb[PATH_LEN];
    tg_status s;
    if (ds)
        memset(ds, 0, sizeof *ds);
    if (!dir || !set || !ds)
        return tg_error_set(TG_ERR_ARG, "mnist: dir, set or output is NULL");
    if ((s = mnist_path(dir, set, "images-idx3", im)) != TG_OK ||
        (s = mnist_path(dir, set, "labels-idx1", lb)) != TG_OK)
        return s;
    return tg_dataset_load(im, lb, 10, 0, ds);
}

static int has_mnist(const char *dir)
{
    char p[PATH_LEN];
    struct stat st;
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
    if (stat(p, &st) == 0)
        return 1;
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", dir);
    return stat(p, &st) == 0;
}

tg_status tg_data_find(const char *dir, char *out, size_t outlen, char *desc, size_t desclen)
{
    static const struct { const char *dir, *desc; } known[] = {
        { "data/mnist", "MNIST (data/mnist)" },
        { "/usr/share/datasets/fashion-mnist", "Fashion-MNIST (Debian dataset-fashion-mnist)" }
    };
    const char *d = NULL, *what = NULL;
    char given[PATH_LEN + 32];
    size_t i;
    if (!out || !outlen)
        return tg_error_set(TG_ERR_ARG, "data_find: output buffer is NULL or empty");
    if (dir) {
        snprintf(given, sizeof given, "directory '%s'", dir);
        d = dir;
        what = given;
    }
    for (i = 0; !d && i < sizeof known / sizeof known[0]; ++i)
        if (has_mnist(known[i].dir)) {
            d = known[i].dir;
            what = known[i].desc;
        }
    if (!d)
        return tg_error_set(TG_ERR_IO, "data_find: no data set found: neither data/mnist nor "
                            "/usr/share/datasets/fashion-mnist holds train-images-idx3-ubyte"
                            "[.gz]; run scripts/get-mnist.sh (MNIST into data/mnist) or "
                            "apt-get install dataset-fashion-mnist, or give a directory");
    if (strlen(d) >= outlen)
        return tg_error_set(TG_ERR_ARG, "data_find: '%s' does not fit in %zu bytes", d, outlen);
    memcpy(out, d, strlen(d) + 1);
    if (desc && desclen)
        snprintf(desc, desclen, "%s", what);
    return TG_OK;
}

double tg_dataset_mean(const tg_dataset *ds)
{
    size_t i, n;
    double sum = 0.0;
    if (!ds || !ds->x || !ds->n)
        return 0.0;
    n = ds->n * (size_t)ds->n_features;
    for (i = 0; i < n; ++i)
        sum += ds->x[i];
    return sum / (double)n;
}

tg_status tg_dataset_shift(tg_dataset *ds, double value)
{
    size_t i, n;
    float v = (float)value;
    if (!ds || (!ds->x && ds->n))
        return tg_error_set(TG_ERR_ARG, "dataset_shift: data set is NULL or empty");
    if (!isfinite(value))
        return tg_error_set(TG_ERR_NONFINITE, "dataset_shift: shift %g is not a finite value",
                            value);
    n = ds->n * (size_t)ds->n_features;
    for (i = 0; i < n; ++i)
        ds->x[i] -= v;
    ds->shift += value;
    return TG_OK;
}

void tg_dataset_release(tg_dataset *ds)
{
    if (!ds)
        return;
    tgi_free(ds->x);
    tgi_free(ds->labels);
    tgi_free(ds->labels_f);
    memset(ds, 0, sizeof *ds);
}

/* ---- pipeline ------------------------------------------------------------------------ */
/* Identity, then (when shuffling) Fisher-Yates: for i = n-1..1 swap order[i], order[j],
 * j uniform in [0, i]. Each epoch's order depends only on the seed and the epoch. */
static void pipeline_order(tg_pipeline *p)
{
    size_t i, n = p->ds->n;
    for (i = 0; i < n; ++i)
        p->order[i] = i;
    if (!p->opts.shuffle)
        return;
    for (i = n - 1; i > 0; --i) {
        size_t j = (size_t)(tgi_rng_uniform01(&p->rng) * (double)(i + 1));
        size_t t = p->order[i];
        if (j > i)
            j = i;
        p->order[i] = p->order[j];
        p->order[j] = t;
    }
}

tg_status tg_pipeline_init(tg_pipeline *p, const tg_dataset *ds, const tg_pipeline_opts *opts)
{
    size_t B, F, C, nx, ny, noh, need = 0, i;
    if (p)
        memset(p, 0, sizeof *p);
    if (!p || !ds || !opts)
        return tg_error_set(TG_ERR_ARG, "pipeline: pipeline, data set or options is NULL");
    B = opts->batch;
    if (!ds->n || !ds->x || !ds->labels || ds->n_features < 1 || ds->n_classes < 1)
        return tg_error_set(TG_ERR_ARG, "pipeline: the data set is empty or incomplete");
    if (B == 0 || B > ds->n)
        return tg_error_set(TG_ERR_ARG, "pipeline: batch %zu outside 1..%zu (records)", B,
                            ds->n);
    if (opts->epochs < 0)
        return tg_error_set(TG_ERR_ARG, "pipeline: epochs %d < 0", opts->epochs);
    for (i = 0; i < ds->n; ++i)
        if (ds->labels[i] >= ds->n_classes)
            return tg_error_set(TG_ERR_RANGE, "pipeline: label %u at record %zu >= %d classes",
                                ds->labels[i], i, ds->n_classes);
    F = (size_t)ds->n_features;
    C = (size_t)ds->n_classes;
    if (!tgi_mul_size(B, F, &nx) || !tgi_mul_size(B, C, &noh))
        return tg_error_set(TG_ERR_OVERFLOW, "pipeline: batch %zu x %zu features overflows",
                            B, F);
    ny = B;
    need = (opts->x ? 0 : nx) + (opts->labels ? 0 : ny) + (opts->onehot ? 0 : noh);
    p->ds = ds;
    p->opts = *opts;
    p->order = tgi_calloc(ds->n, sizeof *p->order);
    if (need)
        p->own = tgi_calloc(need, sizeof(float));
    if (!p->order || (need && !p->own)) {
        tgi_free(p->order);
        tgi_free(p->own);
        memset(p, 0, sizeof *p);
        return tg_error_set(TG_ERR_NOMEM, "pipeline: cannot allocate buffers for batch %zu",
                            B);
    }
    need = 0;
    if (!opts->x) {
        p->opts.x = p->own;
        need += nx;
    }
    if (!opts->labels) {
        p->opts.labels = p->own + need;
        need += ny;
    }
    if (!opts->onehot)
        p->opts.onehot = p->own + need;
    p->batches_per_epoch = opts->drop_remainder ? ds->n / B : (ds->n + B - 1) / B;
    tg_pipeline_rewind(p);
    return TG_OK;
}

void tg_pipeline_rewind(tg_pipeline *p)
{
    if (!p || !p->ds)
        return;
    p->rng = p->opts.seed;
    p->epoch = 0;
    p->pos = 0;
    p->index = 0;
    p->done = 0;
    pipeline_order(p);
}

tg_status tg_pipeline_next(tg_pipeline *p, tg_batch *b)
{
    size_t B, F, C, r, rows;
    if (!p || !p->ds || !b)
        return tg_error_set(TG_ERR_ARG, "pipeline_next: pipeline (initialised) or batch is "
                            "NULL");
    B = p->opts.batch;
    F = (size_t)p->ds->n_features;
    C = (size_t)p->ds->n_classes;
    memset(b, 0, sizeof *b);
    if (p->index == p->batches_per_epoch) { /* epoch finished */
        if (p->opts.epochs && p->epoch + 1 >= p->opts.epochs)
            p->done = 1;
        if (!p->done) {
            p->epoch++;
            p->pos = 0;
            p->index = 0;
            pipeline_order(p);
        }
    }
    b->epoch = p->epoch;
    b->x = p->opts.x;
    b->labels = p->opts.labels;
    b->onehot = p->opts.onehot;
    if (p->done)
        return TG_OK;
    rows = p->ds->n - p->pos < B ? p->ds->n - p->pos : B;
    for (r = 0; r < rows; ++r) {
        size_t k = p->order[p->pos + r];
        uint8_t y = p->ds->labels[k];
        memcpy(b->x + r * F, p->ds->x + k * F, F * sizeof(float));
        b->labels[r] = (float)y;
        memset(b->onehot + r * C, 0, C * sizeof(float));
        b->onehot[r * C + y] = 1.0f;
    }
    if (rows < B) {
        memset(b->x + rows * F, 0, (B - rows) * F * sizeof(float));
        memset(b->labels + rows, 0, (B - rows) * sizeof(float));
        memset(b->onehot + rows * C, 0, (B - rows) * C * sizeof(float));
    }
    b->n = rows;
    b->index = p->index;
    b->records = p->order + p->pos;
    p->pos += rows;
    p->index++;
    b->last_in_epoch = p->index == p->batches_per_epoch;
    return TG_OK;
}

void tg_pipeline_release(tg_pipeline *p)
{
    if (!p)
        return;
    tgi_free(p->order);
    tgi_free(p->own);
    memset(p, 0, sizeof *p);
}
