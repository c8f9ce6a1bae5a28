/*
 * check_params.c -- "TGPARAMS" v1 files: the exact bytes, bit-identical round trips, and the
 * faults of RELIABILITY.md rows 46-57 and 65/68 (every truncation, every bit flip, limits
 * before allocation, shape mismatch leaving tensors unchanged, failed saves that leave the
 * old file and no temp file behind).
 */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tests.h"

static char *ppath(const char *name)
{
    static char buf[4][PATH_MAX];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, PATH_MAX, "%s/params_%s", test_tmpdir(), name);
    return p;
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long sz;
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    rewind(f);
    b = malloc((size_t)sz + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

/* CRC-32 (IEEE, reflected, poly 0xEDB88320), bit by bit: the test's own check of the CRC. */
static uint32_t crc32_ref(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    size_t i;
    int k;
    for (i = 0; i < n; ++i) {
        c ^= p[i];
        for (k = 0; k < 8; ++k)
            c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16), p[3] = (unsigned char)(v >> 24);
}

/* Recompute the CRC32 trailer of a file image after editing it. */
static void fix_crc(unsigned char *b, size_t n)
{
    put32(b + n - 4, crc32_ref(b, n - 4));
}

/* A small net: w1 [3,4], b1 [3], w2 [2,3], s [] with awkward values. */
typedef struct net { tg_graph *g; tg_tensor *t[4]; } net;

static net net_new(float base)
{
    net n;
    int i;
    n.g = tg_graph_new();
    n.t[0] = tg_param(n.g, "w1", 2, (const int[]){ 3, 4 });
    n.t[1] = tg_param(n.g, "b1", 1, (const int[]){ 3 });
    n.t[2] = tg_param(n.g, "w2", 2, (const int[]){ 2, 3 });
    n.t[3] = tg_param(n.g, "s", 0, NULL);
    for (i = 0; i < 4; ++i) {
        size_t k;
        ck_assert_ptr_nonnull(n.t[i]);
        for (k = 0; k < n.t[i]->size; ++k)
            n.t[i]->data[k] = base + (float)(i * 100 + (int)k) * 0.37f;
    }
    return n;
}

/* Flat copy of the net's values, to prove a failed load changed nothing. */
static float *snap(const net *n)
{
    float *s = malloc(32 * sizeof *s), *p = s;
    int i;
    for (i = 0; i < 4; ++i) {
        memcpy(p, n->t[i]->data, n->t[i]->size * sizeof(float));
        p += n->t[i]->size;
    }
    return s;
}

static void assert_unchanged(const net *n, const float *s)
{
    float *now = snap(n);
    ck_assert_mem_eq(now, s, (12 + 3 + 6 + 1) * sizeof(float));
    free(now);
}

static long n_calls, fail_at;
static size_t max_req;
static void *c_malloc(size_t n, void *u)
{
    (void)u;
    if (++n_calls == fail_at)
        return NULL;
    if (n > max_req)
        max_req = n;
    return malloc(n);
}
static void *c_realloc(void *p, size_t n, void *u)
{
    (void)u;
    if (++n_calls == fail_at)
        return NULL;
    if (n > max_req)
        max_req = n;
    return realloc(p, n);
}
static void c_free(void *p, void *u) { (void)u; free(p); }
static void counting_on(long fail)
{
    static const tg_allocator a = { c_malloc, c_realloc, c_free, NULL };
    n_calls = 0;
    max_req = 0;
    fail_at = fail;
    tg_set_allocator(&a);
}

/* Files in test_tmpdir() whose name starts with prefix. */
static int count_files(const char *prefix)
{
    DIR *d = opendir(test_tmpdir());
    struct dirent *e;
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)))
        n += !strncmp(e->d_name, prefix, strlen(prefix));
    closedir(d);
    return n;
}

/* ---- format ------------------------------------------------------------------------- */
/* The worked example of docs/params-format.md, byte for byte. */
START_TEST(test_params_worked_example_bytes)
{
    static const unsigned char want[41] = {
        0x54, 0x47, 0x50, 0x41, 0x52, 0x41, 0x4d, 0x53, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x62, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x04, 0x7c, 0xa4, 0x97 };
    tg_graph *g = tg_graph_new();
    tg_tensor *b = tg_param(g, "b", 1, (const int[]){ 2 });
    void *buf;
    size_t len;
    b->data[0] = 1.0f;
    b->data[1] = -2.0f;
    ck_assert_int_eq(tg_params_write_mem(&b, 1, &buf, &len), TG_OK);
    ck_assert_uint_eq(len, 41);
    ck_assert_mem_eq(buf, want, 41);
    ck_assert_uint_eq(crc32_ref(want, 37), 0x97a47c04u);
    b->data[0] = b->data[1] = 0.0f;
    ck_assert_int_eq(tg_params_read_mem(want, 41, "example", &b, 1), TG_OK);
    ck_assert_float_eq(b->data[0], 1.0f);
    ck_assert_float_eq(b->data[1], -2.0f);
    tg_params_free(buf);
    tg_graph_free(g);
}
END_TEST

