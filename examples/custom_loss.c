/*
 * custom_loss.c -- two new losses written in user code, gradient-checked and trained through
 * tg_loss, next to the built-in cross-entropy.
 *
 * multiclass_hinge, an op of its own (tg_op_def: shape, forward, backward), Weston & Watkins:
 *   scores s [B,C], labels y [B] (class indices stored as floats), margin m:
 *   L = (1/B) sum_b sum_{j != y_b} max(0, m + s_bj - s_by_b)        (or the sum over b)
 *   ds_bj += g [m + s_bj - s_by_b > 0] (j != y_b),  ds_by_b -= g #{j : that margin > 0},
 *   g = dL (/ B for the mean); no gradient into the labels.
 * focal, composed from built-in ops (Lin et al. 2017), one-hot targets t [B,C], gamma:
 *   L = -(1/B) sum_bc t_bc (1 - p_bc)^gamma log p_bc,  log p = log_softmax(s)
 *   Its gradient comes from the ops it is made of.
 *
 * Usage: custom_loss [--steps N]     (N defaults to 1000)
 * Data: four overlapping Gaussian blobs in 2-D (800 training, 400 test points). Net
 * 2 -> 32 relu -> 4 (He init), SGD with momentum 0.9, lr 0.05, batches of 40. Each loss
 * trains the same initial net for N steps; the program prints the gradient checks, the mean
 * loss every N/10 steps and the test accuracy of each. Exit 1 on any failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tapegrad.h"

/* ---- multiclass hinge: an op --------------------------------------------------------------- */
typedef struct {
    float margin;       /* m > 0 */
    tg_reduce reduce;   /* sum over the batch, or its mean */
} hinge_args;

static const hinge_args hinge_default = { 1.0f, TG_REDUCE_MEAN };

static const hinge_args *args_of(const tg_node *n)
{
    return n->args ? n->args : &hinge_default;
}

/* s [B,C] and y [B] -> []; the labels' values are checked in forward, as they change per batch. */
static tg_status hinge_shape(tg_node *n)
{
    const tg_tensor *s = n->in[0], *y = n->in[1];
    const hinge_args *a = args_of(n);
    char ds[32], dy[32];
    if (s->rank != 2 || y->rank != 1 || y->shape[0] != s->shape[0])
        return tg_error_set(TG_ERR_SHAPE, "multiclass_hinge: scores '%s' %s and labels '%s' %s: "
                            "need [B,C] and [B]", s->name, tg_shape_str(s, ds, sizeof ds),
                            y->name, tg_shape_str(y, dy, sizeof dy));
    if (!(a->margin > 0.0f) || (a->reduce != TG_REDUCE_SUM && a->reduce != TG_REDUCE_MEAN))
        return tg_error_set(TG_ERR_ARG, "multiclass_hinge: margin %g must be > 0 and reduce %d "
                            "TG_REDUCE_SUM or TG_REDUCE_MEAN", (double)a->margin, (int)a->reduce);
    return tg_node_set_shape(n, 0, NULL);
}

/* Row b's class, TG_ERR_RANGE unless an integer in 0..C-1 (tested on the float first, so a
 * NaN or huge label never reaches the conversion to int). */
static tg_status label(const tg_node *n, int b, int *c)
{
    const float v = n->in[1]->data[b];
    const int C = n->in[0]->shape[1];
    if (!(v >= 0.0f && v <= (float)(C - 1)) || (float)(int)v != v)
        return tg_error_set(TG_ERR_RANGE, "multiclass_hinge: label %g at row %d of '%s' is not "
                            "a class 0..%d", (double)v, b, n->in[1]->name, C - 1);
    *c = (int)v;
    return TG_OK;
}

static tg_status hinge_forward(tg_node *n)
{
    const int B = n->in[0]->shape[0], C = n->in[0]->shape[1];
    const float m = args_of(n)->margin;
    double sum = 0.0;
    int b, j, c = 0;
    for (b = 0; b < B; ++b) {
        const float *s = n->in[0]->data + (size_t)b * C;
        tg_status st = label(n, b, &c);
        if (st != TG_OK)
            return st;
        for (j = 0; j < C; ++j)
            if (j != c && m + s[j] - s[c] > 0.0f)
                sum += m + s[j] - s[c];
    }
    n->out->data[0] = (float)(args_of(n)->reduce == TG_REDUCE_MEAN ? sum / B : sum);
    return TG_OK;
}

