/*
 * build.c -- the net (spec copy, RNG, flat parameter blocks), its graphs and the losses.
 *
 * Flat blocks, layer l of O_l units over I_l inputs, at offsets off_l = sum_{k<l} O_k (I_k+1):
 *     values = [ w_0 (O_0,I_0) | b_0 (O_0) | w_1 (O_1,I_1) | b_1 (O_1) | ... ]
 * and grads the same. A graph for batch B records, per layer, z = x w^T + b ("z<l+1>", one
 * linear node: GEMM x[B,I] w[O,I]^T) and a = f(z) ("a<l+1>"), with w and b bound (borrowed)
 * to the blocks, so every graph of the net sees and writes the same parameters.
 *
 * Fused SGD step (tgi_net_graph_backward_step, docs/performance.md): with plain SGD and no
 * gradient hook on a parameter, backward leaves dw = dz^T x and db = sum_rows dz unformed
 * (each linear node's defer flag), every |dz| and |x| bounds |dw| <= B max|dz| max|x|, and
 * when that bound is finite each layer is updated in place, w -= lr dz^T x as one GEMM
 * (alpha = -lr, beta = 1): the weight gradients are never written or read. dx was computed
 * from the old w in backward.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "../ops/ops_internal.h"

typedef struct net_layer {
    tg_layer_spec spec;       /* copy; spec.act_args points at args below */
    int n_in;                 /* I */
    size_t w_off, b_off;      /* offsets of w (O*I) and b (O) in the flat blocks */
    unsigned char *args;      /* (spec.act_args_size) copy, or NULL */
} net_layer;

struct tg_net {
    int n_inputs, n_layers;
    net_layer *layers;        /* (n_layers) */
    float *values, *grads;    /* (n_params) each */
    size_t n_params;
    uint64_t rng;
};

enum { N_PARTS = 4 };         /* w, b, z, a per layer: tg_layer_part order */

struct tg_net_graph {
    tg_net *net;              /* borrowed */
    tg_graph *g;
    int batch;
    int has_loss;
    tg_loss loss_def;         /* copy of the caller's */
    tg_tensor *x, *y, *loss;  /* x [B,I0], y [B] or [B,C], loss [] */
    tg_tensor **t;            /* (n_layers * N_PARTS) */
    int *defer;               /* (n_layers) user flag of each linear node: 1 = dw, db deferred */
    int fusable;              /* 1 if only its own linear node reads each parameter */
};

/* ---- the net ------------------------------------------------------------------------- */
static int layer_index(int n_layers, int layer, const char *who)
{
    int l = layer < 0 ? n_layers + layer : layer;
    if (l < 0 || l >= n_layers) {
        tg_error_set(TG_ERR_ARG, "%s: layer %d outside %d..%d", who, layer, -n_layers,
                     n_layers - 1);
        return -1;
    }
    return l;
}

void tg_net_free(tg_net *net)
{
    int l;
    if (!net)
        return;
    for (l = 0; net->layers && l < net->n_layers; ++l)
        tgi_free(net->layers[l].args);
    tgi_free(net->layers);
    tgi_free(net->values);
    tgi_free(net->grads);
    tgi_free(net);
}

