/*
 * entry.c -- oracles for the IDX reader and the parameter loader (see fuzz.h), shared by the
 * libFuzzer harnesses and make check.
 *
 * IDX: header u8 0, u8 0, u8 type, u8 ndims, ndims big-endian u32 dims, then prod(dims)
 * big-endian elements. TGPARAMS v1: "TGPARAMS" | u32 1 | u32 count | count x { u32 name_len |
 * name | u32 rank | u32 dims[rank] | f32 data } | u32 crc32, all little-endian. The decoders
 * here are written independently of src/nn so that they can judge it.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "fuzz.h"

static char why[1024];

static const char *bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return why;
}

/* A failed call: the status is the last one, the message is not empty and names source. */
static const char *check_error(tg_status s, const char *source)
{
    const char *msg = tg_last_error();
    if (tg_last_status() != s)
        return bad("returned %d (%s) but tg_last_status() is %d", s, tg_strerror(s),
                   tg_last_status());
    if (!msg[0])
        return bad("status %d (%s) with an empty message", s, tg_strerror(s));
    if (!strstr(msg, source))
        return bad("message \"%s\" does not name '%s'", msg, source);
    return NULL;
}

int fuzz_write_file(const char *path, const void *data, size_t n)
{
    const char *p = data;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            close(fd);
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return close(fd);
}

int fuzz_gzip(const uint8_t *in, size_t n, const char *fname, uint8_t **out, size_t *out_len)
{
    z_stream z;
    gz_header h;
    uint8_t *grown;
    size_t bound;
    int rc;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    memset(&h, 0, sizeof h);
    h.name = (Bytef *)fname;
    if (fname && deflateSetHeader(&z, &h) != Z_OK) {
        deflateEnd(&z);
        return -1;
    }
    bound = deflateBound(&z, (uLong)n) + (fname ? strlen(fname) + 1 : 0) + 64;
    if (!(grown = realloc(*out, *out_len + bound))) {
        deflateEnd(&z);
        return -1;
    }
    *out = grown;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = grown + *out_len;
    z.avail_out = (uInt)bound;
    rc = deflate(&z, Z_FINISH);
    *out_len += z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -1;
}

/* ---- IDX --------------------------------------------------------------------------------- */
static size_t idx_elem_size(int type)
{
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    }
    return 0;
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static const char *idx_check_ok(const tg_idx *idx, const char *path, const tg_idx_opts *opts,
                                const uint8_t *inner, size_t inner_len);

/* The whole file at path (malloc'd, *n bytes), or NULL. */
static uint8_t *slurp(const char *path, size_t *n)
{
    struct stat st;
    uint8_t *b = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) == 0 && (b = malloc((size_t)st.st_size + 1)) != NULL &&
        pread(fd, b, (size_t)st.st_size, 0) != st.st_size) {
        free(b);
        b = NULL;
    }
    close(fd);
    *n = b ? (size_t)st.st_size : 0;
    return b;
}

/* An OK result for a gzip file whose content the caller does not know: decoded here, the file
 * must be gzip members one after another, each to its end (CRC32 and ISIZE checked), then
 * nothing or bytes that do not start another member (skipped, as data.h says), and hold
 * exactly the header and payload the reader returned. */
static const char *idx_check_gunzip(const tg_idx *idx, const char *path,
                                    const tg_idx_opts *opts)
{
    size_t want = 4 + 4 * (size_t)idx->ndims + idx->count * idx->elem_size, n = 0, len;
    uint8_t *file = slurp(path, &n), *out = malloc(want + 1);
    const char *r;
    z_stream z;
    int rc;
    memset(&z, 0, sizeof z);
    if (!file || !out || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        free(file), free(out);
        return bad("cannot read '%s' back or out of memory", path);
    }
    z.next_in = file;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)(want + 1); /* one byte more: content past the payload must fail */
    while ((rc = inflate(&z, Z_FINISH)) == Z_STREAM_END && z.avail_in >= 2 &&
           z.next_in[0] == 0x1f && z.next_in[1] == 0x8b)
        inflateReset(&z);
    len = want + 1 - z.avail_out;
    if (rc != Z_STREAM_END)
        r = bad("OK but the gzip stream does not end (zlib %d, %s) after %zu bytes out of %zu "
                "in", rc, z.msg ? z.msg : "no message", len, n - z.avail_in);
    else
        r = idx_check_ok(idx, path, opts, out, len);
    inflateEnd(&z);
    free(file), free(out);
    return r;
}

/* The OK result against the reader's contract and the inner bytes: given, or for a gzip file
 * decoded here. */
