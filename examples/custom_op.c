/*
 * custom_op.c -- a user-defined op with only the public API: swish, y = x sigmoid(x).
 *
 *   dy/dx = s + x s (1 - s) = s (1 + x (1 - s)),  s = sigmoid(x)
 *
 * The op is one tg_op_def (shape, forward, backward), exactly like a built-in. The program
 * checks its gradient with tg_gradcheck_op, then uses it in a tiny graph
 * (mse(swish(linear(x, w, b)), target)) and checks the gradients of w and b there.
 *
 * Usage: ./examples/custom_op    (built by `make`; prints the measured errors and exits
 *                                 non-zero if a gradient check fails)
 */
#include <math.h>
#include <stdio.h>
#include <tapegrad.h>

/* sigmoid without overflow: e^-|x| <= 1 */
static float sigmoid(float x)
{
    float z = expf(-fabsf(x));
    return (x >= 0 ? 1.0f : z) / (1.0f + z);
}

static tg_status swish_shape(tg_node *n)
{
    return tg_node_set_shape(n, n->in[0]->rank, n->in[0]->shape);
}

static tg_status swish_forward(tg_node *n)
{
    const float *x = n->in[0]->data;
    float *y = n->out->data;
    size_t i;
    for (i = 0; i < n->out->size; ++i)
        y[i] = x[i] * sigmoid(x[i]);
    return TG_OK;
}

/* Without TG_OP_GRAD_ASSIGN in the flags the engine zeroes dx first, so backward adds. */
static tg_status swish_backward(tg_node *n)
{
    const float *x = n->in[0]->data, *dy = n->out->grad;
    float *dx = n->in[0]->grad;
    size_t i;
    if (!dx)
        return TG_OK;
    for (i = 0; i < n->out->size; ++i) {
        float s = sigmoid(x[i]);
        dx[i] += dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
    return TG_OK;
}

static const tg_op_def swish_op = { "swish", 1, 0, swish_shape, swish_forward,
                                    swish_backward };

static tg_tensor *swish(tg_graph *g, tg_tensor *x)
{
    return tg_apply(g, &swish_op, &x, 1, NULL, 0, NULL);
}

static void print_report(const char *what, const tg_gradcheck_report *r)
{
    printf("%-32s max abs err %.2e, max rel err %.2e over %zu elements: %s\n", what,
           r->max_abs_err, r->max_rel_err, r->n_checked, r->passed ? "passed" : "FAILED");
}

/* The op alone on random inputs in [-4, 4). */
static int check_op(void)
{
    const int rank = 2, shape[1][TG_MAX_RANK] = { { 4, 5 } };
    tg_gradcheck_opts o = { 0 };
    tg_gradcheck_report r;
    o.h = 1e-3;
    o.atol = 5e-4; /* float round-off 6e-8 |f| / h with |f| <= 4 is about 2.4e-4 */
    o.rtol = 2e-3;
    o.lo = -4;
    o.hi = 4;
    o.seed = 1;
    if (tg_gradcheck_op(&swish_op, 1, &rank, shape, NULL, 0, NULL, &o, &r) != TG_OK) {
        fprintf(stderr, "custom_op: %s\n", tg_last_error());
        return 0;
    }
    print_report("swish alone [4,5]", &r);
    return r.passed;
}

/* loss = mean((swish(x w^T + b) - target)^2), gradients of w and b */
static int check_graph(void)
{
    static float xv[] = { 0.5f, -1.0f, 2.0f, 1.5f, 0.0f, -0.5f };
    static float wv[] = { 0.3f, -0.2f, 0.8f, -0.7f, 0.4f, 0.1f, 0.6f, 0.5f, -0.9f };
    static float bv[] = { 0.1f, -0.3f, 0.2f };
    static float tv[] = { 1.0f, 0.0f, 0.5f, -0.2f, 0.3f, 0.8f };
    tg_graph *g = tg_graph_new();
    tg_tensor *x, *w, *b, *t, *loss, *wrt[2];
    tg_gradcheck_opts o = { 0 };
    tg_gradcheck_report r;
    int ok = 0;
    if (!g)
        return 0;
    x = tg_input(g, "x", 2, (const int[]){ 2, 3 });
    w = tg_param(g, "w", 2, (const int[]){ 3, 3 });
    b = tg_param(g, "b", 1, (const int[]){ 3 });
    t = tg_input(g, "target", 2, (const int[]){ 2, 3 });
    if (!x || !w || !b || !t || tg_tensor_set(x, xv, 6) || tg_tensor_set(w, wv, 9) ||
        tg_tensor_set(b, bv, 3) || tg_tensor_set(t, tv, 6))
        goto done;
    loss = tg_mse(g, swish(g, tg_linear(g, x, w, b)), t, TG_REDUCE_MEAN);
    if (!loss || tg_backward(g, loss) != TG_OK)
        goto done;
    printf("tiny graph: loss %.6f, dloss/db = [%.6f, %.6f, %.6f]\n", loss->data[0],
           b->grad[0], b->grad[1], b->grad[2]);
    o.atol = 5e-4;
    o.rtol = 2e-3;
    wrt[0] = w;
    wrt[1] = b;
    if (tg_gradcheck_graph(g, loss, wrt, 2, &o, &r) != TG_OK)
        goto done;
    print_report("mse(swish(linear)) w, b", &r);
    ok = r.passed;
done:
    if (!ok && tg_last_status() != TG_OK)
        fprintf(stderr, "custom_op: %s\n", tg_last_error());
    tg_graph_free(g);
    return ok;
}

int main(void)
{
    int ok = check_op();
    ok &= check_graph();
    return ok ? 0 : 1;
}
