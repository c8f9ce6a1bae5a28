/*
 * params.c -- named tensors to and from "TGPARAMS" v1 files (layout: docs/params-format.md).
 *
 * Every integer is a little-endian u32 and every value a little-endian IEEE-754 float32,
 * encoded byte by byte, so files are the same on every host. Reading walks the bytes twice:
 * first the structure alone (limits, sizes vs bytes left: TG_ERR_TRUNCATED at any cut), then,
 * once the CRC32 matched, names, shapes and values against the caller's tensors. Only then
 * are values copied, so a failed load changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "internal.h"

#define PATH_LEN 4096
static const char MAGIC[8] = { 'T', 'G', 'P', 'A', 'R', 'A', 'M', 'S' };

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static tg_status check_tensors(tg_tensor *const ts[], int n, const char *who, int loading)
{
    int i, j;
    if (n < 0 || (n > 0 && !ts))
        return tg_error_set(TG_ERR_ARG, "%s: %d tensors at %p", who, n, (const void *)ts);
    for (i = 0; i < n; ++i) {
        char d[TGI_DESC_LEN];
        if (!ts[i])
            return tg_error_set(TG_ERR_ARG, "%s: tensor %d is NULL", who, i);
        if (!ts[i]->name[0])
            return tg_error_set(TG_ERR_ARG, "%s: tensor %d %s has no name", who, i,
                                tgi_desc(ts[i], d));
        if (strlen(ts[i]->name) > TG_PARAMS_MAX_NAME)
            return tg_error_set(TG_ERR_LIMIT, "%s: tensor %d name of %zu bytes > %d", who, i,
                                strlen(ts[i]->name), TG_PARAMS_MAX_NAME);
        if (loading && ts[i]->kind == TG_INTERMEDIATE)
            return tg_error_set(TG_ERR_ARG, "%s: %s is an op output, not a param/input/const",
                                who, tgi_desc(ts[i], d));
        for (j = 0; j < i; ++j)
            if (!strcmp(ts[i]->name, ts[j]->name))
                return tg_error_set(TG_ERR_ARG, "%s: tensors %d and %d are both named '%.80s'",
                                    who, j, i, ts[i]->name);
    }
    return TG_OK;
}

/* ---- writing ------------------------------------------------------------------------- */
tg_status tg_params_write_mem(tg_tensor *const ts[], int n, void **out, size_t *len)
{
    size_t total = 8 + 4 + 4 + 4, i, k;
    unsigned char *buf, *p;
    tg_status s;
    if (!out || !len)
        return tg_error_set(TG_ERR_ARG, "params_write: output pointer is NULL");
    *out = NULL;
    *len = 0;
    if ((s = check_tensors(ts, n, "params_write", 0)) != TG_OK)
        return s;
    for (i = 0; i < (size_t)n; ++i) {
        const tg_tensor *t = ts[i];
        size_t bad = tgi_first_nonfinite(t->data, t->size), bytes;
        if (bad < t->size) {
            char d[TGI_DESC_LEN];
            return tg_error_set(TG_ERR_NONFINITE, "params_write: %s has %g at index %zu",
                                tgi_desc(t, d), (double)t->data[bad], bad);
        }
        if (!tgi_mul_size(t->size, 4, &bytes) || total > SIZE_MAX - bytes - 32 - strlen(t->name))
            return tg_error_set(TG_ERR_OVERFLOW, "params_write: file size overflows");
        total += 4 + strlen(t->name) + 4 + 4 * (size_t)t->rank + bytes;
    }
    p = buf = tgi_malloc(total);
    if (!buf)
        return tg_error_set(TG_ERR_NOMEM, "params_write: cannot allocate %zu bytes", total);
    memcpy(p, MAGIC, 8);
    put32(p + 8, TG_PARAMS_VERSION);
    put32(p + 12, (uint32_t)n);
    p += 16;
    for (i = 0; i < (size_t)n; ++i) {
        const tg_tensor *t = ts[i];
        size_t nl = strlen(t->name);
        int r;
        put32(p, (uint32_t)nl);
        memcpy(p + 4, t->name, nl);
        p += 4 + nl;
        put32(p, (uint32_t)t->rank);
        p += 4;
        for (r = 0; r < t->rank; ++r, p += 4)
            put32(p, (uint32_t)t->shape[r]);
        for (k = 0; k < t->size; ++k, p += 4) {
            uint32_t u;
            memcpy(&u, &t->data[k], 4);
            put32(p, u);
        }
    }
    put32(p, (uint32_t)crc32_z(0, buf, total - 4));
    *out = buf;
    *len = total;
    return TG_OK;
}