/* Row 57: save -> load is bit-identical, whatever the order of the tensors given. */
START_TEST(test_params_round_trip_bitwise)
{
    net a = net_new(0.5f), b = net_new(-9.0f);
    tg_tensor *rev[4] = { b.t[3], b.t[2], b.t[1], b.t[0] };
    float *s;
    int i;
    a.t[0]->data[0] = -0.0f;
    a.t[0]->data[1] = FLT_MIN / 8; /* subnormal */
    a.t[0]->data[2] = FLT_MAX;
    a.t[0]->data[3] = -FLT_MAX;
    a.t[0]->data[4] = 1e-45f;
    a.t[3]->data[0] = 3.14159274f;
    ck_assert_int_eq(tg_params_save(ppath("rt"), a.t, 4), TG_OK);
    ck_assert_int_eq(tg_params_load(ppath("rt"), rev, 4), TG_OK);
    for (i = 0; i < 4; ++i)
        ck_assert_mem_eq(a.t[i]->data, b.t[i]->data, a.t[i]->size * sizeof(float));
    ck_assert(signbit(b.t[0]->data[0]));
    s = snap(&b);
    ck_assert_int_eq(tg_params_load(ppath("rt"), b.t, 4), TG_OK); /* again: same values */
    assert_unchanged(&b, s);
    ck_assert_int_eq(count_files("params_rt.tmp."), 0);
    free(s);
    tg_graph_free(a.g);
    tg_graph_free(b.g);
}
END_TEST

/* Saving over an existing file replaces it (an input and a const load too). */
START_TEST(test_params_overwrite_and_kinds)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 1, (const int[]){ 2 });
    tg_tensor *c = tg_const(g, "c", 1, (const int[]){ 1 }, (const float[]){ 7.0f });
    tg_tensor *ts[2] = { x, c };
    x->data[0] = 1.0f;
    ck_assert_int_eq(tg_params_save(ppath("ow"), ts, 2), TG_OK);
    x->data[0] = 2.0f;
    ck_assert_int_eq(tg_params_save(ppath("ow"), ts, 2), TG_OK);
    x->data[0] = 0.0f;
    c->data[0] = 0.0f;
    ck_assert_int_eq(tg_params_load(ppath("ow"), ts, 2), TG_OK);
    ck_assert_float_eq(x->data[0], 2.0f);
    ck_assert_float_eq(c->data[0], 7.0f);
    tg_graph_free(g);
}
END_TEST

/* ---- load faults ---------------------------------------------------------------------- */
/* Row 46 */
START_TEST(test_params_wrong_magic)
{
    net n = net_new(1.0f);
    float *s = snap(&n);
    static const unsigned char idx[] = { 0, 0, 8, 1, 0, 0, 0, 2, 5, 6 };
    unsigned char *b;
    size_t len;
    ck_assert_int_eq(tg_params_save(ppath("mg"), n.t, 4), TG_OK);
    b = read_bytes(ppath("mg"), &len);
    b[7] = 'X';
    write_bytes(ppath("mg"), b, len);
    tg_error_clear();
    ck_assert_int_eq(tg_params_load(ppath("mg"), n.t, 4), TG_ERR_FORMAT);
    ck_assert_error(TG_ERR_FORMAT, "params_mg': not a tapegrad parameter file: magic at offset 0");
    write_bytes(ppath("idx"), idx, sizeof idx);
    ck_assert_int_eq(tg_params_load(ppath("idx"), n.t, 4), TG_ERR_FORMAT);
    ck_assert_error(TG_ERR_FORMAT, "it looks like an IDX data file");
    assert_unchanged(&n, s);
    free(s), free(b);
    tg_graph_free(n.g);
}
END_TEST

/* Row 47 */
START_TEST(test_params_version)
{
    net n = net_new(1.0f);
    float *s = snap(&n);
    void *buf;
    size_t len;
    ck_assert_int_eq(tg_params_write_mem(n.t, 4, &buf, &len), TG_OK);
    put32((unsigned char *)buf + 8, 3);
    fix_crc(buf, len);
    tg_error_clear();
    ck_assert_int_eq(tg_params_read_mem(buf, len, "v3.params", n.t, 4), TG_ERR_VERSION);
    ck_assert_error(TG_ERR_VERSION, "'v3.params': file v3, this build reads v1");
    put32((unsigned char *)buf + 8, 0);
    fix_crc(buf, len);
    write_bytes(ppath("v0"), buf, len);
    ck_assert_int_eq(tg_params_load(ppath("v0"), n.t, 4), TG_ERR_VERSION);
    ck_assert_error(TG_ERR_VERSION, "file v0, this build reads v1");
    assert_unchanged(&n, s);
    tg_params_free(buf);
    free(s);
    tg_graph_free(n.g);
}
END_TEST

