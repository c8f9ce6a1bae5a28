/*
 * check_limits.c -- resource limits and the last rows of RELIABILITY.md: NaN/Inf in inputs
 * and initial weights (row 22), an output written over an input being read (row 63),
 * RLIMIT_AS (row 67), RLIMIT_NOFILE (row 68) and OpenBLAS thread counts (row 69).
 *
 * Limits are set in a child forked by the test itself, so that they never reach the rest of
 * the run, also under CK_FORK=no (the valgrind run). The child reports a failed check
 * through a pipe; the parent asserts on the child's exit status and prints the message.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* ASan reserves terabytes of shadow address space: RLIMIT_AS cannot be set under it. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static char *lpath(const char *name)
{
    static char buf[4][PATH_MAX];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, PATH_MAX, "%s/limits_%s", test_tmpdir(), name);
    return p;
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* Entries of /proc/self/fd (the directory's own descriptor included, the same each time). */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        ++n;
    closedir(d);
    return n;
}

/* ---- a child process for limits ------------------------------------------------------ */
/* A child check fills msg and returns non-zero on the first failed condition. */
typedef int (*child_fn)(char *msg, size_t len);

#define CHILD_CHECK(cond, ...)                                                            \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            int k_ = snprintf(msg, len, "line %d: ", __LINE__);                           \
            snprintf(msg + k_, len - (size_t)k_, __VA_ARGS__);                            \
            return 1;                                                                     \
        }                                                                                 \
    } while (0)

static void run_in_child(child_fn fn)
{
    char msg[2048] = "";
    size_t got = 0;
    ssize_t k;
    int p[2], st = 0;
    pid_t pid;
    ck_assert_int_eq(pipe(p), 0);
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int r;
        close(p[0]);
        r = fn(msg, sizeof msg);
        if (r && write(p[1], msg, strlen(msg)) < 0)
            r = 2;
        close(p[1]);
        exit(r); /* exit, not _exit: LSan checks the child too */
    }
    close(p[1]);
    while (got < sizeof msg - 1 && (k = read(p[0], msg + got, sizeof msg - 1 - got)) > 0)
        got += (size_t)k;
    msg[got] = '\0';
    close(p[0]);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child (status 0x%x): %s", st, msg);
}

/* ---- small fixtures ------------------------------------------------------------------ */
/* A graph with param "w" [2,3] = base + 0..5. */
static tg_graph *params_graph(float base, tg_tensor **w)
{
    static const int dims[2] = { 2, 3 };
    float v[6];
    tg_graph *g = tg_graph_new();
    int i;
    ck_assert_ptr_nonnull(g);
    *w = tg_param(g, "w", 2, dims);
    ck_assert_ptr_nonnull(*w);
    for (i = 0; i < 6; ++i)
        v[i] = base + (float)i;
    ck_assert_int_eq(tg_tensor_set(*w, v, 6), TG_OK);
    return g;
}

/* A raw IDX file: ubyte [3] = 7 8 9. */
static const unsigned char idx3[7] = { 0, 0, 0x08, 1, 0, 0, 0 };
static void write_idx(const char *path)
{
    unsigned char b[11];
    memcpy(b, idx3, 7);
    b[7] = 3, b[8] = 7, b[9] = 8, b[10] = 9;
    write_bytes(path, b, sizeof b);
}

/* ---- row 68: descriptor exhaustion --------------------------------------------------- */
/* Take free descriptors (dup of stderr) until EMFILE; returns how many, -1 if the limit
 * left more than max free. */
static int fill_fds(int *fill, int max)
{
    int n = 0;
    while (n < max && (fill[n] = dup(2)) >= 0)
        ++n;
    return n < max && errno == EMFILE ? n : -1;
}

