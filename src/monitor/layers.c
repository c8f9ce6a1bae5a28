/*
 * layers.c -- the study's layer monitors: a set of tg_monitor's on one net graph, each with a
 * role (loss; dL/db per unit; ||dL/dz||, ||dL/dW||, ||dL/db||; weight norms; activation means,
 * saturation or dead fractions, histograms), their spec strings, CSV files, plots, and the
 * per-tensor metric that colours a DOT graph by gradient norm.
 *
 * Layer l of the net: w [O,I], b [O], z = x w^T + b [B,O], a = f(z) [B,O]. Everything is a
 * hook through tg_monitor_new; the set only names, groups and finds the monitors. Entries are
 * kept in the order added; the set remembers each watched tensor's index, so that a detached
 * set (graph freed) still answers everything but new additions.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "internal.h"

#define DEFAULT_BINS 50
#define TANH_SATURATED 0.99f
#define SIGMOID_Z_SATURATED 4.59511985f  /* ln 99: sigmoid(z) > 0.99 <=> z > ln 99 */
#define NAME_LEN 48
#define PATH_LEN 4096

typedef enum { ACT_OTHER = 0, ACT_TANH, ACT_SIGMOID, ACT_RELU } act_class;

typedef struct {
    tg_monitor *m;
    tg_monitor_role role;
    int layer;                 /* 0-based; -1 for the loss */
    int tensor;                /* index of the watched tensor in the graph */
} entry;

struct tg_monitor_set {
    tg_net_graph *ng;          /* NULL once detached */
    int n_layers;
    tg_monitor_set_opts opts;  /* hist_steps points at the copy below */
    long *hist_steps;          /* (opts.n_hist_steps) */
    unsigned char *act;        /* (n_layers) act_class */
    char (*act_name)[24];      /* (n_layers) the activation op's name */
    entry *e;                  /* (cap) */
    int n, cap;
};

/* How each role watches its layer: monitor kind, tensor part, value or gradient. */
typedef struct {
    tg_watch_kind watch;
    const char *suffix;        /* name = <prefix>_layer<L><suffix> */
    tg_layer_part part;
    int grad;
    tg_monitor_kind kind;
} role_def;

static const role_def roles[TG_ROLE_COUNT] = {
    [TG_ROLE_LOSS] = { TG_WATCH_LOSS, "", TG_LAYER_ACT, 0, TG_MON_MEAN },
    [TG_ROLE_BIAS_GRAD] = { TG_WATCH_GRAD, "_bias", TG_LAYER_BIAS, 1, TG_MON_COPY },
    [TG_ROLE_WEIGHT_GRAD_UNIT] = { TG_WATCH_GRAD, "_weight", TG_LAYER_WEIGHT, 1,
                                   TG_MON_UNIT_NORM },
    [TG_ROLE_PRE_GRAD_HIST] = { TG_WATCH_GRAD, "_hist", TG_LAYER_PRE, 1, TG_MON_HIST },
    [TG_ROLE_PRE_GRAD_NORM] = { TG_WATCH_GRADNORM, "", TG_LAYER_PRE, 1, TG_MON_NORM },
    [TG_ROLE_WEIGHT_GRAD_NORM] = { TG_WATCH_GRADNORM, "_weight", TG_LAYER_WEIGHT, 1,
                                   TG_MON_NORM },
    [TG_ROLE_BIAS_GRAD_NORM] = { TG_WATCH_GRADNORM, "_bias", TG_LAYER_BIAS, 1, TG_MON_NORM },
    [TG_ROLE_WEIGHT_UNIT] = { TG_WATCH_WEIGHT, "_units", TG_LAYER_WEIGHT, 0, TG_MON_UNIT_NORM },
    [TG_ROLE_WEIGHT_STATS] = { TG_WATCH_WEIGHT, "", TG_LAYER_WEIGHT, 0, TG_MON_STATS },
    [TG_ROLE_ACT_MEAN] = { TG_WATCH_ACTIVATION, "_mean", TG_LAYER_ACT, 0, TG_MON_UNIT_MEAN },
    [TG_ROLE_ACT_SATURATED] = { TG_WATCH_ACTIVATION, "_saturated", TG_LAYER_ACT, 0,
                                TG_MON_UNIT_SATURATED },
    [TG_ROLE_ACT_DEAD] = { TG_WATCH_ACTIVATION, "_dead", TG_LAYER_ACT, 0, TG_MON_UNIT_ZERO },
    [TG_ROLE_ACT_HIST] = { TG_WATCH_ACTIVATION, "_hist", TG_LAYER_ACT, 0, TG_MON_HIST },
};

static const char *const watch_names[TG_WATCH_KIND_COUNT] = { "loss", "grad", "gradnorm",
                                                              "weight", "activation" };
static const char *const name_prefix[TG_WATCH_KIND_COUNT] = { "loss", "grad", "gradnorm",
                                                              "weight", "act" };

const char *tg_watch_name(tg_watch_kind kind)
{
    return (int)kind >= 0 && kind < TG_WATCH_KIND_COUNT ? watch_names[kind] : NULL;
}