static const char *idx_check_ok(const tg_idx *idx, const char *path, const tg_idx_opts *opts,
                                const uint8_t *inner, size_t inner_len)
{
    const uint16_t probe = 1;
    const int little = *(const unsigned char *)&probe == 1;
    uint8_t sig[2] = { 0, 0 };
    uint64_t count = 1, cap = opts && opts->max_bytes ? opts->max_bytes : TG_IDX_DEFAULT_CAP;
    size_t hlen, i, j;
    int fd, k, sniffed;
    if (idx->ndims < 1 || idx->ndims > TG_IDX_MAX_DIMS)
        return bad("OK with ndims %d", idx->ndims);
    for (k = 0; k < TG_IDX_MAX_DIMS; ++k) {
        if (k >= idx->ndims ? idx->dims[k] != 1 : idx->dims[k] == 0)
            return bad("OK with dims[%d] = %u (ndims %d)", k, idx->dims[k], idx->ndims);
        count *= idx->dims[k];
    }
    if (count != idx->count || idx->elem_size != idx_elem_size(idx->type) || !idx->elem_size)
        return bad("OK with count %zu (dims give %llu), type 0x%02x, elem_size %zu", idx->count,
                   (unsigned long long)count, idx->type, idx->elem_size);
    if (!idx->data || count * idx->elem_size > cap)
        return bad("OK with data %p and %llu bytes (cap %llu)", idx->data,
                   (unsigned long long)(count * idx->elem_size), (unsigned long long)cap);
    if (opts && ((opts->type && (int)idx->type != opts->type) ||
                 (opts->ndims && idx->ndims != opts->ndims)))
        return bad("OK with type 0x%02x ndims %d against opts 0x%02x %d", idx->type,
                   idx->ndims, opts->type, opts->ndims);
    fd = open(path, O_RDONLY);
    if (fd >= 0) {
        if (pread(fd, sig, 2, 0) != 2)
            sig[0] = 0;
        close(fd);
    }
    sniffed = sig[0] == 0x1f && sig[1] == 0x8b;
    if (idx->gzip != sniffed)
        return bad("OK with gzip = %d, the file starts %02x %02x", idx->gzip, sig[0], sig[1]);
    if (!inner)
        return sniffed ? idx_check_gunzip(idx, path, opts) : NULL;
    hlen = inner_len >= 4 ? 4 + 4 * (size_t)inner[3] : 0;
    if (inner_len < hlen || inner_len < 4 || inner[2] != idx->type || inner[3] != idx->ndims)
        return bad("OK but the content (%zu bytes) has another header", inner_len);
    for (k = 0; k < idx->ndims; ++k)
        if (be32(inner + 4 + 4 * k) != idx->dims[k])
            return bad("OK with dims[%d] = %u, the file says %u", k, idx->dims[k],
                       be32(inner + 4 + 4 * k));
    if (inner_len - hlen != count * idx->elem_size)
        return bad("OK with %llu payload bytes, the file has %zu after the header",
                   (unsigned long long)(count * idx->elem_size), inner_len - hlen);
    for (i = 0; i < idx->count; ++i)
        for (j = 0; j < idx->elem_size; ++j) {
            size_t from = little ? idx->elem_size - 1 - j : j;
            uint8_t want = inner[hlen + i * idx->elem_size + from];
            if (((const uint8_t *)idx->data)[i * idx->elem_size + j] != want)
                return bad("OK but element %zu byte %zu differs from the file", i, j);
        }
    return NULL;
}

const char *fuzz_idx_verify(const char *path, const tg_idx_opts *opts, const uint8_t *inner,
                            size_t inner_len, tg_status *status)
{
    static const tg_idx zero;
    const char *r;
    tg_idx idx;
    memset(&idx, 0x5a, sizeof idx);
    tg_error_clear();
    *status = tg_idx_read(path, opts, &idx);
    switch (*status) {
    case TG_OK:
        r = idx_check_ok(&idx, path, opts, inner, inner_len);
        tg_idx_release(&idx);
        return r;
    case TG_ERR_TRUNCATED: case TG_ERR_FORMAT: case TG_ERR_OVERFLOW: case TG_ERR_LIMIT:
    case TG_ERR_CORRUPT:
        if ((r = check_error(*status, path)) != NULL)
            return r;
        return memcmp(&idx, &zero, sizeof idx) ? bad("error %d but *out is not zeroed",
                                                     *status) : NULL;
    default:
        return bad("status %d (%s) is not one a file's content can cause: %s", *status,
                   tg_strerror(*status), tg_last_error());
    }
}

const char *fuzz_idx_one(const uint8_t *data, size_t size, const char *path)
{
    tg_idx_opts o = { 0, 0, 0 };
    const uint8_t *file = data + 1, *inner;
    size_t n = size - 1, gz_len = 0, half;
    uint8_t *gz = NULL;
    const char *r;
    tg_status s;
    int mode;
    if (size < 1)
        return NULL;
    mode = data[0] & 3;
    if (data[0] & 4) {
        o.type = TG_IDX_U8;
        o.ndims = 3;
    }
    o.max_bytes = data[0] & 8 ? 64 : (uint64_t)1 << 24;
    if (mode == 1 || mode == 2) {
        half = mode == 2 ? n / 2 : n;
        if (fuzz_gzip(file, half, "fuzz.idx", &gz, &gz_len) != 0 ||
            (mode == 2 && fuzz_gzip(file + half, n - half, NULL, &gz, &gz_len) != 0)) {
            free(gz);
            return bad("out of memory while compressing the input");
        }
    }
    if (fuzz_write_file(path, gz ? gz : file, gz ? gz_len : n) != 0) {
        free(gz);
        return bad("cannot write '%s': %s", path, strerror(errno));
    }
    /* as is, a gzip file's content is unknown here; anything else is the IDX content */
    inner = gz || n < 2 || file[0] != 0x1f || file[1] != 0x8b ? file : NULL;
    r = fuzz_idx_verify(path, &o, inner, n, &s);
    free(gz);
    return r;
}

