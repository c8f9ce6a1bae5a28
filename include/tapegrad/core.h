/*
 * tapegrad/core.h -- status codes, the per-thread last error, the allocator hook.
 *
 * Every call that can fail returns a tg_status (or NULL for builders) and leaves a message
 * naming the op, tensors, shapes, file and offset in tg_last_error().  The library never
 * prints, aborts or exits on anything a caller controls.
 */
#ifndef TAPEGRAD_CORE_H
#define TAPEGRAD_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TG_API __attribute__((visibility("default")))
#define TG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TG_API
#define TG_PRINTF(f, a)
#endif

/* One code per distinct cause; negative values are errors. */
typedef enum {
    TG_OK = 0,
    TG_ERR_ARG = -1,         /* NULL or out-of-range argument, tensor from another graph */
    TG_ERR_SHAPE = -2,       /* incompatible or invalid shapes */
    TG_ERR_NOMEM = -3,       /* an allocation failed */
    TG_ERR_STATE = -4,       /* call out of order (backward before forward, hook removed twice) */
    TG_ERR_IO = -5,          /* open/read/write/rename failed (message has path and errno text) */
    TG_ERR_FORMAT = -6,      /* a file is not what it claims (magic, type, names) */
    TG_ERR_NONFINITE = -7,   /* NaN or Inf where a finite number is required */
    TG_ERR_UNAVAILABLE = -8, /* an optional dependency was missing at build time */
    TG_ERR_OVERFLOW = -9,    /* a size computation would overflow */
    TG_ERR_TRUNCATED = -10,  /* a file or stream ended early */
    TG_ERR_CORRUPT = -11,    /* checksum or compressed-stream error */
    TG_ERR_VERSION = -12,    /* file version this build does not read */
    TG_ERR_LIMIT = -13,      /* declared size above a configured cap or the file's size */
    TG_ERR_MISMATCH = -14,   /* two things that must agree do not (files, network shapes) */
    TG_ERR_RANGE = -15       /* a value outside its valid range (label >= classes) */
} tg_status;

/* Fixed text for a status code, e.g. "shape mismatch". Never NULL. */
TG_API const char *tg_strerror(tg_status s);
/* Status of the last failing call on this thread (TG_OK if none since tg_error_clear). */
TG_API tg_status tg_last_status(void);
/* Message of the last failing call on this thread; "" if none. Valid until the next failure. */
TG_API const char *tg_last_error(void);
/* Forget the last error on this thread. */
TG_API void tg_error_clear(void);
/* Set the last error (for user ops and losses); returns s so that `return tg_error_set(..)`. */
TG_API tg_status tg_error_set(tg_status s, const char *fmt, ...) TG_PRINTF(2, 3);

/* Allocator used for every allocation the library makes (default: malloc/realloc/free).
 * Pass NULLs to restore the default. Not thread-safe: set it before any other call. */
typedef struct tg_allocator {
    void *(*malloc_fn)(size_t n, void *user);
    void *(*realloc_fn)(void *p, size_t n, void *user);
    void (*free_fn)(void *p, void *user);
    void *user;
} tg_allocator;
TG_API void tg_set_allocator(const tg_allocator *a);

/* Threads OpenBLAS may use for matrix products (the library itself spawns none). n >= 1;
 * TG_ERR_ARG otherwise. Process-wide: call it before training, not from several threads.
 * Default: 1 thread, set when the library loads, unless OPENBLAS_NUM_THREADS,
 * GOTO_NUM_THREADS or OMP_NUM_THREADS is set (batch-30 products run slower on two threads;
 * with n > 1, products under 2^24 multiply-adds still run on one). */
TG_API tg_status tg_set_threads(int n);
/* Threads OpenBLAS uses now. */
TG_API int tg_threads(void);

/* Flush subnormals (0 < |x| < FLT_MIN) to zero in this thread's float arithmetic: on =
 * nonzero makes subnormal inputs read as 0 and subnormal results become 0 (x86-64: MXCSR DAZ
 * and FTZ; aarch64: FPCR.FZ); 0 restores IEEE gradual underflow, the default. Subnormal data
 * slows OpenBLAS's sgemm about 100x: a 784-128 step with backward at batch 64 took 1.0-1.5 ms
 * on normal inputs, 100-150 ms on subnormal ones, 0.9-1.3 ms on subnormal ones flushed
 * (docs/reliability.md, row 26); the price is results that differ from IEEE wherever a
 * subnormal occurs. Per thread: a thread created while it is on starts with it on (POSIX),
 * and OpenBLAS's own worker threads keep theirs, so with tg_set_threads(n > 1) products
 * split across threads may not be flushed. TG_ERR_UNAVAILABLE on other CPUs and where the
 * bits do not stay set (valgrind); turning it off always succeeds.
 * tg_train_opts.flush_subnormals sets it for one training call. */
TG_API tg_status tg_set_flush_subnormals(int on);
/* 1 if this thread flushes subnormals (DAZ and FTZ set; FZ on aarch64), else 0. */
TG_API int tg_flush_subnormals(void);

/* Library version string, e.g. "0.1.0". */
TG_API const char *tg_version(void);

#ifdef __cplusplus
}
#endif
#endif