int tg_watch_find(const char *name)
{
    int k;
    for (k = 0; name && k < TG_WATCH_KIND_COUNT; ++k)
        if (!strcmp(name, watch_names[k]))
            return k;
    if (name && !strcmp(name, "grad_norm"))
        return TG_WATCH_GRADNORM;
    tg_error_set(TG_ERR_ARG, "monitor kind '%s' unknown (known: loss, grad, gradnorm, weight, "
                 "activation)", name ? name : "(null)");
    return -1;
}

/* ---- "KIND:PERIOD[:LAYER]" -------------------------------------------------------------- */
/* A decimal integer filling s[0..len) into *v; 0 if it is not one or overflows. */
static int parse_long(const char *s, size_t len, long *v)
{
    char buf[32], *end;
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    if (!(buf[0] == '-' || buf[0] == '+' || (buf[0] >= '0' && buf[0] <= '9')))
        return 0;
    errno = 0;
    *v = strtol(buf, &end, 10);
    return *end == 0 && errno == 0;
}

tg_status tg_monitor_spec_parse(const char *text, tg_monitor_spec *out)
{
    const char *c1, *c2, *p_end;
    char kind[32];
    long period, layer = TG_ALL_LAYERS;
    int k;
    if (!text || !out)
        return tg_error_set(TG_ERR_ARG, "monitor_spec: %s is NULL", text ? "out" : "text");
    c1 = strchr(text, ':');
    if (!c1)
        return tg_error_set(TG_ERR_ARG, "monitor_spec: \"%s\": expected KIND:PERIOD[:LAYER], "
                            "e.g. grad:200:-1", text);
    if ((size_t)(c1 - text) >= sizeof kind)
        return tg_error_set(TG_ERR_ARG, "monitor_spec: \"%s\": monitor kind '%.*s' unknown "
                            "(known: loss, grad, gradnorm, weight, activation)", text,
                            (int)(c1 - text), text);
    snprintf(kind, sizeof kind, "%.*s", (int)(c1 - text), text);
    if ((k = tg_watch_find(kind)) < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", tg_last_error());
        return tg_error_set(TG_ERR_ARG, "monitor_spec: \"%s\": %s", text, msg);
    }
    c2 = strchr(c1 + 1, ':');
    p_end = c2 ? c2 : c1 + strlen(c1);
    if (!parse_long(c1 + 1, (size_t)(p_end - c1 - 1), &period))
        return tg_error_set(TG_ERR_ARG, "monitor_spec: \"%s\": period '%.*s' is not a decimal "
                            "integer in range", text, (int)(p_end - c1 - 1), c1 + 1);
    if (period < 1)
        return tg_error_set(TG_ERR_ARG, "monitor_spec: \"%s\": period %ld; sample every "
                            "period >= 1 steps", text, period);
    if (c2) {
        if (k == TG_WATCH_LOSS)
            return tg_error_set(TG_ERR_ARG, "monitor_spec: \"%s\": loss takes no layer",
                                text);
        if (strchr(c2 + 1, ':'))
            return tg_error_set(TG_ERR_ARG, "monitor_spec: \"%s\": extra field after the "
                                "layer (expected KIND:PERIOD[:LAYER])", text);
        if (!parse_long(c2 + 1, strlen(c2 + 1), &layer) || layer <= INT_MIN ||
            layer > INT_MAX)
            return tg_error_set(TG_ERR_ARG, "monitor_spec: \"%s\": layer '%s' is not a "
                                "decimal integer in range", text, c2 + 1);
    }
    out->kind = (tg_watch_kind)k;
    out->period = period;
    out->layer = (int)layer;
    return TG_OK;
}

/* ---- the set --------------------------------------------------------------------------- */
static act_class classify(const tg_op_def *op)
{
    if (op == &tg_op_tanh)
        return ACT_TANH;
    if (op == &tg_op_sigmoid)
        return ACT_SIGMOID;
    if (op == &tg_op_relu)
        return ACT_RELU;
    return ACT_OTHER;
}

