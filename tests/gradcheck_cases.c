/*
 * gradcheck_cases.c -- the gradient-check table: rows of (op, input shapes, args, input range,
 * kink distance, tolerance), at least one per built-in op, run through the public
 * tg_gradcheck_op by check_grad.c.
 *
 * tg_gradcheck_op takes central differences of f = sum(w * out) in double, step
 * h = 1e-3 max(1, |x|), against the float backward. Error budget per element:
 *   round-off   each output is rounded to float (relative 6e-8), so the difference carries
 *               about 6e-8 |f_j| / h = 6e-5 |f_j|, f_j the part of f that moves with x_j;
 *   truncation  h^2 |f'''| / 6, zero for (piecewise) linear ops, <= 1e-5 for the smooth ones
 *               on the ranges below.
 * A check passes when |analytic - numeric| <= atol + rtol |numeric|.
 */
#include <math.h>
#include "tests.h"

/* How an input is filled. The op under test sees only these values. */
enum {
    U,      /* uniform in [lo, hi), redrawn if closer than `kink` to 0 */
    POS,    /* uniform in [0.5, 2): log, sqrt, pow domains */
    NZ,     /* +-[0.5, 2): denominators */
    SPREAD, /* distinct values 0.05 apart, shuffled: max_axis without near-ties (>= 10 h) */
    LABEL,  /* integer classes 0..C-1 of input 0's last dim; not checked (no gradient) */
    PROB    /* rows of a probability distribution over input 0's last dim; not checked */
};

typedef struct {
    const tg_op_def *op;
    const char *what;
    int n_in;
    int rank[3];
    int shape[3][TG_MAX_RANK];
    int kind[3];
    const void *args;
    size_t args_size;
    double lo, hi, kink;
    double atol, rtol;
} gc_case;

#define OP(name) &tg_op_##name
#define ARGS(T, ...) &(T){ __VA_ARGS__ }, sizeof(T)
#define NOARGS NULL, 0
#define RANGE(lo, hi) lo, hi, 0.0
/* relu, abs, leaky_relu, elu: inputs kept 0.05 from the kink at 0, more than 10 h for |x| <= 2 */
#define KINKED(lo, hi) lo, hi, 0.05

/* (Piecewise) linear ops: no truncation; round-off 6e-5 per unit of |f_j|, |f_j| <= ~3. */
#define TOL_LINEAR 3e-4, 1e-3
/* Smooth ops: truncation <= 1e-5 on these ranges, round-off as above. */
#define TOL_SMOOTH 5e-4, 2e-3
/* Products and reductions: f_j sums up to ~10 rounded outputs (matmul rows, sums, losses
 * with TG_REDUCE_SUM), so round-off grows to about 6e-5 * 10. */
#define TOL_SUMS 1e-3, 2e-3

