/*
 * spec_json.c -- the tapegrad command's JSON run spec, read with jansson.
 *
 *   { "name": "deep-16", "description": "...",
 *     "layers": [784, {"n_nodes": 64, "activation": "tanh",
 *                      "init_weight_lower": -0.0357, "init_weight_upper": 0.0357,
 *                      "init_bias_lower": 0, "init_bias_upper": 0}, ...],
 *     "loss": "softmax_cross_entropy_sum",
 *     "optimizer": {"name": "sgd", "learning_rate": 0.001},
 *     "data": {"repeat": 30, "batch": 30, "shuffle": true, "center": true},
 *     "seed": 1, "monitors": [{"type": "gradient", "period": 200, "layer": 0}] }
 *
 * Unknown keys and wrong types are errors (typos must not pass silently); every message names
 * the JSON path of the value, e.g. "layers[2].weight_init.std".
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"

typedef struct parse {
    const char *file;   /* the spec's path, first in every message */
    char *err;
    size_t errlen;
} parse;

/* "FILE: PATH: message" (or "FILE: message" at the top level); returns -1. */
static int fail(parse *p, const char *path, const char *fmt, ...) TG_PRINTF(3, 4);
static int fail(parse *p, const char *path, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path && *path)
        snprintf(p->err, p->errlen, "%s: %s: %s", p->file, path, msg);
    else
        snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
    return -1;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* path.key into buf (key alone at the top level). */
static const char *join(char *buf, size_t n, const char *path, const char *key)
{
    snprintf(buf, n, *path ? "%s.%s" : "%s%s", path, key);
    return buf;
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list; ++list)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

/* Append item to the ", "-separated list in buf (n bytes, *len used); truncates. */
static void append(char *buf, size_t n, size_t *len, const char *item)
{
    if (*len < n)
        *len += (size_t)snprintf(buf + *len, n - *len, "%s%s", *len ? ", " : "", item);
}

/* "a, b, c" from a NULL-terminated list. */
static const char *list_text(char *buf, size_t n, const char *const *list)
{
    size_t len = 0;
    buf[0] = '\0';
    for (; *list; ++list)
        append(buf, n, &len, *list);
    return buf;
}

static int check_keys(parse *p, json_t *obj, const char *path, const char *const *known)
{
    const char *key;
    json_t *v;
    char list[512];
    json_object_foreach(obj, key, v) {
        if (!in_list(key, known))
            return fail(p, path, "unknown key \"%s\" (known: %s)", key,
                        list_text(list, sizeof list, known));
    }
    return 0;
}

/* The getters return 1 when the key is present and valid, 0 when it is absent and optional
 * (*out untouched), -1 after fail(). */
static json_t *get(parse *p, json_t *obj, const char *path, const char *key, int required,
                   int *rc)
{
    json_t *v = json_object_get(obj, key);
    *rc = v ? 1 : required ? fail(p, path, "missing key \"%s\"", key) : 0;
    return v;
}

static int get_num(parse *p, json_t *obj, const char *path, const char *key, int required,
                   double *out)
{
    char kp[256];
    int rc;
    json_t *v = get(p, obj, path, key, required, &rc);
    if (rc <= 0)
        return rc;
    if (!json_is_number(v))
        return fail(p, join(kp, sizeof kp, path, key), "expected a number, got %s",
                    type_name(v));
    *out = json_number_value(v);
    return 1;
}

static int get_int(parse *p, json_t *obj, const char *path, const char *key, int required,
                   long long lo, long long hi, long long *out)
{
    char kp[256];
    int rc;
    json_t *v = get(p, obj, path, key, required, &rc);
    if (rc <= 0)
        return rc;
    join(kp, sizeof kp, path, key);
    if (!json_is_integer(v))
        return fail(p, kp, "expected an integer, got %s", type_name(v));
    if (json_integer_value(v) < lo || json_integer_value(v) > hi)
        return fail(p, kp, "%lld is out of range (%lld..%lld)",
                    (long long)json_integer_value(v), lo, hi);
    *out = json_integer_value(v);
    return 1;
}

static int get_bool(parse *p, json_t *obj, const char *path, const char *key, int *out)
{
    char kp[256];
    int rc;
    json_t *v = get(p, obj, path, key, 0, &rc);
    if (rc <= 0)
        return rc;
    if (!json_is_boolean(v))
        return fail(p, join(kp, sizeof kp, path, key), "expected true or false, got %s",
                    type_name(v));
    *out = json_is_true(v);
    return 1;
}

