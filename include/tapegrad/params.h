/*
 * tapegrad/params.h -- saving and loading named tensors (a net's parameters) in the
 * little-endian "TGPARAMS" v1 format described in docs/params-format.md:
 *
 *   "TGPARAMS" | u32 version=1 | u32 count | count x { u32 name_len | name | u32 rank |
 *   u32 dims[rank] | f32 data[prod(dims)] } | u32 crc32 of every byte before it
 *
 * Tensors are matched by name, so the order of ts[] need not follow the file's. Policies:
 * - a file tensor with no tensor of that name in ts[] is TG_ERR_FORMAT ("unknown tensor");
 *   a tensor of ts[] missing from the file is TG_ERR_MISMATCH; duplicate names in the file are
 *   TG_ERR_FORMAT, in ts[] (or empty names) TG_ERR_ARG;
 * - NaN or Inf values are refused on save and on load (TG_ERR_NONFINITE naming the tensor
 *   and the first bad index), so a file that saved always loads;
 * - a load that fails leaves every tensor bitwise unchanged: the whole file is checked
 *   (structure, limits, CRC, names, shapes, values) before the first value is copied.
 */
#ifndef TAPEGRAD_PARAMS_H
#define TAPEGRAD_PARAMS_H

#include "graph.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TG_PARAMS_VERSION 1
#define TG_PARAMS_MAX_NAME 4096        /* bytes in a tensor name */
#define TG_PARAMS_MAX_COUNT 1000000    /* tensors in a file */

/* Write ts[0..n) (inputs, params or consts with unique non-empty names) to path atomically:
 * a temp file in the same directory (mkstemp), written, flushed, fsynced and closed, then
 * renamed over path and the directory fsynced. On any failure the temp file is removed and
 * an existing file at path is untouched. Errors: TG_ERR_IO (path and errno text; also when
 * path exists and is not a regular file), TG_ERR_ARG, TG_ERR_NONFINITE. */
TG_API tg_status tg_params_save(const char *path, tg_tensor *const ts[], int n);
/* Load path into ts[0..n) by name; all or nothing. Errors: TG_ERR_IO, TG_ERR_FORMAT (magic,
 * unknown or duplicate names, trailing bytes, dim 0), TG_ERR_VERSION ("file v3, this build
 * reads v1"), TG_ERR_TRUNCATED, TG_ERR_LIMIT, TG_ERR_OVERFLOW, TG_ERR_CORRUPT (CRC),
 * TG_ERR_MISMATCH (shape, or tensor not in file), TG_ERR_NONFINITE, TG_ERR_ARG, TG_ERR_NOMEM. */
TG_API tg_status tg_params_load(const char *path, tg_tensor *const ts[], int n);
/* As tg_params_load from the len bytes at buf; `what` names the source in messages. */
TG_API tg_status tg_params_read_mem(const void *buf, size_t len, const char *what,
                                    tg_tensor *const ts[], int n);
/* Encode ts[0..n) into a new buffer (*out, *len), freed by the caller with tg_params_free.
 * Same checks as tg_params_save, without the file. */
TG_API tg_status tg_params_write_mem(tg_tensor *const ts[], int n, void **out, size_t *len);
TG_API void tg_params_free(void *buf);

#ifdef __cplusplus
}
#endif
#endif