tg_net *tg_net_new(int n_inputs, const tg_layer_spec *layers, int n_layers, uint64_t seed)
{
    tg_net *net;
    const size_t limit = SIZE_MAX / 2 / sizeof(float); /* the engine's cap on a tensor */
    size_t n = 0, wn;
    int l, in = n_inputs;
    if (tg_layers_check(n_inputs, layers, n_layers) != TG_OK)
        return NULL;
    net = tgi_calloc(1, sizeof *net);
    if (!net || !(net->layers = tgi_calloc((size_t)n_layers, sizeof *net->layers)))
        goto nomem;
    net->n_inputs = n_inputs;
    net->n_layers = n_layers;
    for (l = 0; l < n_layers; ++l) {
        net_layer *nl = &net->layers[l];
        int O = layers[l].n_nodes;
        nl->spec = layers[l];
        nl->n_in = in;
        if (!tgi_mul_size((size_t)O, (size_t)in, &wn) || wn > limit - n ||
            (size_t)O > limit - n - wn) {
            tg_net_free(net);
            tg_error_set(TG_ERR_OVERFLOW, "net: layer %d: [%d,%d] weights overflow the "
                         "parameter count", l, O, in);
            return NULL;
        }
        nl->w_off = n;
        nl->b_off = n + wn;
        n += wn + (size_t)O;
        if (nl->spec.act_args) {
            if (!(nl->args = tgi_malloc(nl->spec.act_args_size)))
                goto nomem;
            memcpy(nl->args, nl->spec.act_args, nl->spec.act_args_size);
            nl->spec.act_args = nl->args;
        }
        in = O;
    }
    net->n_params = n;
    net->values = tgi_calloc(n, sizeof(float));
    net->grads = tgi_calloc(n, sizeof(float));
    if (!net->values || !net->grads)
        goto nomem;
    if (tg_net_init_params(net, seed) != TG_OK) {
        tg_net_free(net);
        return NULL;
    }
    return net;
nomem:
    tg_net_free(net);
    tg_error_set(TG_ERR_NOMEM, "net: out of memory for %d layers (%zu parameters)", n_layers,
                 n);
    return NULL;
}

tg_status tg_net_init_params(tg_net *net, uint64_t seed)
{
    int l;
    if (!net)
        return tg_error_set(TG_ERR_ARG, "net_init_params: net is NULL");
    net->rng = seed;
    for (l = 0; l < net->n_layers; ++l) {
        net_layer *nl = &net->layers[l];
        int O = nl->spec.n_nodes, I = nl->n_in;
        tg_status s = tg_init_fill(&nl->spec.weight_init, net->values + nl->w_off,
                                   (size_t)O * (size_t)I, I, O, &net->rng);
        if (s == TG_OK)
            s = tg_init_fill(&nl->spec.bias_init, net->values + nl->b_off, (size_t)O, I, O,
                             &net->rng);
        if (s != TG_OK) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", tg_last_error());
            return tg_error_set(s, "layer %d: %s", l, msg);
        }
    }
    memset(net->grads, 0, net->n_params * sizeof(float));
    return TG_OK;
}

uint64_t *tg_net_rng(tg_net *net) { return net ? &net->rng : NULL; }
int tg_net_n_inputs(const tg_net *net) { return net ? net->n_inputs : 0; }
int tg_net_n_layers(const tg_net *net) { return net ? net->n_layers : 0; }

int tg_net_n_outputs(const tg_net *net)
{
    return net ? net->layers[net->n_layers - 1].spec.n_nodes : 0;
}

/* Layer l of net, or NULL with TG_ERR_ARG. */
static net_layer *get_layer(const tg_net *net, int layer, const char *who)
{
    int l;
    if (!net) {
        tg_error_set(TG_ERR_ARG, "%s: net is NULL", who);
        return NULL;
    }
    l = layer_index(net->n_layers, layer, who);
    return l < 0 ? NULL : &net->layers[l];
}

const tg_layer_spec *tg_net_layer(const tg_net *net, int layer)
{
    net_layer *nl = get_layer(net, layer, "net_layer");
    return nl ? &nl->spec : NULL;
}

tg_status tg_net_layer_shape(const tg_net *net, int layer, int *n_out, int *n_in)
{
    net_layer *nl = get_layer(net, layer, "net_layer_shape");
    if (!nl)
        return tg_last_status();
    if (n_out)
        *n_out = nl->spec.n_nodes;
    if (n_in)
        *n_in = nl->n_in;
    return TG_OK;
}

float *tg_net_weight(tg_net *net, int layer)
{
    net_layer *nl = get_layer(net, layer, "net_weight");
    return nl ? net->values + nl->w_off : NULL;
}

float *tg_net_bias(tg_net *net, int layer)
{
    net_layer *nl = get_layer(net, layer, "net_bias");
    return nl ? net->values + nl->b_off : NULL;
}

