/*
 * elementwise.c -- binary ops with broadcasting (add, sub, mul, div) and unary arithmetic
 * (scale, shift, neg, exp, log, sqrt, square, abs, pow). Shapes: any; out = the larger input.
 *
 * add  y = a + b    da = dy          db = dy
 * sub  y = a - b    da = dy          db = -dy
 * mul  y = a b      da = dy b        db = dy a
 * div  y = a / b    da = dy / b      db = -dy a / b^2 = -dy y / b
 * A broadcast operand (a row [n] / [1,n] over the last dim, or a scalar) gets its terms summed
 * over the elements it was broadcast to. Unary: see each block. scale, shift and pow take a
 * tg_float_arg; without one they are the identity (s = 1, c = 0, p = 1).
 */
#include <math.h>
#include <string.h>
#include "ops_internal.h"

/* ---- broadcasting binary ops ---------------------------------------------------------- */
/* The output viewed as R rows of L. Along a row each operand is contiguous (a full operand,
 * row stride L, or a broadcast row, row stride 0) or one constant (a broadcast scalar). At
 * least one operand is full: tgi_broadcast allows no other combination. */
typedef struct {
    size_t R, L;
    const float *a, *b;
    size_t a_rs, b_rs;  /* row strides */
    int a_var, b_var;   /* 0 for a broadcast scalar */
} bview;

static bview bview_of(const tg_node *n)
{
    const tg_tensor *a = n->in[0], *b = n->in[1];
    size_t N = n->out->size;
    bview v = { 1, N, a->data, b->data, 0, 0, 1, 1 };
    const tg_tensor *small = a->size < N ? a : b->size < N ? b : NULL;
    if (small && small->size == 1) {
        if (small == a)
            v.a_var = 0;
        else
            v.b_var = 0;
    } else if (small) {
        v.L = small->size;
        v.R = N / v.L;
        if (small == a)
            v.b_rs = v.L;
        else
            v.a_rs = v.L;
    }
    return v;
}

/* BODY runs for every output element i with u = a's value there, w = b's, and ia, ib the
 * flat indices into a and b (ia == i when a is full, the column when it is a row). One inner
 * loop per combination keeps each unit-stride, so gcc vectorises it. BODY must not reduce into
 * memory through a scalar operand's index (BIN_GRAD sums those in a local). */
#define BIN_INNER(v, UEXPR, WEXPR, IA, IB, BODY)                                           \
    {                                                                                      \
        TGI_IVDEP for (j_ = 0; j_ < (v).L; ++j_) {                                         \
            const float u = (UEXPR), w = (WEXPR);                                          \
            const size_t i = o_ + j_, ia = (IA), ib = (IB);                                \
            (void)u, (void)w, (void)i, (void)ia, (void)ib;                                 \
            BODY;                                                                          \
        }                                                                                  \
    }
#define BIN_LOOP(v, BODY)                                                                  \
    do {                                                                                   \
        size_t r_, j_;                                                                     \
        for (r_ = 0; r_ < (v).R; ++r_) {                                                   \
            const size_t o_ = r_ * (v).L, ao_ = r_ * (v).a_rs, bo_ = r_ * (v).b_rs;        \
            const float *A_ = (v).a + ao_, *B_ = (v).b + bo_;                              \
            if ((v).a_var && (v).b_var)                                                    \
                BIN_INNER(v, A_[j_], B_[j_], ao_ + j_, bo_ + j_, BODY)                     \
            else if ((v).a_var)                                                            \
                BIN_INNER(v, A_[j_], B_[0], ao_ + j_, 0, BODY)                             \
            else                                                                           \
                BIN_INNER(v, A_[0], B_[j_], 0, bo_ + j_, BODY)                             \
        }                                                                                  \
    } while (0)

/* Gradient of input k (0 = a, 1 = b): the sum of EXPR over the output elements it reached.
 * A full operand is assigned or accumulated in place, a row summed by column, a scalar
 * summed in double. */
#define BIN_GRAD(n, v, k, EXPR)                                                            \
    do {                                                                                   \
        const tg_tensor *t_ = (n)->in[k];                                                  \
        float *g_ = t_->grad;                                                              \
        if (!g_)                                                                           \
            break;                                                                         \
        if (t_->size == (n)->out->size && !(n)->accum[k]) {                                \
            BIN_LOOP(v, g_[i] = (EXPR));                                                   \
        } else if (t_->size == (n)->out->size || t_->size > 1) {                           \
            if (!(n)->accum[k])                                                            \
                memset(g_, 0, t_->size * sizeof(float));                                   \
            BIN_LOOP(v, g_[(k) ? ib : ia] += (EXPR));                                      \
        } else {                                                                           \
            double s_ = 0;                                                                 \
            BIN_LOOP(v, s_ += (EXPR));                                                     \
            g_[0] = (float)((n)->accum[k] ? g_[0] + s_ : s_);                              \
        }                                                                                  \
    } while (0)