void tg_params_free(void *buf)
{
    tgi_free(buf);
}

/* Directory part of path ("." when none) into dir. */
static void dir_of(const char *path, char *dir)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
}

static tg_status io_fail(const char *path, const char *step, int err)
{
    return tg_error_set(TG_ERR_IO, "params_save: '%s': %s: %s", path, step, strerror(err));
}

tg_status tg_params_save(const char *path, tg_tensor *const ts[], int n)
{
    char tmp[PATH_LEN + 16], dir[PATH_LEN];
    struct stat st;
    void *buf;
    size_t len;
    FILE *f = NULL;
    int fd, dfd, err = 0;
    const char *step = NULL;
    tg_status s;
    if (!path || !*path)
        return tg_error_set(TG_ERR_ARG, "params_save: path is NULL or empty");
    if (strlen(path) >= PATH_LEN)
        return tg_error_set(TG_ERR_ARG, "params_save: path of %zu bytes is too long",
                            strlen(path));
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return io_fail(path, "cannot replace it", EISDIR);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return tg_error_set(TG_ERR_IO, "params_save: '%s' exists and is not a regular file "
                            "(device, FIFO or socket); not replacing it", path);
    if ((s = tg_params_write_mem(ts, n, &buf, &len)) != TG_OK)
        return s;
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        err = errno;
        tgi_free(buf);
        return tg_error_set(TG_ERR_IO, "params_save: '%s': cannot create a temp file in its "
                            "directory: %s", path, strerror(err));
    }
    if (fchmod(fd, 0644) != 0)
        step = "fchmod", err = errno;
    else if (!(f = fdopen(fd, "wb")))
        step = "fdopen", err = errno;
    else if (fwrite(buf, 1, len, f) != len)
        step = "write", err = errno;
    else if (fflush(f) != 0)
        step = "flush", err = errno;
    else if (fsync(fileno(f)) != 0)
        step = "fsync", err = errno;
    tgi_free(buf);
    if (f) {
        if (fclose(f) != 0 && !step)
            step = "close", err = errno;
    } else {
        close(fd);
    }
    if (!step && rename(tmp, path) != 0)
        step = "rename", err = errno;
    if (step) {
        unlink(tmp);
        return io_fail(path, step, err);
    }
    dir_of(path, dir);
    dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0)
        return io_fail(path, "open directory for fsync (file written)", errno);
    if (fsync(dfd) != 0 && errno != EINVAL) {
        err = errno;
        close(dfd);
        return io_fail(path, "fsync directory (file written)", err);
    }
    close(dfd);
    return TG_OK;
}

/* ---- reading ------------------------------------------------------------------------- */
typedef struct cursor {
    const unsigned char *b;
    size_t len;         /* file bytes */
    size_t end;         /* where the entries must stop: len - 4, the CRC32 */
    size_t pos;
    const char *what;
} cursor;

static tg_status perr(const cursor *c, tg_status s, const char *fmt, ...) TG_PRINTF(3, 4);
static tg_status perr(const cursor *c, tg_status s, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tg_error_set(s, "params: '%s': %s", c->what, msg);
}

