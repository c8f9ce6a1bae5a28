/*
 * check_mutants.c -- generated mutants of small valid IDX, IDX.gz and parameter files fed to
 * tg_idx_read and tg_params_read_mem (issue 7: at least 10,000 in make check), and the
 * replay of the fuzzing corpus and of every input that ever crashed a harness
 * (tests/fuzz/corpus/<harness>/, tests/fuzz/regressions/<harness>/).
 *
 * Each mutant is judged by the oracles of tests/fuzz/fuzz.h: TG_OK with a result that agrees
 * with the bytes (an independent decoder), or a documented error with a message naming the
 * source and the caller's objects untouched; the ASan and valgrind runs add no crash, no
 * undefined behaviour and no leak. Where the cause is certain the status is asserted too
 * (every truncation is TG_ERR_TRUNCATED, a zero dim TG_ERR_FORMAT, a flipped bit never loads).
 * Mutation families, per base file of L bytes with an H-byte header and D dims:
 *   truncation at every length (L), 1..4 trailing bytes (4), each header byte set to 0x00,
 *   0x7F, 0x80, 0xFF (4H), each dim set to 0, 1, 2^31-1, 2^32-1 (4D), every single bit
 *   flipped (8L), and N_RANDOM mutants with 1..4 random bytes xor-ed (fixed seed).
 */
#include <dirent.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zlib.h>
#include "tests.h"
#include "fuzz/fuzz.h"

#define N_RANDOM 300
#define EXPECT_ANY 1    /* only the oracle's judgement */
#define EXPECT_ERR 2    /* any error status */

static const uint8_t SET_VALUES[4] = { 0x00, 0x7F, 0x80, 0xFF };
static const uint32_t DIM_VALUES[4] = { 0, 1, 0x7FFFFFFFu, 0xFFFFFFFFu };

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 33) % n;
}