static int get_str(parse *p, json_t *obj, const char *path, const char *key, int required,
                   const char **out)
{
    char kp[256];
    int rc;
    json_t *v = get(p, obj, path, key, required, &rc);
    if (rc <= 0)
        return rc;
    if (!json_is_string(v))
        return fail(p, join(kp, sizeof kp, path, key), "expected a string, got %s",
                    type_name(v));
    *out = json_string_value(v);
    return 1;
}

/* ---- activations ---------------------------------------------------------------------- */
/* leaky_relu and elu read a tg_float_arg: their alpha. */
static int takes_alpha(const tg_op_def *op)
{
    return op->args_size == sizeof(tg_float_arg);
}

static int unknown_activation(parse *p, const char *path, const char *name)
{
    char list[512];
    size_t len = 0;
    int i;
    list[0] = '\0';
    for (i = 0; i < TG_BUILTIN_OP_COUNT; ++i)
        if (tg_op_is_activation(tg_builtin_ops[i]))
            append(list, sizeof list, &len, tg_builtin_ops[i]->name);
    return fail(p, path, "unknown activation \"%s\" (known: %s; linear and none mean "
                "identity)", name, list);
}

/* "activation": "tanh" or {"name": "leaky_relu", "alpha": 0.2}. */
static int parse_activation(parse *p, json_t *layer, const char *lpath, tg_layer_spec *l,
                            tg_float_arg *arg)
{
    static const char *const keys[] = { "name", "alpha", NULL };
    char path[128];
    const char *name = NULL;
    double alpha;
    int rc;
    json_t *v = get(p, layer, lpath, "activation", 1, &rc);
    if (rc < 0)
        return -1;
    join(path, sizeof path, lpath, "activation");
    if (json_is_string(v))
        name = json_string_value(v);
    else if (!json_is_object(v))
        return fail(p, path, "expected a name or {\"name\": ..., \"alpha\": ...}, got %s",
                    type_name(v));
    else if (check_keys(p, v, path, keys) < 0 || get_str(p, v, path, "name", 1, &name) < 0)
        return -1;
    if (!(l->activation = tg_activation_find(name)))
        return unknown_activation(p, path, name);
    if (json_is_object(v) && (rc = get_num(p, v, path, "alpha", 0, &alpha)) != 0) {
        if (rc < 0)
            return -1;
        if (!takes_alpha(l->activation))
            return fail(p, path, "\"%s\" takes no alpha", name);
        arg->value = (float)alpha;
        l->act_args = arg;
        l->act_args_size = sizeof *arg;
    }
    return 0;
}

/* ---- initialisers --------------------------------------------------------------------- */
/* The parameter keys of a named scheme, in tg_init's (a, b) order. */
static const char *const *scheme_keys(tg_init_kind k)
{
    static const char *const uniform[] = { "name", "lower", "upper", NULL };
    static const char *const constant[] = { "name", "value", NULL };
    static const char *const normal[] = { "name", "mean", "std", NULL };
    static const char *const gain[] = { "name", "gain", NULL };
    static const char *const none[] = { "name", NULL };
    switch (k) {
    case TG_INIT_UNIFORM: return uniform;
    case TG_INIT_CONSTANT: return constant;
    case TG_INIT_NORMAL: return normal;
    case TG_INIT_ZEROS: return none;
    default: return gain;
    }
}

static int find_scheme(parse *p, const char *path, const char *name, tg_init_kind *kind)
{
    char list[512];
    size_t len = 0;
    int k = tg_init_find(name);
    if (k >= 0) {
        *kind = (tg_init_kind)k;
        return 0;
    }
    list[0] = '\0';
    for (k = 0; k < TG_INIT_KIND_COUNT; ++k)
        append(list, sizeof list, &len, tg_init_name((tg_init_kind)k));
    return fail(p, path, "unknown initialiser \"%s\" (known: %s; xavier_* and kaiming_* are "
                "aliases)", name, list);
}