/* TG_ERR_TRUNCATED unless k bytes are left before the CRC trailer's end. */
static tg_status need(const cursor *c, size_t k, const char *field, uint32_t ti)
{
    if (c->end - c->pos >= k)
        return TG_OK;
    return perr(c, TG_ERR_TRUNCATED, "truncated at offset %zu: tensor %u %s needs %zu bytes, "
                "%zu left before the 4-byte CRC32 (file of %zu bytes)", c->pos, ti, field, k,
                c->end - c->pos, c->len);
}

/* Magic (as far as the bytes go) and, with 12 bytes, the version. */
static tg_status check_head(const cursor *c)
{
    uint32_t version;
    if (c->len == 0)
        return perr(c, TG_ERR_TRUNCATED, "truncated at offset 0: the file is empty");
    if (memcmp(c->b, MAGIC, c->len < 8 ? c->len : 8) != 0)
        return perr(c, TG_ERR_FORMAT, "not a tapegrad parameter file: magic at offset 0 is "
                    "not \"TGPARAMS\"%s", c->len >= 4 && !c->b[0] && !c->b[1] ?
                    " (it looks like an IDX data file)" : "");
    if (c->len < 12)
        return TG_OK;
    version = get32(c->b + 8);
    if (version != TG_PARAMS_VERSION)
        return perr(c, TG_ERR_VERSION, "file v%u, this build reads v%d (offset 8)", version,
                    TG_PARAMS_VERSION);
    return TG_OK;
}

static const tg_tensor *find(tg_tensor *const ts[], int n, const unsigned char *name,
                             uint32_t nl, int *k)
{
    for (*k = 0; *k < n; ++*k)
        if (strlen(ts[*k]->name) == nl && !memcmp(ts[*k]->name, name, nl))
            return ts[*k];
    return NULL;
}

/* Walk the count entries from c->pos. With src == NULL only the structure is checked;
 * otherwise every entry is matched to ts[] by name and src[k] gets tensor k's data. */