/* Row 48: cut at every offset 0 .. len-1, from memory and from a file */
START_TEST(test_params_truncated_everywhere)
{
    net n = net_new(1.0f), m = net_new(5.0f);
    float *s = snap(&m);
    void *buf;
    size_t len, cut;
    ck_assert_int_eq(tg_params_write_mem(n.t, 4, &buf, &len), TG_OK);
    ck_assert_uint_eq(len, 16 + (4 + 2 + 4 + 8 + 48) + (4 + 2 + 4 + 4 + 12) +
                      (4 + 2 + 4 + 8 + 24) + (4 + 1 + 4 + 4) + 4);
    for (cut = 0; cut < len; ++cut) {
        tg_error_clear();
        ck_assert_int_eq(tg_params_read_mem(buf, cut, "cut", m.t, 4), TG_ERR_TRUNCATED);
        ck_assert_error(TG_ERR_TRUNCATED, "truncated");
        write_bytes(ppath("cut"), buf, cut);
        ck_assert_int_eq(tg_params_load(ppath("cut"), m.t, 4), TG_ERR_TRUNCATED);
        ck_assert_error(TG_ERR_TRUNCATED, "params_cut");
        assert_unchanged(&m, s);
    }
    ck_assert_int_eq(tg_params_read_mem(buf, 0, "cut", m.t, 4), TG_ERR_TRUNCATED);
    ck_assert_error(TG_ERR_TRUNCATED, "at offset 0: the file is empty");
    ck_assert_int_eq(tg_params_read_mem(buf, len - 1, "cut", m.t, 4), TG_ERR_TRUNCATED);
    ck_assert_error(TG_ERR_TRUNCATED,
                    "tensor 3 data needs 4 bytes, 3 left before the 4-byte CRC32");
    ck_assert_int_eq(tg_params_read_mem(buf, len, "whole", m.t, 4), TG_OK);
    tg_params_free(buf);
    free(s);
    tg_graph_free(n.g);
    tg_graph_free(m.g);
}
END_TEST

/* Row 51: every single-bit flip is refused; flips in names or values are CRC errors */
START_TEST(test_params_every_bit_flip)
{
    net n = net_new(1.0f), m = net_new(5.0f);
    float *s = snap(&m);
    unsigned char *buf;
    size_t len, i;
    int bit, corrupt = 0;
    ck_assert_int_eq(tg_params_write_mem(n.t, 4, (void **)&buf, &len), TG_OK);
    for (i = 0; i < len; ++i)
        for (bit = 0; bit < 8; ++bit) {
            tg_status st;
            buf[i] ^= (unsigned char)(1u << bit);
            tg_error_clear();
            st = tg_params_read_mem(buf, len, "flip", m.t, 4);
            ck_assert_msg(st != TG_OK, "flip of bit %d at offset %zu loaded", bit, i);
            ck_assert_int_eq(tg_last_status(), st);
            ck_assert(strstr(tg_last_error(), "'flip'") != NULL);
            corrupt += st == TG_ERR_CORRUPT;
            if (i >= 20 && i < 22) /* inside the name "w1" */
                ck_assert_error(TG_ERR_CORRUPT, "CRC32 mismatch");
            if (i >= 34 && i < 82) /* inside w1's values */
                ck_assert_error(TG_ERR_CORRUPT, "CRC32 mismatch");
            buf[i] ^= (unsigned char)(1u << bit);
        }
    assert_unchanged(&m, s);
    ck_assert_int_gt(corrupt, 8 * (48 + 12 + 24 + 4));
    tg_params_free(buf);
    free(s);
    tg_graph_free(n.g);
    tg_graph_free(m.g);
}
END_TEST