tg_monitor_set *tg_monitor_set_new(tg_net_graph *ng, const tg_monitor_set_opts *opts)
{
    static const tg_monitor_set_opts defaults;
    const tg_monitor_set_opts *o = opts ? opts : &defaults;
    tg_net *net = tg_net_graph_net(ng);
    tg_monitor_set *ms;
    int l;
    if (!ng || !net) {
        tg_error_set(TG_ERR_ARG, "monitor_set_new: graph is NULL");
        return NULL;
    }
    if (o->steps < 0 || o->cap < 0 || o->cap == 1 || o->hist_bins < 0 || o->n_hist_steps < 0 ||
        (o->n_hist_steps && !o->hist_steps) ||
        !(o->grad_hist_range == 0 || (isfinite(o->grad_hist_range) && o->grad_hist_range > 0))) {
        tg_error_set(TG_ERR_ARG, "monitor_set_new: bad options: steps %ld, cap %ld (0 or >= 2),"
                     " hist_bins %d, grad_hist_range %g (0 or finite > 0), %d hist_steps%s",
                     o->steps, o->cap, o->hist_bins, (double)o->grad_hist_range,
                     o->n_hist_steps, o->n_hist_steps && !o->hist_steps ? " (NULL)" : "");
        return NULL;
    }
    ms = tgi_calloc(1, sizeof *ms);
    if (!ms)
        goto nomem;
    ms->ng = ng;
    ms->n_layers = tg_net_n_layers(net);
    ms->opts = *o;
    if (!ms->opts.hist_bins)
        ms->opts.hist_bins = DEFAULT_BINS;
    if (ms->opts.grad_hist_range == 0) {
        /* |dL/dz| of a softmax cross-entropy output layer is at most 1 per row (summed) or
         * 1/B (mean); other losses get the mean's bound */
        const tg_loss *ld = tg_net_graph_loss_def(ng);
        ms->opts.grad_hist_range = ld && ld->name && strstr(ld->name, "_sum")
                                   ? 1.0f : 1.0f / (float)tg_net_graph_batch(ng);
    }
    ms->act = tgi_calloc((size_t)ms->n_layers, 1);
    ms->act_name = tgi_calloc((size_t)ms->n_layers, sizeof *ms->act_name);
    if (!ms->act || !ms->act_name)
        goto nomem;
    if (o->n_hist_steps) {
        if (!(ms->hist_steps = tgi_malloc((size_t)o->n_hist_steps * sizeof(long))))
            goto nomem;
        memcpy(ms->hist_steps, o->hist_steps, (size_t)o->n_hist_steps * sizeof(long));
    }
    ms->opts.hist_steps = ms->hist_steps;
    for (l = 0; l < ms->n_layers; ++l) {
        const tg_op_def *op = tg_net_layer(net, l)->activation;
        char *c;
        ms->act[l] = (unsigned char)classify(op);
        snprintf(ms->act_name[l], sizeof ms->act_name[l], "%s", op->name ? op->name : "f");
        for (c = ms->act_name[l]; *c; ++c) /* it goes into file names */
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '-'))
                *c = '_';
    }
    return ms;
nomem:
    tg_monitor_set_free(ms);
    tg_error_set(TG_ERR_NOMEM, "monitor_set_new: out of memory");
    return NULL;
}

void tg_monitor_set_free(tg_monitor_set *ms)
{
    int i;
    if (!ms)
        return;
    for (i = 0; i < ms->n; ++i)
        tg_monitor_free(ms->e[i].m);
    tgi_free(ms->e);
    tgi_free(ms->act);
    tgi_free(ms->act_name);
    tgi_free(ms->hist_steps);
    tgi_free(ms);
}

tg_status tg_monitor_set_detach(tg_monitor_set *ms)
{
    tg_status s = TG_OK;
    int i;
    if (!ms)
        return tg_error_set(TG_ERR_ARG, "monitor_set_detach: set is NULL");
    if (!ms->ng)
        return tg_error_set(TG_ERR_STATE, "monitor_set_detach: the set is detached already");
    for (i = 0; i < ms->n; ++i) {
        tg_status si = tg_monitor_detach(ms->e[i].m);
        if (s == TG_OK)
            s = si;
    }
    ms->ng = NULL;
    return s;
}

int tg_monitor_set_count(const tg_monitor_set *ms) { return ms ? ms->n : 0; }
int tg_monitor_set_n_layers(const tg_monitor_set *ms) { return ms ? ms->n_layers : 0; }

const char *tg_monitor_set_activation(const tg_monitor_set *ms, int layer)
{
    if (!ms || layer < -ms->n_layers || layer >= ms->n_layers)
        return NULL;
    return ms->act_name[layer < 0 ? layer + ms->n_layers : layer];
}

tg_monitor *tg_monitor_set_get(const tg_monitor_set *ms, int i)
{
    return ms && i >= 0 && i < ms->n ? ms->e[i].m : NULL;
}

tg_monitor_role tg_monitor_set_role(const tg_monitor_set *ms, int i)
{
    return ms && i >= 0 && i < ms->n ? ms->e[i].role : TG_ROLE_COUNT;
}

int tg_monitor_set_layer(const tg_monitor_set *ms, int i)
{
    return ms && i >= 0 && i < ms->n ? ms->e[i].layer : -1;
}

static const entry *find_entry(const tg_monitor_set *ms, tg_monitor_role role, int layer)
{
    int i;
    for (i = 0; i < ms->n; ++i)
        if (ms->e[i].role == role && (role == TG_ROLE_LOSS || ms->e[i].layer == layer))
            return &ms->e[i];
    return NULL;
}

tg_monitor *tg_monitor_set_lookup(const tg_monitor_set *ms, tg_monitor_role role, int layer)
{
    const entry *e;
    if (!ms || (int)role < 0 || role >= TG_ROLE_COUNT)
        return NULL;
    if (layer < 0 && layer >= -ms->n_layers)
        layer += ms->n_layers;
    e = find_entry(ms, role, layer);
    return e ? e->m : NULL;
}

