/*
 * check_idx.c -- the IDX reader (raw and gzip), MNIST-layout data sets and the batch
 * pipeline: fixtures written into test_tmpdir(), the real mnist-10k files, and every fault of
 * RELIABILITY.md rows 28-45 with its status and message.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests.h"

/* ---- fixtures ------------------------------------------------------------------------ */
static char *tpath(const char *name)
{
    static char buf[4][PATH_MAX];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, PATH_MAX, "%s/idx_%s", test_tmpdir(), name);
    return p;
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* Header + payload of an IDX file into a new buffer; returns its length. */
static size_t idx_make(unsigned char **out, int type, int ndims, const uint32_t *dims,
                       const void *payload, size_t plen)
{
    size_t h = 4 + 4 * (size_t)ndims, i;
    unsigned char *b = malloc(h + plen + 1);
    ck_assert_ptr_nonnull(b);
    b[0] = b[1] = 0;
    b[2] = (unsigned char)type;
    b[3] = (unsigned char)ndims;
    for (i = 0; i < (size_t)ndims; ++i) {
        b[4 + 4 * i] = (unsigned char)(dims[i] >> 24);
        b[5 + 4 * i] = (unsigned char)(dims[i] >> 16);
        b[6 + 4 * i] = (unsigned char)(dims[i] >> 8);
        b[7 + 4 * i] = (unsigned char)dims[i];
    }
    if (plen)
        memcpy(b + h, payload, plen);
    *out = b;
    return h + plen;
}

enum { GZ_FEXTRA = 4, GZ_FNAME = 8, GZ_FCOMMENT = 16 };

/* One gzip member (RFC 1952) of data, compressed by the gzip program at `level` (1..9) with
 * no name, then given the optional FEXTRA/FNAME/FCOMMENT header fields. */
