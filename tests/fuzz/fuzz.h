/*
 * fuzz.h -- the oracles shared by the libFuzzer harnesses (fuzz_*.c) and by make check
 * (check_mutants.c: the generated mutants and the replay of tests/fuzz/regressions/).
 *
 * Each function feeds bytes to one of the library's readers and judges the outcome against
 * the contract of its header: either TG_OK with a result that agrees with the bytes, or an
 * error status the reader documents with a message naming the source, and the caller's
 * objects untouched. They return NULL when the reader behaved, else a description of the
 * violation (in a static buffer, valid until the next call). Crashes, leaks and undefined
 * behaviour are left to the sanitizers.
 */
#ifndef TAPEGRAD_FUZZ_H
#define TAPEGRAD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include "tapegrad.h"

/* ---- IDX (tg_idx_read) ------------------------------------------------------------------ */
/* Write n bytes to path (created or truncated). 0 on success, -1 with errno set. */
int fuzz_write_file(const char *path, const void *data, size_t n);
/* Compress in[0..n) into one gzip member (FNAME = fname when not NULL) appended to *out
 * (malloc'd, grown; *out_len updated). 0 on success, -1 when out of memory. */
int fuzz_gzip(const uint8_t *in, size_t n, const char *fname, uint8_t **out, size_t *out_len);
/* tg_idx_read(path, opts) on a file already written. inner (inner_len bytes) is the IDX
 * content the file holds after any decompression, or NULL when unknown; a gzip file is then
 * decoded by the oracle itself, and loads only if every member is complete. On TG_OK the
 * header and the payload (in host order) must match the content exactly. *status gets the
 * result. */
const char *fuzz_idx_verify(const char *path, const tg_idx_opts *opts, const uint8_t *inner,
                            size_t inner_len, tg_status *status);
/* The harness input: byte 0 chooses the mode, the rest is the file.
 *   bits 0-1: 0 or 3 = written as is (raw IDX, or a .gz file whose inner bytes are unknown),
 *             1 = gzip-compressed in one member, 2 = in two members split in the middle;
 *   bit 2: opts expect ubyte and 3 dims;  bit 3: cap of 64 bytes (else 16 MiB, which keeps
 *   runs fast; the default 1 GiB cap is the same code with a larger number).
 * The file is written to path, then checked with fuzz_idx_verify. */
const char *fuzz_idx_one(const uint8_t *data, size_t size, const char *path);

/* ---- parameter files (tg_params_read_mem) ------------------------------------------------ */
#define FUZZ_N_PARAMS 4
/* The fixed targets of the params harness on g: params "w1" [3,4], "b1" [3], "s" [] and
 * "t4" [2,1,2,1]. 0 on success, -1 with the last error set. */
int fuzz_params_tensors(tg_graph *g, tg_tensor *ts[FUZZ_N_PARAMS]);
/* tg_params_read_mem(buf, len, "fuzz", ts, n). On TG_OK an independent decoder must find
 * exactly the tensors of ts[] (any order), their shapes and their values bitwise, and a good
 * CRC32; on error every tensor of ts[] must be bitwise unchanged. */
const char *fuzz_params_verify(const uint8_t *buf, size_t len, tg_tensor *const ts[], int n,
                               tg_status *status);

/* ---- JSON run specs (cli_spec_load, src/cli/spec_json.c; built with jansson) ------------- */
/* Write the bytes to path and load them as a spec. On success the spec must pass the
 * library's own checks (tg_layers_check, tg_optim_new: "a spec that loads builds") and its
 * fields their documented ranges; on failure the message must start with the path. */
const char *fuzz_spec_one(const uint8_t *data, size_t size, const char *path);

#endif