/* No TG_OP_GRAD_ASSIGN flag: the engine zeroes ds first, and backward adds into it. */
static tg_status hinge_backward(tg_node *n)
{
    const int B = n->in[0]->shape[0], C = n->in[0]->shape[1];
    const float m = args_of(n)->margin;
    const float g = n->out->grad[0] / (args_of(n)->reduce == TG_REDUCE_MEAN ? (float)B : 1.0f);
    int b, j, c;
    if (!n->in[0]->grad)
        return TG_OK;
    for (b = 0; b < B; ++b) {
        const float *s = n->in[0]->data + (size_t)b * C;
        float *ds = n->in[0]->grad + (size_t)b * C;
        c = (int)n->in[1]->data[b];     /* forward has checked it */
        for (j = 0; j < C; ++j)
            if (j != c && m + s[j] - s[c] > 0.0f) {
                ds[j] += g;
                ds[c] -= g;
            }
    }
    return TG_OK;
}

static const tg_op_def hinge_op = { "multiclass_hinge", 2, 0, hinge_shape, hinge_forward,
                                    hinge_backward, sizeof(hinge_args) };

/* As a tg_loss: the net's output [B,C] and label target [B]; user points to hinge_args. */
static tg_tensor *hinge_loss(tg_graph *g, tg_tensor *out, tg_tensor *y, void *user)
{
    tg_tensor *in[2] = { out, y };
    return tg_apply(g, &hinge_op, in, 2, user, sizeof(hinge_args), NULL);
}

/* ---- focal loss: composed from built-in ops --------------------------------------------- */
/* out [B,C], t [B,C] one-hot; user points to gamma (a float). */
static tg_tensor *focal_loss(tg_graph *g, tg_tensor *out, tg_tensor *t, void *user)
{
    const float gamma = *(const float *)user;
    tg_tensor *logp = tg_log_softmax(g, out);                             /* [B,C] */
    tg_tensor *w = tg_pow(g, tg_shift(g, tg_neg(g, tg_exp(g, logp)), 1.0f), gamma);
    tg_tensor *terms = tg_mul(g, t, tg_mul(g, w, logp));                  /* [B,C] */
    return out ? tg_scale(g, tg_sum(g, terms), -1.0f / (float)out->shape[0]) : NULL;
}

/* ---- gradient checks ------------------------------------------------------------------------ */
#define CK_B 6
#define CK_C 4

static void report(const char *what, const tg_gradcheck_report *r)
{
    printf("gradient check %s: max abs err %.2e, max rel err %.2e over %zu elements: %s\n",
           what, r->max_abs_err, r->max_rel_err, r->n_checked, r->passed ? "passed" : "FAILED");
}

/* Inputs of the hinge check: labels b % C (no gradient), and scores whose margins stay
 * 0.05 or more away from the kink at m + s_j - s_c = 0 (h is at most 2e-3 here). */
static int hinge_fill(int k, float *data, size_t n, uint64_t *rng, void *user)
{
    const float m = ((const hinge_args *)user)->margin;
    int b, j, ok;
    if (k == 1) {
        for (b = 0; b < (int)n; ++b)
            data[b] = (float)(b % CK_C);
        return 0;
    }
    for (b = 0; b < CK_B; ++b) {
        float *s = data + b * CK_C;
        do {
            for (j = 0; j < CK_C; ++j)
                s[j] = (float)tg_rand_uniform(rng, -2.0, 2.0);
            for (ok = 1, j = 0; j < CK_C; ++j)
                if (j != b % CK_C && fabsf(m + s[j] - s[b % CK_C]) < 0.05f)
                    ok = 0;
        } while (!ok);
    }
    return 1;
}