static size_t gz_member(unsigned char **out, const void *data, size_t n, int level, int flags)
{
    char in[PATH_MAX], gz[PATH_MAX], cmd[3 * PATH_MAX];
    unsigned char *z, *b;
    size_t zn, len = 10;
    FILE *f;
    long sz;
    snprintf(in, sizeof in, "%s", tpath("gz-in"));
    snprintf(gz, sizeof gz, "%s", tpath("gz-out"));
    write_bytes(in, data, n);
    snprintf(cmd, sizeof cmd, "gzip -c -n -%d < '%s' > '%s'", level, in, gz);
    ck_assert_int_eq(system(cmd), 0);
    f = fopen(gz, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    rewind(f);
    ck_assert_int_gt(sz, 18);
    zn = (size_t)sz;
    z = malloc(zn);
    ck_assert_uint_eq(fread(z, 1, zn, f), zn);
    fclose(f);
    ck_assert_int_eq(z[3], 0); /* no header fields of its own */
    b = malloc(zn + 64);
    memcpy(b, z, 10);
    b[3] = (unsigned char)flags;
    if (flags & GZ_FEXTRA) {
        memcpy(b + len, "\x04\x00" "ab\x00\x00", 6);
        len += 6;
    }
    if (flags & GZ_FNAME) {
        memcpy(b + len, "x-idx1-ubyte", 13);
        len += 13;
    }
    if (flags & GZ_FCOMMENT) {
        memcpy(b + len, "made by check_idx", 18);
        len += 18;
    }
    memcpy(b + len, z + 10, zn - 10);
    free(z);
    *out = b;
    return len + zn - 10;
}

/* Write an IDX file, gzipped (level >= 0) or raw (level < 0). */
static void write_idx(const char *path, int level, int type, int ndims, const uint32_t *dims,
                      const void *payload, size_t plen)
{
    unsigned char *b, *g;
    size_t n = idx_make(&b, type, ndims, dims, payload, plen);
    if (level < 0) {
        write_bytes(path, b, n);
    } else {
        size_t gn = gz_member(&g, b, n, level, GZ_FNAME);
        write_bytes(path, g, gn);
        free(g);
    }
    free(b);
}

/* Reads path expecting failure with status s and message containing both needles. */
static void expect_fail(const char *path, const tg_idx_opts *o, tg_status s, const char *n1,
                        const char *n2)
{
    tg_idx idx;
    tg_error_clear();
    ck_assert_int_eq(tg_idx_read(path, o, &idx), s);
    ck_assert_error(s, n1);
    ck_assert_error(s, n2);
    ck_assert_ptr_null(idx.data);
    ck_assert_uint_eq(idx.count, 0);
}

/* Counting allocator: number of calls, largest request, optional failure of call fail_at. */
/* The largest request zlib makes while inflating: its 32 KiB window (the state is ~7 KiB). */
#define ZLIB_MAX_ALLOC (1u << 15)
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

/* The shared 10,000-digit MNIST subset: TG_MNIST10K, else shared/ beside the checkout. */
static const char *mnist10k(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("TG_MNIST10K");
    const char *slash = strrchr(__FILE__, '/');
    struct stat st;
    char probe[PATH_MAX + 64];
    if (env && *env)
        return env;
    snprintf(dir, sizeof dir, "%.*s/../../shared/data/mnist-10k",
             slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
    snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte.gz", dir);
    if (stat(probe, &st) == 0)
        return dir;
    return "/work/shared/data/mnist-10k";
}

/* ---- reading valid files ------------------------------------------------------------- */
static const uint32_t D234[3] = { 2, 3, 4 };

START_TEST(test_idx_raw_reads_back)
{
    unsigned char pay[24];
    tg_idx idx;
    int i;
    for (i = 0; i < 24; ++i)
        pay[i] = (unsigned char)(10 * i + 3);
    write_idx(tpath("raw"), -1, TG_IDX_U8, 3, D234, pay, 24);
    ck_assert_int_eq(tg_idx_read(tpath("raw"), NULL, &idx), TG_OK);
    ck_assert_int_eq(idx.type, TG_IDX_U8);
    ck_assert_int_eq(idx.ndims, 3);
    ck_assert_uint_eq(idx.dims[0], 2);
    ck_assert_uint_eq(idx.dims[1], 3);
    ck_assert_uint_eq(idx.dims[2], 4);
    ck_assert_uint_eq(idx.dims[3], 1);
    ck_assert_uint_eq(idx.count, 24);
    ck_assert_uint_eq(idx.elem_size, 1);
    ck_assert_int_eq(idx.gzip, 0);
    ck_assert_mem_eq(idx.data, pay, 24);
    tg_idx_release(&idx);
    ck_assert_ptr_null(idx.data);
}
END_TEST

START_TEST(test_idx_gz_reads_back)
{
    unsigned char pay[24];
    tg_idx idx;
    int i;
    for (i = 0; i < 24; ++i)
        pay[i] = (unsigned char)(255 - 7 * i);
    write_idx(tpath("gz"), 6, TG_IDX_U8, 3, D234, pay, 24);
    ck_assert_int_eq(tg_idx_read(tpath("gz"), NULL, &idx), TG_OK);
    ck_assert_int_eq(idx.gzip, 1);
    ck_assert_uint_eq(idx.count, 24);
    ck_assert_mem_eq(idx.data, pay, 24);
    tg_idx_release(&idx);
}
END_TEST

/* Multi-byte types are big-endian in the file and host order in memory. */
START_TEST(test_idx_multibyte_types)
{
    static const unsigned char i16[] = { 0x01, 0x02, 0xff, 0xfe };          /* 258, -2 */
    static const unsigned char i32[] = { 0xff, 0xff, 0xff, 0xfb };          /* -5 */
    static const unsigned char f32[] = { 0x3f, 0xc0, 0x00, 0x00 };          /* 1.5 */
    static const unsigned char f64[] = { 0xc0, 0x02, 0, 0, 0, 0, 0, 0 };    /* -2.25 */
    tg_idx idx;
    write_idx(tpath("i16"), -1, TG_IDX_I16, 1, (const uint32_t[]){ 2 }, i16, 4);
    ck_assert_int_eq(tg_idx_read(tpath("i16"), NULL, &idx), TG_OK);
    ck_assert_int_eq(((int16_t *)idx.data)[0], 258);
    ck_assert_int_eq(((int16_t *)idx.data)[1], -2);
    tg_idx_release(&idx);
    write_idx(tpath("i32"), 1, TG_IDX_I32, 1, (const uint32_t[]){ 1 }, i32, 4);
    ck_assert_int_eq(tg_idx_read(tpath("i32"), NULL, &idx), TG_OK);
    ck_assert_int_eq(((int32_t *)idx.data)[0], -5);
    tg_idx_release(&idx);
    write_idx(tpath("f32"), -1, TG_IDX_F32, 2, (const uint32_t[]){ 1, 1 }, f32, 4);
    ck_assert_int_eq(tg_idx_read(tpath("f32"), &(tg_idx_opts){ TG_IDX_F32, 2, 0 }, &idx),
                     TG_OK);
    ck_assert_float_eq(((float *)idx.data)[0], 1.5f);
    tg_idx_release(&idx);
    write_idx(tpath("f64"), -1, TG_IDX_F64, 1, (const uint32_t[]){ 1 }, f64, 8);
    ck_assert_int_eq(tg_idx_read(tpath("f64"), NULL, &idx), TG_OK);
    ck_assert_uint_eq(idx.elem_size, 8);
    ck_assert_double_eq(((double *)idx.data)[0], -2.25);
    tg_idx_release(&idx);
    ck_assert_str_eq(tg_idx_type_name(TG_IDX_F32), "float");
    ck_assert_str_eq(tg_idx_type_name(7), "?");
}
END_TEST

/* Row 44: concatenated members, and FEXTRA/FNAME/FCOMMENT headers, stored blocks. */
START_TEST(test_idx_gz_members_and_header_fields)
{
    unsigned char pay[24], *b, *g1, *g2, *cat;
    size_t n, n1, n2;
    tg_idx idx;
    int i;
    for (i = 0; i < 24; ++i)
        pay[i] = (unsigned char)(i * i);
    n = idx_make(&b, TG_IDX_U8, 3, D234, pay, 24);
    n1 = gz_member(&g1, b, 13, 9, GZ_FEXTRA | GZ_FNAME | GZ_FCOMMENT);
    n2 = gz_member(&g2, b + 13, n - 13, 1, GZ_FNAME);
    cat = malloc(n1 + n2);
    memcpy(cat, g1, n1);
    memcpy(cat + n1, g2, n2);
    write_bytes(tpath("cat"), cat, n1 + n2);
    ck_assert_int_eq(tg_idx_read(tpath("cat"), NULL, &idx), TG_OK);
    ck_assert_int_eq(idx.gzip, 1);
    ck_assert_mem_eq(idx.data, pay, 24);
    tg_idx_release(&idx);
    free(b), free(g1), free(g2), free(cat);
}
END_TEST

/* Row 31: the content decides, not the name. */
START_TEST(test_idx_sniffs_content_not_name)
{
    unsigned char pay[24] = { 1, 2, 3 };
    tg_idx idx;
    write_idx(tpath("raw-named.gz"), -1, TG_IDX_U8, 3, D234, pay, 24);
    ck_assert_int_eq(tg_idx_read(tpath("raw-named.gz"), NULL, &idx), TG_OK);
    ck_assert_int_eq(idx.gzip, 0);
    ck_assert_int_eq(((uint8_t *)idx.data)[2], 3);
    tg_idx_release(&idx);
    write_idx(tpath("gz-named.idx"), 9, TG_IDX_U8, 3, D234, pay, 24);
    ck_assert_int_eq(tg_idx_read(tpath("gz-named.idx"), NULL, &idx), TG_OK);
    ck_assert_int_eq(idx.gzip, 1);
    ck_assert_int_eq(((uint8_t *)idx.data)[1], 2);
    tg_idx_release(&idx);
    /* messages say which was detected */
    write_idx(tpath("gz-float"), 9, TG_IDX_F32, 1, (const uint32_t[]){ 1 }, pay, 4);
    expect_fail(tpath("gz-float"), &(tg_idx_opts){ TG_IDX_U8, 0, 0 }, TG_ERR_FORMAT, "(gzip)",
                "type byte 0x0d (float) at offset 2, expected 0x08 (ubyte)");
    write_idx(tpath("raw-float"), -1, TG_IDX_F32, 1, (const uint32_t[]){ 1 }, pay, 4);
    expect_fail(tpath("raw-float"), &(tg_idx_opts){ TG_IDX_U8, 0, 0 }, TG_ERR_FORMAT, "(raw)",
                "type byte 0x0d (float)");
}
END_TEST

START_TEST(test_idx_mnist10k_loads)
{
    tg_dataset tr, te;
    double m, mt;
    int counts[10] = { 0 };
    size_t i;
    ck_assert_msg(tg_mnist_load(mnist10k(), "train", &tr) == TG_OK, "%s", tg_last_error());
    ck_assert_int_eq(tg_mnist_load(mnist10k(), "t10k", &te), TG_OK);
    ck_assert_uint_eq(tr.n, 8000);
    ck_assert_uint_eq(te.n, 2000);
    ck_assert_int_eq(tr.n_features, 784);
    ck_assert_int_eq(tr.rows, 28);
    ck_assert_int_eq(tr.cols, 28);
    ck_assert_int_eq(tr.n_classes, 10);
    ck_assert_int_eq(tr.labels[0], 5);
    ck_assert_int_eq(tr.labels[1], 1);
    ck_assert_int_eq(te.labels[0], 6);
    ck_assert_float_eq(tr.labels_f[0], 5.0f);
    for (i = 0; i < tr.n; ++i)
        counts[tr.labels[i]]++;
    for (i = 0; i < 10; ++i)
        ck_assert_int_gt(counts[i], 600);
    for (i = 0; i < tr.n * 784; ++i)
        ck_assert(tr.x[i] >= 0.0f && tr.x[i] <= 1.0f);
    /* sum of the 6,272,000 train bytes is 210,056,461 -> mean 0.13133782 of [0,1] pixels */
    m = tg_dataset_mean(&tr);
    ck_assert_double_eq_tol(m, 210056461.0 / 255.0 / 6272000.0, 1e-6);
    ck_assert_double_eq_tol(m, 0.13133782, 1e-4);
    mt = tg_dataset_mean(&te);
    ck_assert_double_eq_tol(mt, 0.13027746, 1e-4);
    /* the study's preprocessing: subtract the training mean from both */
    ck_assert_int_eq(tg_dataset_shift(&tr, m), TG_OK);
    ck_assert_int_eq(tg_dataset_shift(&te, m), TG_OK);
    ck_assert_double_eq_tol(tg_dataset_mean(&tr), 0.0, 1e-6);
    ck_assert_double_eq_tol(tg_dataset_mean(&te), mt - m, 1e-6);
    ck_assert_double_eq(tr.shift, m);
    tg_dataset_release(&tr);
    tg_dataset_release(&te);
    ck_assert_ptr_null(tr.x);
}
END_TEST

/* Uncompressed names are found too; a missing set names both candidates. */
START_TEST(test_mnist_load_raw_names_and_missing)
{
    char dir[PATH_MAX], p[PATH_MAX + 64];
    unsigned char px[2 * 4] = { 0, 255, 51, 102, 255, 0, 0, 0 }, lb[2] = { 3, 9 };
    tg_dataset ds;
    snprintf(dir, sizeof dir, "%s/idx_mnistdir", test_tmpdir());
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
    write_idx(p, -1, TG_IDX_U8, 3, (const uint32_t[]){ 2, 2, 2 }, px, 8);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte.gz", dir);
    write_idx(p, 5, TG_IDX_U8, 1, (const uint32_t[]){ 2 }, lb, 2);
    ck_assert_int_eq(tg_mnist_load(dir, "train", &ds), TG_OK);
    ck_assert_uint_eq(ds.n, 2);
    ck_assert_int_eq(ds.n_features, 4);
    ck_assert_float_eq(ds.x[1], 1.0f);
    ck_assert_float_eq_tol(ds.x[2], 0.2f, 1e-7f);
    ck_assert_int_eq(ds.labels[1], 9);
    ck_assert_double_eq_tol(tg_dataset_mean(&ds), (255 + 51 + 102 + 255) / 255.0 / 8, 1e-7);
    tg_dataset_release(&ds);
    tg_error_clear();
    ck_assert_int_eq(tg_mnist_load(dir, "t10k", &ds), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, "t10k-images-idx3-ubyte' nor '");
    ck_assert_error(TG_ERR_IO, "t10k-images-idx3-ubyte.gz' exists");
    ck_assert_ptr_null(ds.x);
}
END_TEST

START_TEST(test_data_find)
{
    char out[PATH_MAX], desc[128], cwd[PATH_MAX], dir[PATH_MAX], p[PATH_MAX + 64];
    struct stat st;
    ck_assert_int_eq(tg_data_find("/some/dir", out, sizeof out, desc, sizeof desc), TG_OK);
    ck_assert_str_eq(out, "/some/dir");
    ck_assert_str_eq(desc, "directory '/some/dir'");
    tg_error_clear();
    ck_assert_int_eq(tg_data_find("/some/dir", out, 5, NULL, 0), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "does not fit in 5 bytes");
    /* data/mnist under the working directory wins */
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(dir, sizeof dir, "%s/idx_findroot", test_tmpdir());
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/data", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/data/mnist", dir);
    mkdir(p, 0755);
    ck_assert_int_eq(chdir(dir), 0);
    unlink("data/mnist/train-images-idx3-ubyte.gz"); /* left by an earlier run */
    tg_error_clear();
    if (stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", &st) == 0) {
        ck_assert_int_eq(tg_data_find(NULL, out, sizeof out, desc, sizeof desc), TG_OK);
        ck_assert_str_eq(out, "/usr/share/datasets/fashion-mnist");
        ck_assert_str_eq(desc, "Fashion-MNIST (Debian dataset-fashion-mnist)");
    } else {
        ck_assert_int_eq(tg_data_find(NULL, out, sizeof out, desc, sizeof desc), TG_ERR_IO);
        ck_assert_error(TG_ERR_IO, "scripts/get-mnist.sh");
        ck_assert_error(TG_ERR_IO, "apt-get install dataset-fashion-mnist");
    }
    write_bytes("data/mnist/train-images-idx3-ubyte.gz", "x", 1);
    ck_assert_int_eq(tg_data_find(NULL, out, sizeof out, desc, sizeof desc), TG_OK);
    ck_assert_str_eq(out, "data/mnist");
    ck_assert_str_eq(desc, "MNIST (data/mnist)");
    ck_assert_int_eq(unlink("data/mnist/train-images-idx3-ubyte.gz"), 0);
    ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

/* ---- faults: rows 28-45 -------------------------------------------------------------- */
/* Row 28 */
START_TEST(test_idx_missing_and_directory)
{
    char p[PATH_MAX];
    expect_fail(tpath("does-not-exist"), NULL, TG_ERR_IO, "idx_does-not-exist",
                "No such file or directory");
    expect_fail(test_tmpdir(), NULL, TG_ERR_IO, test_tmpdir(), "Is a directory");
    tg_error_clear();
    ck_assert_int_eq(tg_idx_read(NULL, NULL, &(tg_idx){ 0 }), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "path is NULL");
    /* permission bits do not stop root, so only an unprivileged run can test EACCES */
    if (geteuid() != 0) {
        snprintf(p, sizeof p, "%s", tpath("noperm"));
        write_bytes(p, "\0\0\x08\x01", 4);
        ck_assert_int_eq(chmod(p, 0), 0);
        expect_fail(p, NULL, TG_ERR_IO, "idx_noperm", "Permission denied");
    }
}
END_TEST

/* Row 29: empty and 1-3 byte files */
START_TEST(test_idx_short_files)
{
    char want[64];
    size_t n;
    for (n = 0; n < 4; ++n) {
        write_bytes(tpath("short"), "\0\0\x08", n);
        snprintf(want, sizeof want, "header needs 4 bytes at offset 0, got %zu", n);
        expect_fail(tpath("short"), NULL, TG_ERR_TRUNCATED, want, "(raw)");
    }
}
END_TEST

/* Rows 30, 32: magic, type and ndims */
START_TEST(test_idx_bad_magic_type_ndims)
{
    write_bytes(tpath("m0"), "\x01\0\x08\x01\0\0\0\x01\x05", 9);
    expect_fail(tpath("m0"), NULL, TG_ERR_FORMAT, "byte 0 is 0x01, expected 0", "not an IDX");
    write_bytes(tpath("m1"), "\0\x7f\x08\x01\0\0\0\x01\x05", 9);
    expect_fail(tpath("m1"), NULL, TG_ERR_FORMAT, "byte 1 is 0x7f", "(raw)");
    write_bytes(tpath("t7"), "\0\0\x07\x01\0\0\0\x01\x05", 9);
    expect_fail(tpath("t7"), NULL, TG_ERR_FORMAT, "type byte 0x07 at offset 2", "not an IDX type");
    write_bytes(tpath("nd0"), "\0\0\x08\x00\0\0\0\x01\x05", 9);
    expect_fail(tpath("nd0"), NULL, TG_ERR_FORMAT, "ndims 0 at offset 3", "outside 1..4");
    write_bytes(tpath("nd255"), "\0\0\x08\xff\0\0\0\x01\x05", 9);
    expect_fail(tpath("nd255"), NULL, TG_ERR_FORMAT, "ndims 255 at offset 3", "outside 1..4");
    write_bytes(tpath("nd1"), "\0\0\x08\x01\0\0\0\x01\x05", 9);
    expect_fail(tpath("nd1"), &(tg_idx_opts){ 0, 3, 0 }, TG_ERR_FORMAT,
                "ndims 1 at offset 3, expected 3", "idx_nd1");
}
END_TEST

/* Row 33: header cut after dim 1 of 3 */
START_TEST(test_idx_truncated_header)
{
    write_bytes(tpath("hdr"), "\0\0\x08\x03\0\0\0\x02\0\0", 10);
    expect_fail(tpath("hdr"), NULL, TG_ERR_TRUNCATED, "header needs 16 bytes (3 dims), got 10",
                "truncated after dim 1 of 3 at offset 10");
}
END_TEST

/* Row 34: a dim of 0 is refused (no empty data sets, no malloc(0)) */
START_TEST(test_idx_zero_dim)
{
    write_idx(tpath("dim0"), -1, TG_IDX_U8, 3, (const uint32_t[]){ 5, 0, 28 }, NULL, 0);
    expect_fail(tpath("dim0"), NULL, TG_ERR_FORMAT, "dim 2 of 3 at offset 8 is 0",
                "empty IDX files");
}
END_TEST

/* Row 35: dims product overflows 64 bits; bytes overflow for 8-byte elements */
START_TEST(test_idx_dims_overflow)
{
    const uint32_t big[3] = { 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu };
    counting_on(0);
    write_idx(tpath("ovf"), -1, TG_IDX_U8, 3, big, NULL, 0);
    expect_fail(tpath("ovf"), NULL, TG_ERR_OVERFLOW, "overflows 64 bits at dim 3 of 3",
                "offset 12");
    ck_assert_uint_eq(max_req, 0); /* nothing allocated */
    write_idx(tpath("ovf8"), 6, TG_IDX_F64, 2, big, NULL, 0);
    expect_fail(tpath("ovf8"), NULL, TG_ERR_OVERFLOW, "18446744065119617025 elements of 8 bytes",
                "(gzip)");
    ck_assert_uint_le(max_req, ZLIB_MAX_ALLOC); /* no payload */
    tg_set_allocator(NULL);
}
END_TEST

/* Row 36: 0xFFFFFFFF x 28 x 28 (3.29 TB) refused before allocating */
START_TEST(test_idx_huge_declared_size)
{
    const uint32_t d[3] = { 0xFFFFFFFFu, 28, 28 };
    char want[96];
    snprintf(want, sizeof want, "expected %llu data bytes at offset 16, got 0",
             0xFFFFFFFFull * 784);
    counting_on(0);
    write_idx(tpath("huge"), -1, TG_IDX_U8, 3, d, NULL, 0);
    expect_fail(tpath("huge"), NULL, TG_ERR_TRUNCATED, want, "(raw)");
    ck_assert_uint_eq(max_req, 0);
    write_idx(tpath("huge.gz"), 9, TG_IDX_U8, 3, d, NULL, 0);
    expect_fail(tpath("huge.gz"), NULL, TG_ERR_LIMIT, "3367254359280 bytes at offset 16",
                "exceeds the cap of 1073741824 bytes");
    ck_assert_uint_le(max_req, ZLIB_MAX_ALLOC);
    tg_set_allocator(NULL);
}
END_TEST

/* Row 37: every cut of a small file, raw and inside gzip */
START_TEST(test_idx_every_truncation)
{
    unsigned char pay[6] = { 9, 8, 7, 6, 5, 4 }, *b, *g;
    char want[96];
    size_t n = idx_make(&b, TG_IDX_U8, 2, (const uint32_t[]){ 2, 3 }, pay, 6), cut;
    ck_assert_uint_eq(n, 18);
    for (cut = 0; cut < n; ++cut) {
        int z;
        if (cut < 4)
            snprintf(want, sizeof want, "header needs 4 bytes at offset 0, got %zu", cut);
        else if (cut < 12)
            snprintf(want, sizeof want, "header needs 12 bytes (2 dims), got %zu", cut);
        else
            snprintf(want, sizeof want, "expected 6 data bytes at offset 12, got %zu", cut - 12);
        for (z = 0; z < 2; ++z) {
            if (z) {
                size_t gn = gz_member(&g, b, cut, 6, 0);
                write_bytes(tpath("cut"), g, gn);
                free(g);
            } else {
                write_bytes(tpath("cut"), b, cut);
            }
            expect_fail(tpath("cut"), NULL, TG_ERR_TRUNCATED, want, z ? "(gzip)" : "(raw)");
        }
    }
    free(b);
}
END_TEST

/* Row 38: trailing bytes are TG_ERR_FORMAT */
START_TEST(test_idx_trailing_garbage)
{
    unsigned char pay[7] = { 1, 2, 3, 4, 5, 6, 0xAA }, *b, *g;
    size_t n = idx_make(&b, TG_IDX_U8, 2, (const uint32_t[]){ 2, 3 }, pay, 7), gn;
    write_bytes(tpath("trail"), b, n);
    expect_fail(tpath("trail"), NULL, TG_ERR_FORMAT,
                "1 bytes of trailing data after the payload at offset 18", "(raw)");
    gn = gz_member(&g, b, n, 6, 0);
    write_bytes(tpath("trail.gz"), g, gn);
    expect_fail(tpath("trail.gz"), NULL, TG_ERR_FORMAT,
                "trailing data after the payload at offset 18", "(gzip)");
    free(b), free(g);
}
END_TEST

/* Row 39: images and labels disagree on the count; labels given as images */
START_TEST(test_dataset_count_mismatch)
{
    unsigned char px[12] = { 0 }, lb[2] = { 1, 2 };
    tg_dataset ds;
    char im[PATH_MAX], la[PATH_MAX];
    snprintf(im, sizeof im, "%s", tpath("mm-images"));
    snprintf(la, sizeof la, "%s", tpath("mm-labels"));
    write_idx(im, -1, TG_IDX_U8, 3, (const uint32_t[]){ 3, 2, 2 }, px, 12);
    write_idx(la, 6, TG_IDX_U8, 1, (const uint32_t[]){ 2 }, lb, 2);
    tg_error_clear();
    ck_assert_int_eq(tg_dataset_load(im, la, 10, 0, &ds), TG_ERR_MISMATCH);
    ck_assert_error(TG_ERR_MISMATCH, "idx_mm-images' has 3 images but '");
    ck_assert_error(TG_ERR_MISMATCH, "idx_mm-labels' has 2 labels");
    ck_assert_ptr_null(ds.x);
    ck_assert_int_eq(tg_dataset_load(la, la, 10, 0, &ds), TG_ERR_FORMAT);
    ck_assert_error(TG_ERR_FORMAT, "ndims 1 at offset 3, expected 3");
    ck_assert_int_eq(tg_dataset_load(im, im, 10, 0, &ds), TG_ERR_FORMAT);
    ck_assert_error(TG_ERR_FORMAT, "ndims 3 at offset 3, expected 1");
    ck_assert_int_eq(tg_dataset_load(im, la, 0, 0, &ds), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "n_classes 0 outside 1..256");
}
END_TEST

/* Row 40: label 255 at record 4517 (file offset 8 + 4517) */
START_TEST(test_dataset_label_out_of_range)
{
    enum { N = 4600 };
    unsigned char *px = calloc(N, 1), *lb = malloc(N);
    char im[PATH_MAX], la[PATH_MAX];
    tg_dataset ds;
    int i;
    for (i = 0; i < N; ++i)
        lb[i] = (unsigned char)(i % 10);
    lb[4517] = 255;
    snprintf(im, sizeof im, "%s", tpath("lr-images"));
    snprintf(la, sizeof la, "%s", tpath("lr-labels"));
    write_idx(im, 1, TG_IDX_U8, 3, (const uint32_t[]){ N, 1, 1 }, px, N);
    write_idx(la, 1, TG_IDX_U8, 1, (const uint32_t[]){ N }, lb, N);
    tg_error_clear();
    ck_assert_int_eq(tg_dataset_load(im, la, 10, 0, &ds), TG_ERR_RANGE);
    ck_assert_error(TG_ERR_RANGE, "label 255 at record 4517 (offset 4525) >= 10 classes");
    ck_assert_error(TG_ERR_RANGE, "idx_lr-labels");
    ck_assert_ptr_null(ds.labels);
    lb[4517] = 10;
    write_idx(la, -1, TG_IDX_U8, 1, (const uint32_t[]){ N }, lb, N);
    ck_assert_int_eq(tg_dataset_load(im, la, 10, 0, &ds), TG_ERR_RANGE);
    ck_assert_error(TG_ERR_RANGE, "label 10 at record 4517");
    /* with 11 classes the same file loads */
    ck_assert_int_eq(tg_dataset_load(im, la, 11, 0, &ds), TG_OK);
    ck_assert_int_eq(ds.labels[4517], 10);
    ck_assert_float_eq(ds.labels_f[4517], 10.0f);
    tg_dataset_release(&ds);
    free(px), free(lb);
}
END_TEST

/* Row 41: gzip cut at every byte (header, deflate data, trailer) */
START_TEST(test_idx_gz_truncated_stream)
{
    unsigned char pay[300], *b, *g;
    size_t n, gn, cut;
    uint32_t st = 12345;
    int i;
    for (i = 0; i < 300; ++i)
        pay[i] = (unsigned char)((st = st * 1103515245u + 12345u) >> 24);
    n = idx_make(&b, TG_IDX_U8, 1, (const uint32_t[]){ 300 }, pay, 300);
    gn = gz_member(&g, b, n, 6, GZ_FNAME);
    for (cut = 2; cut < gn; ++cut) {
        write_bytes(tpath("gzcut"), g, cut);
        expect_fail(tpath("gzcut"), NULL, TG_ERR_TRUNCATED, "(gzip)", "unexpected end of file");
    }
    free(b), free(g);
}
END_TEST

/* Row 42: bad CRC32, bad ISIZE, bad deflate data -> TG_ERR_CORRUPT with zlib's words */
START_TEST(test_idx_gz_corrupt)
{
    unsigned char pay[40], *b, *g;
    size_t n, gn, hdr = 10 + 13; /* gzip header with FNAME */
    int i;
    for (i = 0; i < 40; ++i)
        pay[i] = (unsigned char)i;
    n = idx_make(&b, TG_IDX_U8, 1, (const uint32_t[]){ 40 }, pay, 40);
    gn = gz_member(&g, b, n, 6, GZ_FNAME);
    g[gn - 7] ^= 0x10; /* CRC32 */
    write_bytes(tpath("gzcrc"), g, gn);
    expect_fail(tpath("gzcrc"), NULL, TG_ERR_CORRUPT, "zlib: incorrect data check", "(gzip)");
    g[gn - 7] ^= 0x10;
    g[gn - 2] ^= 0x01; /* ISIZE */
    write_bytes(tpath("gzlen"), g, gn);
    expect_fail(tpath("gzlen"), NULL, TG_ERR_CORRUPT, "zlib: incorrect length check",
                "(compressed offset ");
    g[gn - 2] ^= 0x01;
    g[hdr] |= 0x06; /* first block: BTYPE 11 is reserved */
    write_bytes(tpath("gzbtype"), g, gn);
    expect_fail(tpath("gzbtype"), NULL, TG_ERR_CORRUPT, "zlib: invalid block type",
                "after 0 uncompressed bytes");
    free(b), free(g);
}
END_TEST

/* Row 43: a bomb declaring more than the cap; 10 records declared, 4 MB more inflated */
START_TEST(test_idx_gz_bomb)
{
    size_t big = 4u << 20, gn;
    unsigned char *zeros = calloc(1, big + 100), *g;
    tg_idx_opts cap = { TG_IDX_U8, 0, 1u << 20 };
    write_idx(tpath("bomb"), 9, TG_IDX_U8, 3, (const uint32_t[]){ 4, 1024, 1024 }, zeros, big);
    counting_on(0);
    expect_fail(tpath("bomb"), &cap, TG_ERR_LIMIT, "payload of 4194304 bytes at offset 16",
                "exceeds the cap of 1048576 bytes");
    ck_assert_uint_le(max_req, ZLIB_MAX_ALLOC);
    tg_set_allocator(NULL);
    /* header says 10 x 1 x 1, then 4 MB of zeros: stops one byte after the payload */
    memcpy(zeros, "\0\0\x08\x03\0\0\0\x0a\0\0\0\x01\0\0\0\x01", 16);
    gn = gz_member(&g, zeros, big, 9, 0);
    ck_assert_uint_lt(gn, 8192);
    write_bytes(tpath("bomb2"), g, gn);
    expect_fail(tpath("bomb2"), &cap, TG_ERR_FORMAT, "trailing data after the payload at offset 26",
                "(gzip)");
    free(zeros), free(g);
}
END_TEST

/* 256 KiB of noise in an IDX ubyte [4,256,256] file, raw (*b, returns n) and in one gzip
 * member with FNAME (*g, *gn); returns the payload. gzip cannot shrink noise, so the member is
 * bigger than the payload, and a payload read is far bigger than any read-ahead (stdio's
 * st_blksize, the reader's 16 KiB of compressed input). */
enum { NOISE = 4 * 256 * 256 };
static unsigned char *noise_idx(unsigned char **b, size_t *n, unsigned char **g, size_t *gn)
{
    unsigned char *pay = malloc(NOISE);
    uint32_t st = 45;
    size_t i;
    for (i = 0; i < NOISE; ++i)
        pay[i] = (unsigned char)((st = st * 1103515245u + 12345u) >> 24);
    *n = idx_make(b, TG_IDX_U8, 3, (const uint32_t[]){ 4, 256, 256 }, pay, NOISE);
    *gn = gz_member(g, *b, *n, 6, GZ_FNAME);
    ck_assert_uint_gt(*gn, NOISE);
    return pay;
}

/* Rows 41, 44 with a big payload (zlib's gzread, used before, lost a cut trailer from 16 KiB
 * on): the file cut inside the 8-byte trailer (CRC32, ISIZE) has the whole payload but no
 * checked end, so it is truncated, in the only member or the last of two; whole, both load. */
START_TEST(test_idx_gz_big_trailer_cut)
{
    unsigned char *b, *g, *g1, *g2, *cat, *pay;
    size_t n, gn, gn1, gn2, cut, split = 100000;
    tg_idx idx;
    pay = noise_idx(&b, &n, &g, &gn);
    for (cut = 1; cut <= 16; ++cut) {
        write_bytes(tpath("bigcut"), g, gn - cut);
        if (cut <= 8)
            expect_fail(tpath("bigcut"), NULL, TG_ERR_TRUNCATED, "idx_bigcut' (gzip): gzip "
                        "stream ends early after the payload at offset 262160: unexpected end "
                        "of file (missing CRC/size trailer)", "idx_bigcut");
        else { /* the member is stored: its last bytes are the payload's */
            char want[160];
            snprintf(want, sizeof want, "(gzip): expected 262144 data bytes at offset 16, got "
                     "%zu (gzip stream ends early: unexpected end of file)", NOISE - (cut - 8));
            expect_fail(tpath("bigcut"), NULL, TG_ERR_TRUNCATED, want, "idx_bigcut'");
        }
    }
    write_bytes(tpath("bigcut"), g, gn);
    ck_assert_int_eq(tg_idx_read(tpath("bigcut"), NULL, &idx), TG_OK);
    ck_assert_mem_eq(idx.data, pay, NOISE);
    tg_idx_release(&idx);
    /* two big members (100,000 and 162,160 bytes of the file, levels 1 and 9): whole, and the
     * second one cut inside its trailer */
    gn1 = gz_member(&g1, b, split, 1, GZ_FNAME);
    gn2 = gz_member(&g2, b + split, n - split, 9, 0);
    ck_assert_uint_gt(gn1, split);
    cat = malloc(gn1 + gn2);
    memcpy(cat, g1, gn1);
    memcpy(cat + gn1, g2, gn2);
    write_bytes(tpath("bigcat"), cat, gn1 + gn2);
    ck_assert_msg(tg_idx_read(tpath("bigcat"), NULL, &idx) == TG_OK, "%s", tg_last_error());
    ck_assert_int_eq(idx.gzip, 1);
    ck_assert_uint_eq(idx.count, NOISE);
    ck_assert_mem_eq(idx.data, pay, NOISE);
    tg_idx_release(&idx);
    for (cut = 1; cut <= 8; ++cut) {
        write_bytes(tpath("bigcat"), cat, gn1 + gn2 - cut);
        expect_fail(tpath("bigcat"), NULL, TG_ERR_TRUNCATED, "idx_bigcat' (gzip): gzip stream "
                    "ends early after the payload at offset 262160", "(missing CRC/size trailer)");
    }
    free(pay), free(b), free(g), free(g1), free(g2), free(cat);
}
END_TEST

/* Row 42 with the big payload: a bad CRC32 or ISIZE is TG_ERR_CORRUPT, naming the offsets. */
START_TEST(test_idx_gz_big_corrupt_trailer)
{
    unsigned char *b, *g, *pay;
    size_t n, gn;
    char want[160];
    pay = noise_idx(&b, &n, &g, &gn);
    g[gn - 7] ^= 0x10; /* CRC32 */
    write_bytes(tpath("bigcrc"), g, gn);
    snprintf(want, sizeof want, "corrupt gzip data after 262160 uncompressed bytes (compressed "
             "offset %zu): zlib: incorrect data check", gn - 4);
    expect_fail(tpath("bigcrc"), NULL, TG_ERR_CORRUPT, want, "idx_bigcrc' (gzip)");
    g[gn - 7] ^= 0x10;
    g[gn - 2] ^= 0x01; /* ISIZE */
    write_bytes(tpath("biglen"), g, gn);
    snprintf(want, sizeof want, "corrupt gzip data after 262160 uncompressed bytes (compressed "
             "offset %zu): zlib: incorrect length check", gn);
    expect_fail(tpath("biglen"), NULL, TG_ERR_CORRUPT, want, "idx_biglen' (gzip)");
    free(pay), free(b), free(g);
}
END_TEST

/* Row 45: the file shrinks while it is read. The allocator hook truncates it (as another
 * process might) when the reader allocates the payload buffer (the request of the payload's
 * size), i.e. after the header was read and checked against the file's size. Every call is
 * counted. */
static const char *shrink_path;
static off_t shrink_to;
static long shrink_mallocs, shrink_frees, shrink_nth;
static size_t shrink_payload;
static int shrink_rc;
static void *shrink_malloc(size_t n, void *u)
{
    (void)u;
    shrink_mallocs++;
    if (n == shrink_payload) {
        shrink_nth = shrink_mallocs;
        shrink_rc = truncate(shrink_path, shrink_to);
    }
    return malloc(n);
}
static void *shrink_realloc(void *p, size_t n, void *u)
{
    (void)u;
    shrink_mallocs++;
    return realloc(p, n);
}
static void shrink_free(void *p, void *u)
{
    (void)u;
    shrink_frees += p != NULL;
    free(p);
}

/* Read path (file holds the bytes f[0..n)) cut to `to` bytes mid-read: TG_ERR_TRUNCATED with
 * the needles. The payload is the last allocation, after zlib's inflate state and window for
 * gzip, and each is freed again. */
static void expect_shrunk(const unsigned char *f, size_t n, size_t to, size_t payload,
                          const char *n1, const char *n2)
{
    static const tg_allocator a = { shrink_malloc, shrink_realloc, shrink_free, NULL };
    struct stat st;
    write_bytes(tpath("shrink"), f, n);
    shrink_path = tpath("shrink");
    shrink_to = (off_t)to;
    shrink_payload = payload;
    shrink_mallocs = shrink_frees = shrink_nth = 0;
    shrink_rc = -1;
    tg_set_allocator(&a);
    expect_fail(shrink_path, NULL, TG_ERR_TRUNCATED, n1, n2);
    tg_set_allocator(NULL);
    ck_assert_int_eq(shrink_rc, 0);
    ck_assert_int_eq(shrink_mallocs, f[0] == 0x1f ? 3 : 1);
    ck_assert_int_eq(shrink_nth, shrink_mallocs);
    ck_assert_int_eq(shrink_frees, shrink_mallocs);
    ck_assert_int_eq(stat(shrink_path, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)to);
}

START_TEST(test_idx_shrinks_while_read)
{
    unsigned char *pay, *b, *g;
    size_t n, gn, k;
    tg_idx idx;
    pay = noise_idx(&b, &n, &g, &gn);
    /* raw: to 0, inside the header, inside the payload, one byte short; the header already
     * read, stdio has at most its buffer of the old bytes */
    {
        const size_t cuts[] = { 0, 10, 16 + NOISE / 2, n - 1 };
        for (k = 0; k < 4; ++k) {
            size_t got;
            expect_shrunk(b, n, cuts[k], NOISE, "idx_shrink' (raw): ",
                          "expected 262144 data bytes at offset 16, got ");
            ck_assert_int_eq(sscanf(strstr(tg_last_error(), ", got ") + 6, "%zu", &got), 1);
            ck_assert_uint_lt(got, NOISE);
            if (cuts[k] > 16)
                ck_assert_uint_eq(got, cuts[k] - 16);
        }
    }
    /* gzip: to 0, inside the gzip header, mid-stream, without the last deflate byte; then
     * inside the trailer, the whole payload still there */
    {
        const size_t cuts[] = { 0, 5, gn / 2, gn - 9 };
        for (k = 0; k < 4; ++k)
            expect_shrunk(g, gn, cuts[k], NOISE, "idx_shrink' (gzip): expected 262144 data "
                          "bytes at offset 16, got ",
                          "(gzip stream ends early: unexpected end of file)");
        expect_shrunk(g, gn, gn - 4, NOISE, "idx_shrink' (gzip): gzip stream ends early after "
                      "the payload at offset 262160", "(missing CRC/size trailer)");
    }
    /* control: the same files, left whole, read back */
    write_bytes(tpath("shrink"), g, gn);
    ck_assert_int_eq(tg_idx_read(tpath("shrink"), NULL, &idx), TG_OK);
    ck_assert_mem_eq(idx.data, pay, NOISE);
    tg_idx_release(&idx);
    write_bytes(tpath("shrink"), b, n);
    ck_assert_int_eq(tg_idx_read(tpath("shrink"), NULL, &idx), TG_OK);
    ck_assert_mem_eq(idx.data, pay, NOISE);
    tg_idx_release(&idx);
    free(pay), free(b), free(g);
}
END_TEST

/* Row 65 for IDX loading: every allocation failing in turn gives TG_ERR_NOMEM, no leak. */
START_TEST(test_dataset_alloc_failures)
{
    unsigned char px[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, lb[2] = { 0, 1 };
    char im[PATH_MAX], la[PATH_MAX];
    tg_dataset ds;
    long k;
    snprintf(im, sizeof im, "%s", tpath("af-images"));
    snprintf(la, sizeof la, "%s", tpath("af-labels"));
    write_idx(im, 3, TG_IDX_U8, 3, (const uint32_t[]){ 2, 2, 2 }, px, 8);
    write_idx(la, -1, TG_IDX_U8, 1, (const uint32_t[]){ 2 }, lb, 2);
    for (k = 1;; ++k) {
        tg_status s;
        counting_on(k);
        s = tg_dataset_load(im, la, 10, 0, &ds);
        tg_set_allocator(NULL);
        if (s == TG_OK)
            break;
        ck_assert_int_eq(s, TG_ERR_NOMEM);
        ck_assert_ptr_null(ds.x);
        ck_assert(strstr(tg_last_error(), "allocate") != NULL);
    }
    ck_assert_int_eq(k, 7); /* images (zlib's state and window, the payload), labels, x,
                             * labels_f, then success */
    ck_assert_float_eq_tol(ds.x[7], 8.0f / 255.0f, 1e-7f);
    tg_dataset_release(&ds);
}
END_TEST

START_TEST(test_dataset_shift_errors)
{
    tg_dataset ds = { 0 };
    float x[4] = { 0.0f, 0.25f, 0.5f, 1.0f };
    ds.n = 2;
    ds.n_features = 2;
    ds.x = x;
    ck_assert_double_eq(tg_dataset_mean(&ds), 0.4375);
    ck_assert_int_eq(tg_dataset_shift(&ds, 0.25), TG_OK);
    ck_assert_float_eq(x[0], -0.25f);
    ck_assert_float_eq(x[3], 0.75f);
    tg_error_clear();
    ck_assert_int_eq(tg_dataset_shift(&ds, NAN), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "shift nan is not a finite value");
    ck_assert_float_eq(x[0], -0.25f);
    ck_assert_int_eq(tg_dataset_shift(NULL, 1.0), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "dataset_shift");
    ck_assert_double_eq(tg_dataset_mean(NULL), 0.0);
}
END_TEST

/* ---- pipeline ------------------------------------------------------------------------ */
enum { PN = 10, PF = 2, PC = 3 };
static float px_[PN * PF];
static uint8_t pl_[PN];
static float plf_[PN];

static tg_dataset toy(void)
{
    tg_dataset ds = { 0 };
    int i;
    for (i = 0; i < PN; ++i) {
        px_[i * PF] = (float)i;
        px_[i * PF + 1] = (float)i + 0.5f;
        pl_[i] = (uint8_t)(i % PC);
        plf_[i] = (float)pl_[i];
    }
    ds.n = PN;
    ds.n_features = PF;
    ds.n_classes = PC;
    ds.x = px_;
    ds.labels = pl_;
    ds.labels_f = plf_;
    return ds;
}

/* Checks that batch b holds records r0.. r0+n-1 of the toy set in order[]. */
static void check_rows(const tg_batch *b, const size_t *order)
{
    size_t r;
    int c;
    for (r = 0; r < b->n; ++r) {
        size_t k = order[r];
        ck_assert_uint_eq(b->records[r], k);
        ck_assert_float_eq(b->x[r * PF], (float)k);
        ck_assert_float_eq(b->x[r * PF + 1], (float)k + 0.5f);
        ck_assert_float_eq(b->labels[r], (float)(k % PC));
        for (c = 0; c < PC; ++c)
            ck_assert_float_eq(b->onehot[r * PC + c], (size_t)c == k % PC ? 1.0f : 0.0f);
    }
}

START_TEST(test_pipeline_in_order_with_remainder)
{
    tg_dataset ds = toy();
    tg_pipeline p;
    tg_batch b;
    tg_pipeline_opts o = { .batch = 4, .epochs = 2 };
    int e;
    ck_assert_int_eq(tg_pipeline_init(&p, &ds, &o), TG_OK);
    ck_assert_uint_eq(p.batches_per_epoch, 3);
    for (e = 0; e < 2; ++e) {
        ck_assert_int_eq(tg_pipeline_next(&p, &b), TG_OK);
        ck_assert_uint_eq(b.n, 4);
        ck_assert_int_eq(b.epoch, e);
        ck_assert_uint_eq(b.index, 0);
        ck_assert_int_eq(b.last_in_epoch, 0);
        check_rows(&b, (const size_t[]){ 0, 1, 2, 3 });
        ck_assert_int_eq(tg_pipeline_next(&p, &b), TG_OK);
        check_rows(&b, (const size_t[]){ 4, 5, 6, 7 });
        ck_assert_int_eq(tg_pipeline_next(&p, &b), TG_OK);
        ck_assert_uint_eq(b.n, 2);
        ck_assert_uint_eq(b.index, 2);
        ck_assert_int_eq(b.last_in_epoch, 1);
        check_rows(&b, (const size_t[]){ 8, 9 });
        /* rows past n are zero */
        ck_assert_float_eq(b.x[2 * PF], 0.0f);
        ck_assert_float_eq(b.onehot[3 * PC + 0], 0.0f);
        ck_assert_float_eq(b.labels[3], 0.0f);
    }
    ck_assert_int_eq(tg_pipeline_next(&p, &b), TG_OK);
    ck_assert_uint_eq(b.n, 0);
    ck_assert_int_eq(tg_pipeline_next(&p, &b), TG_OK);
    ck_assert_uint_eq(b.n, 0);
    tg_pipeline_release(&p);
}
END_TEST

START_TEST(test_pipeline_drop_remainder)
{
    tg_dataset ds = toy();
    tg_pipeline p;
    tg_batch b;
    tg_pipeline_opts o = { .batch = 4, .epochs = 3, .drop_remainder = 1 };
    int k = 0;
    ck_assert_int_eq(tg_pipeline_init(&p, &ds, &o), TG_OK);
    ck_assert_uint_eq(p.batches_per_epoch, 2);
    for (;;) {
        ck_assert_int_eq(tg_pipeline_next(&p, &b), TG_OK);
        if (!b.n)
            break;
        ck_assert_uint_eq(b.n, 4);
        ck_assert_int_eq(b.epoch, k / 2);
        ck_assert_int_eq(b.last_in_epoch, k % 2);
        check_rows(&b, k % 2 ? (const size_t[]){ 4, 5, 6, 7 } : (const size_t[]){ 0, 1, 2, 3 });
        ++k;
    }
    ck_assert_int_eq(k, 6);
    tg_pipeline_release(&p);
}
END_TEST

/* The test's own copy of xorshift64* and Fisher-Yates, to check the order by hand. */
static uint64_t xs(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static void expected_order(uint64_t *s, size_t *o)
{
    size_t i;
    for (i = 0; i < PN; ++i)
        o[i] = i;
    for (i = PN - 1; i > 0; --i) {
        size_t j = (size_t)((double)(xs(s) >> 11) * (1.0 / 9007199254740992.0) * (double)(i + 1));
        size_t t = o[i];
        o[i] = o[j];
        o[j] = t;
    }
}

START_TEST(test_pipeline_shuffle_deterministic)
{
    tg_dataset ds = toy();
    tg_pipeline p, q, r;
    tg_batch b, c;
    tg_pipeline_opts o = { .batch = 5, .epochs = 3, .shuffle = 1, .seed = 42 };
    size_t seen[3][PN], want[PN];
    uint64_t s = 42;
    int e, k, differ = 0;
    ck_assert_int_eq(tg_pipeline_init(&p, &ds, &o), TG_OK);
    ck_assert_int_eq(tg_pipeline_init(&q, &ds, &o), TG_OK);
    o.seed = 43;
    ck_assert_int_eq(tg_pipeline_init(&r, &ds, &o), TG_OK);
    for (e = 0; e < 3; ++e) {
        int mark[PN] = { 0 };
        for (k = 0; k < 2; ++k) {
            ck_assert_int_eq(tg_pipeline_next(&p, &b), TG_OK);
            ck_assert_int_eq(tg_pipeline_next(&q, &c), TG_OK);
            ck_assert_int_eq(b.epoch, e);
            ck_assert_uint_eq(b.n, 5);
            check_rows(&b, b.records);
            ck_assert_mem_eq(b.records, c.records, 5 * sizeof(size_t));
            ck_assert_mem_eq(b.x, c.x, 5 * PF * sizeof(float));
            memcpy(seen[e] + 5 * k, b.records, 5 * sizeof(size_t));
            ck_assert_int_eq(tg_pipeline_next(&r, &c), TG_OK);
            differ |= memcmp(b.records, c.records, 5 * sizeof(size_t)) != 0;
        }
        for (k = 0; k < PN; ++k)
            mark[seen[e][k]]++;
        for (k = 0; k < PN; ++k)
            ck_assert_int_eq(mark[k], 1); /* a permutation */
        expected_order(&s, want);
        ck_assert_mem_eq(seen[e], want, sizeof want);
    }
    ck_assert(differ);                                   /* another seed, other batches */
    ck_assert(memcmp(seen[0], seen[1], sizeof seen[0])); /* reshuffled each epoch */
    ck_assert(memcmp(seen[1], seen[2], sizeof seen[0]));
    tg_pipeline_rewind(&p);
    ck_assert_int_eq(tg_pipeline_next(&p, &b), TG_OK);
    ck_assert_mem_eq(b.records, seen[0], 5 * sizeof(size_t));
    tg_pipeline_release(&p);
    tg_pipeline_release(&q);
    tg_pipeline_release(&r);
}
END_TEST

/* Caller buffers are used as given; no allocation per batch; epochs 0 repeats forever. */
START_TEST(test_pipeline_caller_buffers_no_alloc)
{
    tg_dataset ds = toy();
    tg_pipeline p;
    tg_batch b;
    float x[3 * PF], oh[3 * PC];
    tg_pipeline_opts o = { .batch = 3, .epochs = 0, .shuffle = 1, .seed = 7, .x = x,
                           .onehot = oh };
    int k;
    counting_on(0);
    ck_assert_int_eq(tg_pipeline_init(&p, &ds, &o), TG_OK);
    ck_assert_int_eq(n_calls, 2); /* the permutation and the label buffer */
    ck_assert_uint_eq(max_req, PN * sizeof(size_t));
    n_calls = 0;
    for (k = 0; k < 100; ++k) {
        ck_assert_int_eq(tg_pipeline_next(&p, &b), TG_OK);
        ck_assert_ptr_eq(b.x, x);
        ck_assert_ptr_eq(b.onehot, oh);
        ck_assert_int_eq(b.epoch, k / 4);
        ck_assert_uint_eq(b.n, k % 4 == 3 ? 1 : 3);
        check_rows(&b, b.records);
    }
    ck_assert_int_eq(n_calls, 0);
    tg_pipeline_release(&p);
    tg_set_allocator(NULL);
}
END_TEST

START_TEST(test_pipeline_errors)
{
    tg_dataset ds = toy();
    tg_pipeline p;
    tg_batch b;
    tg_pipeline_opts o = { .batch = 0, .epochs = 1 };
    tg_error_clear();
    ck_assert_int_eq(tg_pipeline_init(&p, &ds, &o), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "batch 0 outside 1..10");
    o.batch = 11;
    ck_assert_int_eq(tg_pipeline_init(&p, &ds, &o), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "batch 11 outside 1..10");
    o.batch = 2;
    o.epochs = -1;
    ck_assert_int_eq(tg_pipeline_init(&p, &ds, &o), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "epochs -1 < 0");
    o.epochs = 1;
    pl_[6] = 3; /* a label no one-hot row has room for */
    ck_assert_int_eq(tg_pipeline_init(&p, &ds, &o), TG_ERR_RANGE);
    ck_assert_error(TG_ERR_RANGE, "label 3 at record 6 >= 3 classes");
    ck_assert_ptr_null(p.order);
    ck_assert_int_eq(tg_pipeline_next(&p, &b), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "pipeline_next");
    ck_assert_int_eq(tg_pipeline_init(&p, NULL, &o), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "data set or options is NULL");
    pl_[6] = 0;
    counting_on(1);
    ck_assert_int_eq(tg_pipeline_init(&p, &ds, &o), TG_ERR_NOMEM);
    counting_on(2);
    ck_assert_int_eq(tg_pipeline_init(&p, &ds, &o), TG_ERR_NOMEM);
    tg_set_allocator(NULL);
    ck_assert_error(TG_ERR_NOMEM, "cannot allocate buffers for batch 2");
    ck_assert_ptr_null(p.order);
}
END_TEST

Suite *suite_idx(void)
{
    Suite *s = suite_create("idx");
    TCase *tr = tcase_create("read"), *te = tcase_create("errors");
    TCase *tp = tcase_create("pipeline");
    tcase_add_test(tr, test_idx_raw_reads_back);
    tcase_add_test(tr, test_idx_gz_reads_back);
    tcase_add_test(tr, test_idx_multibyte_types);
    tcase_add_test(tr, test_idx_gz_members_and_header_fields);
    tcase_add_test(tr, test_idx_sniffs_content_not_name);
    tcase_add_test(tr, test_idx_mnist10k_loads);
    tcase_add_test(tr, test_mnist_load_raw_names_and_missing);
    tcase_add_test(tr, test_data_find);
    tcase_add_test(te, test_idx_missing_and_directory);
    tcase_add_test(te, test_idx_short_files);
    tcase_add_test(te, test_idx_bad_magic_type_ndims);
    tcase_add_test(te, test_idx_truncated_header);
    tcase_add_test(te, test_idx_zero_dim);
    tcase_add_test(te, test_idx_dims_overflow);
    tcase_add_test(te, test_idx_huge_declared_size);
    tcase_add_test(te, test_idx_every_truncation);
    tcase_add_test(te, test_idx_trailing_garbage);
    tcase_add_test(te, test_dataset_count_mismatch);
    tcase_add_test(te, test_dataset_label_out_of_range);
    tcase_add_test(te, test_idx_gz_truncated_stream);
    tcase_add_test(te, test_idx_gz_corrupt);
    tcase_add_test(te, test_idx_gz_bomb);
    tcase_add_test(te, test_idx_gz_big_trailer_cut);
    tcase_add_test(te, test_idx_gz_big_corrupt_trailer);
    tcase_add_test(te, test_idx_shrinks_while_read);
    tcase_add_test(te, test_dataset_alloc_failures);
    tcase_add_test(te, test_dataset_shift_errors);
    tcase_add_test(tp, test_pipeline_in_order_with_remainder);
    tcase_add_test(tp, test_pipeline_drop_remainder);
    tcase_add_test(tp, test_pipeline_shuffle_deterministic);
    tcase_add_test(tp, test_pipeline_caller_buffers_no_alloc);
    tcase_add_test(tp, test_pipeline_errors);
    suite_add_tcase(s, tr);
    suite_add_tcase(s, te);
    suite_add_tcase(s, tp);
    return s;
}
