/*
 * graph_viz.c -- draw a small network's tape with Graphviz.
 *
 * Usage: graph_viz OUTDIR
 * Composes a two-layer classifier from raw ops (no builder):
 *     x [8,4] input, y [8] integer labels
 *     h      = tanh(x w1^T + b1)          w1 [5,4], b1 [5]   -> [8,5]
 *     logits = h w2^T + b2                w2 [3,5], b2 [3]   -> [8,3]
 *     loss   = mean softmax cross-entropy(logits, y)         -> []
 * runs forward and backward, prints the loss and writes OUTDIR/graph.dot, graph.svg and
 * graph.png, the tensors coloured by the norm of their gradient.
 */
#include <math.h>
#include <stdio.h>
#include "tapegrad.h"

#define B 8  /* batch */
#define I 4  /* inputs */
#define H 5  /* hidden units */
#define C 3  /* classes */

/* Fills n values uniform in [lo, hi) from a fixed seed, so every run draws the same net. */
static void fill(float *v, size_t n, double lo, double hi, uint64_t *rng)
{
    size_t i;
    for (i = 0; i < n; ++i)
        v[i] = (float)tg_rand_uniform(rng, lo, hi);
}

static int fail(tg_graph *g)
{
    fprintf(stderr, "graph_viz: %s\n", tg_last_error());
    tg_graph_free(g);
    return 1;
}

int main(int argc, char **argv)
{
    float xs[B * I], ys[B];
    double gnorm[64];
    char path[4096];
    static const char *const outputs[] = { "graph.svg", "graph.png" };
    uint64_t rng = 42;
    tg_graph *g;
    tg_tensor *x, *y, *w1, *b1, *w2, *b2, *h, *logits, *loss;
    tg_dot_opts opts = { .title = "two-layer classifier: 8 samples, 4 -> 5 -> 3",
                         .metric_label = "|grad|" };
    int i, k, nt;
    size_t j;

    if (argc != 2) {
        fprintf(stderr, "usage: graph_viz OUTDIR\n");
        return 2;
    }
    if (!(g = tg_graph_new()))
        return fail(NULL);
    x = tg_input(g, "x", 2, (const int[]){ B, I });
    y = tg_input(g, "labels", 1, (const int[]){ B });
    w1 = tg_param(g, "w1", 2, (const int[]){ H, I });
    b1 = tg_param(g, "b1", 1, (const int[]){ H });
    w2 = tg_param(g, "w2", 2, (const int[]){ C, H });
    b2 = tg_param(g, "b2", 1, (const int[]){ C });
    if (!x || !y || !w1 || !b1 || !w2 || !b2)
        return fail(g);
    fill(xs, B * I, -1.0, 1.0, &rng);
    for (i = 0; i < B; ++i)
        ys[i] = (float)(i % C);
    fill(w1->data, w1->size, -0.5, 0.5, &rng);
    fill(w2->data, w2->size, -0.5, 0.5, &rng);
    if (tg_tensor_bind(x, xs) != TG_OK || tg_tensor_bind(y, ys) != TG_OK)
        return fail(g);

    h = tg_tanh(g, tg_linear(g, x, w1, b1));
    logits = tg_linear(g, h, w2, b2);
    loss = tg_softmax_xent(g, logits, y, TG_REDUCE_MEAN);
    if (!loss || tg_tensor_set_name(h, "h") != TG_OK
        || tg_tensor_set_name(logits, "logits") != TG_OK
        || tg_tensor_set_name(loss, "loss") != TG_OK)
        return fail(g);
    if (tg_graph_forward(g) != TG_OK || tg_backward(g, loss) != TG_OK)
        return fail(g);
    printf("loss %.6f\n", (double)loss->data[0]);

    /* |grad| per tensor: what a gradient-norm monitor records; NaN where there is none */
    nt = tg_graph_n_tensors(g);
    if (nt > (int)(sizeof gnorm / sizeof gnorm[0])) {
        fprintf(stderr, "graph_viz: %d tensors, room for %zu\n", nt,
                sizeof gnorm / sizeof gnorm[0]);
        tg_graph_free(g);
        return 1;
    }
    for (i = 0; i < nt; ++i) {
        const tg_tensor *t = tg_graph_tensor(g, i);
        double s = 0.0;
        for (j = 0; t->grad && j < t->size; ++j)
            s += (double)t->grad[j] * t->grad[j];
        gnorm[i] = t->grad ? sqrt(s) : NAN;
    }
    opts.tensor_metric = gnorm;
    opts.n_metric = nt;

    snprintf(path, sizeof path, "%s/graph.dot", argv[1]);
    if (tg_dot_write(g, path, &opts) != TG_OK)
        return fail(g);
    for (k = 0; k < 2; ++k) {
        snprintf(path, sizeof path, "%s/%s", argv[1], outputs[k]);
        if (tg_dot_render(g, path, NULL, &opts) != TG_OK)
            return fail(g);
    }
    printf("wrote %s/graph.dot, graph.svg, graph.png\n", argv[1]);
    tg_graph_free(g);
    return 0;
}