static int check_hinge(void)
{
    const int rank[2] = { 2, 1 };
    const int shapes[2][TG_MAX_RANK] = { { CK_B, CK_C }, { CK_B } };
    hinge_args a = { 1.0f, TG_REDUCE_MEAN };
    tg_gradcheck_opts o = { 0 };
    tg_gradcheck_report r;
    o.h = 1e-2;       /* piecewise linear: no truncation error, and a larger step divides the */
    o.atol = 1e-4;    /* float round-off (6e-8 |L| / h) down; h_i <= 0.02 stays off the kinks */
    o.rtol = 1e-3;
    o.seed = 9;
    o.fill = hinge_fill;
    o.fill_user = &a;
    if (tg_gradcheck_op(&hinge_op, 2, rank, shapes, &a, sizeof a, NULL, &o, &r) != TG_OK) {
        fprintf(stderr, "custom_loss: %s\n", tg_last_error());
        return 0;
    }
    report("multiclass_hinge [6,4]", &r);
    return r.passed;
}

/* The composed focal loss on logits [6,4] in [-3, 3) with one-hot targets. */
static int check_focal(float gamma)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *s, *t, *loss;
    tg_gradcheck_opts o = { 0 };
    tg_gradcheck_report r;
    float onehot[CK_B * CK_C] = { 0 };
    uint64_t rng = 4;
    int b, ok = 0;
    size_t i;
    for (b = 0; b < CK_B; ++b)
        onehot[b * CK_C + (b * 3) % CK_C] = 1.0f;
    if (!g)
        goto done;
    s = tg_input(g, "s", 2, (const int[]){ CK_B, CK_C });
    t = tg_const(g, "t", 2, (const int[]){ CK_B, CK_C }, onehot);
    if (!s || !t || tg_tensor_requires_grad(s) != TG_OK)
        goto done;
    for (i = 0; i < s->size; ++i)
        s->data[i] = (float)tg_rand_uniform(&rng, -3.0, 3.0);
    if (!(loss = focal_loss(g, s, t, &gamma)))
        goto done;
    o.h = 1e-2;       /* float round-off (about 6e-8 |L| / h) outweighs truncation (h^2) */
    o.atol = 1e-4;    /* here: max abs err 5e-5 with h = 1e-3, 7e-6 with h = 1e-2 */
    o.rtol = 2e-3;
    o.seed = 5;
    if (tg_gradcheck_graph(g, loss, &s, 1, &o, &r) != TG_OK)
        goto done;
    report("focal (composed) [6,4]", &r);
    ok = r.passed;
done:
    if (!ok && tg_last_status() != TG_OK)
        fprintf(stderr, "custom_loss: %s\n", tg_last_error());
    tg_graph_free(g);
    return ok;
}

/* ---- data and training ------------------------------------------------------------------ */
/* n points into the zeroed *ds, class i % 4 around (+-1, +-1) with standard deviation 0.6
 * (Box-Muller); arrays are the caller's (free them). 0 when out of memory. */
static int blobs(tg_dataset *ds, size_t n, uint64_t seed)
{
    uint64_t rng = seed;
    size_t i;
    ds->x = malloc(n * 2 * sizeof *ds->x);
    ds->labels = malloc(n);
    if (!ds->x || !ds->labels)
        return 0;
    ds->n = n;
    ds->n_features = 2;
    ds->n_classes = 4;
    for (i = 0; i < n; ++i) {
        const int c = (int)(i % 4);
        const double u = tg_rand_uniform(&rng, 1e-12, 1.0), v = tg_rand_uniform(&rng, 0, 1);
        const double r = 0.6 * sqrt(-2.0 * log(u));
        ds->x[2 * i] = (float)((c & 1 ? 1.0 : -1.0) + r * cos(2.0 * M_PI * v));
        ds->x[2 * i + 1] = (float)((c & 2 ? 1.0 : -1.0) + r * sin(2.0 * M_PI * v));
        ds->labels[i] = (uint8_t)c;
    }
    return 1;
}

typedef struct {
    long every;
    double sum;
    long n;
} progress_state;