/* "weight_init": "glorot_uniform" or {"name": "normal", "mean": 0, "std": 0.01}. */
static int parse_scheme(parse *p, json_t *v, const char *path, tg_init *init)
{
    const char *name = NULL;
    const char *const *keys;
    double a = 0.0, b = 0.0;
    int rc;
    if (!json_is_string(v) && !json_is_object(v))
        return fail(p, path, "expected an initialiser name or {\"name\": ...}, got %s",
                    type_name(v));
    if (json_is_string(v))
        name = json_string_value(v);
    else if (get_str(p, v, path, "name", 1, &name) < 0)
        return -1;
    if (find_scheme(p, path, name, &init->kind) < 0)
        return -1;
    keys = scheme_keys(init->kind);
    if (json_is_string(v)) {
        if (init->kind == TG_INIT_UNIFORM || init->kind == TG_INIT_CONSTANT ||
            init->kind == TG_INIT_NORMAL) {
            char want[96];
            snprintf(want, sizeof want, keys[2] ? "\"%s\": ..., \"%s\": ..." : "\"%s\": ...",
                     keys[1], keys[2]);
            return fail(p, path, "\"%s\" needs parameters: {\"name\": \"%s\", %s}", name, name,
                        want);
        }
        init->a = init->b = 0.0; /* gain 0 means 1 */
        return 0;
    }
    if (check_keys(p, v, path, keys) < 0)
        return -1;
    switch (init->kind) {
    case TG_INIT_ZEROS:
        break;
    case TG_INIT_UNIFORM:
        if (get_num(p, v, path, "lower", 1, &a) < 0 || get_num(p, v, path, "upper", 1, &b) < 0)
            return -1;
        break;
    case TG_INIT_CONSTANT:
        if (get_num(p, v, path, "value", 1, &a) < 0)
            return -1;
        break;
    case TG_INIT_NORMAL:  /* mean defaults to 0 */
        if (get_num(p, v, path, "mean", 0, &a) < 0 || get_num(p, v, path, "std", 1, &b) < 0)
            return -1;
        break;
    default:              /* the gain kinds; an absent gain stays 0, which means 1 */
        if ((rc = get_num(p, v, path, "gain", 0, &a)) < 0)
            return -1;
        if (rc && a <= 0.0) {
            char gp[192];
            return fail(p, join(gp, sizeof gp, path, "gain"), "%g (must be > 0)", a);
        }
    }
    init->a = a;
    init->b = b;
    return 0;
}

/* A layer's weight or bias initialiser: the original's init_<field>_lower/_upper range, or
 * <field>_init naming a scheme. Weights must have one; biases default to zeros. */
static int parse_init(parse *p, json_t *layer, const char *lpath, const char *field,
                      tg_init *init)
{
    char lo_key[32], hi_key[32], scheme_key[32], path[160];
    json_t *scheme;
    int range;
    snprintf(lo_key, sizeof lo_key, "init_%s_lower", field);
    snprintf(hi_key, sizeof hi_key, "init_%s_upper", field);
    snprintf(scheme_key, sizeof scheme_key, "%s_init", field);
    range = json_object_get(layer, lo_key) || json_object_get(layer, hi_key);
    scheme = json_object_get(layer, scheme_key);
    if (range && scheme)
        return fail(p, lpath, "give either %s/%s or %s, not both", lo_key, hi_key, scheme_key);
    if (range) {
        init->kind = TG_INIT_UNIFORM;
        if (get_num(p, layer, lpath, lo_key, 1, &init->a) < 0 ||
            get_num(p, layer, lpath, hi_key, 1, &init->b) < 0)
            return -1;
        snprintf(path, sizeof path, "%s", lpath);
    } else if (scheme) {
        if (parse_scheme(p, scheme, join(path, sizeof path, lpath, scheme_key), init) < 0)
            return -1;
    } else if (!strcmp(field, "weight")) {
        return fail(p, lpath, "no weight initialiser: give init_weight_lower and "
                    "init_weight_upper, or weight_init (e.g. \"glorot_uniform\")");
    } else {
        init->kind = TG_INIT_ZEROS;
        return 0;
    }
    if (tg_init_check(init, field) != TG_OK)
        return fail(p, path, "%s", tg_last_error());
    if (init->kind == TG_INIT_ORTHOGONAL && !strcmp(field, "bias"))
        return fail(p, path, "orthogonal needs a matrix; biases are vectors");
    return 0;
}