/* Xor 1..4 random bytes of m[0..n) with random non-zero masks. */
static void flip_random(uint8_t *m, size_t n)
{
    int k = 1 + (int)rnd(4);
    while (k--)
        m[rnd((uint32_t)n)] ^= (uint8_t)(1 + rnd(255));
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void check_status(tg_status s, int expect, const char *family, size_t at)
{
    if (expect == EXPECT_ERR)
        ck_assert_msg(s != TG_OK, "%s %zu: loaded", family, at);
    else if (expect != EXPECT_ANY)
        ck_assert_msg((int)s == expect, "%s %zu: status %d, expected %d: %s", family, at, s,
                      expect, tg_last_error());
}

/* ---- IDX ------------------------------------------------------------------------------- */
typedef struct idx_base {
    int type, ndims;
    uint32_t dims[TG_IDX_MAX_DIMS];
} idx_base;

/* Small valid files: images-like, labels-like and each wider element type. */
static const idx_base IDX_BASES[] = {
    { TG_IDX_U8, 3, { 3, 4, 5 } },
    { TG_IDX_U8, 1, { 10 } },
    { TG_IDX_I16, 2, { 2, 3 } },
    { TG_IDX_F32, 2, { 2, 2 } },
    { TG_IDX_F64, 1, { 3 } },
};
#define N_IDX_BASES (sizeof IDX_BASES / sizeof IDX_BASES[0])

static size_t elem_size(int type)
{
    return type == TG_IDX_I16 ? 2 : type == TG_IDX_F32 ? 4 : type == TG_IDX_F64 ? 8 : 1;
}

/* Header and a payload of varied bytes into buf; returns the length. */
static size_t idx_make(const idx_base *b, uint8_t *buf)
{
    size_t n = elem_size(b->type), i;
    int k;
    buf[0] = buf[1] = 0;
    buf[2] = (uint8_t)b->type;
    buf[3] = (uint8_t)b->ndims;
    for (k = 0; k < b->ndims; ++k) {
        put_be32(buf + 4 + 4 * k, b->dims[k]);
        n *= b->dims[k];
    }
    for (i = 0; i < n; ++i)
        buf[4 + 4 * b->ndims + i] = (uint8_t)(i * 37 + 11);
    return 4 + 4 * (size_t)b->ndims + n;
}

/* Where the mutants go: the file path, raw or gzip delivery, and the count. */
typedef struct idx_run {
    char path[PATH_MAX];
    int gzip;
    long n;
} idx_run;

/* Write file (len bytes) whose IDX content is inner, read it, judge it. */
static void idx_feed(idx_run *r, const uint8_t *file, size_t len, const uint8_t *inner,
                     size_t inner_len, int expect, const char *family, size_t at)
{
    const char *bad;
    tg_status s;
    ck_assert_msg(fuzz_write_file(r->path, file, len) == 0, "cannot write %s", r->path);
    bad = fuzz_idx_verify(r->path, NULL, inner, inner_len, &s);
    ck_assert_msg(!bad, "%s %zu%s: %s", family, at, r->gzip ? " (gzip)" : "", bad);
    check_status(s, expect, family, at);
    r->n++;
}

/* Deliver IDX content m raw or as one gzip member named "m.idx". */
static void idx_content(idx_run *r, const uint8_t *m, size_t len, int expect,
                        const char *family, size_t at)
{
    uint8_t *gz = NULL;
    size_t gz_len = 0;
    if (!r->gzip) {
        idx_feed(r, m, len, m, len, expect, family, at);
        return;
    }
    ck_assert_int_eq(fuzz_gzip(m, len, "m.idx", &gz, &gz_len), 0);
    idx_feed(r, gz, gz_len, m, len, expect, family, at);
    free(gz);
}

/* Every content mutation family of the header comment on one base; returns its count. */
static long idx_content_mutants(idx_run *r, const idx_base *b)
{
    uint8_t base[256], m[256];
    size_t len = idx_make(b, base), hlen = 4 + 4 * (size_t)b->ndims, i;
    long before = r->n;
    int v, k;
    for (i = 0; i < len; ++i)
        idx_content(r, base, i, TG_ERR_TRUNCATED, "truncated to", i);
    for (i = 1; i <= 4; ++i) {
        memcpy(m, base, len);
        memset(m + len, 0xAB, i);
        idx_content(r, m, len + i, TG_ERR_FORMAT, "trailing bytes", i);
    }
    for (i = 0; i < hlen; ++i)
        for (v = 0; v < 4; ++v) {
            memcpy(m, base, len);
            m[i] = SET_VALUES[v];
            /* bytes 0-3: magic, a type that is not one, ndims 0 or > 4; later: a dim */
            idx_content(r, m, len, m[i] == base[i] ? TG_OK : i < 4 ? TG_ERR_FORMAT :
                        EXPECT_ERR, "header byte", i);
        }
    for (k = 0; k < b->ndims; ++k)
        for (v = 0; v < 4; ++v) {
            memcpy(m, base, len);
            put_be32(m + 4 + 4 * k, DIM_VALUES[v]);
            idx_content(r, m, len, DIM_VALUES[v] ? EXPECT_ERR : TG_ERR_FORMAT, "dim",
                        (size_t)k);
        }
    for (i = 0; i < 8 * len; ++i) {
        memcpy(m, base, len);
        m[i / 8] ^= (uint8_t)(1u << (i % 8));
        /* a flipped type bit can name another type of the same size (ubyte <-> byte) */
        idx_content(r, m, len, i / 8 == 2 ? EXPECT_ANY : i < 8 * hlen ? EXPECT_ERR : TG_OK,
                    "bit flip", i);
    }
    for (i = 0; i < N_RANDOM; ++i) {
        memcpy(m, base, len);
        flip_random(m, len);
        idx_content(r, m, len, EXPECT_ANY, "random flips", i);
    }
    return r->n - before;
}

/* What idx_content_mutants makes of a base: L + 4 + 4H + 4D + 8L + N_RANDOM. */
static long idx_content_count(const idx_base *b)
{
    uint8_t buf[256];
    long len = (long)idx_make(b, buf);
    return len + 4 + 4 * (4 + 4L * b->ndims) + 4L * b->ndims + 8 * len + N_RANDOM;
}

static void idx_run_init(idx_run *r, int gzip)
{
    snprintf(r->path, sizeof r->path, "%s/mutant.idx", test_tmpdir());
    r->gzip = gzip;
    r->n = 0;
}

START_TEST(test_mutants_idx_raw)
{
    idx_run r;
    long want = 0;
    size_t b;
    idx_run_init(&r, 0);
    for (b = 0; b < N_IDX_BASES; ++b) {
        ck_assert_int_eq(idx_content_mutants(&r, &IDX_BASES[b]),
                         idx_content_count(&IDX_BASES[b]));
        want += idx_content_count(&IDX_BASES[b]);
    }
    ck_assert_int_eq(r.n, want);
    ck_assert_int_eq(r.n, 3382);
    remove(r.path);
}
END_TEST

/* Mutants of the gzip layer of base b's file: returns their count. With G the .gz length and
 * L the content's: G truncations, 4 x 16 gzip header bytes (10 fixed + "m.idx\0"), 4 x 8
 * trailer bytes (CRC32, ISIZE), 8G bit flips, N_RANDOM random flips, L + 1 two-member splits,
 * 3 kinds of bytes after the member, and 2 members holding more than the header declares. */
static long idx_gzip_mutants(idx_run *r, const idx_base *b)
{
    static const char *const garbage[] = { "\x00", "\x1f", "JUNK AFTER THE MEMBER" };
    uint8_t content[256], *gz = NULL, *m, *big;
    size_t len = idx_make(b, content), g = 0, i, hdr = 10 + sizeof "m.idx";
    long before = r->n;
    int v;
    ck_assert_int_eq(fuzz_gzip(content, len, "m.idx", &gz, &g), 0);
    ck_assert_uint_eq(gz[3] & 0x08, 0x08); /* FNAME set, as in the shared MNIST files */
    m = malloc(g + 64);
    for (i = 0; i < g; ++i)
        idx_feed(r, gz, i, content, len, TG_ERR_TRUNCATED, "gz truncated to", i);
    for (i = 0; i < hdr; ++i)
        for (v = 0; v < 4; ++v) {
            memcpy(m, gz, g);
            m[i] = SET_VALUES[v];
            idx_feed(r, m, g, content, len, m[i] == gz[i] ? TG_OK : EXPECT_ANY,
                     "gz header byte", i);
        }
    for (i = g - 8; i < g; ++i)
        for (v = 0; v < 4; ++v) {
            memcpy(m, gz, g);
            m[i] = SET_VALUES[v];
            idx_feed(r, m, g, content, len, m[i] == gz[i] ? TG_OK : TG_ERR_CORRUPT,
                     "gz trailer byte", i);
        }
    for (i = 0; i < 8 * g; ++i) {
        memcpy(m, gz, g);
        m[i / 8] ^= (uint8_t)(1u << (i % 8));
        idx_feed(r, m, g, content, len, EXPECT_ANY, "gz bit flip", i);
    }
    for (i = 0; i < N_RANDOM; ++i) {
        memcpy(m, gz, g);
        flip_random(m, g);
        idx_feed(r, m, g, content, len, EXPECT_ANY, "gz random flips", i);
    }
    for (i = 0; i <= len; ++i) {
        uint8_t *two = NULL;
        size_t n2 = 0;
        ck_assert_int_eq(fuzz_gzip(content, i, "m.idx", &two, &n2), 0);
        ck_assert_int_eq(fuzz_gzip(content + i, len - i, NULL, &two, &n2), 0);
        idx_feed(r, two, n2, content, len, TG_OK, "two members split at", i);
        free(two);
    }
    for (i = 0; i < sizeof garbage / sizeof garbage[0]; ++i) {
        size_t k = strlen(garbage[i]) + !garbage[i][0];
        memcpy(m, gz, g);
        memcpy(m + g, garbage[i], k);
        idx_feed(r, m, g + k, content, len, TG_OK, "non-gzip bytes after the member", i);
    }
    /* a second member of 4 bytes, and one member inflating to 1 MiB past the payload */
    big = calloc(len + (1u << 20), 1);
    memcpy(big, content, len);
    free(gz);
    gz = NULL;
    g = 0;
    ck_assert_int_eq(fuzz_gzip(content, len, "m.idx", &gz, &g), 0);
    ck_assert_int_eq(fuzz_gzip(big + len, 4, NULL, &gz, &g), 0);
    idx_feed(r, gz, g, NULL, 0, TG_ERR_FORMAT, "extra member", 0);
    free(gz);
    gz = NULL;
    g = 0;
    ck_assert_int_eq(fuzz_gzip(big, len + (1u << 20), "m.idx", &gz, &g), 0);
    idx_feed(r, gz, g, NULL, 0, TG_ERR_FORMAT, "inflates past the payload", 0);
    free(big);
    free(gz);
    free(m);
    return r->n - before;
}

/* A ubyte [1,256,256] file in one member: a 64 KiB payload (from 16 KiB on, zlib's gzread,
 * used by the reader before, lost a cut trailer). The .gz cut by 1..16 bytes (the 8 trailer
 * bytes, then the end of the deflate data), each trailer byte with its low bit flipped, and
 * the content in two members split in the middle: 16 + 8 + 1 mutants, returned. */
static long idx_gzip_big_mutants(idx_run *r)
{
    static const idx_base big = { TG_IDX_U8, 3, { 1, 256, 256 } };
    uint8_t *content = malloc(16 + 65536), *gz = NULL, *two = NULL;
    size_t len = idx_make(&big, content), g = 0, n2 = 0, i;
    long before = r->n;
    ck_assert_int_eq(fuzz_gzip(content, len, "m.idx", &gz, &g), 0);
    for (i = 1; i <= 16; ++i)
        idx_feed(r, gz, g - i, content, len, TG_ERR_TRUNCATED, "big gz cut by", i);
    for (i = g - 8; i < g; ++i) {
        gz[i] ^= 0x01;
        idx_feed(r, gz, g, content, len, TG_ERR_CORRUPT, "big gz trailer bit", i);
        gz[i] ^= 0x01;
    }
    ck_assert_int_eq(fuzz_gzip(content, len / 2, "m.idx", &two, &n2), 0);
    ck_assert_int_eq(fuzz_gzip(content + len / 2, len - len / 2, NULL, &two, &n2), 0);
    idx_feed(r, two, n2, content, len, TG_OK, "big two members split at", len / 2);
    free(content), free(gz), free(two);
    return r->n - before;
}

START_TEST(test_mutants_idx_gz)
{
    idx_run r;
    uint8_t content[256], *gz = NULL;
    long want = 0;
    size_t b, g, len;
    idx_run_init(&r, 1);
    for (b = 0; b < 2; ++b) { /* the images-like and the labels-like file */
        ck_assert_int_eq(idx_content_mutants(&r, &IDX_BASES[b]),
                         idx_content_count(&IDX_BASES[b]));
        len = idx_make(&IDX_BASES[b], content);
        g = 0;
        ck_assert_int_eq(fuzz_gzip(content, len, "m.idx", &gz, &g), 0);
        free(gz);
        gz = NULL;
        want += idx_content_count(&IDX_BASES[b]) + 9 * (long)g + 4 * 16 + 4 * 8 + N_RANDOM +
                (long)len + 1 + 3 + 2;
        idx_gzip_mutants(&r, &IDX_BASES[b]);
    }
    ck_assert_int_eq(idx_gzip_big_mutants(&r), 16 + 8 + 1);
    want += 16 + 8 + 1;
    ck_assert_int_eq(r.n, want);
    ck_assert_int_ge(r.n, 3500);
    remove(r.path);
}
END_TEST

/* ---- parameter files ------------------------------------------------------------------- */
typedef struct params_run {
    tg_graph *g;
    tg_tensor *ts[FUZZ_N_PARAMS + 1]; /* the four targets, then "extra" [2] */
    uint8_t *file;
    size_t len;
    long n;
} params_run;

static void params_feed(params_run *r, const uint8_t *m, size_t len, int expect,
                        const char *family, size_t at)
{
    const char *bad;
    tg_status s;
    bad = fuzz_params_verify(m, len, r->ts, FUZZ_N_PARAMS, &s);
    ck_assert_msg(!bad, "%s %zu: %s", family, at, bad);
    check_status(s, expect, family, at);
    r->n++;
}

/* The CRC32 trailer recomputed, so that a mutation reaches the checks behind it. */
static void fix_crc(uint8_t *m, size_t len)
{
    put_le32(m + len - 4, (uint32_t)crc32(0, m, (uInt)(len - 4)));
}

/* Offsets of the u32 fields (version, count, and per entry name_len, rank and dims) into
 * at[], and of each target's first value into data_at[]; returns the number of fields. */
static int params_layout(const params_run *r, size_t *at, size_t *data_at)
{
    size_t pos = 16;
    int n = 0, k, d;
    at[n++] = 8;
    at[n++] = 12;
    for (k = 0; k < FUZZ_N_PARAMS; ++k) {
        const tg_tensor *t = r->ts[k];
        at[n++] = pos;
        pos += 4 + strlen(t->name);
        at[n++] = pos;
        pos += 4;
        for (d = 0; d < t->rank; ++d, pos += 4)
            at[n++] = pos;
        data_at[k] = pos;
        pos += 4 * t->size;
    }
    return n;
}

static void params_setup(params_run *r)
{
    void *buf;
    size_t i;
    int k;
    r->g = tg_graph_new();
    ck_assert_int_eq(fuzz_params_tensors(r->g, r->ts), 0);
    r->ts[FUZZ_N_PARAMS] = tg_param(r->g, "extra", 1, (const int[]){ 2 });
    ck_assert_ptr_nonnull(r->ts[FUZZ_N_PARAMS]);
    for (k = 0; k < FUZZ_N_PARAMS; ++k)
        for (i = 0; i < r->ts[k]->size; ++i)
            r->ts[k]->data[i] = (float)(k + 1) * 0.25f - (float)i * 0.125f;
    ck_assert_int_eq(tg_params_write_mem(r->ts, FUZZ_N_PARAMS, &buf, &r->len), TG_OK);
    r->file = malloc(r->len + 8);
    memcpy(r->file, buf, r->len);
    tg_params_free(buf);
    r->n = 0;
}

START_TEST(test_mutants_params)
{
    static const float specials[5] = { NAN, INFINITY, -INFINITY, FLT_MAX, 1e-40f };
    params_run r;
    uint8_t *m;
    size_t len, i, at[32], data_at[FUZZ_N_PARAMS], total = 0;
    long want;
    int v, n_fields, k, fix;
    params_setup(&r);
    len = r.len;
    m = malloc(len + 8);
    for (i = 0; i < len; ++i)
        params_feed(&r, r.file, i, TG_ERR_TRUNCATED, "truncated to", i);
    for (i = 1; i <= 4; ++i) {
        memcpy(m, r.file, len);
        memset(m + len, 0, i);
        params_feed(&r, m, len + i, TG_ERR_FORMAT, "trailing bytes", i);
    }
    /* every byte set to each value; again with the CRC32 made to match */
    for (fix = 0; fix < 2; ++fix)
        for (i = 0; i < (fix ? len - 4 : len); ++i)
            for (v = 0; v < 4; ++v) {
                memcpy(m, r.file, len);
                m[i] = SET_VALUES[v];
                if (fix)
                    fix_crc(m, len);
                params_feed(&r, m, len, m[i] == r.file[i] ? TG_OK : i < 8 ? TG_ERR_FORMAT :
                            i < 12 ? TG_ERR_VERSION : fix ? EXPECT_ANY : EXPECT_ERR,
                            fix ? "byte set, CRC fixed," : "byte set", i);
            }
    for (i = 0; i < 8 * len; ++i) { /* CRC32 catches every single-bit error */
        memcpy(m, r.file, len);
        m[i / 8] ^= (uint8_t)(1u << (i % 8));
        params_feed(&r, m, len, EXPECT_ERR, "bit flip", i);
    }
    n_fields = params_layout(&r, at, data_at);
    for (fix = 0; fix < 2; ++fix)
        for (k = 0; k < n_fields; ++k)
            for (v = 0; v < 4; ++v) {
                memcpy(m, r.file, len);
                put_le32(m + at[k], DIM_VALUES[v]);
                if (fix)
                    fix_crc(m, len);
                params_feed(&r, m, len, !memcmp(m, r.file, len) ? TG_OK :
                            at[k] == 8 ? TG_ERR_VERSION : fix ? EXPECT_ANY : EXPECT_ERR,
                            "u32 field at", at[k]);
            }
    for (fix = 0; fix < 2; ++fix)
        for (i = 0; i < 2 * N_RANDOM; ++i) {
            memcpy(m, r.file, len);
            flip_random(m, len);
            if (fix)
                fix_crc(m, len);
            params_feed(&r, m, len, fix ? EXPECT_ANY : memcmp(m, r.file, len) ? EXPECT_ERR :
                        TG_OK, "random flips", i);
        }
    /* every value set to NaN, +-Inf (refused), FLT_MAX and a subnormal (loaded) */
    for (k = 0; k < FUZZ_N_PARAMS; ++k)
        for (i = 0; i < r.ts[k]->size; ++i, ++total)
            for (v = 0; v < 5; ++v) {
                uint32_t u;
                memcpy(m, r.file, len);
                memcpy(&u, &specials[v], 4);
                put_le32(m + data_at[k] + 4 * i, u);
                fix_crc(m, len);
                params_feed(&r, m, len, v < 3 ? TG_ERR_NONFINITE : TG_OK, "special value",
                            total);
            }
    free(m);
    ck_assert_int_eq(n_fields, 17);
    want = (long)len + 4 + 4 * (long)len + 4 * ((long)len - 4) + 8 * (long)len +
           2 * 4 * n_fields + 4 * N_RANDOM + 5 * (long)total;
    ck_assert_int_eq(r.n, want);
    ck_assert_int_eq(r.n, 4263);
    free(r.file);
    tg_graph_free(r.g);
}
END_TEST

/* Valid files in another order load (names match); a missing or an unknown tensor does not. */
START_TEST(test_mutants_params_layouts)
{
    params_run r;
    tg_tensor *order[FUZZ_N_PARAMS + 1];
    long perms = 0;
    int p, k, used, j;
    params_setup(&r);
    for (p = 0; p < 256; ++p) { /* the 24 orders of 4 tensors, as base-4 digits */
        void *buf;
        size_t len;
        for (k = 0, used = 0; k < FUZZ_N_PARAMS; ++k) {
            j = (p >> (2 * k)) & 3;
            order[k] = r.ts[j];
            used |= 1 << j;
        }
        if (used != 15)
            continue;
        ck_assert_int_eq(tg_params_write_mem(order, FUZZ_N_PARAMS, &buf, &len), TG_OK);
        params_feed(&r, buf, len, TG_OK, "order", (size_t)p);
        tg_params_free(buf);
        ++perms;
    }
    ck_assert_int_eq(perms, 24);
    for (k = 0; k < FUZZ_N_PARAMS; ++k) { /* the three others only: t_k is missing */
        void *buf;
        size_t len;
        int n = 0;
        for (j = 0; j < FUZZ_N_PARAMS; ++j)
            if (j != k)
                order[n++] = r.ts[j];
        ck_assert_int_eq(tg_params_write_mem(order, n, &buf, &len), TG_OK);
        params_feed(&r, buf, len, TG_ERR_MISMATCH, "without", (size_t)k);
        ck_assert_error(TG_ERR_MISMATCH, "is not in the file");
        tg_params_free(buf);
    }
    {
        void *buf;
        size_t len;
        ck_assert_int_eq(tg_params_write_mem(r.ts, FUZZ_N_PARAMS + 1, &buf, &len), TG_OK);
        params_feed(&r, buf, len, TG_ERR_FORMAT, "with an unknown tensor", 0);
        ck_assert_error(TG_ERR_FORMAT, "unknown tensor 'extra'");
        tg_params_free(buf);
    }
    ck_assert_int_eq(r.n, 24 + 4 + 1);
    free(r.file);
    tg_graph_free(r.g);
}
END_TEST

/* ---- fuzzing corpus and regressions ---------------------------------------------------- */
/* tests/fuzz/<kind>/<harness> in the source tree (TG_SRCDIR from make check, else from
 * where this file was compiled). */
static const char *fuzz_dir(const char *kind, const char *harness)
{
    static char dir[PATH_MAX];
    const char *src = getenv("TG_SRCDIR");
    const char *slash = strrchr(__FILE__, '/');
    if (src && *src)
        snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s", src, kind, harness);
    else
        snprintf(dir, sizeof dir, "%.*s/fuzz/%s/%s", slash ? (int)(slash - __FILE__) : 1,
                 slash ? __FILE__ : ".", kind, harness);
    return dir;
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b;
    long sz;
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    sz = ftell(f);
    rewind(f);
    b = malloc((size_t)sz + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

typedef enum { H_IDX, H_PARAMS, H_SPEC } harness;

/* Run every regular file of dir through the harness's entry point; returns how many. A
 * missing directory holds none (git keeps no empty directory). */
static int replay(const char *dir, harness h)
{
    char file[PATH_MAX], out[PATH_MAX];
    struct dirent *e;
    struct stat st;
    tg_graph *g = NULL;
    tg_tensor *ts[FUZZ_N_PARAMS];
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    if (h == H_PARAMS) {
        g = tg_graph_new();
        ck_assert_int_eq(fuzz_params_tensors(g, ts), 0);
    }
    snprintf(out, sizeof out, "%s/replay.%s", test_tmpdir(), h == H_SPEC ? "json" : "idx");
    while ((e = readdir(d)) != NULL) {
        const char *bad = NULL;
        uint8_t *b;
        size_t len;
        tg_status s;
        snprintf(file, sizeof file, "%s/%s", dir, e->d_name);
        if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        b = slurp(file, &len);
        if (h == H_IDX)
            bad = fuzz_idx_one(b, len, out);
        else if (h == H_PARAMS)
            bad = fuzz_params_verify(b, len, ts, FUZZ_N_PARAMS, &s);
#ifdef TG_TEST_SPEC
        else
            bad = fuzz_spec_one(b, len, out);
#endif
        ck_assert_msg(!bad, "%s: %s", file, bad);
        free(b);
        ++n;
    }
    closedir(d);
    tg_graph_free(g);
    remove(out);
    return n;
}

START_TEST(test_fuzz_corpus_replay)
{
    ck_assert_int_ge(replay(fuzz_dir("corpus", "idx"), H_IDX), 8);
    ck_assert_int_ge(replay(fuzz_dir("corpus", "params"), H_PARAMS), 4);
#ifdef TG_TEST_SPEC
    ck_assert_int_ge(replay(fuzz_dir("corpus", "spec"), H_SPEC), 4);
#endif
}
END_TEST

START_TEST(test_fuzz_regressions_replay)
{
    struct stat st;
    char readme[PATH_MAX];
    snprintf(readme, sizeof readme, "%s/README.md", fuzz_dir("regressions", ""));
    ck_assert_msg(stat(readme, &st) == 0, "no %s", readme);
    replay(fuzz_dir("regressions", "idx"), H_IDX);
    replay(fuzz_dir("regressions", "params"), H_PARAMS);
#ifdef TG_TEST_SPEC
    replay(fuzz_dir("regressions", "spec"), H_SPEC);
#endif
}
END_TEST

Suite *suite_mutants(void)
{
    Suite *s = suite_create("mutants");
    TCase *tm = tcase_create("mutants"), *tf = tcase_create("fuzz");
    tcase_add_test(tm, test_mutants_idx_raw);
    tcase_add_test(tm, test_mutants_idx_gz);
    tcase_add_test(tm, test_mutants_params);
    tcase_add_test(tm, test_mutants_params_layouts);
    tcase_add_test(tf, test_fuzz_corpus_replay);
    tcase_add_test(tf, test_fuzz_regressions_replay);
    suite_add_tcase(s, tm);
    suite_add_tcase(s, tf);
    return s;
}