float *tg_net_weight_grad(tg_net *net, int layer)
{
    net_layer *nl = get_layer(net, layer, "net_weight_grad");
    return nl ? net->grads + nl->w_off : NULL;
}

float *tg_net_bias_grad(tg_net *net, int layer)
{
    net_layer *nl = get_layer(net, layer, "net_bias_grad");
    return nl ? net->grads + nl->b_off : NULL;
}

float *tg_net_values(tg_net *net, size_t *n)
{
    if (n)
        *n = net ? net->n_params : 0;
    return net ? net->values : NULL;
}

float *tg_net_grads(tg_net *net, size_t *n)
{
    if (n)
        *n = net ? net->n_params : 0;
    return net ? net->grads : NULL;
}

/* ---- losses -------------------------------------------------------------------------- */
static tg_tensor *xent_sum(tg_graph *g, tg_tensor *out, tg_tensor *y, void *user)
{
    return tg_softmax_xent(g, out, y, TG_REDUCE_SUM);
}

static tg_tensor *xent_mean(tg_graph *g, tg_tensor *out, tg_tensor *y, void *user)
{
    return tg_softmax_xent(g, out, y, TG_REDUCE_MEAN);
}

static tg_tensor *mse_mean(tg_graph *g, tg_tensor *out, tg_tensor *y, void *user)
{
    return tg_mse(g, out, y, TG_REDUCE_MEAN);
}

const tg_loss tg_loss_softmax_xent_sum = { "softmax_cross_entropy_sum", xent_sum,
                                           TG_TARGET_LABELS, NULL };
const tg_loss tg_loss_softmax_xent_mean = { "softmax_cross_entropy_mean", xent_mean,
                                            TG_TARGET_LABELS, NULL };
const tg_loss tg_loss_mse = { "mse", mse_mean, TG_TARGET_ONEHOT, NULL };

const tg_loss *tg_loss_find(const char *name)
{
    static const tg_loss *const all[] = { &tg_loss_softmax_xent_sum,
                                          &tg_loss_softmax_xent_mean, &tg_loss_mse };
    size_t i;
    for (i = 0; name && i < sizeof all / sizeof all[0]; ++i)
        if (!strcmp(all[i]->name, name))
            return all[i];
    tg_error_set(TG_ERR_ARG, "loss: unknown loss '%s' (known: softmax_cross_entropy_sum, "
                 "softmax_cross_entropy_mean, mse)", name ? name : "(null)");
    return NULL;
}

/* ---- graphs -------------------------------------------------------------------------- */
void tg_net_graph_free(tg_net_graph *ng)
{
    if (!ng)
        return;
    tg_graph_free(ng->g);
    tgi_free(ng->t);
    tgi_free(ng->defer);
    tgi_free(ng);
}

/* A param named <c><l+1> of the given shape bound to the net's blocks at off. */
static tg_tensor *layer_param(tg_net_graph *ng, char c, int l, int rank, const int *dims,
                              size_t off)
{
    char name[16];
    tg_tensor *p;
    snprintf(name, sizeof name, "%c%d", c, l + 1);
    p = tg_param_bound(ng->g, name, rank, dims, ng->net->values + off, ng->net->grads + off);
    return p;
}

static tg_tensor *named(tg_tensor *t, char c, int l)
{
    char name[16];
    snprintf(name, sizeof name, "%c%d", c, l + 1);
    return t && tg_tensor_set_name(t, name) == TG_OK ? t : NULL;
}