/* Row 50: a 784-128-10 file into a 784-64-10 net: refused, nothing changed */
START_TEST(test_params_shape_mismatch_unchanged)
{
    tg_graph *g1 = tg_graph_new(), *g2 = tg_graph_new();
    tg_tensor *a[4], *b[4];
    float *before[4];
    int i;
    size_t k;
    a[0] = tg_param(g1, "w1", 2, (const int[]){ 128, 784 });
    a[1] = tg_param(g1, "b1", 1, (const int[]){ 128 });
    a[2] = tg_param(g1, "w2", 2, (const int[]){ 10, 128 });
    a[3] = tg_param(g1, "b2", 1, (const int[]){ 10 });
    b[0] = tg_param(g2, "w1", 2, (const int[]){ 64, 784 });
    b[1] = tg_param(g2, "b1", 1, (const int[]){ 64 });
    b[2] = tg_param(g2, "w2", 2, (const int[]){ 10, 64 });
    b[3] = tg_param(g2, "b2", 1, (const int[]){ 10 });
    for (i = 0; i < 4; ++i) {
        for (k = 0; k < a[i]->size; ++k)
            a[i]->data[k] = (float)k * 1e-3f;
        for (k = 0; k < b[i]->size; ++k)
            b[i]->data[k] = -(float)k;
        before[i] = malloc(b[i]->size * sizeof(float));
        memcpy(before[i], b[i]->data, b[i]->size * sizeof(float));
    }
    ck_assert_int_eq(tg_params_save(ppath("784"), a, 4), TG_OK);
    tg_error_clear();
    ck_assert_int_eq(tg_params_load(ppath("784"), b, 4), TG_ERR_MISMATCH);
    ck_assert_error(TG_ERR_MISMATCH,
                    "tensor 'w1' is [128,784] in the file but 'w1' [64,784] in the network");
    for (i = 0; i < 4; ++i) {
        ck_assert_mem_eq(b[i]->data, before[i], b[i]->size * sizeof(float));
        free(before[i]);
    }
    /* same element count, other shape: still a mismatch */
    {
        tg_tensor *r = tg_param(g2, "w2r", 2, (const int[]){ 128, 10 });
        tg_tensor *w = tg_param(g1, "w2r", 2, (const int[]){ 10, 128 });
        ck_assert_int_eq(tg_params_save(ppath("w2r"), &w, 1), TG_OK);
        ck_assert_int_eq(tg_params_load(ppath("w2r"), &r, 1), TG_ERR_MISMATCH);
        ck_assert_error(TG_ERR_MISMATCH, "is [10,128] in the file but 'w2r' [128,10]");
    }
    tg_graph_free(g1);
    tg_graph_free(g2);
}
END_TEST

/* Row 53: unknown, missing and duplicate names; bad tensor lists */
START_TEST(test_params_names)
{
    net n = net_new(1.0f), m = net_new(2.0f);
    float *s = snap(&m);
    tg_tensor *extra = tg_param(n.g, "extra", 1, (const int[]){ 1 });
    tg_tensor *five[5] = { n.t[0], n.t[1], n.t[2], n.t[3], extra };
    tg_tensor *dup[2] = { m.t[0], m.t[0] };
    unsigned char *buf;
    size_t len;
    extra->data[0] = 1.0f;
    ck_assert_int_eq(tg_params_save(ppath("five"), five, 5), TG_OK);
    tg_error_clear();
    ck_assert_int_eq(tg_params_load(ppath("five"), m.t, 4), TG_ERR_FORMAT);
    ck_assert_error(TG_ERR_FORMAT, "unknown tensor 'extra' (tensor 4 at offset 163)");
    ck_assert_int_eq(tg_params_save(ppath("three"), n.t, 3), TG_OK);
    ck_assert_int_eq(tg_params_load(ppath("three"), m.t, 4), TG_ERR_MISMATCH);
    ck_assert_error(TG_ERR_MISMATCH, "tensor 's' [] is not in the file (3 tensors)");
    /* rename "b1" to "w1" in the file (and fix the CRC): a duplicate */
    ck_assert_int_eq(tg_params_write_mem(n.t, 4, (void **)&buf, &len), TG_OK);
    ck_assert_mem_eq(buf + 86, "b1", 2);
    buf[86] = 'w';
    fix_crc(buf, len);
    ck_assert_int_eq(tg_params_read_mem(buf, len, "dup", m.t, 4), TG_ERR_FORMAT);
    ck_assert_error(TG_ERR_FORMAT, "duplicate tensor 'w1' (tensor 1 at offset 82)");
    ck_assert_int_eq(tg_params_load(ppath("three"), dup, 2), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "tensors 0 and 1 are both named 'w1'");
    ck_assert_int_eq(tg_params_save(ppath("x"), dup, 2), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "both named 'w1'");
    {
        tg_tensor *anon = tg_param(m.g, NULL, 1, (const int[]){ 1 });
        tg_tensor *sum = tg_add(m.g, m.t[1], m.t[1]);
        ck_assert_int_eq(tg_params_save(ppath("x"), &anon, 1), TG_ERR_ARG);
        ck_assert_error(TG_ERR_ARG, "has no name");
        ck_assert_int_eq(tg_tensor_set_name(sum, "sum"), TG_OK);
        ck_assert_int_eq(tg_params_load(ppath("three"), &sum, 1), TG_ERR_ARG);
        ck_assert_error(TG_ERR_ARG, "is an op output");
    }
    ck_assert_int_eq(tg_params_load(ppath("three"), NULL, 2), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "params_load: 2 tensors");
    assert_unchanged(&m, s);
    ck_assert_int_eq(access(ppath("x"), F_OK), -1);
    tg_params_free(buf);
    free(s);
    tg_graph_free(n.g);
    tg_graph_free(m.g);
}
END_TEST