/* Does `role` apply to layer l (saturation and dead fractions only for their activations)? */
static int role_applies(const tg_monitor_set *ms, tg_monitor_role role, int l)
{
    if (role == TG_ROLE_ACT_SATURATED)
        return ms->act[l] == ACT_TANH || ms->act[l] == ACT_SIGMOID;
    if (role == TG_ROLE_ACT_DEAD)
        return ms->act[l] == ACT_RELU;
    return 1;
}

static void role_name(tg_monitor_role role, int l, char *buf)
{
    const role_def *d = &roles[role];
    if (role == TG_ROLE_LOSS)
        snprintf(buf, NAME_LEN, "loss");
    else
        snprintf(buf, NAME_LEN, "%s_layer%d%s", name_prefix[d->watch], l, d->suffix);
}

/* Create the monitor of `role` on layer l (-1 for the loss) and append it; room is reserved. */
static tg_status add_one(tg_monitor_set *ms, tg_monitor_role role, int l, long period)
{
    const role_def *d = &roles[role];
    tg_monitor_opts o;
    tg_tensor *t;
    char name[NAME_LEN];
    entry *e;
    memset(&o, 0, sizeof o);
    role_name(role, l, name);
    o.kind = d->kind;
    o.grad = d->grad;
    o.period = period;
    o.planned = ms->opts.steps ? ms->opts.steps / period + 2 : 0;
    o.cap = ms->opts.cap;
    o.name = name;
    if (role == TG_ROLE_LOSS) {
        t = tg_net_graph_loss(ms->ng);
    } else {
        tg_layer_part part = d->part;
        if (role == TG_ROLE_ACT_SATURATED && ms->act[l] == ACT_SIGMOID)
            part = TG_LAYER_PRE; /* a < 0.01 or a > 0.99 <=> |z| > ln 99 */
        t = tg_net_graph_layer(ms->ng, l, part);
    }
    if (!t)
        return tg_last_status();
    if (d->kind == TG_MON_UNIT_SATURATED)
        o.threshold = ms->act[l] == ACT_SIGMOID ? SIGMOID_Z_SATURATED : TANH_SATURATED;
    if (d->kind == TG_MON_HIST) {
        o.bins = ms->opts.hist_bins;
        if (role == TG_ROLE_PRE_GRAD_HIST) {
            o.lo = -ms->opts.grad_hist_range;
            o.hi = ms->opts.grad_hist_range;
        } else {
            static const float lo[] = { -4, -1, 0, 0 }, hi[] = { 4, 1, 1, 4 };
            o.lo = lo[ms->act[l]];
            o.hi = hi[ms->act[l]];
        }
    }
    e = &ms->e[ms->n];
    if (!(e->m = tg_monitor_new(t, &o)))
        return tg_last_status();
    e->role = role;
    e->layer = l;
    e->tensor = t->index;
    ms->n++;
    return TG_OK;
}

tg_status tg_monitor_set_add(tg_monitor_set *ms, tg_watch_kind kind, long period, int layer)
{
    const int n0 = ms ? ms->n : 0;
    int l0, l1, l, r, need = 0;
    tg_status s = TG_OK;
    if (!ms)
        return tg_error_set(TG_ERR_ARG, "monitor_set_add: set is NULL");
    if (!tg_watch_name(kind))
        return tg_error_set(TG_ERR_ARG, "monitor_set_add: kind %d unknown (known: loss, grad, "
                            "gradnorm, weight, activation)", (int)kind);
    if (period < 1)
        return tg_error_set(TG_ERR_ARG, "monitor_set_add: %s: period %ld; sample every period "
                            ">= 1 steps", watch_names[kind], period);
    if (!ms->ng)
        return tg_error_set(TG_ERR_STATE, "monitor_set_add: %s: the set is detached from its "
                            "graph", watch_names[kind]);
    if (kind == TG_WATCH_LOSS) {
        if (!tg_net_graph_loss(ms->ng))
            return tg_error_set(TG_ERR_STATE, "monitor_set_add: loss: the graph was built "
                                "without a loss");
        l0 = l1 = -1;
    } else if (layer == TG_ALL_LAYERS) {
        l0 = 0;
        l1 = ms->n_layers - 1;
    } else {
        if (layer < -ms->n_layers || layer >= ms->n_layers)
            return tg_error_set(TG_ERR_ARG, "monitor_set_add: %s: layer %d outside %d..%d (the "
                                "net has %d layers)", watch_names[kind], layer, -ms->n_layers,
                                ms->n_layers - 1, ms->n_layers);
        l0 = l1 = layer < 0 ? layer + ms->n_layers : layer;
    }
    for (l = l0; l <= l1; ++l)
        for (r = 0; r < TG_ROLE_COUNT; ++r) {
            if (roles[r].watch != kind || (l >= 0 && !role_applies(ms, (tg_monitor_role)r, l)))
                continue;
            if (find_entry(ms, (tg_monitor_role)r, l)) {
                char name[NAME_LEN];
                role_name((tg_monitor_role)r, l, name);
                return tg_error_set(TG_ERR_ARG, "monitor_set_add: %s: '%s' is watched already",
                                    watch_names[kind], name);
            }
            need++;
        }
    if (need > INT_MAX - ms->n)
        return tg_error_set(TG_ERR_LIMIT, "monitor_set_add: too many monitors");
    if (ms->n + need > ms->cap) {
        int cap = ms->n + need > INT_MAX / 2 ? ms->n + need : 2 * (ms->n + need);
        entry *e = tgi_realloc(ms->e, (size_t)cap * sizeof *e);
        if (!e)
            return tg_error_set(TG_ERR_NOMEM, "monitor_set_add: out of memory");
        ms->e = e;
        ms->cap = cap;
    }
    for (l = l0; l <= l1 && s == TG_OK; ++l)
        for (r = 0; r < TG_ROLE_COUNT && s == TG_OK; ++r)
            if (roles[r].watch == kind && (l < 0 || role_applies(ms, (tg_monitor_role)r, l)))
                s = add_one(ms, (tg_monitor_role)r, l, period);
    if (s != TG_OK)
        while (ms->n > n0)
            tg_monitor_free(ms->e[--ms->n].m);
    return s;
}