/* ---- sections --------------------------------------------------------------------------- */
static int parse_layers(parse *p, json_t *root, cli_spec *s)
{
    static const char *const keys[] = { "n_nodes", "activation", "init_weight_lower",
                                         "init_weight_upper", "init_bias_lower",
                                         "init_bias_upper", "weight_init", "bias_init", NULL };
    json_t *arr = json_object_get(root, "layers");
    char path[64];
    long long n;
    size_t i;
    if (!arr)
        return fail(p, "", "missing key \"layers\"");
    if (!json_is_array(arr))
        return fail(p, "layers", "expected an array [input width, layer, ...], got %s",
                    type_name(arr));
    if (json_array_size(arr) < 2)
        return fail(p, "layers", "needs the input width and at least one layer, got %zu "
                    "element%s", json_array_size(arr), json_array_size(arr) == 1 ? "" : "s");
    if (!json_is_integer(json_array_get(arr, 0)))
        return fail(p, "layers[0]", "expected the input width (an integer), got %s",
                    type_name(json_array_get(arr, 0)));
    n = json_integer_value(json_array_get(arr, 0));
    if (n < 1 || n > INT_MAX)
        return fail(p, "layers[0]", "input width %lld is out of range (1..%d)", n, INT_MAX);
    s->n_inputs = (int)n;
    s->n_layers = (int)json_array_size(arr) - 1;
    s->layers = calloc((size_t)s->n_layers, sizeof *s->layers);
    s->act_args = calloc((size_t)s->n_layers, sizeof *s->act_args);
    if (!s->layers || !s->act_args)
        return fail(p, "layers", "out of memory for %d layers", s->n_layers);
    for (i = 1; i < json_array_size(arr); ++i) {
        json_t *o = json_array_get(arr, i);
        tg_layer_spec *l = &s->layers[i - 1];
        snprintf(path, sizeof path, "layers[%zu]", i);
        if (!json_is_object(o))
            return fail(p, path, "expected a layer {\"n_nodes\": ..., \"activation\": ...}, "
                        "got %s", type_name(o));
        if (check_keys(p, o, path, keys) < 0 || get_int(p, o, path, "n_nodes", 1, 1, INT_MAX,
                                                         &n) < 0)
            return -1;
        l->n_nodes = (int)n;
        if (parse_activation(p, o, path, l, &s->act_args[i - 1]) < 0 ||
            parse_init(p, o, path, "weight", &l->weight_init) < 0 ||
            parse_init(p, o, path, "bias", &l->bias_init) < 0)
            return -1;
    }
    return 0;
}

/* "schedule": {"type": "step", "step_size": N, "gamma": g} or {"type": "exponential", ...}. */
static int parse_schedule(parse *p, json_t *v, tg_optim_opts *o)
{
    static const char *const keys[] = { "type", "step_size", "gamma", NULL };
    const char *path = "optimizer.schedule", *type = NULL;
    long long step_size;
    if (!json_is_object(v))
        return fail(p, path, "expected {\"type\": \"step\", ...}, got %s", type_name(v));
    if (check_keys(p, v, path, keys) < 0 || get_str(p, v, path, "type", 1, &type) < 0)
        return -1;
    if (!strcmp(type, "constant")) {
        o->schedule = TG_LR_CONSTANT;
        return 0;
    }
    if (!strcmp(type, "step")) {
        o->schedule = TG_LR_STEP;
        if (get_int(p, v, path, "step_size", 1, 1, LONG_MAX, &step_size) < 0)
            return -1;
        o->step_size = (long)step_size;
    } else if (!strcmp(type, "exponential")) {
        o->schedule = TG_LR_EXPONENTIAL;
    } else {
        return fail(p, "optimizer.schedule.type", "unknown schedule \"%s\" (known: constant, "
                    "step, exponential)", type);
    }
    return get_num(p, v, path, "gamma", 1, &o->gamma) < 0 ? -1 : 0;
}