/* Row 49: huge counts, name lengths, ranks and dims are refused before any allocation. */
START_TEST(test_params_huge_fields_no_alloc)
{
    static const struct {
        uint32_t count, name_len, rank, dims[4];
        tg_status s;
        const char *msg;
    } cases[] = {
        { 0xFFFFFFFFu, 1, 1, { 1 }, TG_ERR_LIMIT, "count 4294967295 at offset 12 > 1000000" },
        { 1000000, 1, 1, { 1 }, TG_ERR_TRUNCATED, "1000000 tensors need at least 13000004 bytes" },
        { 1, 0xFFFFFFFFu, 1, { 1 }, TG_ERR_LIMIT, "name length 4294967295 at offset 16 > 4096" },
        { 1, 4000, 1, { 1 }, TG_ERR_TRUNCATED, "tensor 0 name needs 4000 bytes" },
        { 1, 0, 1, { 1 }, TG_ERR_FORMAT, "tensor 0 at offset 16 has an empty name" },
        { 1, 1, 0xFFFFFFFFu, { 1 }, TG_ERR_LIMIT, "rank 4294967295 at offset 21 > 4" },
        { 1, 1, 4, { 0x7FFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF }, TG_ERR_OVERFLOW,
          "element count overflows at dim 2" },
        { 1, 1, 2, { 0x80000000u, 2 }, TG_ERR_LIMIT, "dim 0 is 2147483648 at offset 25" },
        { 1, 1, 2, { 3, 0 }, TG_ERR_FORMAT, "dim 1 is 0 at offset 29" },
        { 1, 1, 2, { 1000000, 1000 }, TG_ERR_TRUNCATED, "tensor 0 data needs 4000000000 bytes" },
    };
    unsigned char b[64];
    size_t i;
    net m = net_new(3.0f);
    float *s = snap(&m);
    for (i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        size_t len = 16, r;
        memcpy(b, "TGPARAMS", 8);
        put32(b + 8, 1);
        put32(b + 12, cases[i].count);
        put32(b + 16, cases[i].name_len);
        b[20] = 'w';
        put32(b + 21, cases[i].rank);
        for (r = 0; r < 4; ++r)
            put32(b + 25 + 4 * r, cases[i].dims[r]);
        for (len = 41; len < 60; ++len)
            b[len] = 0x11;
        fix_crc(b, len);
        write_bytes(ppath("huge"), b, len);
        counting_on(0);
        tg_error_clear();
        ck_assert_int_eq(tg_params_load(ppath("huge"), m.t, 4), cases[i].s);
        tg_set_allocator(NULL);
        ck_assert_error(cases[i].s, cases[i].msg);
        ck_assert_uint_le(max_req, len); /* nothing beyond the file itself */
    }
    assert_unchanged(&m, s);
    free(s);
    tg_graph_free(m.g);
}
END_TEST

/* Row 52: NaN/Inf refused on load and on save; trailing bytes after the CRC refused */
START_TEST(test_params_nonfinite_and_trailing)
{
    net n = net_new(1.0f), m = net_new(2.0f);
    float *s = snap(&m);
    unsigned char *buf, *big;
    size_t len;
    ck_assert_int_eq(tg_params_write_mem(n.t, 4, (void **)&buf, &len), TG_OK);
    put32(buf + 34 + 4 * 2, 0x7fc00000u); /* w1[2] = NaN */
    fix_crc(buf, len);
    tg_error_clear();
    ck_assert_int_eq(tg_params_read_mem(buf, len, "nan", m.t, 4), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "tensor 'w1' has nan at index 2 (offset 42)");
    put32(buf + 34 + 4 * 2, 0xff800000u); /* -Inf */
    fix_crc(buf, len);
    ck_assert_int_eq(tg_params_read_mem(buf, len, "inf", m.t, 4), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "has -inf at index 2");
    assert_unchanged(&m, s);
    n.t[2]->data[5] = INFINITY;
    ck_assert_int_eq(tg_params_save(ppath("inf"), n.t, 4), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "'w2' [2,3] has inf at index 5");
    ck_assert_int_eq(access(ppath("inf"), F_OK), -1);
    n.t[2]->data[5] = 0.0f;
    tg_params_free(buf);
    ck_assert_int_eq(tg_params_write_mem(n.t, 4, (void **)&buf, &len), TG_OK);
    big = malloc(len + 3);
    memcpy(big, buf, len);
    memcpy(big + len, "abc", 3);
    ck_assert_int_eq(tg_params_read_mem(big, len + 3, "trail", m.t, 4), TG_ERR_FORMAT);
    ck_assert_error(TG_ERR_FORMAT, "3 bytes of trailing data after the CRC32");
    assert_unchanged(&m, s);
    free(big), free(s);
    tg_params_free(buf);
    tg_graph_free(n.g);
    tg_graph_free(m.g);
}
END_TEST