static tg_status walk(cursor *c, uint32_t count, tg_tensor *const ts[], int n,
                      const unsigned char **src)
{
    uint32_t ti;
    tg_status s;
    for (ti = 0; ti < count; ++ti) {
        const unsigned char *name;
        uint32_t nl, rank, r, dims[TG_MAX_RANK];
        size_t size = 1, at = c->pos, i;
        if ((s = need(c, 4, "name length", ti)) != TG_OK)
            return s;
        nl = get32(c->b + c->pos);
        if (nl == 0)
            return perr(c, TG_ERR_FORMAT, "tensor %u at offset %zu has an empty name", ti, at);
        if (nl > TG_PARAMS_MAX_NAME)
            return perr(c, TG_ERR_LIMIT, "tensor %u name length %u at offset %zu > %d", ti, nl,
                        at, TG_PARAMS_MAX_NAME);
        c->pos += 4;
        if ((s = need(c, nl, "name", ti)) != TG_OK)
            return s;
        name = c->b + c->pos;
        c->pos += nl;
        if ((s = need(c, 4, "rank", ti)) != TG_OK)
            return s;
        rank = get32(c->b + c->pos);
        if (rank > TG_MAX_RANK)
            return perr(c, TG_ERR_LIMIT, "tensor %u '%.*s': rank %u at offset %zu > %d", ti,
                        (int)(nl > 80 ? 80 : nl), name, rank, c->pos, TG_MAX_RANK);
        c->pos += 4;
        if ((s = need(c, 4 * (size_t)rank, "dims", ti)) != TG_OK)
            return s;
        for (r = 0; r < rank; ++r, c->pos += 4) {
            dims[r] = get32(c->b + c->pos);
            if (dims[r] == 0 || dims[r] > INT_MAX)
                return perr(c, dims[r] ? TG_ERR_LIMIT : TG_ERR_FORMAT, "tensor %u '%.*s': dim "
                            "%u is %u at offset %zu (must be 1..%d)", ti,
                            (int)(nl > 80 ? 80 : nl), name, r, dims[r], c->pos, INT_MAX);
            if (!tgi_mul_size(size, dims[r], &size) || size > SIZE_MAX / 4)
                return perr(c, TG_ERR_OVERFLOW, "tensor %u '%.*s': element count overflows at "
                            "dim %u (%u) at offset %zu", ti, (int)(nl > 80 ? 80 : nl), name, r,
                            dims[r], c->pos);
        }
        if ((s = need(c, 4 * size, "data", ti)) != TG_OK)
            return s;
        if (src) {
            char d[TGI_DESC_LEN], fs[64];
            int k, off = 0, same;
            const tg_tensor *t = find(ts, n, name, nl, &k);
            if (!t)
                return perr(c, TG_ERR_FORMAT, "unknown tensor '%.*s' (tensor %u at offset %zu)"
                            " is not among the %d given", (int)(nl > 80 ? 80 : nl), name, ti,
                            at, n);
            if (src[k])
                return perr(c, TG_ERR_FORMAT, "duplicate tensor '%s' (tensor %u at offset %zu)",
                            t->name, ti, at);
            for (r = 0; r < rank; ++r)
                off += snprintf(fs + off, sizeof fs - (size_t)off, r ? ",%u" : "%u", dims[r]);
            fs[off] = '\0';
            same = (int)rank == t->rank;
            for (r = 0; same && r < rank; ++r)
                same = dims[r] == (uint32_t)t->shape[r];
            if (!same)
                return perr(c, TG_ERR_MISMATCH, "tensor '%s' is [%s] in the file but %s in the "
                            "network", t->name, fs, tgi_desc(t, d));
            for (i = 0; i < size; ++i) {
                uint32_t u = get32(c->b + c->pos + 4 * i);
                float v;
                memcpy(&v, &u, 4);
                if (!isfinite(v))
                    return perr(c, TG_ERR_NONFINITE, "tensor '%s' has %g at index %zu (offset "
                                "%zu)", t->name, (double)v, i, c->pos + 4 * i);
            }
            src[k] = c->b + c->pos;
        }
        c->pos += 4 * size;
    }
    return TG_OK;
}

/* Decode every tensor's values into one temporary block, then hand them to tg_tensor_set
 * (which cannot fail any more: kinds, names and sizes were checked). */
static tg_status commit(const cursor *c, tg_tensor *const ts[], int n, const unsigned char **src)
{
    size_t total = 0, at = 0, i;
    float *tmp;
    int k;
    for (k = 0; k < n; ++k)
        total += ts[k]->size; /* each size was matched to file bytes: no overflow */
    tmp = tgi_malloc(total * sizeof *tmp);
    if (!tmp)
        return perr(c, TG_ERR_NOMEM, "cannot allocate %zu floats to decode into", total);
    for (k = 0; k < n; ++k)
        for (i = 0; i < ts[k]->size; ++i) {
            uint32_t u = get32(src[k] + 4 * i);
            memcpy(&tmp[at++], &u, 4);
        }
    for (k = 0, at = 0; k < n; at += ts[k]->size, ++k)
        tg_tensor_set(ts[k], tmp + at, ts[k]->size);
    tgi_free(tmp);
    return TG_OK;
}

