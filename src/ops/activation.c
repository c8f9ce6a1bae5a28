/*
 * activation.c -- elementwise activations, each a forward + backward pair over x [any shape].
 *
 * tanh        y = tanh x                       dx = dy (1 - y^2)
 * sigmoid     y = 1 / (1 + e^-x)               dx = dy y (1 - y)
 * relu        y = max(x, 0)                    dx = dy [x > 0]
 * leaky_relu  y = x > 0 ? x : a x  (a = 0.01)  dx = dy (x > 0 ? 1 : a)
 * elu         y = x > 0 ? x : a (e^x - 1)      dx = dy (x > 0 ? 1 : y + a)   (a = 1)
 * softplus    y = ln(1 + e^x)                  dx = dy sigmoid(x)
 * softsign    y = x / (1 + |x|)                dx = dy / (1 + |x|)^2
 * identity    y = x                            dx = dy
 * sigmoid and softplus use z = e^-|x| <= 1, so no exponential overflows at any |x|. The alphas
 * come from a tg_float_arg, or the defaults above when a layer spec applies the op by name.
 * Backward reuses out->data where cheaper; with accum[0] == 0 it assigns dx.
 * tanh is computed branch-free (tanh1 below), so its loops vectorise: libm's tanhf costs about
 * 20 ns an element, tanh1 0.5 ns with AVX-512; the hot loops are built per instruction set.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "ops_internal.h"

/* ---- tanh ------------------------------------------------------------------------------- */
static inline float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* tanh x within 1.4e-7 relative (1.3 ulp) of the true value, tanh(+-0) = +-0, tanh(+-inf) =
 * +-1, NaN in gives NaN out. With a = |x|, u = x^2 and the sign of x put back at the end:
 *   a < 0.625:  a + a u P(u), P a degree-4 Chebyshev fit of (tanh(sqrt u) - sqrt u) / u^1.5
 *               (error 2e-8 relative);
 *   otherwise:  1 - 2 / (e^2a + 1), where 1 - 2/(e+1) has no cancellation (tanh >= 0.55);
 *               a is clamped at 10 (tanh 10 rounds to 1), e^y = 2^k e^r with k = round(y/ln2)
 *               (rounded by adding 1.5 2^23, so no float-to-int conversion), r = y - k ln2 in
 *               two parts, |r| <= ln2/2, e^r a degree-6 Chebyshev fit (error 3e-9), and 2^k
 *               built in the exponent bits. Both branches are computed and one selected. */
static inline float tanh1(float x)
{
    const float a = fabsf(x), u = x * x;
    const float p = (((-6.0967141659081976e-3f * u + 2.0997178999074751e-2f) * u
                      - 5.3850909578513581e-2f) * u + 1.3332769736976328e-1f) * u
                    - 3.3333328944134255e-1f;
    const float small = a + a * u * p;
    const float c = a < 10.0f ? a : 10.0f, y = c + c;
    const float round_add = 12582912.0f; /* 1.5 * 2^23 */
    const float kb = y * 1.44269504088896341f + round_add, k = kb - round_add;
    const float r = (y - k * 0.693145751953125f) - k * 1.42860682030941723e-6f;
    const float er = (((((1.3941108433972675e-3f * r + 8.3751263981533357e-3f) * r
                         + 4.1666352896775157e-2f) * r + 1.6666415514653275e-1f) * r
                       + 5.0000000471177577e-1f) * r + 1.0000000377162138f) * r + 1.0f;
    const float e = er * from_bits((to_bits(kb) - to_bits(round_add) + 127u) << 23);
    const float big = 1.0f - 2.0f / (e + 1.0f);
    const float v = copysignf(a < 0.625f ? small : big, x);
    return x != x ? x : v;
}

static TGI_CLONES tg_status tanh_forward(tg_node *n)
{
    TGI_MAP(n, tanh1(x));
    return TG_OK;
}

static TGI_CLONES tg_status tanh_backward(tg_node *n)
{
    TGI_MAP_GRAD(n, dy * (1.0f - y * y));
    return TG_OK;
}

const tg_op_def tg_op_tanh = { "tanh", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same, tanh_forward,
                               tanh_backward };

tg_tensor *tg_tanh(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_tanh, x);
}

/* ---- sigmoid ------------------------------------------------------------------------------ */
/* With z = e^-|x| in (0, 1]: 1/(1+z) for x >= 0, z/(1+z) below. Inlined into the loops. */
static inline float sigmoid1(float x)
{
    const float z = expf(-fabsf(x));
    return (x >= 0.0f ? 1.0f : z) / (1.0f + z);
}

static tg_status sigmoid_forward(tg_node *n)
{
    TGI_MAP(n, sigmoid1(x));
    return TG_OK;
}

static tg_status sigmoid_backward(tg_node *n)
{
    TGI_MAP_GRAD(n, dy * y * (1.0f - y));
    return TG_OK;
}