START_TEST(test_params_load_io_errors)
{
    net m = net_new(2.0f);
    tg_error_clear();
    ck_assert_int_eq(tg_params_load(ppath("missing"), m.t, 4), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, "params_missing': No such file or directory");
    ck_assert_int_eq(tg_params_load(test_tmpdir(), m.t, 4), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, "Is a directory");
    tg_graph_free(m.g);
}
END_TEST

/* ---- save faults -------------------------------------------------------------------- */
/* Row 55: missing directory, a directory as path, a device, a read-only file system */
START_TEST(test_params_save_bad_targets)
{
    net n = net_new(1.0f);
    struct stat st;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/params_nodir/m.params", test_tmpdir());
    tg_error_clear();
    ck_assert_int_eq(tg_params_save(p, n.t, 4), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, "params_nodir/m.params': cannot create a temp file");
    ck_assert_error(TG_ERR_IO, "No such file or directory");
    ck_assert_int_eq(tg_params_save(test_tmpdir(), n.t, 4), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, "Is a directory");
    ck_assert_int_eq(tg_params_save("/dev/full", n.t, 4), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, "'/dev/full' exists and is not a regular file");
    ck_assert_int_eq(stat("/dev/full", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    ck_assert_int_eq(tg_params_save("/proc/tg_check_params.params", n.t, 4), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, "/proc/tg_check_params.params': cannot create a temp file");
    ck_assert_int_eq(tg_params_save("", n.t, 4), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "path is NULL or empty");
    ck_assert_int_eq(count_files("params_nodir"), 0);
    /* permission bits stop only an unprivileged user */
    if (geteuid() != 0) {
        snprintf(p, sizeof p, "%s/params_rodir", test_tmpdir());
        mkdir(p, 0755);
        ck_assert_int_eq(chmod(p, 0555), 0);
        strcat(p, "/m.params");
        ck_assert_int_eq(tg_params_save(p, n.t, 4), TG_ERR_IO);
        ck_assert_error(TG_ERR_IO, "Permission denied");
    }
    tg_graph_free(n.g);
}
END_TEST

/* Row 56: the write fails mid-file (RLIMIT_FSIZE: EFBIG, as a full disk gives ENOSPC at
 * flush); the old file is intact and no temp file is left. */
START_TEST(test_params_save_write_failure_keeps_old)
{
    net n = net_new(1.0f), m = net_new(2.0f);
    unsigned char *before, *after;
    size_t lb, la;
    struct rlimit old, lim;
    void (*prev)(int);
    tg_status st;
    ck_assert_int_eq(tg_params_save(ppath("keep"), n.t, 4), TG_OK);
    before = read_bytes(ppath("keep"), &lb);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 64;
    prev = signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        ck_abort_msg("setrlimit: %s", strerror(errno));
    tg_error_clear();
    st = tg_params_save(ppath("keep"), m.t, 4); /* no Check call while the limit holds */
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    ck_assert_int_eq(st, TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, "params_keep': flush: File too large");
    after = read_bytes(ppath("keep"), &la);
    ck_assert_uint_eq(la, lb);
    ck_assert_mem_eq(after, before, lb);
    ck_assert_int_eq(count_files("params_keep.tmp."), 0);
    ck_assert_int_eq(tg_params_load(ppath("keep"), m.t, 4), TG_OK);
    ck_assert_mem_eq(m.t[0]->data, n.t[0]->data, 12 * sizeof(float));
    free(before), free(after);
    tg_graph_free(n.g);
    tg_graph_free(m.g);
}
END_TEST

/* Files in dir whose name starts with prefix, removed; returns how many. */
static int remove_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[PATH_MAX + 300];
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            n += unlink(p) == 0;
        }
    closedir(d);
    return n;
}

/* A parameter set whose save takes a while: "w" [256,512] (512 KiB, values set by parity)
 * and "tag" [], the number of the version. */
typedef struct big { tg_graph *g; tg_tensor *t[2]; } big;