static int child_nofile(char *msg, size_t len)
{
    tg_tensor *w, *v;
    tg_graph *g = params_graph(1.0f, &w), *h = params_graph(50.0f, &v);
    tg_tensor *ts[1] = { w }, *vs[1] = { v };
    struct rlimit lim;
    static int fill[1100];
    int n_fill, fds0, fds1, i, top = 0;
    tg_status s1, s2, s3;
    tg_idx idx;
    CHILD_CHECK(tg_params_save(lpath("nofile"), ts, 1) == TG_OK, "%s", tg_last_error());
    write_idx(lpath("nofile_idx"));
    fds0 = count_fds();
    /* RLIMIT_NOFILE = 16 (the catalogue's value), or just above the highest open fd (a
     * harness may pass one in at 251), then every free descriptor taken: opens get EMFILE */
    for (i = 0; i < 1024; ++i)
        if (fcntl(i, F_GETFD) != -1)
            top = i;
    CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &lim) == 0, "getrlimit: %s", strerror(errno));
    lim.rlim_cur = (rlim_t)(top + 1 > 16 ? top + 1 : 16); /* valgrind refuses a new max */
    CHILD_CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0, "setrlimit: %s", strerror(errno));
    n_fill = fill_fds(fill, 1100);
    CHILD_CHECK(n_fill >= 3, "dup: %d fds before EMFILE (%s)", n_fill, strerror(errno));
    tg_error_clear();
    s1 = tg_params_save(lpath("nofile"), vs, 1);
    CHILD_CHECK(s1 == TG_ERR_IO && strstr(tg_last_error(), "limits_nofile': cannot create a "
                "temp file in its directory: Too many open files"), "save: %d %s", s1,
                tg_last_error());
    s2 = tg_params_load(lpath("nofile"), vs, 1);
    CHILD_CHECK(s2 == TG_ERR_IO && strstr(tg_last_error(), "params_load: cannot open '") &&
                strstr(tg_last_error(), "limits_nofile': Too many open files"), "load: %d %s",
                s2, tg_last_error());
    CHILD_CHECK(v->data[0] == 50.0f && v->data[5] == 55.0f, "load changed the target");
    s3 = tg_idx_read(lpath("nofile_idx"), NULL, &idx);
    CHILD_CHECK(s3 == TG_ERR_IO && strstr(tg_last_error(), "idx: cannot open '") &&
                strstr(tg_last_error(), "limits_nofile_idx': Too many open files"),
                "idx: %d %s", s3, tg_last_error());
    CHILD_CHECK(idx.data == NULL, "idx output not zeroed");
    for (i = 0; i < n_fill; ++i)
        close(fill[i]);
    CHILD_CHECK(count_fds() == fds0, "fds %d after the failures, %d before", count_fds(), fds0);
    /* the failed save left the old file (w = 1..6) */
    CHILD_CHECK(tg_params_load(lpath("nofile"), vs, 1) == TG_OK, "%s", tg_last_error());
    CHILD_CHECK(v->data[0] == 1.0f && v->data[5] == 6.0f, "old file damaged");
    /* 1,000 cycles with only 3 free descriptors: one leaked fd per call would give EMFILE
     * within 3 calls */
    n_fill = fill_fds(fill, 1100);
    CHILD_CHECK(n_fill >= 3, "dup: %d fds before EMFILE (%s)", n_fill, strerror(errno));
    for (i = 1; i <= 3; ++i)
        close(fill[n_fill - i]);
    n_fill -= 3;
    for (i = 0; i < 1000; ++i) {
        w->data[0] = (float)i;
        CHILD_CHECK(tg_params_save(lpath("nofile"), ts, 1) == TG_OK, "cycle %d: %s", i,
                    tg_last_error());
        CHILD_CHECK(tg_params_load(lpath("nofile"), vs, 1) == TG_OK, "cycle %d: %s", i,
                    tg_last_error());
        CHILD_CHECK(v->data[0] == (float)i, "cycle %d: loaded %g", i, (double)v->data[0]);
        CHILD_CHECK(tg_idx_read(lpath("nofile_idx"), NULL, &idx) == TG_OK, "cycle %d: %s", i,
                    tg_last_error());
        CHILD_CHECK(((unsigned char *)idx.data)[2] == 9, "cycle %d: idx payload", i);
        tg_idx_release(&idx);
    }
    for (i = 0; i < n_fill; ++i)
        close(fill[i]);
    fds1 = count_fds();
    CHILD_CHECK(fds1 == fds0, "fds %d after 1,000 cycles, %d before", fds1, fds0);
    tg_graph_free(g);
    tg_graph_free(h);
    return 0;
}