static tg_status binary_shape(tg_node *n)
{
    tgi_bcast ma, mb;
    return tgi_broadcast(n, &ma, &mb);
}

/* ---- add -------------------------------------------------------------------------------- */
static tg_status add_forward(tg_node *n)
{
    const bview v = bview_of(n);
    float *y = n->out->data;
    BIN_LOOP(v, y[i] = u + w);
    return TG_OK;
}

static tg_status add_backward(tg_node *n)
{
    const bview v = bview_of(n);
    const float *dy = n->out->grad;
    BIN_GRAD(n, v, 0, dy[i]);
    BIN_GRAD(n, v, 1, dy[i]);
    return TG_OK;
}

const tg_op_def tg_op_add = { "add", 2, TG_OP_GRAD_ASSIGN, binary_shape, add_forward,
                              add_backward };

tg_tensor *tg_add(tg_graph *g, tg_tensor *a, tg_tensor *b)
{
    return TGI_APPLY2(g, tg_op_add, a, b);
}

/* ---- sub -------------------------------------------------------------------------------- */
static tg_status sub_forward(tg_node *n)
{
    const bview v = bview_of(n);
    float *y = n->out->data;
    BIN_LOOP(v, y[i] = u - w);
    return TG_OK;
}

static tg_status sub_backward(tg_node *n)
{
    const bview v = bview_of(n);
    const float *dy = n->out->grad;
    BIN_GRAD(n, v, 0, dy[i]);
    BIN_GRAD(n, v, 1, -dy[i]);
    return TG_OK;
}

const tg_op_def tg_op_sub = { "sub", 2, TG_OP_GRAD_ASSIGN, binary_shape, sub_forward,
                              sub_backward };

tg_tensor *tg_sub(tg_graph *g, tg_tensor *a, tg_tensor *b)
{
    return TGI_APPLY2(g, tg_op_sub, a, b);
}

/* ---- mul -------------------------------------------------------------------------------- */
static tg_status mul_forward(tg_node *n)
{
    const bview v = bview_of(n);
    float *y = n->out->data;
    BIN_LOOP(v, y[i] = u * w);
    return TG_OK;
}

static tg_status mul_backward(tg_node *n)
{
    const bview v = bview_of(n);
    const float *dy = n->out->grad;
    BIN_GRAD(n, v, 0, dy[i] * w);
    BIN_GRAD(n, v, 1, dy[i] * u);
    return TG_OK;
}

const tg_op_def tg_op_mul = { "mul", 2, TG_OP_GRAD_ASSIGN, binary_shape, mul_forward,
                              mul_backward };

tg_tensor *tg_mul(tg_graph *g, tg_tensor *a, tg_tensor *b)
{
    return TGI_APPLY2(g, tg_op_mul, a, b);
}

/* ---- div -------------------------------------------------------------------------------- */
static tg_status div_forward(tg_node *n)
{
    const bview v = bview_of(n);
    float *y = n->out->data;
    BIN_LOOP(v, y[i] = u / w);
    return TG_OK;
}

static tg_status div_backward(tg_node *n)
{
    const bview v = bview_of(n);
    const float *dy = n->out->grad, *y = n->out->data;
    BIN_GRAD(n, v, 0, dy[i] / w);
    BIN_GRAD(n, v, 1, -dy[i] * y[i] / w);
    return TG_OK;
}

const tg_op_def tg_op_div = { "div", 2, TG_OP_GRAD_ASSIGN, binary_shape, div_forward,
                              div_backward };

tg_tensor *tg_div(tg_graph *g, tg_tensor *a, tg_tensor *b)
{
    return TGI_APPLY2(g, tg_op_div, a, b);
}

/* ---- scale: y = s x; dx = s dy ------------------------------------------------------------ */
static tg_status scale_forward(tg_node *n)
{
    const float s = tgi_float_arg(n, 1.0f);
    TGI_MAP(n, s * x);
    return TG_OK;
}

static tg_status scale_backward(tg_node *n)
{
    const float s = tgi_float_arg(n, 1.0f);
    TGI_MAP_GRAD(n, s * dy);
    return TG_OK;
}

const tg_op_def tg_op_scale = { "scale", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same, scale_forward,
                                scale_backward,
    sizeof(tg_float_arg) };

tg_tensor *tg_scale(tg_graph *g, tg_tensor *x, float s)
{
    tg_float_arg a = { s };
    return TGI_APPLY1A(g, tg_op_scale, x, &a);
}

/* ---- shift: y = x + c; dx = dy ------------------------------------------------------------ */
static tg_status shift_forward(tg_node *n)
{
    const float c = tgi_float_arg(n, 0.0f);
    TGI_MAP(n, x + c);
    return TG_OK;
}