static int parse_optimizer(parse *p, json_t *root, tg_optim_opts *o)
{
    static const char *const sgd[] = { "name", "learning_rate", "schedule", "clip_norm", NULL };
    static const char *const mom[] = { "name", "learning_rate", "schedule", "clip_norm",
                                       "momentum", NULL };
    static const char *const adam[] = { "name", "learning_rate", "schedule", "clip_norm",
                                        "beta1", "beta2", "eps", NULL };
    static const char *const rms[] = { "name", "learning_rate", "schedule", "clip_norm", "rho",
                                       "eps", NULL };
    static const char *const *const keys[] = { sgd, mom, mom, adam, rms };
    json_t *v = json_object_get(root, "optimizer");
    const char *name = NULL;
    double lr = 0.0;
    int kind, i;
    char list[128];
    size_t len = 0;
    float value = 0.0f, grad = 0.0f;
    tg_optim *check;
    if (!v)
        return fail(p, "", "missing key \"optimizer\"");
    if (!json_is_object(v))
        return fail(p, "optimizer", "expected {\"name\": \"sgd\", \"learning_rate\": ...}, got "
                    "%s", type_name(v));
    if (get_str(p, v, "optimizer", "name", 1, &name) < 0)
        return -1;
    if ((kind = tg_optim_find(name)) < 0) {
        list[0] = '\0';
        for (i = 0; tg_optim_name((tg_optim_kind)i); ++i)
            append(list, sizeof list, &len, tg_optim_name((tg_optim_kind)i));
        return fail(p, "optimizer.name", "unknown optimizer \"%s\" (known: %s)", name, list);
    }
    if (check_keys(p, v, "optimizer", keys[kind]) < 0 ||
        get_num(p, v, "optimizer", "learning_rate", 1, &lr) < 0)
        return -1;
    *o = tg_optim_defaults((tg_optim_kind)kind, lr);
    if (get_num(p, v, "optimizer", "momentum", 0, &o->momentum) < 0 ||
        get_num(p, v, "optimizer", "beta1", 0, &o->beta1) < 0 ||
        get_num(p, v, "optimizer", "beta2", 0, &o->beta2) < 0 ||
        get_num(p, v, "optimizer", "eps", 0, &o->eps) < 0 ||
        get_num(p, v, "optimizer", "rho", 0, &o->rho) < 0 ||
        get_num(p, v, "optimizer", "clip_norm", 0, &o->clip_norm) < 0)
        return -1;
    if (json_object_get(v, "schedule") && parse_schedule(p, json_object_get(v, "schedule"), o) < 0)
        return -1;
    /* The library's own checks, on a one-value optimiser. */
    if (!(check = tg_optim_new(o, &value, &grad, 1)))
        return fail(p, "optimizer", "%s", tg_last_error());
    tg_optim_free(check);
    return 0;
}

static int parse_data(parse *p, json_t *root, cli_spec *s)
{
    static const char *const keys[] = { "repeat", "batch", "shuffle", "center", NULL };
    json_t *v = json_object_get(root, "data");
    long long n;
    int rc;
    if (!v)
        return 0;
    if (!json_is_object(v))
        return fail(p, "data", "expected {\"repeat\": ..., \"batch\": ...}, got %s",
                    type_name(v));
    if (check_keys(p, v, "data", keys) < 0)
        return -1;
    if ((rc = get_int(p, v, "data", "repeat", 0, 1, INT_MAX, &n)) < 0)
        return -1;
    if (rc)
        s->epochs = (long)n;
    if ((rc = get_int(p, v, "data", "batch", 0, 1, INT_MAX, &n)) < 0)
        return -1;
    if (rc)
        s->batch = (long)n;
    return get_bool(p, v, "data", "shuffle", &s->shuffle) < 0 ||
           get_bool(p, v, "data", "center", &s->center) < 0 ? -1 : 0;
}

/* The spec's monitor type names (the original's, and the --monitor kinds) and their kinds. */
static const struct {
    const char *name;
    tg_watch_kind kind;
} monitor_types[] = {
    { "loss", TG_WATCH_LOSS },
    { "gradient", TG_WATCH_GRAD },          { "grad", TG_WATCH_GRAD },
    { "gradient_norm", TG_WATCH_GRADNORM }, { "grad_norm", TG_WATCH_GRADNORM },
    { "gradnorm", TG_WATCH_GRADNORM },
    { "weight", TG_WATCH_WEIGHT },          { "weights", TG_WATCH_WEIGHT },
    { "activation", TG_WATCH_ACTIVATION },  { "activations", TG_WATCH_ACTIVATION },
};
#define N_MONITOR_TYPES (sizeof monitor_types / sizeof monitor_types[0])

static int monitor_kind(parse *p, const char *path, const char *type, tg_watch_kind *kind)
{
    char list[512], kp[96];
    size_t i, len = 0;
    for (i = 0; i < N_MONITOR_TYPES; ++i)
        if (!strcmp(type, monitor_types[i].name)) {
            *kind = monitor_types[i].kind;
            return 0;
        }
    list[0] = '\0';
    for (i = 0; i < N_MONITOR_TYPES; ++i)
        append(list, sizeof list, &len, monitor_types[i].name);
    return fail(p, join(kp, sizeof kp, path, "type"), "unknown monitor type \"%s\" (known: %s)",
                type, list);
}

/* "monitors": [{"type": "gradient", "period": 200, "layer": 0}, ...]: layer is the builder's
 * index, -n_layers..n_layers-1, stored 1-based; absent = every layer; none for the loss. */