/* Record every layer on ng->g; out gets the last activation. */
static tg_status record_layers(tg_net_graph *ng, tg_tensor **out)
{
    tg_net *net = ng->net;
    tg_tensor *h = ng->x;
    int l;
    for (l = 0; l < net->n_layers; ++l) {
        const net_layer *nl = &net->layers[l];
        const tg_layer_spec *sp = &nl->spec;
        tg_tensor **t = ng->t + (size_t)l * N_PARTS;
        t[TG_LAYER_WEIGHT] = layer_param(ng, 'w', l, 2, (const int[]){ sp->n_nodes, nl->n_in },
                                         nl->w_off);
        t[TG_LAYER_BIAS] = layer_param(ng, 'b', l, 1, &sp->n_nodes, nl->b_off);
        t[TG_LAYER_PRE] = t[TG_LAYER_WEIGHT] && t[TG_LAYER_BIAS]
            ? named(tg_apply(ng->g, &tg_op_linear, (tg_tensor *const[]){ h, t[TG_LAYER_WEIGHT],
                                                                        t[TG_LAYER_BIAS] },
                             3, NULL, 0, &ng->defer[l]), 'z', l)
            : NULL;
        if (!t[TG_LAYER_PRE])
            return tg_last_status();
        t[TG_LAYER_ACT] = named(tg_apply(ng->g, sp->activation, &t[TG_LAYER_PRE], 1,
                                         sp->act_args, sp->act_args_size, NULL), 'a', l);
        if (!t[TG_LAYER_ACT]) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", tg_last_error());
            return tg_error_set(tg_last_status(), "layer %d: activation: %s", l, msg);
        }
        h = t[TG_LAYER_ACT];
    }
    *out = h;
    return TG_OK;
}

/* Record the target input and the loss on the output. */
static tg_status record_loss(tg_net_graph *ng, tg_tensor *out)
{
    const tg_loss *ld = &ng->loss_def;
    int dims[2] = { ng->batch, out->shape[1] };
    char d[TGI_DESC_LEN];
    if (!ld->fn)
        return tg_error_set(TG_ERR_ARG, "net_graph: loss '%s' has no function",
                            ld->name ? ld->name : "(unnamed)");
    ng->y = tg_input(ng->g, "y", ld->target == TG_TARGET_LABELS ? 1 : 2, dims);
    if (!ng->y)
        return tg_last_status();
    tg_error_clear();
    ng->loss = ld->fn(ng->g, out, ng->y, ld->user);
    if (!ng->loss)
        return tg_last_status() != TG_OK ? tg_last_status()
               : tg_error_set(TG_ERR_ARG, "net_graph: loss '%s' returned NULL without an error",
                              ld->name ? ld->name : "(unnamed)");
    if (ng->loss->graph != ng->g || ng->loss->size != 1)
        return tg_error_set(TG_ERR_SHAPE, "net_graph: loss '%s' gave %s, not a scalar of this "
                            "graph", ld->name ? ld->name : "(unnamed)", tgi_desc(ng->loss, d));
    if (!ng->loss->name[0] && tg_tensor_set_name(ng->loss, "loss") != TG_OK)
        return tg_last_status();
    return TG_OK;
}

/* 1 if no node up to the loss but its own layer's linear reads a parameter (a loss that adds,
 * say, a weight penalty makes the graph take the plain path: its gradient term would be lost). */
static int params_private(const tg_net_graph *ng)
{
    const int L = ng->net->n_layers, last = ng->loss->producer->index;
    int i, k;
    for (i = 0; i <= last; ++i) {
        const tg_node *n = tg_graph_node(ng->g, i);
        int l = 0;
        while (l < L && n->user != (void *)&ng->defer[l])
            ++l;
        for (k = 0; k < n->n_in; ++k) {
            if (n->in[k]->kind != TG_PARAM)
                continue;
            if (n->op != &tg_op_linear || l == L || k == 0 ||
                n->in[k] != ng->t[(size_t)l * N_PARTS + (k == 1 ? TG_LAYER_WEIGHT
                                                                 : TG_LAYER_BIAS)])
                return 0;
        }
    }
    return 1;
}