/* Prints the mean loss since the previous line every `every` steps, and at the last step. */
static tg_status progress(const tg_train_progress *p, void *user)
{
    progress_state *st = user;
    st->sum += p->loss;
    st->n++;
    if (p->step % st->every == 0 || p->step == p->max_steps - 1) {
        printf("step %5ld  loss %.6f\n", p->step, st->sum / st->n);
        st->sum = 0.0;
        st->n = 0;
    }
    return TG_OK;
}

/* Train 2 -> 32 relu -> 4 with `loss` for `steps` steps; print the test accuracy. */
static int train_with(const tg_loss *loss, const tg_dataset *train, const tg_dataset *test,
                      long steps)
{
    const tg_layer_spec spec[2] = {
        { 32, &tg_op_relu, NULL, 0, { TG_INIT_HE_UNIFORM, 0, 0 }, { TG_INIT_ZEROS, 0, 0 } },
        { 4, &tg_op_identity, NULL, 0, { TG_INIT_GLOROT_UNIFORM, 0, 0 },
          { TG_INIT_ZEROS, 0, 0 } },
    };
    tg_pipeline_opts po = { .batch = 40, .shuffle = 1, .seed = 3, .drop_remainder = 1 };
    tg_optim_opts oo = tg_optim_defaults(TG_OPTIM_MOMENTUM, 0.05);
    tg_train_opts to = tg_train_defaults();
    progress_state st = { steps >= 10 ? steps / 10 : 1, 0.0, 0 };
    tg_pipeline pipe;
    tg_net *net = NULL;
    tg_net_graph *ng = NULL, *eval = NULL;
    tg_optim *opt = NULL;
    double acc;
    int ok = 0, piped = 0;

    to.max_steps = steps;
    to.progress = progress;
    to.progress_user = &st;
    printf("loss %s (%s targets), %ld steps\n", loss->name,
           loss->target == TG_TARGET_LABELS ? "label" : "one-hot", steps);
    if (!(net = tg_net_new(2, spec, 2, 17)) || !(ng = tg_net_graph_new(net, 40, loss)) ||
        !(eval = tg_net_graph_new(net, 200, NULL)) || !(opt = tg_optim_new_net(&oo, net)) ||
        tg_pipeline_init(&pipe, train, &po) != TG_OK)
        goto done;
    piped = 1;
    if (tg_train_pipeline(ng, opt, &pipe, &to, NULL) != TG_OK ||
        tg_net_accuracy_dataset(eval, test, &acc) != TG_OK)
        goto done;
    printf("test accuracy %.4f with %s\n", acc, loss->name);
    ok = 1;
done:
    if (!ok)
        fprintf(stderr, "custom_loss: %s\n", tg_last_error());
    if (piped)
        tg_pipeline_release(&pipe);
    tg_optim_free(opt);
    tg_net_graph_free(eval);
    tg_net_graph_free(ng);
    tg_net_free(net);
    return ok;
}

int main(int argc, char **argv)
{
    static hinge_args margin = { 1.0f, TG_REDUCE_MEAN };
    static float gamma = 2.0f;
    const tg_loss hinge = { "multiclass_hinge", hinge_loss, TG_TARGET_LABELS, &margin };
    const tg_loss focal = { "focal", focal_loss, TG_TARGET_ONEHOT, &gamma };
    tg_dataset train = { 0 }, test = { 0 };
    long steps = 1000;
    int i, ok;

    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--steps") && i + 1 < argc) {
            steps = strtol(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: custom_loss [--steps N]\n");
            return 2;
        }
    }
    if (steps < 1) {
        fprintf(stderr, "custom_loss: --steps must be >= 1\n");
        return 2;
    }
    if (!check_hinge() || !check_focal(gamma))
        return 1;
    ok = blobs(&train, 800, 1) && blobs(&test, 400, 2);
    if (!ok)
        fprintf(stderr, "custom_loss: out of memory\n");
    ok = ok && train_with(&hinge, &train, &test, steps) &&
         train_with(&focal, &train, &test, steps) &&
         train_with(&tg_loss_softmax_xent_mean, &train, &test, steps);
    free(train.x);
    free(train.labels);
    free(test.x);
    free(test.labels);
    return ok ? 0 : 1;
}