/* Remove files named limits_<prefix>* in the test directory; returns how many. */
static int remove_stale(const char *prefix)
{
    DIR *d = opendir(test_tmpdir());
    struct dirent *e;
    char p[PATH_MAX + 300];
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "limits_", 7) && !strncmp(e->d_name + 7, prefix, strlen(prefix))) {
            snprintf(p, sizeof p, "%s/%s", test_tmpdir(), e->d_name);
            n += unlink(p) == 0;
        }
    closedir(d);
    return n;
}

START_TEST(test_limits_nofile_emfile_no_leak)
{
    int stale;
    run_in_child(child_nofile);
    /* No temp file is left: mkstemp fails before creating one. Valgrind is the exception: the
     * kernel creates the file under the real limit and valgrind then closes the fd and reports
     * EMFILE, so the library never learns the name. */
    stale = remove_stale("nofile.tmp.");
    if (!RUNNING_ON_VALGRIND)
        ck_assert_int_eq(stale, 0);
}
END_TEST

/* ---- row 67: address-space limit ----------------------------------------------------- */
static long vm_size_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static int child_as(char *msg, size_t len)
{
    char dir[PATH_MAX];
    struct rlimit lim;
    tg_dataset ds;
    tg_layer_spec big[2], small[2];
    tg_net *net;
    long vm = vm_size_kib();
    rlim_t cap = (rlim_t)256 << 20;
    int i;
    /* 256 MiB as the catalogue says, or 128 MiB above what is mapped already (OpenBLAS and
     * the libraries of the test program), whichever is larger */
    CHILD_CHECK(vm > 0, "no VmSize in /proc/self/status");
    if ((rlim_t)vm * 1024 + ((rlim_t)128 << 20) > cap)
        cap = (rlim_t)vm * 1024 + ((rlim_t)128 << 20);
    lim.rlim_cur = lim.rlim_max = cap;
    CHILD_CHECK(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit: %s", strerror(errno));
    /* the 8,000 training digits: 25 MB of floats, well inside the limit */
    snprintf(dir, sizeof dir, "%s/mnist-10k", test_shared_data());
    CHILD_CHECK(tg_mnist_load(dir, "train", &ds) == TG_OK, "%s", tg_last_error());
    CHILD_CHECK(ds.n == 8000 && ds.n_features == 784 && ds.labels[0] == 5 &&
                ds.labels[1] == 1, "n %zu, features %d", ds.n, ds.n_features);
    tg_dataset_release(&ds);
    /* 784-60000-10: 784*60000 + 60000 + 60000*10 + 10 = 47,700,010 parameters, 190.8 MB of
     * values and as much of gradients, more than the limit leaves */
    for (i = 0; i < 2; ++i) {
        memset(&big[i], 0, sizeof big[i]);
        big[i].activation = tg_activation_find(i ? "linear" : "tanh");
        big[i].weight_init.kind = TG_INIT_GLOROT_UNIFORM;
        big[i].bias_init.kind = TG_INIT_ZEROS;
        small[i] = big[i];
    }
    big[0].n_nodes = 60000, big[1].n_nodes = 10;
    small[0].n_nodes = 64, small[1].n_nodes = 10;
    tg_error_clear();
    net = tg_net_new(784, big, 2, 1);
    CHILD_CHECK(net == NULL && tg_last_status() == TG_ERR_NOMEM &&
                strstr(tg_last_error(), "net: out of memory for 2 layers (47700010 parameters)"),
                "big net: %d %s", tg_last_status(), tg_last_error());
    /* nothing half-built is left behind: a normal net still fits */
    net = tg_net_new(784, small, 2, 1);
    CHILD_CHECK(net != NULL, "small net: %s", tg_last_error());
    tg_net_free(net);
    return 0;
}

/* Skipped under ASan (its shadow memory needs terabytes of address space) and valgrind (its
 * own heap and the client's share the limit): there the limit would test the tool. */
START_TEST(test_limits_address_space)
{
    if (UNDER_ASAN || RUNNING_ON_VALGRIND) {
        fprintf(stderr, "test_limits_address_space: skipped under %s\n",
                UNDER_ASAN ? "AddressSanitizer" : "valgrind");
        return;
    }
    run_in_child(child_as);
}
END_TEST

/* ---- row 63: an output path that is an input being read ------------------------------ */
static unsigned char *slurp(int fd, size_t *n)
{
    unsigned char *b = NULL;
    size_t cap = 0;
    ssize_t k;
    *n = 0;
    do {
        if (*n == cap)
            b = realloc(b, cap = cap ? 2 * cap : 256);
        ck_assert_ptr_nonnull(b);
        k = read(fd, b + *n, cap - *n);
        ck_assert_int_ge(k, 0);
        *n += (size_t)k;
    } while (k > 0);
    return b;
}

/* Saving parameters (or DOT) to the path of an IDX file open for reading replaces the name
 * (temp file + rename): the reader's descriptor keeps reading the old bytes, in full. */
START_TEST(test_limits_output_over_open_input)
{
    tg_tensor *w, *v;
    tg_graph *g = params_graph(1.0f, &w), *h = params_graph(0.0f, &v);
    tg_tensor *ts[1] = { w }, *vs[1] = { v };
    unsigned char head[4], *rest;
    struct stat before, opened, after;
    size_t n;
    tg_idx idx;
    int fd, k;
    const char *p[2] = { lpath("over_params"), lpath("over_dot") };
    for (k = 0; k < 2; ++k) {
        write_idx(p[k]);
        ck_assert_int_eq(stat(p[k], &before), 0);
        fd = open(p[k], O_RDONLY);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(read(fd, head, 4), 4); /* mid-read */
        if (k == 0)
            ck_assert_int_eq(tg_params_save(p[k], ts, 1), TG_OK);
        else
            ck_assert_msg(tg_dot_write(g, p[k], NULL) == TG_OK, "%s", tg_last_error());
        rest = slurp(fd, &n);
        ck_assert_int_eq(fstat(fd, &opened), 0);
        close(fd);
        ck_assert_uint_eq(n, 7); /* dim, then 7 8 9: the old file, not truncated */
        ck_assert_int_eq(rest[3], 3);
        ck_assert_int_eq(rest[4], 7);
        ck_assert_int_eq(rest[6], 9);
        ck_assert_int_eq(opened.st_size, 11);
        ck_assert_uint_eq(opened.st_ino, before.st_ino);
        ck_assert_int_eq(stat(p[k], &after), 0);
        ck_assert_uint_ne(after.st_ino, before.st_ino); /* a new file under the name */
        free(rest);
        /* the name now holds the new output */
        ck_assert_int_eq(tg_idx_read(p[k], NULL, &idx), TG_ERR_FORMAT);
    }
    ck_assert_int_eq(tg_params_load(p[0], vs, 1), TG_OK);
    ck_assert_float_eq(v->data[5], 6.0f);
    tg_graph_free(g);
    tg_graph_free(h);
}
END_TEST

/* ---- row 22: NaN/Inf in the input batch and in initial weights ------------------------ */
START_TEST(test_limits_nonfinite_input_named)
{
    static const int dx[2] = { 2, 3 }, dw[2] = { 3, 2 };
    float xv[6] = { 1, 2, 3, 4, NAN, 6 };
    float wv[6] = { 1, 0, 0, 1, 1, 1 };
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 2, dx), *w = tg_param(g, "w", 2, dw), *y;
    ck_assert_int_eq(tg_tensor_set(x, xv, 6), TG_OK);
    ck_assert_int_eq(tg_tensor_set(w, wv, 6), TG_OK);
    tg_graph_set_check_numerics(g, 1);
    /* elementwise: the output index is the input's, x[1,1] = flat 4 */
    ck_assert_ptr_null(tg_tanh(g, x));
    ck_assert_error(TG_ERR_NONFINITE, "tanh (node 0)");
    ck_assert_error(TG_ERR_NONFINITE, "holds nan at index 4");
    ck_assert_int_eq(tg_graph_n_nodes(g), 0);
    /* matmul [2,3] x [3,2]: row 1 of the product holds the NaN, first at flat index 2 */
    ck_assert_ptr_null(tg_matmul(g, x, w, 0, 0));
    ck_assert_error(TG_ERR_NONFINITE, "matmul (node 0)");
    ck_assert_error(TG_ERR_NONFINITE, "[2,2] holds nan at index 2");
    /* a finite batch records the graph; then an Inf in the batch stops the replay */
    xv[4] = 5;
    ck_assert_int_eq(tg_tensor_set(x, xv, 6), TG_OK);
    y = tg_tanh(g, tg_matmul(g, x, w, 0, 0));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_graph_forward(g), TG_OK);
    xv[0] = INFINITY;
    ck_assert_int_eq(tg_tensor_set(x, xv, 6), TG_OK);
    ck_assert_int_eq(tg_graph_forward(g), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "matmul (node 0)");
    ck_assert_error(TG_ERR_NONFINITE, "holds inf at index 0");
    /* NaN in the initial weights: w[2,0] (flat 4) feeds column 0, first at index 0 */
    xv[0] = 1;
    wv[4] = NAN;
    ck_assert_int_eq(tg_tensor_set(x, xv, 6), TG_OK);
    ck_assert_int_eq(tg_tensor_set(w, wv, 6), TG_OK);
    ck_assert_int_eq(tg_graph_forward(g), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "matmul (node 0)");
    ck_assert_error(TG_ERR_NONFINITE, "holds nan at index 0");
    tg_graph_free(g);
}
END_TEST