tg_net_graph *tg_net_graph_new(tg_net *net, int batch, const tg_loss *loss)
{
    tg_net_graph *ng;
    tg_tensor *out;
    if (!net || batch < 1) {
        tg_error_set(TG_ERR_ARG, "net_graph: %s", !net ? "net is NULL"
                     : batch == 0 ? "batch size is 0" : "batch size is negative");
        return NULL;
    }
    ng = tgi_calloc(1, sizeof *ng);
    if (!ng || !(ng->t = tgi_calloc((size_t)net->n_layers * N_PARTS, sizeof *ng->t)) ||
        !(ng->defer = tgi_calloc((size_t)net->n_layers, sizeof *ng->defer)) ||
        !(ng->g = tg_graph_new())) {
        tg_net_graph_free(ng);
        tg_error_set(TG_ERR_NOMEM, "net_graph: out of memory");
        return NULL;
    }
    ng->net = net;
    ng->batch = batch;
    ng->x = tg_input(ng->g, "x", 2, (const int[]){ batch, net->n_inputs });
    if (!ng->x || record_layers(ng, &out) != TG_OK)
        goto fail;
    if (loss) {
        ng->has_loss = 1;
        ng->loss_def = *loss;
        if (record_loss(ng, out) != TG_OK)
            goto fail;
        ng->fusable = params_private(ng);
    }
    tg_graph_set_check_numerics(ng->g, 1);
    return ng;
fail:
    tg_net_graph_free(ng);
    return NULL;
}

/* ---- the fused SGD step -------------------------------------------------------------- */
/* The linear node of layer l and its dz [B,O] (the gradient reaching z). */
#define LAYER_LINEAR(ng, l) ((ng)->t[(size_t)(l) * N_PARTS + TG_LAYER_PRE]->producer)

/* 1 if a gradient hook (a weight-gradient monitor, say) waits for a parameter's gradient at
 * this step; value hooks see the parameters before the update on either path. */
static int params_grad_hooked(const tg_net_graph *ng, long step)
{
    static const tg_layer_part parts[] = { TG_LAYER_WEIGHT, TG_LAYER_BIAS };
    int l, k;
    for (l = 0; l < ng->net->n_layers; ++l)
        for (k = 0; k < 2; ++k)
            if (tgi_hooks_want(ng->t[(size_t)l * N_PARTS + parts[k]], TG_ON_GRAD, step))
                return 1;
    return 0;
}

/* max_i |v_i| as the bits of a float: the order of non-negative floats is that of their bits,
 * so this is an integer max that vectorises; Inf is 0x7f800000 and NaN above it. */
static TGI_CLONES uint32_t max_abs_bits(const float *v, size_t n)
{
    uint32_t m = 0, u;
    size_t i;
    for (i = 0; i < n; ++i) {
        memcpy(&u, v + i, sizeof u);
        u &= 0x7fffffffu;
        m = u > m ? u : m;
    }
    return m;
}

/* 1 if every deferred gradient is finite for sure: |dw_oi| <= B max|dz| max|x| and
 * |db_o| <= B max|dz|, so a bound below FLT_MAX / 2 (room for the rounding of the sums)
 * rules out Inf and NaN without forming them. */
static int grads_bounded(const tg_net_graph *ng)
{
    int l;
    for (l = 0; l < ng->net->n_layers; ++l) {
        const tg_node *lin = LAYER_LINEAR(ng, l);
        const tg_tensor *x = lin->in[0];
        const uint32_t mdz = max_abs_bits(lin->out->grad, lin->out->size);
        const uint32_t mx = max_abs_bits(x->data, x->size);
        float fdz, fx;
        if (mdz >= 0x7f800000u || mx >= 0x7f800000u)
            return 0;
        memcpy(&fdz, &mdz, sizeof fdz);
        memcpy(&fx, &mx, sizeof fx);
        if ((double)ng->batch * fdz * (fx > 1.0f ? fx : 1.0f) > FLT_MAX / 2)
            return 0;
    }
    return 1;
}

/* Each layer's deferred gradients: db = sum_rows dz into the bias gradient, and either
 * dw = dz^T x into the weight gradient (lr = 0) or w -= lr dz^T x, b -= lr db (lr > 0). */
