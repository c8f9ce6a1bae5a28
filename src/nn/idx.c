/*
 * idx.c -- the IDX reader: raw files through stdio, gzip files (sniffed by 1f 8b) through
 * zlib's inflate, fed from the same stdio stream in 16 KiB chunks.
 *
 * Header: u8 0, u8 0, u8 type, u8 ndims, then ndims big-endian u32 dims; payload of
 * prod(dims) * elem_size bytes follows at offset 4 + 4 ndims. Every size is checked before the
 * payload is allocated: dims product (checked multiply), the cap, and for raw regular files the
 * bytes the file really has. After the payload one more byte is read, so trailing data and,
 * for gzip, the member's end are reached: inflate checks the CRC32 and ISIZE trailer there,
 * and a file ending before it (even inside the 8 trailer bytes) is truncated.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "internal.h"

/* One open file. off counts the (uncompressed) bytes delivered. */
typedef struct reader {
    const char *path;
    FILE *f;
    uint64_t off;
    int regular;        /* raw regular file: size is known */
    uint64_t size;      /* raw file size in bytes */
    int gzip;           /* 1f 8b sniffed; the fields below serve gzip files only */
    z_stream z;         /* inflate state; its allocations go through tgi_malloc */
    uint64_t zread;     /* compressed bytes read from the file */
    int z_end;          /* the last member ended (its trailer checked) */
    int gz_short;       /* the file ended inside a member */
    unsigned char in[1 << 14]; /* compressed input: z.next_in points into it */
} reader;

const char *tg_idx_type_name(int type)
{
    switch (type) {
    case TG_IDX_U8: return "ubyte";
    case TG_IDX_I8: return "byte";
    case TG_IDX_I16: return "short";
    case TG_IDX_I32: return "int";
    case TG_IDX_F32: return "float";
    case TG_IDX_F64: return "double";
    }
    return "?";
}

static size_t type_size(int type)
{
    switch (type) {
    case TG_IDX_U8: case TG_IDX_I8: return 1;
    case TG_IDX_I16: return 2;
    case TG_IDX_I32: case TG_IDX_F32: return 4;
    case TG_IDX_F64: return 8;
    }
    return 0;
}

/* Set the last error as "idx: 'path' (gzip): <message>". */
static tg_status fail(const reader *r, tg_status s, const char *fmt, ...) TG_PRINTF(3, 4);
static tg_status fail(const reader *r, tg_status s, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tg_error_set(s, "idx: '%s' (%s): %s", r->path, r->gzip ? "gzip" : "raw", msg);
}

static voidpf z_alloc(voidpf u, uInt items, uInt size)
{
    size_t n;
    (void)u;
    return tgi_mul_size(items, size, &n) ? tgi_malloc(n) : NULL;
}

static void z_free(voidpf u, voidpf p)
{
    (void)u;
    tgi_free(p);
}

/* Top up the compressed input (keeping the bytes not consumed yet); at the end of the file
 * z.avail_in stays as it was. */
static tg_status gz_fill(reader *r)
{
    size_t k;
    memmove(r->in, r->z.next_in, r->z.avail_in);
    r->z.next_in = r->in;
    k = fread(r->in + r->z.avail_in, 1, sizeof r->in - r->z.avail_in, r->f);
    if (k == 0 && ferror(r->f))
        return fail(r, TG_ERR_IO, "read failed at offset %llu (compressed offset %llu): %s",
                    (unsigned long long)r->off, (unsigned long long)r->zread, strerror(errno));
    r->z.avail_in += (uInt)k;
    r->zread += k;
    return TG_OK;
}

/* After a member's end: 1f 8b starts another member; anything else after the last member is
 * skipped (as gzip(1) and zlib's gzread do). */
