/*
 * tapegrad/data.h -- IDX files (raw or gzip), MNIST-layout data sets and the batch pipeline.
 *
 * IDX layout (big-endian): bytes 0,1 = 0; byte 2 = element type; byte 3 = ndims (1..4);
 * ndims u32 dims; then prod(dims) elements. A file whose first two bytes are 1f 8b is read
 * through zlib (concatenated members and FNAME/FEXTRA/FCOMMENT headers are fine); any other
 * file is read raw with stdio. Everything is validated before the payload is allocated, and
 * every message names the path, whether gzip or raw was detected, and the byte offset (for
 * gzip: the offset in the uncompressed stream).
 *
 * Policies: a dim of 0 is TG_ERR_FORMAT (no empty data sets); bytes after the declared
 * payload are TG_ERR_FORMAT ("trailing data"), so a file is read exactly as it declares (in a
 * gzip file that is uncompressed data; non-gzip bytes after the last member are skipped, as
 * gzip(1) does). Reading stops one byte past the declared payload, so a gzip bomb costs at
 * most the payload, which is capped (TG_IDX_DEFAULT_CAP unless set) before anything is allocated.
 *
 * Data set: n records of n_features floats in [0,1] (pixel / 255), row-major (n, n_features),
 * with labels in 0..n_classes-1. The pipeline shuffles (Fisher-Yates, seeded, reshuffled each
 * epoch), repeats for a number of epochs and cuts batches into buffers allocated once.
 */
#ifndef TAPEGRAD_DATA_H
#define TAPEGRAD_DATA_H

#include "graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- IDX files ----------------------------------------------------------------------- */
/* Element types (the third magic byte). */
typedef enum {
    TG_IDX_U8 = 0x08,
    TG_IDX_I8 = 0x09,
    TG_IDX_I16 = 0x0B,
    TG_IDX_I32 = 0x0C,
    TG_IDX_F32 = 0x0D,
    TG_IDX_F64 = 0x0E
} tg_idx_type;

#define TG_IDX_MAX_DIMS 4
/* Default cap on the payload of one file (raw or inflated), in bytes: 1 GiB. */
#define TG_IDX_DEFAULT_CAP ((uint64_t)1 << 30)

typedef struct tg_idx_opts {
    int type;           /* expected tg_idx_type, or 0 for any */
    int ndims;          /* expected ndims, or 0 for any */
    uint64_t max_bytes; /* payload cap (TG_ERR_LIMIT above it); 0 = TG_IDX_DEFAULT_CAP */
} tg_idx_opts;

typedef struct tg_idx {
    tg_idx_type type;
    int ndims;
    uint32_t dims[TG_IDX_MAX_DIMS]; /* (ndims); unused entries are 1 */
    size_t count;                   /* prod(dims) elements */
    size_t elem_size;               /* bytes per element: 1, 2, 4 or 8 */
    void *data;                     /* (count * elem_size) bytes, in host byte order */
    int gzip;                       /* 1 when the file was gzip-compressed */
} tg_idx;

/* Read an IDX file (raw or gzip) into *out (opts may be NULL). On error *out is zeroed and
 * nothing is allocated. Errors: TG_ERR_IO (missing, directory, unreadable), TG_ERR_TRUNCATED,
 * TG_ERR_FORMAT (magic, type, ndims, dim 0, trailing data), TG_ERR_OVERFLOW, TG_ERR_LIMIT,
 * TG_ERR_CORRUPT (bad deflate data or CRC, with zlib's message), TG_ERR_NOMEM, TG_ERR_ARG. */
TG_API tg_status tg_idx_read(const char *path, const tg_idx_opts *opts, tg_idx *out);
/* Free idx->data and zero the struct. NULL is fine. */
TG_API void tg_idx_release(tg_idx *idx);
/* Name of an element type: "ubyte", "byte", "short", "int", "float", "double" ("?" else). */
TG_API const char *tg_idx_type_name(int type);

/* ---- data sets ----------------------------------------------------------------------- */
typedef struct tg_dataset {
    size_t n;          /* records */
    int n_features;    /* values per record (rows * cols = 784 for MNIST) */
    int n_classes;     /* labels are 0..n_classes-1 */
    int rows, cols;    /* image shape from the IDX header */
    float *x;          /* (n, n_features) pixel / 255, minus the total shift */
    uint8_t *labels;   /* (n) */
    float *labels_f;   /* (n) the same labels as floats */
    double shift;      /* total subtracted from x by tg_dataset_shift (0 after loading) */
} tg_dataset;

/* Load an images file (ubyte, 3 dims [n, rows, cols]) and a labels file (ubyte, 1 dim [n])
 * into *ds, which the caller owns (free with tg_dataset_release). max_bytes caps each file's
 * payload (0 = TG_IDX_DEFAULT_CAP). On error *ds is zeroed. Errors: those of tg_idx_read,
 * TG_ERR_MISMATCH (record counts differ: names both files and counts), TG_ERR_RANGE (label
 * >= n_classes: names the record and its byte offset), TG_ERR_ARG (n_classes outside 1..256). */