static int parse_monitors(parse *p, json_t *root, cli_spec *s)
{
    static const char *const keys[] = { "type", "period", "layer", NULL };
    json_t *arr = json_object_get(root, "monitors");
    char path[64], kp[96];
    size_t i;
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return fail(p, "monitors", "expected an array of {\"type\": ..., \"period\": ...}, got "
                    "%s", type_name(arr));
    s->monitors = calloc(json_array_size(arr) + 1, sizeof *s->monitors); /* +1: never 0 */
    if (!s->monitors)
        return fail(p, "monitors", "out of memory");
    for (i = 0; i < json_array_size(arr); ++i) {
        json_t *o = json_array_get(arr, i);
        cli_monitor *m = &s->monitors[i];
        const char *type = NULL;
        long long period = 1, layer = 0;
        int has_layer;
        snprintf(path, sizeof path, "monitors[%zu]", i);
        if (!json_is_object(o))
            return fail(p, path, "expected {\"type\": ..., \"period\": ...}, got %s",
                        type_name(o));
        if (check_keys(p, o, path, keys) < 0 || get_str(p, o, path, "type", 1, &type) < 0 ||
            monitor_kind(p, path, type, &m->kind) < 0 ||
            get_int(p, o, path, "period", 0, 1, LONG_MAX, &period) < 0 ||
            (has_layer = get_int(p, o, path, "layer", 0, -s->n_layers, s->n_layers - 1,
                                 &layer)) < 0)
            return -1;
        if (has_layer && m->kind == TG_WATCH_LOSS)
            return fail(p, join(kp, sizeof kp, path, "layer"), "the loss monitor takes no "
                        "layer");
        if (!(m->type = strdup(type)))
            return fail(p, path, "out of memory");
        m->period = (long)period;
        m->layer = !has_layer ? 0 : layer < 0 ? (int)(layer + s->n_layers + 1) : (int)layer + 1;
        s->n_monitors++;
    }
    return 0;
}

/* The file's base name without a ".json" suffix. */
static char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    size_t n;
    b = b ? b + 1 : path;
    n = strlen(b);
    if (n > 5 && !strcmp(b + n - 5, ".json"))
        n -= 5;
    return strndup(b, n);
}

int cli_spec_load(const char *path, cli_spec *spec, char *err, size_t errlen)
{
    static const char *const keys[] = { "name", "description", "layers", "loss", "optimizer",
                                        "data", "seed", "monitors", NULL };
    parse p = { path, err, errlen };
    json_error_t je;
    json_t *root;
    const char *name = NULL, *loss = NULL, *desc = NULL;
    long long seed = 1;
    int rc = -1;

    memset(spec, 0, sizeof *spec);
    spec->epochs = 1;
    spec->batch = 30;
    spec->shuffle = 1;
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (je.line > 0)
            snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        else
            snprintf(err, errlen, "%s: %s", path, je.text);
        return -1;
    }
    if (!json_is_object(root)) {
        fail(&p, "", "expected a JSON object {\"layers\": ...}, got %s", type_name(root));
        goto done;
    }
    if (check_keys(&p, root, "", keys) < 0 || get_str(&p, root, "", "name", 0, &name) < 0 ||
        get_str(&p, root, "", "description", 0, &desc) < 0 || parse_layers(&p, root, spec) < 0)
        goto done;
    if (get_str(&p, root, "", "loss", 1, &loss) < 0)
        goto done;
    if (!(spec->loss = tg_loss_find(loss))) {
        const char *msg = tg_last_error();
        fail(&p, "loss", "%s", strncmp(msg, "loss: ", 6) ? msg : msg + 6);
        goto done;
    }
    if (parse_optimizer(&p, root, &spec->optim) < 0 || parse_data(&p, root, spec) < 0 ||
        get_int(&p, root, "", "seed", 0, 0, LLONG_MAX, &seed) < 0 ||
        parse_monitors(&p, root, spec) < 0)
        goto done;
    spec->seed = (uint64_t)seed;
    if (!(spec->name = name ? strdup(name) : base_name(path))) {
        fail(&p, "", "out of memory");
        goto done;
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}

void cli_spec_release(cli_spec *spec)
{
    int i;
    if (!spec)
        return;
    for (i = 0; i < spec->n_monitors; ++i)
        free(spec->monitors[i].type);
    free(spec->monitors);
    free(spec->layers);
    free(spec->act_args);
    free(spec->name);
    memset(spec, 0, sizeof *spec);
}