tg_status tg_monitor_set_add_spec(tg_monitor_set *ms, const tg_monitor_spec *spec)
{
    if (!spec)
        return tg_error_set(TG_ERR_ARG, "monitor_set_add: spec is NULL");
    return tg_monitor_set_add(ms, spec->kind, spec->period, spec->layer);
}

tg_status tg_monitor_set_add_diagnosis(tg_monitor_set *ms, long period)
{
    static const tg_watch_kind kinds[] = { TG_WATCH_GRADNORM, TG_WATCH_WEIGHT,
                                           TG_WATCH_ACTIVATION };
    const int n0 = ms ? ms->n : 0;
    size_t k;
    for (k = 0; k < sizeof kinds / sizeof kinds[0]; ++k) {
        tg_status s = tg_monitor_set_add(ms, kinds[k], period, TG_ALL_LAYERS);
        if (s != TG_OK) {
            while (ms && ms->n > n0)
                tg_monitor_free(ms->e[--ms->n].m);
            return s;
        }
    }
    return TG_OK;
}

/* ---- files ------------------------------------------------------------------------------ */
static tg_status make_dir(const char *who, const char *dir)
{
    if (!dir || !*dir)
        return tg_error_set(TG_ERR_ARG, "%s: directory is NULL or empty", who);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return tg_error_set(TG_ERR_IO, "%s: cannot create directory '%s': %s", who, dir,
                            strerror(errno));
    return TG_OK;
}

static tg_status join(const char *who, char *buf, const char *dir, const char *name,
                      const char *ext)
{
    int k = snprintf(buf, PATH_LEN, "%s/%s.%s", dir, name, ext);
    if (k < 0 || k >= PATH_LEN)
        return tg_error_set(TG_ERR_ARG, "%s: path '%s/%s.%s' is too long", who, dir, name, ext);
    return TG_OK;
}

tg_status tg_monitor_set_write_csv(const tg_monitor_set *ms, const char *dir)
{
    char path[PATH_LEN];
    tg_status s;
    int i;
    if (!ms)
        return tg_error_set(TG_ERR_ARG, "monitor_set_write_csv: set is NULL");
    if ((s = make_dir("monitor_set_write_csv", dir)) != TG_OK)
        return s;
    for (i = 0; i < ms->n; ++i)
        if ((s = join("monitor_set_write_csv", path, dir, tg_monitor_name(ms->e[i].m),
                      "csv")) != TG_OK ||
            (s = tg_monitor_write_csv(ms->e[i].m, path)) != TG_OK)
            return s;
    return TG_OK;
}

/* ---- plots -------------------------------------------------------------------------------- */
typedef struct {
    const tg_monitor_set *ms;
    const char *dir, *ext;
    tg_status first;           /* first error, drawing goes on */
    char msg[512];             /* its message, set again at the end */
} plotter;

static void keep(plotter *p, tg_status s)
{
    if (s != TG_OK && p->first == TG_OK) {
        p->first = s;
        snprintf(p->msg, sizeof p->msg, "%s", tg_last_error());
    }
}