static tg_status gz_member_end(reader *r)
{
    tg_status s;
    if (r->z.avail_in < 2 && (s = gz_fill(r)) != TG_OK)
        return s;
    if (r->z.avail_in >= 2 && r->z.next_in[0] == 0x1f && r->z.next_in[1] == 0x8b)
        inflateReset(&r->z);
    else
        r->z_end = 1;
    return TG_OK;
}

/* Inflate up to n bytes into p; *got < n only at the end of the data. */
static tg_status gz_read(reader *r, unsigned char *p, size_t n, size_t *got)
{
    tg_status s;
    while (*got < n && !r->z_end) {
        unsigned char *out = p + *got;
        size_t left = n - *got;
        int ret;
        if (!r->z.avail_in) {
            if ((s = gz_fill(r)) != TG_OK)
                return s;
            if (!r->z.avail_in) {
                r->gz_short = 1;
                break;
            }
        }
        r->z.next_out = out;
        r->z.avail_out = left > UINT_MAX ? UINT_MAX : (uInt)left;
        ret = inflate(&r->z, Z_NO_FLUSH);
        *got += (size_t)(r->z.next_out - out);
        r->off += (size_t)(r->z.next_out - out);
        if (ret == Z_STREAM_END) {
            if ((s = gz_member_end(r)) != TG_OK)
                return s;
        } else if (ret == Z_MEM_ERROR) {
            return fail(r, TG_ERR_NOMEM, "zlib cannot allocate its window at offset %llu",
                        (unsigned long long)r->off);
        } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
            return fail(r, TG_ERR_CORRUPT, "corrupt gzip data after %llu uncompressed bytes "
                        "(compressed offset %llu): zlib: %s", (unsigned long long)r->off,
                        (unsigned long long)(r->zread - r->z.avail_in),
                        r->z.msg ? r->z.msg : zError(ret));
        }
    }
    return TG_OK;
}

/* Read up to n bytes; *got < n only at the end of the data. Errors of the stream itself
 * (I/O, corrupt deflate data or checksum) are returned. */
static tg_status reader_read(reader *r, void *buf, size_t n, size_t *got)
{
    unsigned char *p = buf;
    *got = 0;
    if (r->gzip)
        return gz_read(r, p, n, got);
    while (*got < n) {
        size_t k = fread(p + *got, 1, n - *got, r->f);
        *got += k;
        r->off += k;
        if (k == 0) {
            if (ferror(r->f))
                return fail(r, TG_ERR_IO, "read failed at offset %llu: %s",
                            (unsigned long long)r->off, strerror(errno));
            break;
        }
    }
    return TG_OK;
}

/* " (gzip stream ends early: unexpected end of file)" when the file ended inside a member,
 * else "". */
static const char *short_note(const reader *r)
{
    return r->gz_short ? " (gzip stream ends early: unexpected end of file)" : "";
}

/* Open path, sniff the first two bytes, and set up the raw or gzip reader. */
static tg_status reader_open(reader *r, const char *path)
{
    unsigned char sig[2];
    struct stat st;
    ssize_t k;
    int fd;
    memset(r, 0, sizeof *r);
    r->path = path;
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return tg_error_set(TG_ERR_IO, "idx: cannot open '%s': %s", path, strerror(errno));
    errno = 0;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        int e = errno ? errno : EISDIR;
        close(fd);
        return tg_error_set(TG_ERR_IO, "idx: cannot read '%s': %s", path, strerror(e));
    }
    do
        k = pread(fd, sig, 2, 0);
    while (k < 0 && errno == EINTR);
    if (k < 0) {
        int e = errno;
        close(fd);
        return tg_error_set(TG_ERR_IO, "idx: cannot read '%s': %s", path, strerror(e));
    }
    r->gzip = k == 2 && sig[0] == 0x1f && sig[1] == 0x8b;
    r->f = fdopen(fd, "rb");
    if (!r->f) {
        int e = errno;
        close(fd);
        return fail(r, e == ENOMEM ? TG_ERR_NOMEM : TG_ERR_IO, "fdopen: %s", strerror(e));
    }
    if (r->gzip) {
        r->z.zalloc = z_alloc;
        r->z.zfree = z_free;
        r->z.next_in = r->in;
        if (inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK) {
            fclose(r->f);
            return fail(r, TG_ERR_NOMEM, "cannot allocate zlib's inflate state");
        }
    } else {
        r->regular = S_ISREG(st.st_mode);
        r->size = (uint64_t)st.st_size;
    }
    return TG_OK;
}