/* The same through a net: a NaN weight from "initialisation", then a NaN pixel. */
START_TEST(test_limits_nonfinite_net_weights_and_batch)
{
    tg_layer_spec l[2];
    tg_net *net;
    tg_net_graph *ng;
    float x[2 * 4], y[2] = { 0, 1 };
    int i;
    for (i = 0; i < 2; ++i) {
        memset(&l[i], 0, sizeof l[i]);
        l[i].activation = tg_activation_find(i ? "linear" : "tanh");
        l[i].weight_init.kind = TG_INIT_GLOROT_UNIFORM;
        l[i].bias_init.kind = TG_INIT_ZEROS;
    }
    l[0].n_nodes = 3, l[1].n_nodes = 2;
    for (i = 0; i < 8; ++i)
        x[i] = 0.1f * (float)(i + 1);
    net = tg_net_new(4, l, 2, 7);
    ck_assert_ptr_nonnull(net);
    ng = tg_net_graph_new(net, 2, &tg_loss_softmax_xent_sum);
    ck_assert_ptr_nonnull(ng);
    ck_assert_int_eq(tg_net_graph_bind(ng, x, y), TG_OK);
    ck_assert_int_eq(tg_graph_forward(tg_net_graph_tape(ng)), TG_OK);
    /* w1 [3,4]: entry [1,2] NaN spoils unit 1 of both rows; z1 [2,3] first at index 1 */
    tg_net_weight(net, 0)[1 * 4 + 2] = NAN;
    ck_assert_int_eq(tg_graph_forward(tg_net_graph_tape(ng)), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "'z1' [2,3] holds nan at index 1");
    ck_assert_int_eq(tg_net_init_params(net, 7), TG_OK);
    ck_assert_int_eq(tg_graph_forward(tg_net_graph_tape(ng)), TG_OK);
    /* pixel x[1,3] = -Inf: row 1 of z1, first at index 3 */
    x[7] = -INFINITY;
    ck_assert_int_eq(tg_graph_forward(tg_net_graph_tape(ng)), TG_ERR_NONFINITE);
    ck_assert_error(TG_ERR_NONFINITE, "'z1' [2,3] holds");
    ck_assert_error(TG_ERR_NONFINITE, "at index 3");
    tg_net_graph_free(ng);
    tg_net_free(net);
}
END_TEST