/* One line per layer watched by `role` (unit `unit`), on a log axis when log_y. */
static void plot_layers(plotter *p, tg_monitor_role role, int unit, const char *file,
                        const char *title, const char *ylabel, int log_y)
{
    const tg_monitor_set *ms = p->ms;
    tg_plot_opts o = { title, NULL, ylabel, 0, 0, log_y, 0 };
    char path[PATH_LEN];
    char (*labels)[16];
    tg_series *s;
    int i, n = 0;
    for (i = 0; i < ms->n; ++i)
        n += ms->e[i].role == role && tg_monitor_n_samples(ms->e[i].m) > 0;
    if (!n)
        return;
    if (join("monitor_set_plot", path, p->dir, file, p->ext) != TG_OK) {
        keep(p, tg_last_status());
        return;
    }
    s = tgi_calloc((size_t)n, sizeof *s);
    labels = tgi_calloc((size_t)n, sizeof *labels);
    if (!s || !labels) {
        keep(p, tg_error_set(TG_ERR_NOMEM, "monitor_set_plot: out of memory"));
    } else {
        int k = 0;
        for (i = 0; i < ms->n; ++i) {
            if (ms->e[i].role != role || tg_monitor_n_samples(ms->e[i].m) == 0)
                continue;
            tg_monitor_series(ms->e[i].m, unit, &s[k]);
            snprintf(labels[k], sizeof labels[k], "layer %d", ms->e[i].layer);
            s[k].label = n > 1 ? labels[k] : NULL;
            k++;
        }
        keep(p, tg_plot_lines(path, s, n, &o));
    }
    tgi_free(s);
    tgi_free(labels);
}

/* Mean |value| over every sample and unit (for titles); NaN if none is finite. */
static double mean_abs(const tg_monitor *m)
{
    const size_t n = (size_t)tg_monitor_n_samples(m) * (size_t)tg_monitor_n_units(m);
    const float *v = tg_monitor_values(m);
    double s = 0;
    size_t i, k = 0;
    for (i = 0; i < n; ++i)
        if (isfinite(v[i])) {
            s += fabs(v[i]);
            k++;
        }
    return k ? s / (double)k : NAN;
}

static void plot_heatmaps(plotter *p)
{
    const tg_monitor_set *ms = p->ms;
    char path[PATH_LEN], title[160];
    int i;
    for (i = 0; i < ms->n; ++i) {
        const entry *e = &ms->e[i];
        tg_plot_opts o = { title, NULL, "unit", 0, 0, 0, 0 };
        if ((e->role != TG_ROLE_BIAS_GRAD && e->role != TG_ROLE_ACT_MEAN) ||
            tg_monitor_n_samples(e->m) == 0)
            continue;
        if (e->role == TG_ROLE_BIAS_GRAD) {
            o.log_z = 1;
            snprintf(title, sizeof title, "|dL/db| of layer %d per unit (log10 colours; "
                     "mean %.2g)", e->layer, mean_abs(e->m));
        } else {
            snprintf(title, sizeof title, "|mean activation| of layer %d (%s) per unit over "
                     "the batch", e->layer, ms->act_name[e->layer]);
        }
        if (join("monitor_set_plot", path, p->dir, tg_monitor_name(e->m), p->ext) != TG_OK)
            keep(p, tg_last_status());
        else
            keep(p, tg_plot_heatmap(path, e->m, &o));
    }
}

/* One heatmap of |dL/db| of every grad-watched layer stacked (layer order, units from the
 * bottom) on one log colour scale, so that a vanishing layer shows red beside a blue one. It
 * is a COPY monitor on a private graph's input, fed row by row at the first monitor's sample
 * steps (NaN where another monitor has no sample at that step). */
static void plot_bias_stack(plotter *p)
{
    const tg_monitor_set *ms = p->ms;
    const tg_monitor *first = NULL;
    char path[PATH_LEN], title[200], ylabel[200];
    tg_plot_opts o = { title, NULL, ylabel, 0, 0, 0, 1 };
    tg_monitor_opts mo;
    tg_graph *g = NULL;
    tg_tensor *x = NULL;
    tg_monitor *m = NULL;
    float *row = NULL;
    long n = 0, i;
    int e, units = 0, layers = 0, k;
    tg_status s = TG_OK;
    for (e = 0; e < ms->n; ++e)
        if (ms->e[e].role == TG_ROLE_BIAS_GRAD && tg_monitor_n_samples(ms->e[e].m) > 0) {
            first = first ? first : ms->e[e].m;
            units += tg_monitor_n_units(ms->e[e].m);
            layers++;
        }
    if (layers < 2)
        return;
    n = tg_monitor_n_samples(first);
    snprintf(title, sizeof title, "|dL/db| of %d layers stacked on one log10 colour scale",
             layers);
    k = snprintf(ylabel, sizeof ylabel, "unit, from the bottom:");
    for (e = 0; e < ms->n && k > 0 && (size_t)k < sizeof ylabel; ++e)
        if (ms->e[e].role == TG_ROLE_BIAS_GRAD && tg_monitor_n_samples(ms->e[e].m) > 0)
            k += snprintf(ylabel + k, sizeof ylabel - (size_t)k, " layer %d [%d]",
                          ms->e[e].layer, tg_monitor_n_units(ms->e[e].m));
    memset(&mo, 0, sizeof mo);
    mo.kind = TG_MON_COPY;
    mo.period = 1;
    mo.planned = n;
    mo.name = "grad_bias_layers";
    if (!(g = tg_graph_new()))
        s = tg_error_set(TG_ERR_NOMEM, "monitor_set_plot: out of memory");
    else if (!(x = tg_input(g, "dL/db", 1, &units)) || !(m = tg_monitor_new(x, &mo)))
        s = tg_last_status();
    else if (!(row = tgi_malloc((size_t)units * sizeof *row)))
        s = tg_error_set(TG_ERR_NOMEM, "monitor_set_plot: out of memory");
    for (i = 0; i < n && s == TG_OK; ++i) {
        const long step = tg_monitor_steps(first)[i], epoch = tg_monitor_epochs(first)[i];
        int off = 0;
        for (e = 0; e < ms->n; ++e) {
            const tg_monitor *me = ms->e[e].m;
            const int u = tg_monitor_n_units(me);
            long j;
            if (ms->e[e].role != TG_ROLE_BIAS_GRAD || tg_monitor_n_samples(me) == 0)
                continue;
            for (j = tg_monitor_n_samples(me) - 1; j >= 0; --j)
                if (tg_monitor_steps(me)[j] == step && tg_monitor_epochs(me)[j] == epoch)
                    break;
            if (j >= 0)
                memcpy(row + off, tg_monitor_values(me) + (size_t)j * (size_t)u,
                       (size_t)u * sizeof *row);
            else
                for (k = 0; k < u; ++k)
                    row[off + k] = NAN;
            off += u;
        }
        tg_graph_set_step(g, step, epoch);
        if ((s = tg_tensor_set(x, row, (size_t)units)) == TG_OK)
            s = tg_graph_forward(g);
    }
    if (s == TG_OK && (s = join("monitor_set_plot", path, p->dir, "grad_bias_layers",
                                p->ext)) == TG_OK)
        s = tg_plot_heatmap(path, m, &o);
    keep(p, s);
    tgi_free(row);
    tg_monitor_free(m);
    tg_graph_free(g);
}

