/*
 * blas.c -- matrix products: matmul and linear, and tgi_sgemm, the only caller of
 * cblas_sgemm. Shapes: B batch, I in, O out; M, K, N for a general product.
 *
 * matmul  y[M,N] = op(a) op(b), op = transpose when flagged
 * linear  y[B,O] = x[B,I] w[O,I]^T + b[O];  dx = dy w;  dw = dy^T x;  db = sum_rows dy
 * Backward passes beta = 0 when the engine lets an op assign a fresh gradient (accum[k] = 0),
 * which saves zeroing the gradient first. A linear node whose user pointer is an int flag set
 * to nonzero (the net builder's fused SGD step, ops_internal.h) computes dx only: its caller
 * applies dw and db to the parameters itself.
 */
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#undef I /* complex.h (pulled in by cblas.h) defines I; here it is the input width */
#include "ops_internal.h"

/* Products below this many multiply-adds run on one thread whatever tg_set_threads said:
 * splitting them cost more than it saved (mid-4's 2-6 M were 12% slower on two threads,
 * wide-2's 48-126 M 38% faster; docs/performance.md). */
#define SPLIT_MACS 16777216.0

void tgi_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
               int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    const int threads = openblas_get_num_threads();
    const int one = threads > 1 && (double)M * N * K < SPLIT_MACS;
    if (one)
        openblas_set_num_threads(1);
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C,
                ldc);
    if (one)
        openblas_set_num_threads(threads);
}

TGI_CLONES void tgi_sum_rows(const float *dy, int B, int O, float scale, int accum, float *db)
{
    int r, o;
    if (!accum)
        memset(db, 0, (size_t)O * sizeof(float));
    for (r = 0; r < B; ++r) {
        const float *row = dy + (size_t)r * O;
        TGI_IVDEP for (o = 0; o < O; ++o)
            db[o] += scale * row[o];
    }
}

/* The library's default: one OpenBLAS thread, set once when the library is loaded, unless the
 * environment already chose (OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS, OMP_NUM_THREADS). With
 * batch 30, two threads made mid-4, deep-16 and relu-10 slower every time (relu-10 40x while
 * other processes held the cores) and wide-2 faster only while the other core was idle
 * (docs/performance.md). tg_set_threads raises it for big products; smaller ones stay on one
 * thread (tgi_sgemm). */
#if defined(__GNUC__)
__attribute__((constructor)) static void threads_default(void)
{
    if (!getenv("OPENBLAS_NUM_THREADS") && !getenv("GOTO_NUM_THREADS") &&
        !getenv("OMP_NUM_THREADS"))
        openblas_set_num_threads(1);
}
#endif

tg_status tg_set_threads(int n)
{
    if (n < 1)
        return tg_error_set(TG_ERR_ARG, "set_threads: %d threads (need >= 1)", n);
    openblas_set_num_threads(n);
    return TG_OK;
}

int tg_threads(void) { return openblas_get_num_threads(); }

/* ---- matmul ------------------------------------------------------------------------------ */
static const tg_matmul_args no_trans = { 0, 0 };

static const tg_matmul_args *mm_args(const tg_node *n)
{
    return n->args ? (const tg_matmul_args *)n->args : &no_trans;
}

static tg_status matmul_shape(tg_node *n)
{
    const tg_matmul_args *a = mm_args(n);
    const tg_tensor *x = n->in[0], *y = n->in[1];
    char dx[TGI_DESC_LEN], dy[TGI_DESC_LEN];
    int M, K, K2, N;
    if (x->rank != 2 || y->rank != 2)
        return tg_error_set(TG_ERR_SHAPE, "matmul: %s x %s: both must be 2-D",
                            tgi_desc(x, dx), tgi_desc(y, dy));
    M = a->trans_a ? x->shape[1] : x->shape[0];
    K = a->trans_a ? x->shape[0] : x->shape[1];
    K2 = a->trans_b ? y->shape[1] : y->shape[0];
    N = a->trans_b ? y->shape[0] : y->shape[1];
    if (K != K2)
        return tg_error_set(TG_ERR_SHAPE, "matmul: inner dims %d vs %d (%s%s x %s%s)", K, K2,
                            tgi_desc(x, dx), a->trans_a ? "^T" : "", tgi_desc(y, dy),
                            a->trans_b ? "^T" : "");
    return tg_node_set_shape(n, 2, (const int[]){ M, N });
}

static tg_status matmul_forward(tg_node *n)
{
    const tg_matmul_args *a = mm_args(n);
    const tg_tensor *x = n->in[0], *y = n->in[1];
    int M = n->out->shape[0], N = n->out->shape[1];
    int K = a->trans_a ? x->shape[0] : x->shape[1];
    tgi_sgemm(a->trans_a, a->trans_b, M, N, K, 1.0f, x->data, x->shape[1], y->data,
              y->shape[1], 0.0f, n->out->data, N);
    return TG_OK;
}