static void reader_close(reader *r)
{
    if (r->gzip)
        inflateEnd(&r->z);
    fclose(r->f);
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Big-endian elements of size es to host order, in place. */
static void to_host(unsigned char *p, size_t count, size_t es)
{
    size_t i, j;
    const uint16_t probe = 1;
    if (es == 1 || *(const unsigned char *)&probe == 0)
        return;
    for (i = 0; i < count; ++i, p += es)
        for (j = 0; j < es / 2; ++j) {
            unsigned char t = p[j];
            p[j] = p[es - 1 - j];
            p[es - 1 - j] = t;
        }
}

/* Header: magic, type, ndims, dims, sizes. Fills out (no payload yet). */
static tg_status read_header(reader *r, const tg_idx_opts *o, tg_idx *out, uint64_t *bytes)
{
    unsigned char h[4 + 4 * TG_IDX_MAX_DIMS];
    uint64_t count = 1, avail, cap = o && o->max_bytes ? o->max_bytes : TG_IDX_DEFAULT_CAP;
    size_t got, hlen;
    tg_status s;
    int i;
    if ((s = reader_read(r, h, 4, &got)) != TG_OK)
        return s;
    if (got < 4)
        return fail(r, TG_ERR_TRUNCATED, "header needs 4 bytes at offset 0, got %zu%s", got,
                    short_note(r));
    for (i = 0; i < 2; ++i)
        if (h[i] != 0)
            return fail(r, TG_ERR_FORMAT, "byte %d is 0x%02x, expected 0 (not an IDX file)", i,
                        h[i]);
    out->elem_size = type_size(h[2]);
    if (!out->elem_size)
        return fail(r, TG_ERR_FORMAT, "type byte 0x%02x at offset 2 is not an IDX type "
                    "(08 09 0b 0c 0d 0e)", h[2]);
    if (o && o->type && h[2] != o->type)
        return fail(r, TG_ERR_FORMAT, "type byte 0x%02x (%s) at offset 2, expected 0x%02x (%s)",
                    h[2], tg_idx_type_name(h[2]), o->type, tg_idx_type_name(o->type));
    out->type = (tg_idx_type)h[2];
    out->ndims = h[3];
    if (h[3] < 1 || h[3] > TG_IDX_MAX_DIMS)
        return fail(r, TG_ERR_FORMAT, "ndims %d at offset 3 outside 1..%d", h[3],
                    TG_IDX_MAX_DIMS);
    if (o && o->ndims && h[3] != o->ndims)
        return fail(r, TG_ERR_FORMAT, "ndims %d at offset 3, expected %d", h[3], o->ndims);
    hlen = 4 + 4 * (size_t)out->ndims;
    if ((s = reader_read(r, h + 4, hlen - 4, &got)) != TG_OK)
        return s;
    if (got < hlen - 4)
        return fail(r, TG_ERR_TRUNCATED, "header needs %zu bytes (%d dims), got %zu: "
                    "truncated after dim %zu of %d at offset %zu%s", hlen, out->ndims, 4 + got,
                    got / 4, out->ndims, 4 + got, short_note(r));
    for (i = 0; i < TG_IDX_MAX_DIMS; ++i)
        out->dims[i] = 1;
    for (i = 0; i < out->ndims; ++i) {
        uint32_t d = be32(h + 4 + 4 * i);
        if (d == 0)
            return fail(r, TG_ERR_FORMAT, "dim %d of %d at offset %d is 0 (empty IDX files "
                        "are not accepted)", i + 1, out->ndims, 4 + 4 * i);
        if (count > UINT64_MAX / d)
            return fail(r, TG_ERR_OVERFLOW, "element count overflows 64 bits at dim %d of %d "
                        "(%u) at offset %d", i + 1, out->ndims, d, 4 + 4 * i);
        count *= d;
        out->dims[i] = d;
    }
    if (count > UINT64_MAX / out->elem_size || count > SIZE_MAX / out->elem_size)
        return fail(r, TG_ERR_OVERFLOW, "%llu elements of %zu bytes overflow the byte count",
                    (unsigned long long)count, out->elem_size);
    *bytes = count * out->elem_size;
    out->count = (size_t)count;
    avail = r->size > hlen ? r->size - hlen : 0;
    if (r->regular && avail < *bytes)
        return fail(r, TG_ERR_TRUNCATED, "expected %llu data bytes at offset %zu, got %llu",
                    (unsigned long long)*bytes, hlen, (unsigned long long)avail);
    if (*bytes > cap)
        return fail(r, TG_ERR_LIMIT, "payload of %llu bytes at offset %zu exceeds the cap of "
                    "%llu bytes", (unsigned long long)*bytes, hlen, (unsigned long long)cap);
    if (r->regular && avail > *bytes)
        return fail(r, TG_ERR_FORMAT, "%llu bytes of trailing data after the payload at "
                    "offset %llu", (unsigned long long)(avail - *bytes),
                    (unsigned long long)(hlen + *bytes));
    return TG_OK;
}

tg_status tg_idx_read(const char *path, const tg_idx_opts *opts, tg_idx *out)
{
    reader r;
    uint64_t bytes = 0;
    size_t got;
    unsigned char extra;
    tg_status s;
    if (!out)
        return tg_error_set(TG_ERR_ARG, "idx: output struct is NULL");
    memset(out, 0, sizeof *out);
    if (!path)
        return tg_error_set(TG_ERR_ARG, "idx: path is NULL");
    if ((s = reader_open(&r, path)) != TG_OK)
        return s;
    out->gzip = r.gzip;
    if ((s = read_header(&r, opts, out, &bytes)) != TG_OK)
        goto fail;
    out->data = tgi_malloc((size_t)bytes);
    if (!out->data) {
        s = fail(&r, TG_ERR_NOMEM, "cannot allocate %llu bytes for the payload",
                 (unsigned long long)bytes);
        goto fail;
    }
    {
        uint64_t start = r.off;
        if ((s = reader_read(&r, out->data, (size_t)bytes, &got)) != TG_OK)
            goto fail;
        if (got < bytes) {
            s = fail(&r, TG_ERR_TRUNCATED, "expected %llu data bytes at offset %llu, got %zu%s",
                     (unsigned long long)bytes, (unsigned long long)start, got, short_note(&r));
            goto fail;
        }
    }
    /* one byte more: trailing data, or (gzip) the member's end with its trailer checked */
    if ((s = reader_read(&r, &extra, 1, &got)) != TG_OK)
        goto fail;
    if (got) {
        s = fail(&r, TG_ERR_FORMAT, "trailing data after the payload at offset %llu",
                 (unsigned long long)(r.off - 1));
        goto fail;
    }
    if (r.gz_short) {
        s = fail(&r, TG_ERR_TRUNCATED, "gzip stream ends early after the payload at offset "
                 "%llu: unexpected end of file (missing CRC/size trailer)",
                 (unsigned long long)r.off);
        goto fail;
    }
    reader_close(&r);
    to_host(out->data, out->count, out->elem_size);
    return TG_OK;
fail:
    reader_close(&r);
    tg_idx_release(out);
    return s;
}

void tg_idx_release(tg_idx *idx)
{
    if (!idx)
        return;
    tgi_free(idx->data);
    memset(idx, 0, sizeof *idx);
}