static int has_step(const tg_monitor *m, long step)
{
    const long *st = tg_monitor_steps(m);
    long i;
    for (i = tg_monitor_n_samples(m) - 1; i >= 0; --i)
        if (st[i] == step)
            return 1;
    return 0;
}

/* In the histogram group of `rep`: gradients when rep < 0, else activations of the same op
 * as layer rep's. */
static int in_group(const tg_monitor_set *ms, const entry *e, int rep)
{
    if (rep < 0)
        return e->role == TG_ROLE_PRE_GRAD_HIST;
    return e->role == TG_ROLE_ACT_HIST && !strcmp(ms->act_name[e->layer], ms->act_name[rep]);
}

/* The histograms of group rep sampled at `step`, overlaid in one picture. */
static void plot_hist_at(plotter *p, int rep, long step, const tg_monitor **buf)
{
    const tg_monitor_set *ms = p->ms;
    char name[64], path[PATH_LEN], title[128];
    tg_plot_opts o = { title, NULL, NULL, 0, 0, 0, 0 };
    int i, k = 0;
    for (i = 0; i < ms->n; ++i)
        if (in_group(ms, &ms->e[i], rep) && has_step(ms->e[i].m, step))
            buf[k++] = ms->e[i].m;
    if (!k) {
        keep(p, tg_error_set(TG_ERR_ARG, "monitor_set_plot: no %s%s histogram sampled at step "
                             "%ld", rep < 0 ? "gradient" : ms->act_name[rep],
                             rep < 0 ? "" : " activation", step));
        return;
    }
    if (rep >= 0) {
        snprintf(name, sizeof name, "act_hist_%s_step%ld", ms->act_name[rep], step);
        snprintf(title, sizeof title, "activations (%s) per layer at step %ld",
                 ms->act_name[rep], step);
    } else {
        snprintf(name, sizeof name, "grad_hist_step%ld", step);
        snprintf(title, sizeof title, "back-propagated gradients dL/dz per layer at step %ld",
                 step);
    }
    if (join("monitor_set_plot", path, p->dir, name, p->ext) != TG_OK)
        keep(p, tg_last_status());
    else
        keep(p, tg_plot_hist(path, buf, k, step, &o));
}

/* Per group (gradients; activations of each op), at the chosen steps, or at the first and
 * the last sample of the group's first monitor. */
static void plot_hists(plotter *p)
{
    const tg_monitor_set *ms = p->ms;
    const tg_monitor **buf = tgi_malloc(((size_t)ms->n + 1) * sizeof *buf);
    int i, j;
    if (!buf) {
        keep(p, tg_error_set(TG_ERR_NOMEM, "monitor_set_plot: out of memory"));
        return;
    }
    for (i = 0; i < ms->n; ++i) {
        const entry *e = &ms->e[i];
        const int rep = e->role == TG_ROLE_ACT_HIST ? e->layer : -1;
        const long n = tg_monitor_n_samples(e->m), *st = tg_monitor_steps(e->m);
        if ((e->role != TG_ROLE_ACT_HIST && e->role != TG_ROLE_PRE_GRAD_HIST) || n == 0)
            continue;
        for (j = 0; j < i; ++j) /* the group's first monitor with samples draws it */
            if (in_group(ms, &ms->e[j], rep) && tg_monitor_n_samples(ms->e[j].m) > 0)
                break;
        if (j < i)
            continue;
        if (ms->opts.n_hist_steps) {
            for (j = 0; j < ms->opts.n_hist_steps; ++j)
                plot_hist_at(p, rep, ms->opts.hist_steps[j], buf);
        } else {
            plot_hist_at(p, rep, st[0], buf);
            if (n > 1)
                plot_hist_at(p, rep, st[n - 1], buf);
        }
    }
    tgi_free(buf);
}