static tg_status shift_backward(tg_node *n)
{
    TGI_MAP_GRAD(n, dy);
    return TG_OK;
}

const tg_op_def tg_op_shift = { "shift", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same, shift_forward,
                                shift_backward,
    sizeof(tg_float_arg) };

tg_tensor *tg_shift(tg_graph *g, tg_tensor *x, float c)
{
    tg_float_arg a = { c };
    return TGI_APPLY1A(g, tg_op_shift, x, &a);
}

/* ---- neg: y = -x; dx = -dy ---------------------------------------------------------------- */
static tg_status neg_forward(tg_node *n)
{
    TGI_MAP(n, -x);
    return TG_OK;
}

static tg_status neg_backward(tg_node *n)
{
    TGI_MAP_GRAD(n, -dy);
    return TG_OK;
}

const tg_op_def tg_op_neg = { "neg", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same, neg_forward,
                              neg_backward };

tg_tensor *tg_neg(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_neg, x);
}

/* ---- exp: y = e^x; dx = dy y (overflows to inf above ln FLT_MAX = 88.72) ------------------ */
static tg_status exp_forward(tg_node *n)
{
    TGI_MAP(n, expf(x));
    return TG_OK;
}

static tg_status exp_backward(tg_node *n)
{
    TGI_MAP_GRAD(n, dy * y);
    return TG_OK;
}

const tg_op_def tg_op_exp = { "exp", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same, exp_forward,
                              exp_backward };

tg_tensor *tg_exp(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_exp, x);
}

/* ---- log: y = ln x; dx = dy / x (log 0 = -inf, log of x < 0 = NaN, as IEEE says) ---------- */
static tg_status log_forward(tg_node *n)
{
    TGI_MAP(n, logf(x));
    return TG_OK;
}

static tg_status log_backward(tg_node *n)
{
    TGI_MAP_GRAD(n, dy / x);
    return TG_OK;
}

const tg_op_def tg_op_log = { "log", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same, log_forward,
                              log_backward };

tg_tensor *tg_log(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_log, x);
}

/* ---- sqrt: y = sqrt x; dx = dy / (2 y) ------------------------------------------------------ */
static tg_status sqrt_forward(tg_node *n)
{
    TGI_MAP(n, sqrtf(x));
    return TG_OK;
}

static tg_status sqrt_backward(tg_node *n)
{
    TGI_MAP_GRAD(n, 0.5f * dy / y);
    return TG_OK;
}

const tg_op_def tg_op_sqrt = { "sqrt", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same, sqrt_forward,
                               sqrt_backward };

tg_tensor *tg_sqrt(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_sqrt, x);
}

/* ---- square: y = x^2; dx = 2 x dy ----------------------------------------------------------- */
static tg_status square_forward(tg_node *n)
{
    TGI_MAP(n, x * x);
    return TG_OK;
}

static tg_status square_backward(tg_node *n)
{
    TGI_MAP_GRAD(n, 2.0f * x * dy);
    return TG_OK;
}

const tg_op_def tg_op_square = { "square", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same,
                                 square_forward, square_backward };

tg_tensor *tg_square(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_square, x);
}

/* ---- abs: y = |x|; dx = sign(x) dy, 0 at x = 0 ---------------------------------------------- */
static tg_status abs_forward(tg_node *n)
{
    TGI_MAP(n, fabsf(x));
    return TG_OK;
}

static tg_status abs_backward(tg_node *n)
{
    /* selects of constants, not of arithmetic, so gcc if-converts the loop */
    TGI_MAP_GRAD(n, dy * ((x > 0.0f ? 1.0f : 0.0f) - (x < 0.0f ? 1.0f : 0.0f)));
    return TG_OK;
}

const tg_op_def tg_op_abs = { "abs", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same, abs_forward,
                              abs_backward };

tg_tensor *tg_abs(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_abs, x);
}

/* ---- pow: y = x^p; dx = dy p x^(p-1) (x < 0 with non-integer p gives NaN, as powf) ---------- */
static tg_status pow_forward(tg_node *n)
{
    const float p = tgi_float_arg(n, 1.0f);
    TGI_MAP(n, powf(x, p));
    return TG_OK;
}

static tg_status pow_backward(tg_node *n)
{
    const float p = tgi_float_arg(n, 1.0f);
    TGI_MAP_GRAD(n, dy * p * powf(x, p - 1.0f));
    return TG_OK;
}

const tg_op_def tg_op_pow = { "pow", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same, pow_forward,
                              pow_backward,
    sizeof(tg_float_arg) };

tg_tensor *tg_pow(tg_graph *g, tg_tensor *x, float p)
{
    tg_float_arg a = { p };
    return TGI_APPLY1A(g, tg_op_pow, x, &a);
}
