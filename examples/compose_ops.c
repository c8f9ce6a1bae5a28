/*
 * compose_ops.c -- a classifier composed from raw ops (no builder), trained by a hand-written
 * SGD loop, evaluated, and exported as a graph picture and a parameter file.
 *
 * Usage: compose_ops [OUTDIR] [--steps N]     (OUTDIR defaults to "."; N to 3000)
 *
 * Data: three interleaved 2-D spirals (600 training and 300 test points, fixed seeds).
 * Net, B = 50 rows per batch:
 *     h1     = tanh(x w1^T + b1)        matmul + broadcast add   x [B,2],  w1 [32,2]  -> [B,32]
 *     h2     = tanh(linear(h1, w2, b2)) the same in one node     w2 [32,32]           -> [B,32]
 *     logits = linear(h2, w3, b3)                                 w3 [3,32]            -> [B,3]
 *     loss   = mean softmax cross-entropy(logits, y) + lambda (|w1|^2 + |w2|^2 + |w3|^2)
 * The parameters live in one caller-owned block theta (and their gradients in dtheta) that
 * the param tensors are bound to, drawn by hand (Glorot uniform: U[-r, r],
 * r = sqrt(6 / (fan_in + fan_out)), biases 0). Each step binds the next batch (tg_tensor_bind
 * borrows rows of the shuffled data: no copy), replays the tape, runs backward and applies
 * theta -= lr dtheta in one loop. It prints the mean loss every N/10 steps and the final
 * accuracies, then writes OUTDIR/compose_ops.dot, .svg and .tgp, and reloads the .tgp into
 * the wiped parameters to show that the test accuracy survives the round trip.
 * Exit status 1 with "compose_ops: <message>" on any failure.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tapegrad.h"

#define B 50        /* rows per batch */
#define I 2         /* inputs */
#define H 32        /* hidden units per layer */
#define C 3         /* classes */
#define N_TRAIN 600
#define N_TEST 300
#define LR 0.5f
#define LAMBDA 1e-4f
#define N_PARAMS (H * I + H + H * H + H + C * H + C)

/* n points per class on C spirals: radius r in [0, 1], angle 4 (c + r) plus noise. */
static void spiral(float *x, float *y, int n_per_class, uint64_t seed)
{
    uint64_t rng = seed;
    int c, i;
    for (c = 0; c < C; ++c)
        for (i = 0; i < n_per_class; ++i) {
            const int k = c * n_per_class + i;
            const double r = (double)i / (n_per_class - 1);
            const double t = 4.0 * (c + r) + tg_rand_uniform(&rng, -0.25, 0.25);
            x[k * I] = (float)(r * sin(t));
            x[k * I + 1] = (float)(r * cos(t));
            y[k] = (float)c;
        }
}

/* Fisher-Yates over the rows of x [n,I] and y [n], so that batches are contiguous slices. */
static void shuffle(float *x, float *y, int n, uint64_t *rng)
{
    int i, j, d;
    for (i = n - 1; i > 0; --i) {
        float t;
        j = (int)tg_rand_uniform(rng, 0.0, i + 1.0);
        for (d = 0; d < I; ++d) {
            t = x[i * I + d];
            x[i * I + d] = x[j * I + d];
            x[j * I + d] = t;
        }
        t = y[i];
        y[i] = y[j];
        y[j] = t;
    }
}

/* A param of the given shape bound to the next t->size floats of theta and of dtheta. */
static tg_tensor *param(tg_graph *g, const char *name, int rank, const int *dims, float *theta,
                        float *dtheta, size_t *used)
{
    tg_tensor *t = tg_param(g, name, rank, dims);
    if (!t || tg_tensor_bind(t, theta + *used) != TG_OK ||
        tg_tensor_bind_grad(t, dtheta + *used) != TG_OK)
        return NULL;
    *used += t->size;
    return t;
}

/* Glorot uniform into the n = O*I floats w of a weight [O,I]. */
static void glorot(float *w, int O, int fan_in, uint64_t *rng)
{
    const double r = sqrt(6.0 / (fan_in + O));
    int i;
    for (i = 0; i < O * fan_in; ++i)
        w[i] = (float)tg_rand_uniform(rng, -r, r);
}