static void deferred_grads(const tg_net_graph *ng, float lr)
{
    int l;
    for (l = 0; l < ng->net->n_layers; ++l) {
        const tg_node *lin = LAYER_LINEAR(ng, l);
        const tg_tensor *x = lin->in[0];
        tg_tensor *w = lin->in[1], *b = lin->in[2];
        const float *dz = lin->out->grad;
        const int B = x->shape[0], I = x->shape[1], O = w->shape[0];
        tgi_sum_rows(dz, B, O, 1.0f, 0, b->grad);
        if (lr > 0.0f) {
            tgi_sgemm(1, 0, O, I, B, -lr, dz, O, x->data, I, 1.0f, w->data, I);
            tgi_sum_rows(b->grad, 1, O, -lr, 1, b->data);
        } else {
            tgi_sgemm(1, 0, O, I, B, 1.0f, dz, O, x->data, I, 0.0f, w->grad, I);
        }
    }
}

static void set_defer(tg_net_graph *ng, int on)
{
    int l;
    for (l = 0; l < ng->net->n_layers; ++l)
        ng->defer[l] = on;
}

tg_status tgi_net_graph_backward_step(tg_net_graph *ng, tg_optim *opt)
{
    const float lr = tgi_optim_sgd_lr(opt, ng->net->values, ng->net->n_params);
    const int fused = lr > 0.0f && ng->fusable && !params_grad_hooked(ng, tg_graph_step(ng->g));
    tg_status s;
    set_defer(ng, fused);
    s = tg_backward(ng->g, ng->loss);
    set_defer(ng, 0);
    if (s != TG_OK || !fused)
        return s != TG_OK ? s : tg_optim_step(opt);
    if (!grads_bounded(ng)) { /* form them; the optimiser checks them and refuses the step */
        deferred_grads(ng, 0.0f);
        return tg_optim_step(opt);
    }
    deferred_grads(ng, lr);
    tgi_optim_step_fused(opt);
    return TG_OK;
}

tg_graph *tg_net_graph_tape(const tg_net_graph *ng) { return ng ? ng->g : NULL; }
tg_net *tg_net_graph_net(const tg_net_graph *ng) { return ng ? ng->net : NULL; }
int tg_net_graph_batch(const tg_net_graph *ng) { return ng ? ng->batch : 0; }
tg_tensor *tg_net_graph_input(const tg_net_graph *ng) { return ng ? ng->x : NULL; }
tg_tensor *tg_net_graph_target(const tg_net_graph *ng) { return ng ? ng->y : NULL; }
tg_tensor *tg_net_graph_loss(const tg_net_graph *ng) { return ng ? ng->loss : NULL; }

const tg_loss *tg_net_graph_loss_def(const tg_net_graph *ng)
{
    return ng && ng->has_loss ? &ng->loss_def : NULL;
}

tg_tensor *tg_net_graph_output(const tg_net_graph *ng)
{
    return ng ? ng->t[(size_t)(ng->net->n_layers - 1) * N_PARTS + TG_LAYER_ACT] : NULL;
}

tg_tensor *tg_net_graph_layer(const tg_net_graph *ng, int layer, tg_layer_part part)
{
    int l;
    if (!ng) {
        tg_error_set(TG_ERR_ARG, "net_graph_layer: graph is NULL");
        return NULL;
    }
    if ((int)part < 0 || (int)part >= N_PARTS) {
        tg_error_set(TG_ERR_ARG, "net_graph_layer: part %d outside 0..%d", (int)part,
                     N_PARTS - 1);
        return NULL;
    }
    l = layer_index(ng->net->n_layers, layer, "net_graph_layer");
    return l < 0 ? NULL : ng->t[(size_t)l * N_PARTS + part];
}

tg_status tg_net_graph_bind(tg_net_graph *ng, float *x, float *y)
{
    tg_status s;
    if (!ng || !x)
        return tg_error_set(TG_ERR_ARG, "net_graph_bind: %s is NULL", ng ? "x" : "graph");
    if (y && !ng->y)
        return tg_error_set(TG_ERR_STATE, "net_graph_bind: the graph has no loss, so no "
                            "target to bind");
    s = tg_tensor_bind(ng->x, x);
    if (s == TG_OK && y)
        s = tg_tensor_bind(ng->y, y);
    return s;
}