static const gc_case cases[] = {
    /* ---- linear algebra ---- */
    { OP(matmul), "[3,4] x [4,5]", 2, { 2, 2 }, { { 3, 4 }, { 4, 5 } }, { U, U },
      ARGS(tg_matmul_args, 0, 0), RANGE(-1, 1), TOL_SUMS },
    { OP(matmul), "[3,4] x [5,4]^T", 2, { 2, 2 }, { { 3, 4 }, { 5, 4 } }, { U, U },
      ARGS(tg_matmul_args, 0, 1), RANGE(-1, 1), TOL_SUMS },
    { OP(matmul), "[4,3]^T x [4,5]", 2, { 2, 2 }, { { 4, 3 }, { 4, 5 } }, { U, U },
      ARGS(tg_matmul_args, 1, 0), RANGE(-1, 1), TOL_SUMS },
    { OP(matmul), "[4,3]^T x [5,4]^T", 2, { 2, 2 }, { { 4, 3 }, { 5, 4 } }, { U, U },
      ARGS(tg_matmul_args, 1, 1), RANGE(-1, 1), TOL_SUMS },
    { OP(matmul), "[2,7] x [7,1]", 2, { 2, 2 }, { { 2, 7 }, { 7, 1 } }, { U, U },
      ARGS(tg_matmul_args, 0, 0), RANGE(-1, 1), TOL_SUMS },
    { OP(linear), "x [4,3] w [5,3] b [5]", 3, { 2, 2, 1 }, { { 4, 3 }, { 5, 3 }, { 5 } },
      { U, U, U }, NOARGS, RANGE(-1, 1), TOL_SUMS },
    { OP(linear), "x [2,6] w [3,6] b [1,3]", 3, { 2, 2, 2 }, { { 2, 6 }, { 3, 6 }, { 1, 3 } },
      { U, U, U }, NOARGS, RANGE(-1, 1), TOL_SUMS },
    { OP(linear), "x [4,3] w [5,3], no bias", 2, { 2, 2 }, { { 4, 3 }, { 5, 3 } }, { U, U },
      NOARGS, RANGE(-1, 1), TOL_SUMS },

    /* ---- binary elementwise, with every broadcast ---- */
    { OP(add), "[3,4] + [3,4]", 2, { 2, 2 }, { { 3, 4 }, { 3, 4 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_LINEAR },
    { OP(add), "[3,4] + row [4]", 2, { 2, 1 }, { { 3, 4 }, { 4 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_LINEAR },
    { OP(add), "row [1,4] + [2,3,4]", 2, { 2, 3 }, { { 1, 4 }, { 2, 3, 4 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_LINEAR },
    { OP(add), "[3,4] + scalar []", 2, { 2, 0 }, { { 3, 4 }, { 0 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_LINEAR },
    { OP(add), "scalar [1] + [2,3]", 2, { 1, 2 }, { { 1 }, { 2, 3 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_LINEAR },
    { OP(sub), "[2,5] - [2,5]", 2, { 2, 2 }, { { 2, 5 }, { 2, 5 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_LINEAR },
    { OP(sub), "[3,4] - row [4]", 2, { 2, 1 }, { { 3, 4 }, { 4 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_LINEAR },
    { OP(sub), "row [4] - [3,4]", 2, { 1, 2 }, { { 4 }, { 3, 4 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_LINEAR },
    { OP(sub), "[3,4] - scalar []", 2, { 2, 0 }, { { 3, 4 }, { 0 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_LINEAR },
    { OP(sub), "scalar [] - [6]", 2, { 0, 1 }, { { 0 }, { 6 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_LINEAR },
    { OP(mul), "[3,4] * [3,4]", 2, { 2, 2 }, { { 3, 4 }, { 3, 4 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_LINEAR },
    { OP(mul), "[3,4] * row [1,4]", 2, { 2, 2 }, { { 3, 4 }, { 1, 4 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_SUMS },
    { OP(mul), "row [4] * [2,3,4]", 2, { 1, 3 }, { { 4 }, { 2, 3, 4 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_SUMS },
    { OP(mul), "[3,4] * scalar []", 2, { 2, 0 }, { { 3, 4 }, { 0 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_SUMS },
    { OP(mul), "scalar [1] * [5]", 2, { 1, 1 }, { { 1 }, { 5 } }, { U, U }, NOARGS,
      RANGE(-2, 2), TOL_SUMS },
    { OP(div), "[3,4] / [3,4]", 2, { 2, 2 }, { { 3, 4 }, { 3, 4 } }, { U, NZ }, NOARGS,
      RANGE(-2, 2), TOL_SMOOTH },
    { OP(div), "[3,4] / row [4]", 2, { 2, 1 }, { { 3, 4 }, { 4 } }, { U, NZ }, NOARGS,
      RANGE(-2, 2), TOL_SUMS },
    { OP(div), "row [1,4] / [3,4]", 2, { 2, 2 }, { { 1, 4 }, { 3, 4 } }, { U, NZ }, NOARGS,
      RANGE(-2, 2), TOL_SUMS },
    { OP(div), "[3,4] / scalar []", 2, { 2, 0 }, { { 3, 4 }, { 0 } }, { U, NZ }, NOARGS,
      RANGE(-2, 2), TOL_SUMS },
    { OP(div), "scalar [] / [5]", 2, { 0, 1 }, { { 0 }, { 5 } }, { U, NZ }, NOARGS,
      RANGE(-2, 2), TOL_SUMS },

    /* ---- unary elementwise ---- */
    { OP(scale), "-1.7 x [3,4]", 1, { 2 }, { { 3, 4 } }, { U }, ARGS(tg_float_arg, -1.7f),
      RANGE(-2, 2), TOL_LINEAR },
    { OP(scale), "no args: 1 x [5]", 1, { 1 }, { { 5 } }, { U }, NOARGS, RANGE(-2, 2),
      TOL_LINEAR },
    { OP(shift), "x + 0.3 [2,3,2]", 1, { 3 }, { { 2, 3, 2 } }, { U }, ARGS(tg_float_arg, 0.3f),
      RANGE(-2, 2), TOL_LINEAR },
    { OP(shift), "x - 1.25 []", 1, { 0 }, { { 0 } }, { U }, ARGS(tg_float_arg, -1.25f),
      RANGE(-2, 2), TOL_LINEAR },
    { OP(neg), "[4,3]", 1, { 2 }, { { 4, 3 } }, { U }, NOARGS, RANGE(-2, 2), TOL_LINEAR },
    { OP(neg), "[5]", 1, { 1 }, { { 5 } }, { U }, NOARGS, RANGE(-2, 2), TOL_LINEAR },
    { OP(exp), "[3,4] in [-2,2)", 1, { 2 }, { { 3, 4 } }, { U }, NOARGS, RANGE(-2, 2),
      TOL_SMOOTH },
    { OP(exp), "[] scalar", 1, { 0 }, { { 0 } }, { U }, NOARGS, RANGE(-2, 2), TOL_SMOOTH },
    { OP(log), "[3,4] in [0.5,2)", 1, { 2 }, { { 3, 4 } }, { POS }, NOARGS, RANGE(0, 0),
      TOL_SMOOTH },
    { OP(log), "[2,3,2] in [0.5,2)", 1, { 3 }, { { 2, 3, 2 } }, { POS }, NOARGS, RANGE(0, 0),
      TOL_SMOOTH },
    { OP(sqrt), "[3,4] in [0.5,2)", 1, { 2 }, { { 3, 4 } }, { POS }, NOARGS, RANGE(0, 0),
      TOL_SMOOTH },
    { OP(sqrt), "[7] in [0.5,2)", 1, { 1 }, { { 7 } }, { POS }, NOARGS, RANGE(0, 0),
      TOL_SMOOTH },
    { OP(square), "[3,4]", 1, { 2 }, { { 3, 4 } }, { U }, NOARGS, RANGE(-2, 2), TOL_SMOOTH },
    { OP(square), "[] scalar", 1, { 0 }, { { 0 } }, { U }, NOARGS, RANGE(-2, 2), TOL_SMOOTH },
    { OP(abs), "[3,4], 0.05 from 0", 1, { 2 }, { { 3, 4 } }, { U }, NOARGS, KINKED(-2, 2),
      TOL_LINEAR },
    { OP(abs), "[2,2,2], 0.05 from 0", 1, { 3 }, { { 2, 2, 2 } }, { U }, NOARGS,
      KINKED(-2, 2), TOL_LINEAR },
    { OP(pow), "x^2.5 [3,4] in [0.5,2)", 1, { 2 }, { { 3, 4 } }, { POS },
      ARGS(tg_float_arg, 2.5f), RANGE(0, 0), TOL_SMOOTH },
    { OP(pow), "x^3 [6] in [-2,2)", 1, { 1 }, { { 6 } }, { U }, ARGS(tg_float_arg, 3.0f),
      RANGE(-2, 2), TOL_SMOOTH },
    { OP(pow), "x^-1.5 [2,2] in [0.5,2)", 1, { 2 }, { { 2, 2 } }, { POS },
      ARGS(tg_float_arg, -1.5f), RANGE(0, 0), TOL_SMOOTH },

    /* ---- activations ---- */
    { OP(tanh), "[3,4]", 1, { 2 }, { { 3, 4 } }, { U }, NOARGS, RANGE(-3, 3), TOL_SMOOTH },
    { OP(tanh), "[7]", 1, { 1 }, { { 7 } }, { U }, NOARGS, RANGE(-3, 3), TOL_SMOOTH },
    { OP(sigmoid), "[3,4] in [-6,6)", 1, { 2 }, { { 3, 4 } }, { U }, NOARGS, RANGE(-6, 6),
      TOL_SMOOTH },
    { OP(sigmoid), "[2,2,3] in [-2,2)", 1, { 3 }, { { 2, 2, 3 } }, { U }, NOARGS,
      RANGE(-2, 2), TOL_SMOOTH },
    { OP(relu), "[3,4], 0.05 from 0", 1, { 2 }, { { 3, 4 } }, { U }, NOARGS, KINKED(-2, 2),
      TOL_LINEAR },
    { OP(relu), "[1,9], 0.05 from 0", 1, { 2 }, { { 1, 9 } }, { U }, NOARGS, KINKED(-2, 2),
      TOL_LINEAR },
    { OP(leaky_relu), "alpha 0.1 [3,4]", 1, { 2 }, { { 3, 4 } }, { U },
      ARGS(tg_float_arg, 0.1f), KINKED(-2, 2), TOL_LINEAR },
    { OP(leaky_relu), "no args: alpha 0.01 [6]", 1, { 1 }, { { 6 } }, { U }, NOARGS,
      KINKED(-2, 2), TOL_LINEAR },
    { OP(elu), "alpha 1.3 [3,4]", 1, { 2 }, { { 3, 4 } }, { U }, ARGS(tg_float_arg, 1.3f),
      KINKED(-2, 2), TOL_SMOOTH },
    { OP(elu), "no args: alpha 1 [2,3]", 1, { 2 }, { { 2, 3 } }, { U }, NOARGS, KINKED(-2, 2),
      TOL_SMOOTH },
    { OP(softplus), "[3,4] in [-6,6)", 1, { 2 }, { { 3, 4 } }, { U }, NOARGS, RANGE(-6, 6),
      TOL_SMOOTH },
    { OP(softplus), "[5] in [-2,2)", 1, { 1 }, { { 5 } }, { U }, NOARGS, RANGE(-2, 2),
      TOL_SMOOTH },
    { OP(softsign), "[3,4]", 1, { 2 }, { { 3, 4 } }, { U }, NOARGS, RANGE(-3, 3), TOL_SMOOTH },
    { OP(softsign), "[2,3,2]", 1, { 3 }, { { 2, 3, 2 } }, { U }, NOARGS, RANGE(-3, 3),
      TOL_SMOOTH },
    { OP(identity), "[2,2,3]", 1, { 3 }, { { 2, 2, 3 } }, { U }, NOARGS, RANGE(-2, 2),
      TOL_LINEAR },
    { OP(identity), "[] scalar", 1, { 0 }, { { 0 } }, { U }, NOARGS, RANGE(-2, 2),
      TOL_LINEAR },

    /* ---- reductions ---- */
    { OP(sum), "[3,4] -> []", 1, { 2 }, { { 3, 4 } }, { U }, NOARGS, RANGE(-1, 1), TOL_SUMS },
    { OP(sum), "[2,3,2,2] -> []", 1, { 4 }, { { 2, 3, 2, 2 } }, { U }, NOARGS, RANGE(-1, 1),
      TOL_SUMS },
    { OP(mean), "[3,4] -> []", 1, { 2 }, { { 3, 4 } }, { U }, NOARGS, RANGE(-1, 1), TOL_SUMS },
    { OP(mean), "[7] -> []", 1, { 1 }, { { 7 } }, { U }, NOARGS, RANGE(-1, 1), TOL_SUMS },
    { OP(sum_axis), "[3,4] axis 0", 1, { 2 }, { { 3, 4 } }, { U }, ARGS(tg_axis_arg, 0),
      RANGE(-1, 1), TOL_SUMS },
    { OP(sum_axis), "[2,3,4] axis 1", 1, { 3 }, { { 2, 3, 4 } }, { U }, ARGS(tg_axis_arg, 1),
      RANGE(-1, 1), TOL_SUMS },
    { OP(sum_axis), "no args: [3,5] last axis", 1, { 2 }, { { 3, 5 } }, { U }, NOARGS,
      RANGE(-1, 1), TOL_SUMS },
    { OP(mean_axis), "[3,4] axis -1", 1, { 2 }, { { 3, 4 } }, { U }, ARGS(tg_axis_arg, -1),
      RANGE(-1, 1), TOL_SUMS },
    { OP(mean_axis), "[2,3,4] axis 0", 1, { 3 }, { { 2, 3, 4 } }, { U }, ARGS(tg_axis_arg, 0),
      RANGE(-1, 1), TOL_SUMS },
    { OP(mean_axis), "[6] axis 0 -> []", 1, { 1 }, { { 6 } }, { U }, ARGS(tg_axis_arg, 0),
      RANGE(-1, 1), TOL_SUMS },
    { OP(max_axis), "[3,4] axis 1, no ties", 1, { 2 }, { { 3, 4 } }, { SPREAD },
      ARGS(tg_axis_arg, 1), RANGE(0, 0), TOL_LINEAR },
    { OP(max_axis), "[4,3] axis 0, no ties", 1, { 2 }, { { 4, 3 } }, { SPREAD },
      ARGS(tg_axis_arg, 0), RANGE(0, 0), TOL_LINEAR },
    { OP(max_axis), "[2,3,4] axis -2, no ties", 1, { 3 }, { { 2, 3, 4 } }, { SPREAD },
      ARGS(tg_axis_arg, -2), RANGE(0, 0), TOL_LINEAR },

    /* ---- shape ---- */
    { OP(reshape), "[3,4] -> [2,6]", 1, { 2 }, { { 3, 4 } }, { U },
      ARGS(tg_reshape_args, 2, { 2, 6 }), RANGE(-2, 2), TOL_LINEAR },
    { OP(reshape), "[2,3,4] -> [24]", 1, { 3 }, { { 2, 3, 4 } }, { U },
      ARGS(tg_reshape_args, 1, { 24 }), RANGE(-2, 2), TOL_LINEAR },
    { OP(transpose), "[3,5]", 1, { 2 }, { { 3, 5 } }, { U }, NOARGS, RANGE(-2, 2),
      TOL_LINEAR },
    { OP(transpose), "[1,4]", 1, { 2 }, { { 1, 4 } }, { U }, NOARGS, RANGE(-2, 2),
      TOL_LINEAR },
    { OP(concat), "[2,3], [4,3] axis 0", 2, { 2, 2 }, { { 2, 3 }, { 4, 3 } }, { U, U },
      ARGS(tg_axis_arg, 0), RANGE(-2, 2), TOL_LINEAR },
    { OP(concat), "[2,3], [2,1], [2,2] axis 1", 3, { 2, 2, 2 },
      { { 2, 3 }, { 2, 1 }, { 2, 2 } }, { U, U, U }, ARGS(tg_axis_arg, 1), RANGE(-2, 2),
      TOL_LINEAR },
    { OP(concat), "[2,2,3], [2,2,1] axis -1", 2, { 3, 3 }, { { 2, 2, 3 }, { 2, 2, 1 } },
      { U, U }, ARGS(tg_axis_arg, -1), RANGE(-2, 2), TOL_LINEAR },
    { OP(slice_rows), "[5,3] rows 1..4", 1, { 2 }, { { 5, 3 } }, { U },
      ARGS(tg_slice_args, 1, 4), RANGE(-2, 2), TOL_LINEAR },
    { OP(slice_rows), "[4] rows 0..1", 1, { 1 }, { { 4 } }, { U }, ARGS(tg_slice_args, 0, 1),
      RANGE(-2, 2), TOL_LINEAR },

    /* ---- softmax and losses ---- */
    { OP(softmax), "[3,5]", 1, { 2 }, { { 3, 5 } }, { U }, NOARGS, RANGE(-3, 3), TOL_SMOOTH },
    { OP(softmax), "[7]", 1, { 1 }, { { 7 } }, { U }, NOARGS, RANGE(-3, 3), TOL_SMOOTH },
    { OP(softmax), "[2,3,4]", 1, { 3 }, { { 2, 3, 4 } }, { U }, NOARGS, RANGE(-3, 3),
      TOL_SMOOTH },
    /* every input moves all L outputs of its row, each |y| up to ~5: TOL_SUMS */
    { OP(log_softmax), "[3,5]", 1, { 2 }, { { 3, 5 } }, { U }, NOARGS, RANGE(-3, 3),
      TOL_SUMS },
    { OP(log_softmax), "[2,3,4]", 1, { 3 }, { { 2, 3, 4 } }, { U }, NOARGS, RANGE(-3, 3),
      TOL_SUMS },
    { OP(softmax_xent), "[4,5] labels [4], mean", 2, { 2, 1 }, { { 4, 5 }, { 4 } },
      { U, LABEL }, ARGS(tg_reduce_arg, TG_REDUCE_MEAN), RANGE(-3, 3), TOL_SUMS },
    { OP(softmax_xent), "[4,5] probabilities [4,5], sum", 2, { 2, 2 }, { { 4, 5 }, { 4, 5 } },
      { U, PROB }, ARGS(tg_reduce_arg, TG_REDUCE_SUM), RANGE(-3, 3), TOL_SUMS },
    { OP(softmax_xent), "no args: [1,3] labels [1]", 2, { 2, 1 }, { { 1, 3 }, { 1 } },
      { U, LABEL }, NOARGS, RANGE(-3, 3), TOL_SUMS },
    /* a summed loss of ~8 in [-1,1): round-off 3e-5 |loss| = 2.4e-4 */
    { OP(mse), "[3,4] vs [3,4], sum", 2, { 2, 2 }, { { 3, 4 }, { 3, 4 } }, { U, U },
      ARGS(tg_reduce_arg, TG_REDUCE_SUM), RANGE(-1, 1), TOL_SUMS },
    { OP(mse), "[6] vs [6], mean", 2, { 1, 1 }, { { 6 }, { 6 } }, { U, U },
      ARGS(tg_reduce_arg, TG_REDUCE_MEAN), RANGE(-2, 2), TOL_SUMS },
};

int gc_case_count(void)
{
    return (int)(sizeof cases / sizeof cases[0]);
}

const tg_op_def *gc_case_op(int i)
{
    return cases[i].op;
}

const char *gc_case_what(int i)
{
    return cases[i].what;
}

/* tg_gradcheck_opts.fill: input k of the row `user` as its kind says; 0 = no gradient. */
static int fill_input(int k, float *data, size_t n, uint64_t *rng, void *user)
{
    const gc_case *c = user;
    const int C = c->rank[0] ? c->shape[0][c->rank[0] - 1] : 1;
    size_t i, j;
    switch (c->kind[k]) {
    case U:
        for (i = 0; i < n; ++i) {
            double v;
            do {
                v = tg_rand_uniform(rng, c->lo, c->hi);
            } while (fabs(v) < c->kink);
            data[i] = (float)v;
        }
        return 1;
    case POS:
    case NZ:
        for (i = 0; i < n; ++i) {
            double v = tg_rand_uniform(rng, 0.5, 2.0);
            data[i] = (float)(c->kind[k] == NZ && tg_rand_uniform(rng, 0, 1) < 0.5 ? -v : v);
        }
        return 1;
    case SPREAD:
        for (i = 0; i < n; ++i)
            data[i] = 0.05f * (float)((double)i - (double)n / 2);
        for (i = n - 1; i > 0; --i) { /* Fisher-Yates */
            float t;
            j = (size_t)tg_rand_uniform(rng, 0, (double)(i + 1));
            t = data[i];
            data[i] = data[j];
            data[j] = t;
        }
        return 1;
    case LABEL:
        for (i = 0; i < n; ++i)
            data[i] = (float)floor(tg_rand_uniform(rng, 0, C));
        return 0;
    case PROB:
        for (i = 0; i < n; i += (size_t)C) {
            double s = 0;
            for (j = 0; j < (size_t)C; ++j) {
                data[i + j] = (float)tg_rand_uniform(rng, 0.1, 1.0);
                s += data[i + j];
            }
            for (j = 0; j < (size_t)C; ++j)
                data[i + j] = (float)(data[i + j] / s);
        }
        return 0;
    }
    return 0;
}

static tg_gradcheck_opts case_opts(int i, uint64_t seed)
{
    tg_gradcheck_opts o = { 0 };
    o.h = 1e-3;
    o.atol = cases[i].atol;
    o.rtol = cases[i].rtol;
    o.seed = seed;
    o.fill = fill_input;
    o.fill_user = (void *)&cases[i];
    return o;
}

/* Run row i's gradient check with this seed; *atol and *rtol receive its tolerance. */
tg_status gc_case_check(int i, uint64_t seed, tg_gradcheck_report *r, double *atol,
                        double *rtol)
{
    const gc_case *c = &cases[i];
    tg_gradcheck_opts o = case_opts(i, seed);
    *atol = c->atol;
    *rtol = c->rtol;
    return tg_gradcheck_op(c->op, c->n_in, c->rank, (const int(*)[TG_MAX_RANK])c->shape,
                           c->args, c->args_size, NULL, &o, r);
}

/* Row i recorded on g with freshly filled inputs (in[k] receives input k); returns the output
 * or NULL. Inputs the row checks require a gradient, and with all_grad every input does (so
 * that backward must also write the zero gradient of targets and labels). */
tg_tensor *gc_case_build(int i, tg_graph *g, uint64_t seed, tg_tensor *in[3], int all_grad)
{
    const gc_case *c = &cases[i];
    uint64_t rng = seed;
    int k;
    for (k = 0; k < c->n_in; ++k) {
        in[k] = tg_input(g, "in", c->rank[k], c->shape[k]);
        if (!in[k])
            return NULL;
        if (fill_input(k, in[k]->data, in[k]->size, &rng, (void *)c) || all_grad)
            tg_tensor_requires_grad(in[k]);
    }
    return tg_apply(g, c->op, in, c->n_in, c->args, c->args_size, NULL);
}