/* Names an op's output (for the picture); NULL passes through like a builder's. */
static tg_tensor *named(tg_tensor *t, const char *name)
{
    return t && tg_tensor_set_name(t, name) == TG_OK ? t : NULL;
}

/* Fraction of the n rows (n a multiple of B) whose largest logit is the label. */
static int accuracy(tg_graph *g, tg_tensor *x, tg_tensor *logits, float *xs, const float *ys,
                    int n, double *acc)
{
    int r, i, c, hits = 0;
    for (r = 0; r < n; r += B) {
        if (tg_tensor_bind(x, xs + (size_t)r * I) != TG_OK ||
            tg_graph_forward_to(g, logits) != TG_OK)
            return 0;
        for (i = 0; i < B; ++i) {
            const float *row = logits->data + i * C;
            int best = 0;
            for (c = 1; c < C; ++c)
                if (row[c] > row[best])
                    best = c;
            hits += best == (int)ys[r + i];
        }
    }
    *acc = (double)hits / n;
    return 1;
}

static int fail(tg_graph *g)
{
    fprintf(stderr, "compose_ops: %s\n", tg_last_error());
    tg_graph_free(g);
    return 1;
}

int main(int argc, char **argv)
{
    static float train_x[N_TRAIN * I], train_y[N_TRAIN], test_x[N_TEST * I], test_y[N_TEST];
    static float theta[N_PARAMS], dtheta[N_PARAMS];  /* w1 b1 w2 b2 w3 b3, zeros to start */
    const char *outdir = ".";
    char path[4096];
    long steps = 3000, every, step;
    uint64_t rng = 7;
    tg_graph *g = NULL;
    tg_tensor *x, *y, *w1, *b1, *w2, *b2, *w3, *b3, *h1, *h2, *logits, *xent, *l2, *loss;
    tg_tensor *params[6];
    tg_dot_opts dot = { .title = "compose_ops: 2 -> 32 tanh -> 32 tanh -> 3, softmax "
                                 "cross-entropy + L2" };
    double sum = 0.0, train_acc, test_acc, reload_acc;
    size_t used = 0, j;
    int i, pos = N_TRAIN, n_sum = 0;

    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--steps") && i + 1 < argc) {
            steps = strtol(argv[++i], NULL, 10);
        } else if (argv[i][0] != '-') {
            outdir = argv[i];
        } else {
            fprintf(stderr, "usage: compose_ops [OUTDIR] [--steps N]\n");
            return 2;
        }
    }
    if (steps < 1) {
        fprintf(stderr, "compose_ops: --steps must be >= 1\n");
        return 2;
    }
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "compose_ops: cannot create '%s': %s\n", outdir, strerror(errno));
        return 1;
    }
    every = steps >= 10 ? steps / 10 : 1;
    spiral(train_x, train_y, N_TRAIN / C, 1);
    spiral(test_x, test_y, N_TEST / C, 2);

    /* 1. the graph, its inputs and its parameters */
    if (!(g = tg_graph_new()))
        return fail(NULL);
    x = tg_input(g, "x", 2, (const int[]){ B, I });
    y = tg_input(g, "y", 1, (const int[]){ B });     /* class labels stored as floats */
    w1 = param(g, "w1", 2, (const int[]){ H, I }, theta, dtheta, &used);
    b1 = param(g, "b1", 1, (const int[]){ H }, theta, dtheta, &used);
    w2 = param(g, "w2", 2, (const int[]){ H, H }, theta, dtheta, &used);
    b2 = param(g, "b2", 1, (const int[]){ H }, theta, dtheta, &used);
    w3 = param(g, "w3", 2, (const int[]){ C, H }, theta, dtheta, &used);
    b3 = param(g, "b3", 1, (const int[]){ C }, theta, dtheta, &used);
    if (!x || !y || !w1 || !b1 || !w2 || !b2 || !w3 || !b3)
        return fail(g);
    glorot(w1->data, H, I, &rng);   /* w1->data points into theta */
    glorot(w2->data, H, H, &rng);
    glorot(w3->data, C, H, &rng);
    /* ops compute at once, so the inputs need values before the first op is recorded */
    if (tg_tensor_bind(x, train_x) != TG_OK || tg_tensor_bind(y, train_y) != TG_OK)
        return fail(g);

    /* 2. the ops: each records a node and computes its value; NULL passes through */
    h1 = named(tg_tanh(g, tg_add(g, tg_matmul(g, x, w1, 0, 1), b1)), "h1");
    h2 = named(tg_tanh(g, tg_linear(g, h1, w2, b2)), "h2");
    logits = named(tg_linear(g, h2, w3, b3), "logits");
    xent = named(tg_softmax_xent(g, logits, y, TG_REDUCE_MEAN), "xent");
    l2 = named(tg_add(g, tg_add(g, tg_sum(g, tg_square(g, w1)), tg_sum(g, tg_square(g, w2))),
                      tg_sum(g, tg_square(g, w3))), "l2");
    loss = named(tg_add(g, xent, tg_scale(g, l2, LAMBDA)), "loss");
    if (!loss)
        return fail(g);
    params[0] = w1, params[1] = b1, params[2] = w2;
    params[3] = b2, params[4] = w3, params[5] = b3;

    /* 3. SGD by hand: bind a batch, replay, backward, theta -= lr dtheta */
    for (step = 0; step < steps; ++step) {
        if (pos + B > N_TRAIN) {    /* a new epoch: reshuffle the rows in place */
            shuffle(train_x, train_y, N_TRAIN, &rng);
            pos = 0;
        }
        if (tg_tensor_bind(x, train_x + (size_t)pos * I) != TG_OK ||
            tg_tensor_bind(y, train_y + pos) != TG_OK || tg_graph_forward(g) != TG_OK ||
            tg_backward(g, loss) != TG_OK)
            return fail(g);
        pos += B;
        for (j = 0; j < N_PARAMS; ++j)
            theta[j] -= LR * dtheta[j];
        sum += loss->data[0];
        ++n_sum;
        if (step % every == 0 || step == steps - 1) {
            printf("step %5ld  loss %.6f\n", step, sum / n_sum);   /* mean since last line */
            sum = 0.0;
            n_sum = 0;
        }
    }

    /* 4. evaluate: replay only up to the logits, a batch of rows at a time */
    if (!accuracy(g, x, logits, train_x, train_y, N_TRAIN, &train_acc) ||
        !accuracy(g, x, logits, test_x, test_y, N_TEST, &test_acc))
        return fail(g);
    printf("accuracy: train %.4f, test %.4f\n", train_acc, test_acc);

    /* 5. export the graph and the parameters */
    snprintf(path, sizeof path, "%s/compose_ops.dot", outdir);
    if (tg_dot_write(g, path, &dot) != TG_OK)
        return fail(g);
    printf("wrote %s\n", path);
    snprintf(path, sizeof path, "%s/compose_ops.svg", outdir);
    if (tg_dot_render(g, path, NULL, &dot) != TG_OK)
        return fail(g);
    printf("wrote %s\n", path);
    snprintf(path, sizeof path, "%s/compose_ops.tgp", outdir);
    if (tg_params_save(path, params, 6) != TG_OK)
        return fail(g);
    printf("wrote %s\n", path);

    /* 6. wipe the parameters, load them back by name, evaluate again */
    memset(theta, 0, sizeof theta);
    if (tg_params_load(path, params, 6) != TG_OK ||
        !accuracy(g, x, logits, test_x, test_y, N_TEST, &reload_acc))
        return fail(g);
    printf("reloaded %s: test accuracy %.4f\n", path, reload_acc);
    tg_graph_free(g);
    if (reload_acc != test_acc) {
        fprintf(stderr, "compose_ops: the reloaded parameters give test accuracy %.4f, not "
                "%.4f\n", reload_acc, test_acc);
        return 1;
    }
    return 0;
}