static tg_status matmul_backward(tg_node *n)
{
    const tg_matmul_args *a = mm_args(n);
    tg_tensor *x = n->in[0], *y = n->in[1];
    const float *dz = n->out->grad;
    int M = n->out->shape[0], N = n->out->shape[1];
    int K = a->trans_a ? x->shape[0] : x->shape[1];
    if (x->grad) {
        float beta = n->accum[0] ? 1.0f : 0.0f;
        if (!a->trans_a) /* dx[M,K] = dz op(y)^T */
            tgi_sgemm(0, !a->trans_b, M, K, N, 1.0f, dz, N, y->data, y->shape[1], beta,
                      x->grad, K);
        else             /* dx[K,M] = op(y) dz^T */
            tgi_sgemm(a->trans_b, 1, K, M, N, 1.0f, y->data, y->shape[1], dz, N, beta,
                      x->grad, M);
    }
    if (y->grad) {
        float beta = n->accum[1] ? 1.0f : 0.0f;
        if (!a->trans_b) /* dy[K,N] = op(x)^T dz */
            tgi_sgemm(!a->trans_a, 0, K, N, M, 1.0f, x->data, x->shape[1], dz, N, beta,
                      y->grad, N);
        else             /* dy[N,K] = dz^T op(x) */
            tgi_sgemm(1, a->trans_a, N, K, M, 1.0f, dz, N, x->data, x->shape[1], beta,
                      y->grad, K);
    }
    return TG_OK;
}

const tg_op_def tg_op_matmul = { "matmul", 2, TG_OP_GRAD_ASSIGN, matmul_shape, matmul_forward,
                                 matmul_backward,
    sizeof(tg_matmul_args) };

tg_tensor *tg_matmul(tg_graph *g, tg_tensor *a, tg_tensor *b, int trans_a, int trans_b)
{
    tg_matmul_args args = { trans_a != 0, trans_b != 0 };
    return TGI_APPLY2A(g, tg_op_matmul, a, b, &args);
}

/* ---- linear ------------------------------------------------------------------------------ */
static tg_status linear_shape(tg_node *n)
{
    const tg_tensor *x = n->in[0], *w = n->in[1], *b = n->n_in > 2 ? n->in[2] : NULL;
    char dx[TGI_DESC_LEN], dw[TGI_DESC_LEN], db[TGI_DESC_LEN];
    if (n->n_in < 2 || n->n_in > 3)
        return tg_error_set(TG_ERR_ARG, "linear: takes x, w and optionally b; given %d inputs",
                            n->n_in);
    if (x->rank != 2 || w->rank != 2)
        return tg_error_set(TG_ERR_SHAPE, "linear: x %s and w %s must be 2-D",
                            tgi_desc(x, dx), tgi_desc(w, dw));
    if (x->shape[1] != w->shape[1])
        return tg_error_set(TG_ERR_SHAPE, "linear: x %s has %d columns but w %s expects %d "
                            "inputs (w is [out,in])", tgi_desc(x, dx), x->shape[1],
                            tgi_desc(w, dw), w->shape[1]);
    if (b && !(b->size == (size_t)w->shape[0] && (b->rank == 1 || (b->rank == 2 &&
                                                                   b->shape[0] == 1))))
        return tg_error_set(TG_ERR_SHAPE, "linear: bias %s must be [%d] to match w %s",
                            tgi_desc(b, db), w->shape[0], tgi_desc(w, dw));
    return tg_node_set_shape(n, 2, (const int[]){ x->shape[0], w->shape[0] });
}

static tg_status linear_forward(tg_node *n)
{
    const tg_tensor *x = n->in[0], *w = n->in[1], *b = n->n_in > 2 ? n->in[2] : NULL;
    int B = x->shape[0], I = x->shape[1], O = w->shape[0], r;
    float *y = n->out->data;
    if (b)
        for (r = 0; r < B; ++r)
            memcpy(y + (size_t)r * O, b->data, (size_t)O * sizeof(float));
    tgi_sgemm(0, 1, B, O, I, 1.0f, x->data, I, w->data, I, b ? 1.0f : 0.0f, y, O);
    return TG_OK;
}

static tg_status linear_backward(tg_node *n)
{
    tg_tensor *x = n->in[0], *w = n->in[1], *b = n->n_in > 2 ? n->in[2] : NULL;
    int B = x->shape[0], I = x->shape[1], O = w->shape[0];
    const float *dy = n->out->grad;
    const int *deferred = n->user;
    if (x->grad) /* dx[B,I] = dy[B,O] w[O,I] */
        tgi_sgemm(0, 0, B, I, O, 1.0f, dy, O, w->data, I, n->accum[0] ? 1.0f : 0.0f, x->grad,
                  I);
    if (deferred && *deferred)
        return TG_OK;
    if (w->grad) /* dw[O,I] = dy^T x */
        tgi_sgemm(1, 0, O, I, B, 1.0f, dy, O, x->data, I, n->accum[1] ? 1.0f : 0.0f, w->grad,
                  I);
    if (b && b->grad)
        tgi_sum_rows(dy, B, O, 1.0f, n->accum[2], b->grad);
    return TG_OK;
}

const tg_op_def tg_op_linear = { "linear", -1, TG_OP_GRAD_ASSIGN, linear_shape, linear_forward,
                                 linear_backward };

tg_tensor *tg_linear(tg_graph *g, tg_tensor *x, tg_tensor *w, tg_tensor *b)
{
    if (b)
        return tg_apply(g, &tg_op_linear, (tg_tensor *const[]){ x, w, b }, 3, NULL, 0, NULL);
    return tg_apply(g, &tg_op_linear, (tg_tensor *const[]){ x, w }, 2, NULL, 0, NULL);
}