static big big_new(int odd)
{
    big b;
    size_t k;
    b.g = tg_graph_new();
    b.t[0] = tg_param(b.g, "w", 2, (const int[]){ 256, 512 });
    b.t[1] = tg_param(b.g, "tag", 0, NULL);
    ck_assert_ptr_nonnull(b.t[0]);
    ck_assert_ptr_nonnull(b.t[1]);
    for (k = 0; k < b.t[0]->size; ++k)
        b.t[0]->data[k] = odd ? (float)k * 0.37f : -(float)k / 3.0f;
    return b;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Fork a child that writes 's' into the pipe, then saves versions round*1000 + j to target
 * for j = 1 .. n (w of v[j & 1]), writing each save's duration (a double, in microseconds)
 * after it, then waits to be killed (so no child ever exits: under valgrind an exit would run
 * a leak check on the test's state). The parent gets the read end in *fd. */
static pid_t saver_start(int *fd, const char *target, big v[2], int round, int n)
{
    int fds[2];
    pid_t pid;
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int j;
        close(fds[0]);
        if (write(fds[1], "s", 1) != 1)
            _exit(1);
        for (j = 1; j <= n; ++j) {
            double t0 = now_us(), us;
            v[j & 1].t[1]->data[0] = (float)(round * 1000 + j);
            if (tg_params_save(target, v[j & 1].t, 2) != TG_OK)
                _exit(1);
            us = now_us() - t0;
            if (write(fds[1], &us, sizeof us) != sizeof us)
                _exit(1);
        }
        for (;;)
            pause();
    }
    close(fds[1]);
    *fd = fds[0];
    return pid;
}

/* SIGKILL the child and reap it; returns the number of saves it reported that are still
 * unread in the pipe, or -1 if it did not die of the signal. */
static int saver_kill(pid_t pid, int fd)
{
    char buf[1024];
    ssize_t k;
    int status, bytes = 0;
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    while ((k = read(fd, buf, sizeof buf)) > 0)
        bytes += (int)k;
    close(fd);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? bytes / (int)sizeof(double) : -1;
}

/* Row 54: a saver SIGKILLed at 200 seeded random moments never damages the target. In round r
 * a child saves versions r*1000 + 1, + 2, ... in a loop; once it has signalled its start, the
 * parent waits a uniform 0 .. 2T and kills it, T being one save as such a child times it (the
 * fastest of three, first). The file must then load bitwise equal to the last version the
 * child reported finished, or to the next one (killed between its rename and its report);
 * with no finished save, to the previous round's. The kills must cover the save: some before
 * the first rename, some after, and some between mkstemp and rename, which leave a stale temp
 * file (allowed; counted and removed).
 * The directory is on tmpfs (/dev/shm) when there is one: there a save costs its CPU work,
 * while on a disk each save waits about 20 ms in fsync and rename (SIGKILL waits for them),
 * which would make 200 kills slow and put nearly all of them in those two calls. */
START_TEST(test_params_save_killed_keeps_file)
{
    enum { KILLS = 200 };
    big v[2] = { big_new(0), big_new(1) }, m = big_new(0);
    uint64_t rng = 54;
    double save_us = 0;
    char dir[PATH_MAX], target[PATH_MAX + 16];
    int round, killed = 0, before = 0, after = 0, stale;
    float prev;
    snprintf(dir, sizeof dir, "/dev/shm/tg_check_kill.XXXXXX");
    if (!mkdtemp(dir)) {
        snprintf(dir, sizeof dir, "%s/params_kill.XXXXXX", test_tmpdir());
        ck_assert_ptr_nonnull(mkdtemp(dir));
    }
    snprintf(target, sizeof target, "%s/kill.params", dir);
    for (round = KILLS; round < KILLS + 3; ++round) {
        int fd;
        char c;
        double us;
        pid_t pid = saver_start(&fd, target, v, round, 1);
        int ok = read(fd, &c, 1) == 1 && read(fd, &us, sizeof us) == sizeof us;
        ck_assert_int_eq(saver_kill(pid, fd), 0);
        ck_assert(ok);
        if (round == KILLS || us < save_us)
            save_us = us;
    }
    prev = (float)((KILLS + 2) * 1000 + 1);
    for (round = 0; round < KILLS; ++round) {
        int fd, done, j;
        ssize_t got;
        char c;
        pid_t pid = saver_start(&fd, target, v, round, 999);
        /* no assertion until the child is dead: it must not outlive a failed test */
        got = read(fd, &c, 1);
        usleep((useconds_t)tg_rand_uniform(&rng, 0, 2 * save_us));
        done = saver_kill(pid, fd);
        ck_assert_int_eq(got, 1);
        ck_assert_int_ge(done, 0);
        killed++;
        ck_assert_msg(tg_params_load(target, m.t, 2) == TG_OK, "kill %d: %s", round,
                      tg_last_error());
        j = m.t[1]->data[0] == prev ? 0 : (int)m.t[1]->data[0] - round * 1000;
        ck_assert_msg(j == done || j == done + 1, "kill %d: the file holds version %g (%d of "
                      "this round), %d saves finished", round, (double)m.t[1]->data[0], j, done);
        ck_assert_mem_eq(m.t[0]->data, v[(long)m.t[1]->data[0] & 1].t[0]->data,
                         256 * 512 * sizeof(float));
        before += j == 0;
        after += j > 0;
        prev = m.t[1]->data[0];
    }
    stale = remove_files(dir, "kill.params.tmp.");
    ck_assert_int_eq(killed, KILLS);
    ck_assert_int_gt(before, 0);
    ck_assert_int_gt(after, 0);
    ck_assert_int_gt(stale, 0);
    ck_assert_int_le(stale, KILLS);
    ck_assert_int_eq(unlink(target), 0);
    ck_assert_int_eq(rmdir(dir), 0);
    tg_graph_free(v[0].g);
    tg_graph_free(v[1].g);
    tg_graph_free(m.g);
}
END_TEST

/* Row 65: every allocation failing in turn; Row 68: no descriptor leaks. */
START_TEST(test_params_alloc_failures_and_fds)
{
    net n = net_new(1.0f), m = net_new(2.0f);
    float *s = snap(&m);
    DIR *d;
    int fds0 = 0, fds1 = 0, i;
    long k;
    unlink(ppath("af")); /* left by an earlier run */
    for (k = 1;; ++k) {
        tg_status st;
        counting_on(k);
        st = tg_params_save(ppath("af"), n.t, 4);
        tg_set_allocator(NULL);
        if (st == TG_OK)
            break;
        ck_assert_int_eq(st, TG_ERR_NOMEM);
        ck_assert_error(TG_ERR_NOMEM, "cannot allocate");
        ck_assert_int_eq(access(ppath("af"), F_OK), -1);
    }
    ck_assert_int_eq(k, 2);
    for (k = 1;; ++k) {
        tg_status st;
        counting_on(k);
        st = tg_params_load(ppath("af"), m.t, 4);
        tg_set_allocator(NULL);
        if (st == TG_OK)
            break;
        ck_assert_int_eq(st, TG_ERR_NOMEM);
        ck_assert_error(TG_ERR_NOMEM, "allocate");
        assert_unchanged(&m, s);
    }
    ck_assert_int_eq(k, 4); /* file buffer, match table, decoded values */
    d = opendir("/proc/self/fd");
    while (readdir(d))
        ++fds0;
    closedir(d);
    for (i = 0; i < 200; ++i) {
        ck_assert_int_eq(tg_params_save(ppath("fd"), n.t, 4), TG_OK);
        ck_assert_int_eq(tg_params_load(ppath("fd"), m.t, 4), TG_OK);
        ck_assert_int_eq(tg_params_load(ppath("missing"), m.t, 4), TG_ERR_IO);
    }
    d = opendir("/proc/self/fd");
    while (readdir(d))
        ++fds1;
    closedir(d);
    ck_assert_int_eq(fds1, fds0);
    free(s);
    tg_graph_free(n.g);
    tg_graph_free(m.g);
}
END_TEST

Suite *suite_params(void)
{
    Suite *s = suite_create("params");
    TCase *tf = tcase_create("format"), *tl = tcase_create("load_errors");
    TCase *ts = tcase_create("save_errors");
    tcase_add_test(tf, test_params_worked_example_bytes);
    tcase_add_test(tf, test_params_round_trip_bitwise);
    tcase_add_test(tf, test_params_overwrite_and_kinds);
    tcase_add_test(tl, test_params_wrong_magic);
    tcase_add_test(tl, test_params_version);
    tcase_add_test(tl, test_params_truncated_everywhere);
    tcase_add_test(tl, test_params_every_bit_flip);
    tcase_add_test(tl, test_params_shape_mismatch_unchanged);
    tcase_add_test(tl, test_params_names);
    tcase_add_test(tl, test_params_huge_fields_no_alloc);
    tcase_add_test(tl, test_params_nonfinite_and_trailing);
    tcase_add_test(tl, test_params_load_io_errors);
    tcase_add_test(ts, test_params_save_bad_targets);
    tcase_add_test(ts, test_params_save_write_failure_keeps_old);
    tcase_add_test(ts, test_params_save_killed_keeps_file);
    tcase_add_test(ts, test_params_alloc_failures_and_fds);
    suite_add_tcase(s, tf);
    suite_add_tcase(s, tl);
    suite_add_tcase(s, ts);
    return s;
}