/* ---- row 69: OpenBLAS thread counts -------------------------------------------------- */
enum { T_B = 30, T_STEPS = 50, T_BATCHES = 5 };

typedef struct {
    float *x, *y;                /* T_BATCHES batches of T_B rows */
    long next;
} synth_src;

static tg_status synth_next(void *p, tg_batch *b)
{
    synth_src *s = p;
    long k = s->next++ % T_BATCHES;
    b->n = T_B;
    b->epoch = 0;
    b->x = s->x + (size_t)k * T_B * 784;
    b->labels = s->y + (size_t)k * T_B;
    b->onehot = NULL;
    return TG_OK;
}

static tg_status record_loss(const tg_train_progress *p, void *user)
{
    ((double *)user)[p->step] = p->loss;
    return TG_OK;
}

/* 50 SGD steps of a 784-64-10 tanh net on synthetic data, losses into loss[50]. */
static void train_synth(double *loss)
{
    tg_layer_spec l[2];
    synth_src src = { 0 };
    tg_net *net;
    tg_net_graph *ng;
    tg_optim *opt;
    tg_train_opts to = tg_train_defaults();
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_SGD, 0.01);
    tg_train_result res;
    uint64_t rng = 69;
    size_t i;
    for (i = 0; i < 2; ++i) {
        memset(&l[i], 0, sizeof l[i]);
        l[i].activation = tg_activation_find(i ? "linear" : "tanh");
        l[i].weight_init.kind = TG_INIT_GLOROT_UNIFORM;
        l[i].bias_init.kind = TG_INIT_ZEROS;
    }
    l[0].n_nodes = 64, l[1].n_nodes = 10;
    src.x = malloc(sizeof(float) * T_BATCHES * T_B * 784);
    src.y = malloc(sizeof(float) * T_BATCHES * T_B);
    ck_assert(src.x && src.y);
    for (i = 0; i < (size_t)T_BATCHES * T_B; ++i) {
        size_t j;
        int c = (int)(i % 10);
        src.y[i] = (float)c;
        for (j = 0; j < 784; ++j)  /* class c brightens pixels j = c mod 10 */
            src.x[i * 784 + j] = (float)tg_rand_uniform(&rng, 0, 0.5) + (j % 10 == (size_t)c);
    }
    net = tg_net_new(784, l, 2, 69);
    ng = tg_net_graph_new(net, T_B, &tg_loss_softmax_xent_sum);
    opt = tg_optim_new_net(&oo, net);
    ck_assert(net && ng && opt);
    to.max_steps = T_STEPS;
    to.progress = record_loss;
    to.progress_user = loss;
    ck_assert_msg(tg_train(ng, opt, synth_next, &src, &to, &res) == TG_OK, "%s", tg_last_error());
    ck_assert_int_eq(res.steps, T_STEPS);
    tg_optim_free(opt);
    tg_net_graph_free(ng);
    tg_net_free(net);
    free(src.x);
    free(src.y);
}