tg_status tg_monitor_set_plot(const tg_monitor_set *ms, const char *dir, const char *ext)
{
    plotter p;
    tg_monitor *loss;
    tg_status s;
    if (!ms)
        return tg_error_set(TG_ERR_ARG, "monitor_set_plot: set is NULL");
    ext = ext ? ext : "png";
    if (strcmp(ext, "png") && strcmp(ext, "svg"))
        return tg_error_set(TG_ERR_ARG, "monitor_set_plot: extension '%s': use png or svg", ext);
    if ((s = make_dir("monitor_set_plot", dir)) != TG_OK)
        return s;
    p.ms = ms;
    p.dir = dir;
    p.ext = ext;
    p.first = TG_OK;
    loss = tg_monitor_set_lookup(ms, TG_ROLE_LOSS, 0);
    if (loss && tg_monitor_n_samples(loss) > 0) {
        tg_plot_opts o = { "batch loss (before each sampled step's update)", NULL, "loss",
                           0, 0, 0, 0 };
        char path[PATH_LEN];
        tg_series sr;
        tg_monitor_series(loss, 0, &sr);
        sr.label = NULL;
        if (join("monitor_set_plot", path, dir, "loss", ext) != TG_OK)
            keep(&p, tg_last_status());
        else
            keep(&p, tg_plot_lines(path, &sr, 1, &o));
    }
    plot_layers(&p, TG_ROLE_PRE_GRAD_NORM, 0, "gradnorm", "back-propagated gradient "
                "||dL/dz|| per layer", "||dL/dz|| (log scale)", 1);
    plot_layers(&p, TG_ROLE_WEIGHT_GRAD_NORM, 0, "gradnorm_weight", "weight gradient "
                "||dL/dW|| per layer", "||dL/dW|| (log scale)", 1);
    plot_layers(&p, TG_ROLE_WEIGHT_STATS, 0, "weight", "weight norm ||W|| per layer", "||W||",
                0);
    plot_heatmaps(&p);
    plot_bias_stack(&p);
    plot_hists(&p);
    return p.first == TG_OK ? TG_OK : tg_error_set(p.first, "%s", p.msg);
}

/* ---- metric for DOT colouring ------------------------------------------------------------ */
/* Latest or mean over samples of f(sample row), where f is the norm of the row's units
 * (one unit: its |value|). NaN without samples. */
static double pick_norm(const tg_monitor *m, tg_metric_pick pick)
{
    const long n = tg_monitor_n_samples(m);
    const size_t u = (size_t)tg_monitor_n_units(m);
    const float *v = tg_monitor_values(m);
    double acc = 0;
    long i;
    if (n == 0)
        return NAN;
    for (i = pick == TG_METRIC_LAST ? n - 1 : 0; i < n; ++i) {
        double s2 = 0;
        size_t k;
        for (k = 0; k < u; ++k)
            s2 += (double)v[(size_t)i * u + k] * v[(size_t)i * u + k];
        acc += sqrt(s2);
    }
    return pick == TG_METRIC_LAST ? acc : acc / (double)n;
}

tg_status tg_monitor_set_metric(const tg_monitor_set *ms, tg_metric_pick pick, double *metric,
                                int n, int *n_set)
{
    /* preferred source first: the norm monitors, then the per-unit gradient monitors */
    static const tg_monitor_role order[] = { TG_ROLE_PRE_GRAD_NORM, TG_ROLE_WEIGHT_GRAD_NORM,
                                             TG_ROLE_BIAS_GRAD_NORM, TG_ROLE_WEIGHT_GRAD_UNIT,
                                             TG_ROLE_BIAS_GRAD };
    int i, k, filled = 0;
    size_t r;
    if (n_set)
        *n_set = 0;
    if (!ms || (!metric && n > 0) || n < 0)
        return tg_error_set(TG_ERR_ARG, "monitor_set_metric: %s", !ms ? "set is NULL"
                            : n < 0 ? "n < 0" : "metric is NULL");
    if (pick != TG_METRIC_LAST && pick != TG_METRIC_MEAN)
        return tg_error_set(TG_ERR_ARG, "monitor_set_metric: pick %d unknown", (int)pick);
    for (k = 0; k < n; ++k)
        metric[k] = NAN;
    for (r = 0; r < sizeof order / sizeof order[0]; ++r)
        for (i = 0; i < ms->n; ++i) {
            const entry *e = &ms->e[i];
            if (e->role != order[r] || e->tensor >= n || !isnan(metric[e->tensor]) ||
                tg_monitor_n_samples(e->m) == 0)
                continue;
            metric[e->tensor] = pick_norm(e->m, pick);
            filled++;
        }
    if (n_set)
        *n_set = filled;
    return TG_OK;
}