tg_status tg_params_read_mem(const void *buf, size_t len, const char *what,
                             tg_tensor *const ts[], int n)
{
    cursor c = { buf, len, 0, 0, what ? what : "(memory)" };
    const unsigned char **src;
    uint32_t count, stored, crc;
    size_t body;
    tg_status s;
    int k;
    if (!buf && len)
        return tg_error_set(TG_ERR_ARG, "params: '%s': buffer is NULL", c.what);
    if ((s = check_tensors(ts, n, "params_load", 1)) != TG_OK)
        return s;
    if ((s = check_head(&c)) != TG_OK)
        return s;
    if (len < 16)
        return perr(&c, TG_ERR_TRUNCATED, "truncated at offset %zu: the header needs 16 bytes, "
                    "file has %zu", len, len);
    count = get32(c.b + 12);
    if (count > TG_PARAMS_MAX_COUNT)
        return perr(&c, TG_ERR_LIMIT, "tensor count %u at offset 12 > %d", count,
                    TG_PARAMS_MAX_COUNT);
    /* smallest entry: name length + 1 name byte + rank + one value */
    if ((uint64_t)count * 13 + 4 > len - 16)
        return perr(&c, TG_ERR_TRUNCATED, "truncated: %u tensors need at least %llu bytes after "
                    "offset 16, file has %zu", count, (unsigned long long)count * 13 + 4,
                    len - 16);
    c.pos = 16;
    c.end = len - 4;
    if ((s = walk(&c, count, ts, n, NULL)) != TG_OK)
        return s;
    body = c.pos;
    if (len - body > 4)
        return perr(&c, TG_ERR_FORMAT, "%zu bytes of trailing data after the CRC32 at offset "
                    "%zu", len - body - 4, body + 4);
    stored = get32(c.b + body);
    crc = (uint32_t)crc32_z(0, c.b, body);
    if (stored != crc)
        return perr(&c, TG_ERR_CORRUPT, "CRC32 mismatch: stored 0x%08x at offset %zu, computed "
                    "0x%08x over bytes 0..%zu", stored, body, crc, body);
    src = n ? tgi_calloc((size_t)n, sizeof *src) : NULL;
    if (n && !src)
        return perr(&c, TG_ERR_NOMEM, "cannot allocate the match table for %d tensors", n);
    c.pos = 16;
    s = walk(&c, count, ts, n, src);
    for (k = 0; s == TG_OK && k < n; ++k)
        if (!src[k]) {
            char d[TGI_DESC_LEN];
            s = perr(&c, TG_ERR_MISMATCH, "tensor %s is not in the file (%u tensors)",
                     tgi_desc(ts[k], d), count);
        }
    if (s == TG_OK)
        s = commit(&c, ts, n, src);
    tgi_free(src);
    return s;
}

tg_status tg_params_load(const char *path, tg_tensor *const ts[], int n)
{
    unsigned char *buf;
    struct stat st;
    size_t len, got = 0;
    ssize_t k = 0;
    tg_status s;
    int fd;
    if (!path)
        return tg_error_set(TG_ERR_ARG, "params_load: path is NULL");
    if ((s = check_tensors(ts, n, "params_load", 1)) != TG_OK)
        return s;
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return tg_error_set(TG_ERR_IO, "params_load: cannot open '%s': %s", path,
                            strerror(errno));
    errno = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno ? errno : S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        close(fd);
        return tg_error_set(TG_ERR_IO, "params_load: cannot read '%s' (not a regular file): %s",
                            path, strerror(e));
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return tg_error_set(TG_ERR_LIMIT, "params_load: '%s' is too large", path);
    }
    len = (size_t)st.st_size;
    {
        unsigned char head[12];
        cursor c = { head, 0, 0, 0, path };
        do
            k = pread(fd, head, len < 12 ? len : 12, 0);
        while (k < 0 && errno == EINTR);
        c.len = k > 0 ? (size_t)k : 0;
        if (k > 0 && (s = check_head(&c)) != TG_OK) {
            close(fd);
            return s;
        }
    }
    buf = tgi_malloc(len);
    if (!buf) {
        close(fd);
        return tg_error_set(TG_ERR_NOMEM, "params_load: cannot allocate %zu bytes for '%s'",
                            len, path);
    }
    while (got < len) {
        k = read(fd, buf + got, len - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    if (k < 0 && got < len) {
        int e = errno;
        close(fd);
        tgi_free(buf);
        return tg_error_set(TG_ERR_IO, "params_load: reading '%s' at offset %zu: %s", path,
                            got, strerror(e));
    }
    close(fd);
    s = tg_params_read_mem(buf, got, path, ts, n);
    tgi_free(buf);
    return s;
}