TG_API tg_status tg_dataset_load(const char *images, const char *labels, int n_classes,
                                 uint64_t max_bytes, tg_dataset *ds);
/* Load dir/<set>-images-idx3-ubyte[.gz] and dir/<set>-labels-idx1-ubyte[.gz] with 10 classes;
 * set is "train" or "t10k". The uncompressed name is used when it exists, else the .gz one. */
TG_API tg_status tg_mnist_load(const char *dir, const char *set, tg_dataset *ds);
/* Find an MNIST-layout directory: dir when given (used as is); else data/mnist when it holds
 * train-images-idx3-ubyte[.gz]; else /usr/share/datasets/fashion-mnist (Debian package
 * dataset-fashion-mnist). Writes the directory to out and a description such as
 * "MNIST (data/mnist)" to desc (may be NULL). TG_ERR_IO when none is found (the message says
 * how to get one), TG_ERR_ARG when out is too small. */
TG_API tg_status tg_data_find(const char *dir, char *out, size_t outlen, char *desc,
                              size_t desclen);
/* Mean of all values of ds->x (summed in double); 0 for an empty data set. */
TG_API double tg_dataset_mean(const tg_dataset *ds);
/* x -= value for every value of ds->x, and ds->shift += value. The study's preprocessing:
 * tg_dataset_shift(&train, m) and tg_dataset_shift(&test, m) with m = tg_dataset_mean(&train). */
TG_API tg_status tg_dataset_shift(tg_dataset *ds, double value);
/* Free the arrays and zero *ds. NULL is fine. */
TG_API void tg_dataset_release(tg_dataset *ds);

/* ---- batch pipeline: shuffle -> repeat(epochs) -> batch(B) ---------------------------- */
typedef struct tg_pipeline_opts {
    size_t batch;        /* B, records per batch: 1..ds->n */
    int epochs;          /* passes over the data; 0 = repeat forever */
    int shuffle;         /* 1 = a fresh seeded permutation each epoch, 0 = file order */
    uint64_t seed;       /* shuffle seed: the same seed gives the same batches */
    int drop_remainder;  /* 1 = skip each epoch's last partial batch (the trainer's fixed-B
                            graph needs full batches); 0 = deliver it with fewer rows */
    /* Optional caller storage (borrowed, must outlive the pipeline); NULL = pipeline-owned. */
    float *x;            /* (B, n_features) */
    float *labels;       /* (B) labels as floats */
    float *onehot;       /* (B, n_classes) */
} tg_pipeline_opts;

typedef struct tg_batch {
    size_t n;            /* rows filled: B, fewer for a last partial batch, 0 at end of data */
    int epoch;           /* 0-based epoch of these records */
    size_t index;        /* 0-based batch index within the epoch */
    int last_in_epoch;   /* 1 when this is the epoch's last batch */
    const size_t *records; /* (n) dataset indices of the rows */
    float *x;            /* (B, n_features); rows past n are zero */
    float *labels;       /* (B) */
    float *onehot;       /* (B, n_classes) */
} tg_batch;

typedef struct tg_pipeline {
    const tg_dataset *ds;       /* borrowed */
    tg_pipeline_opts opts;
    size_t batches_per_epoch;   /* n / B, rounded up unless drop_remainder */
    size_t *order;              /* (n) this epoch's permutation */
    size_t pos;                 /* next position in order */
    size_t index;               /* next batch index in the epoch */
    int epoch;                  /* current epoch */
    int done;
    uint64_t rng;
    float *own;                 /* the pipeline-owned buffers in one block, or NULL */
} tg_pipeline;

/* Set up p over ds (borrowed: it must outlive p). Allocates the permutation and any buffers
 * not given in opts, once. Errors: TG_ERR_ARG (batch 0 or > ds->n, epochs < 0, NULL),
 * TG_ERR_RANGE (a label >= n_classes), TG_ERR_NOMEM. On error nothing is left allocated. */
TG_API tg_status tg_pipeline_init(tg_pipeline *p, const tg_dataset *ds,
                                  const tg_pipeline_opts *opts);
/* Copy the next batch into the buffers and describe it in *b; b->n == 0 at the end of the
 * data. No heap allocation. */
TG_API tg_status tg_pipeline_next(tg_pipeline *p, tg_batch *b);
/* Start again from epoch 0 with the original seed. */
TG_API void tg_pipeline_rewind(tg_pipeline *p);
/* Free what init allocated and zero *p. NULL is fine. */
TG_API void tg_pipeline_release(tg_pipeline *p);

#ifdef __cplusplus
}
#endif
#endif