/* One and two OpenBLAS threads may split GEMM sums differently, so losses may differ in the
 * last bits; they must agree within a relative 1e-4 over 50 steps, and training works in both.
 * (OpenBLAS 0.3.21 splits the output into blocks, not the K sums: here they are bitwise equal,
 * but that is not promised.) */
START_TEST(test_limits_threads_agree)
{
    double one[T_STEPS], two[T_STEPS];
    int prev = tg_threads(), i;
    ck_assert_int_eq(tg_set_threads(1), TG_OK);
    ck_assert_int_eq(tg_threads(), 1);
    train_synth(one);
    ck_assert_int_eq(tg_set_threads(2), TG_OK);
    ck_assert_int_eq(tg_threads(), 2);
    train_synth(two);
    ck_assert_int_eq(tg_set_threads(prev), TG_OK);
    for (i = 0; i < T_STEPS; ++i) {
        double d = fabs(one[i] - two[i]) / fmax(1.0, fabs(one[i]));
        ck_assert_msg(isfinite(one[i]) && d <= 1e-4, "step %d: %.9g vs %.9g", i, one[i],
                      two[i]);
    }
    ck_assert_double_lt(one[T_STEPS - 1], 0.5 * one[0]); /* it learned */
    ck_assert_int_eq(tg_set_threads(0), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "set_threads: 0 threads");
}
END_TEST

Suite *suite_limits(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("resources");
    tcase_add_test(tc, test_limits_nofile_emfile_no_leak);
    tcase_add_test(tc, test_limits_address_space);
    tcase_add_test(tc, test_limits_output_over_open_input);
    tcase_add_test(tc, test_limits_threads_agree);
    suite_add_tcase(s, tc);
    tc = tcase_create("numerics");
    tcase_add_test(tc, test_limits_nonfinite_input_named);
    tcase_add_test(tc, test_limits_nonfinite_net_weights_and_batch);
    suite_add_tcase(s, tc);
    return s;
}