const tg_op_def tg_op_sigmoid = { "sigmoid", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same,
                                  sigmoid_forward, sigmoid_backward };

tg_tensor *tg_sigmoid(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_sigmoid, x);
}

/* ---- relu ------------------------------------------------------------------------------- */
static TGI_CLONES tg_status relu_forward(tg_node *n)
{
    TGI_MAP(n, x > 0.0f ? x : 0.0f);
    return TG_OK;
}

static TGI_CLONES tg_status relu_backward(tg_node *n)
{
    TGI_MAP_GRAD(n, x > 0.0f ? dy : 0.0f);
    return TG_OK;
}

const tg_op_def tg_op_relu = { "relu", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same, relu_forward,
                               relu_backward };

tg_tensor *tg_relu(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_relu, x);
}

/* ---- leaky_relu: selects of values, then arithmetic, so gcc if-converts the loops -------- */
static tg_status leaky_relu_forward(tg_node *n)
{
    const float a = tgi_float_arg(n, 0.01f);
    TGI_MAP(n, (x > 0.0f ? x : 0.0f) + a * (x > 0.0f ? 0.0f : x));
    return TG_OK;
}

static tg_status leaky_relu_backward(tg_node *n)
{
    const float a = tgi_float_arg(n, 0.01f);
    TGI_MAP_GRAD(n, (x > 0.0f ? dy : 0.0f) + a * (x > 0.0f ? 0.0f : dy));
    return TG_OK;
}

const tg_op_def tg_op_leaky_relu = { "leaky_relu", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same,
                                     leaky_relu_forward, leaky_relu_backward,
    sizeof(tg_float_arg) };

tg_tensor *tg_leaky_relu(tg_graph *g, tg_tensor *x, float alpha)
{
    tg_float_arg a = { alpha };
    return TGI_APPLY1A(g, tg_op_leaky_relu, x, &a);
}

/* ---- elu: e^min(x,0), so the branch not taken never overflows ------------------------------ */
static tg_status elu_forward(tg_node *n)
{
    const float a = tgi_float_arg(n, 1.0f);
    TGI_MAP(n, x > 0.0f ? x : a * (expf(x > 0.0f ? 0.0f : x) - 1.0f));
    return TG_OK;
}

static tg_status elu_backward(tg_node *n)
{
    const float a = tgi_float_arg(n, 1.0f);
    /* 1 + (-a + a) = 1 exactly above 0, y + a below; selects of values keep it vectorisable */
    TGI_MAP_GRAD(n, dy * ((x > 0.0f ? 1.0f : 0.0f) + ((x > 0.0f ? -a : y) + a)));
    return TG_OK;
}

const tg_op_def tg_op_elu = { "elu", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same, elu_forward,
                              elu_backward,
    sizeof(tg_float_arg) };

tg_tensor *tg_elu(tg_graph *g, tg_tensor *x, float alpha)
{
    tg_float_arg a = { alpha };
    return TGI_APPLY1A(g, tg_op_elu, x, &a);
}

/* ---- softplus: max(x, 0) + ln(1 + e^-|x|); log1pf keeps ln(1 + z) exact for tiny z -------- */
static tg_status softplus_forward(tg_node *n)
{
    TGI_MAP(n, (x > 0.0f ? x : 0.0f) + log1pf(expf(-fabsf(x))));
    return TG_OK;
}

static tg_status softplus_backward(tg_node *n)
{
    TGI_MAP_GRAD(n, dy * sigmoid1(x));
    return TG_OK;
}

const tg_op_def tg_op_softplus = { "softplus", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same,
                                   softplus_forward, softplus_backward };

tg_tensor *tg_softplus(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_softplus, x);
}

/* ---- softsign ----------------------------------------------------------------------------- */
static tg_status softsign_forward(tg_node *n)
{
    TGI_MAP(n, x / (1.0f + fabsf(x)));
    return TG_OK;
}

static tg_status softsign_backward(tg_node *n)
{
    TGI_MAP_GRAD(n, dy / ((1.0f + fabsf(x)) * (1.0f + fabsf(x))));
    return TG_OK;
}

const tg_op_def tg_op_softsign = { "softsign", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same,
                                   softsign_forward, softsign_backward };

tg_tensor *tg_softsign(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_softsign, x);
}

/* ---- identity ----------------------------------------------------------------------------- */
static tg_status identity_forward(tg_node *n)
{
    TGI_MAP(n, x);
    return TG_OK;
}

static tg_status identity_backward(tg_node *n)
{
    TGI_MAP_GRAD(n, dy);
    return TG_OK;
}

const tg_op_def tg_op_identity = { "identity", 1, TG_OP_GRAD_ASSIGN, tgi_shape_same,
                                   identity_forward, identity_backward };

tg_tensor *tg_identity(tg_graph *g, tg_tensor *x)
{
    return TGI_APPLY1(g, tg_op_identity, x);
}