/* ---- parameter files ------------------------------------------------------------------- */
int fuzz_params_tensors(tg_graph *g, tg_tensor *ts[FUZZ_N_PARAMS])
{
    ts[0] = tg_param(g, "w1", 2, (const int[]){ 3, 4 });
    ts[1] = tg_param(g, "b1", 1, (const int[]){ 3 });
    ts[2] = tg_param(g, "s", 0, NULL);
    ts[3] = tg_param(g, "t4", 4, (const int[]){ 2, 1, 2, 1 });
    return ts[0] && ts[1] && ts[2] && ts[3] ? 0 : -1;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* TG_OK: buf must hold exactly ts[0..n) (any order) with their shapes and values. */
static const char *params_check_ok(const uint8_t *buf, size_t len, tg_tensor *const ts[], int n)
{
    size_t pos = 16, i;
    uint32_t count, e, r;
    int seen[64] = { 0 }, k;
    if (n > 64)
        return bad("oracle handles at most 64 tensors, got %d", n);
    if (len < 20 || memcmp(buf, "TGPARAMS", 8) || le32(buf + 8) != TG_PARAMS_VERSION)
        return bad("OK on a %zu-byte buffer without a v1 header", len);
    if ((count = le32(buf + 12)) != (uint32_t)n)
        return bad("OK with %u tensors in the file for %d targets", count, n);
    for (e = 0; e < count; ++e) {
        const tg_tensor *t = NULL;
        uint32_t nl, rank;
        if (len - 4 - pos < 4 || (nl = le32(buf + pos)) > len - 4 - pos - 4)
            return bad("OK but entry %u's name runs past the end", e);
        for (k = 0; k < n && !t; ++k)
            if (strlen(ts[k]->name) == nl && !memcmp(ts[k]->name, buf + pos + 4, nl))
                t = ts[k];
        if (!t || seen[--k]++)
            return bad("OK but entry %u's name is unknown or repeated", e);
        pos += 4 + nl;
        if (len - 4 - pos < 4 || (rank = le32(buf + pos)) != (uint32_t)t->rank)
            return bad("OK but entry %u's rank differs from '%s'", e, t->name);
        pos += 4;
        if (len - 4 - pos < 4 * (size_t)rank + 4 * t->size)
            return bad("OK but entry %u runs past the end", e);
        for (r = 0; r < rank; ++r, pos += 4)
            if (le32(buf + pos) != (uint32_t)t->shape[r])
                return bad("OK but entry %u's dim %u differs from '%s'", e, r, t->name);
        for (i = 0; i < t->size; ++i, pos += 4) {
            uint32_t u = le32(buf + pos), v;
            memcpy(&v, &t->data[i], 4);
            if (u != v || !isfinite(t->data[i]))
                return bad("OK but '%s'[%zu] = %a, the file holds 0x%08x", t->name, i,
                           (double)t->data[i], u);
        }
    }
    if (pos != len - 4)
        return bad("OK with %zu bytes after the entries (4 expected)", len - pos);
    if ((uint32_t)crc32(0, buf, (uInt)pos) != le32(buf + pos))
        return bad("OK with a bad CRC32");
    return NULL;
}

const char *fuzz_params_verify(const uint8_t *buf, size_t len, tg_tensor *const ts[], int n,
                               tg_status *status)
{
    size_t total = 0, at = 0;
    const char *r = NULL;
    float *before;
    int k;
    for (k = 0; k < n; ++k)
        total += ts[k]->size;
    if (!(before = malloc(total * sizeof *before + 1)))
        return bad("out of memory for a snapshot");
    for (k = 0; k < n; at += ts[k]->size, ++k)
        memcpy(before + at, ts[k]->data, ts[k]->size * sizeof *before);
    tg_error_clear();
    *status = tg_params_read_mem(buf, len, "fuzz", ts, n);
    switch (*status) {
    case TG_OK:
        r = params_check_ok(buf, len, ts, n);
        break;
    case TG_ERR_FORMAT: case TG_ERR_VERSION: case TG_ERR_TRUNCATED: case TG_ERR_LIMIT:
    case TG_ERR_OVERFLOW: case TG_ERR_CORRUPT: case TG_ERR_MISMATCH: case TG_ERR_NONFINITE:
        r = check_error(*status, "params: 'fuzz'");
        for (k = 0, at = 0; !r && k < n; at += ts[k]->size, ++k)
            if (memcmp(before + at, ts[k]->data, ts[k]->size * sizeof *before))
                r = bad("error %d (%s) but '%s' changed", *status, tg_last_error(),
                        ts[k]->name);
        break;
    default:
        r = bad("status %d (%s) is not one a file's content can cause: %s", *status,
                tg_strerror(*status), tg_last_error());
    }
    free(before);
    return r;
}
