/*
 * cli.h -- shared by the tapegrad command's sources: the JSON run spec.
 *
 * A spec (a .json file such as those in examples/specs; format in docs/tapegrad.1) names a
 * net (input width and layers), a loss, an optimiser, the data pipeline, a seed and a list of
 * monitor requests. cli_spec_load checks a whole spec with the
 * library's own checks (tg_init_check, tg_activation_find, tg_loss_find, tg_optim_new), so a
 * spec that loads builds, and every message names the file and the JSON path of the value.
 */
#ifndef TAPEGRAD_CLI_H
#define TAPEGRAD_CLI_H

#include <stddef.h>
#include <stdint.h>
#include "tapegrad.h"

/* One entry of the spec's "monitors" list, {"type": "gradient", "period": 200, "layer": 0}.
 * In the JSON, "layer" is the builder's index (0 = first layer, -1 = the output layer) and
 * absent means every layer; it is kept here 1-based, as in the tensor names (w1, a1). */
typedef struct cli_monitor {
    char *type;              /* as written, e.g. "gradient" (for messages) */
    tg_watch_kind kind;      /* what it names: loss, gradient (grad), gradient_norm, ... */
    long period;             /* sample every `period` steps, >= 1 (default 1) */
    int layer;               /* 1..n_layers, or 0 = every layer (always 0 for loss) */
} cli_monitor;

typedef struct cli_spec {
    char *name;              /* "name" key, else the file's base name without ".json" */
    int n_inputs;            /* layers[0] */
    int n_layers;
    tg_layer_spec *layers;   /* (n_layers): the JSON's layers[1..] */
    tg_float_arg *act_args;  /* (n_layers): alphas of leaky_relu/elu, pointed to by layers */
    const tg_loss *loss;
    tg_optim_opts optim;
    long epochs;             /* data.repeat, >= 1 (default 1) */
    long batch;              /* data.batch, >= 1 (default 30) */
    int shuffle;             /* data.shuffle (default 1) */
    int center;              /* data.center: subtract the train mean (default 0) */
    uint64_t seed;           /* parameters and shuffling (default 1) */
    cli_monitor *monitors;   /* (n_monitors) */
    int n_monitors;
} cli_spec;

/* Read and check the spec at path into *spec (zeroed first; release it even on error).
 * Returns 0, or -1 with a one-line message in err: "FILE:LINE:COL: what" for JSON syntax,
 * "FILE: JSON.PATH: what" for a bad value (e.g. "s.json: layers[2].activation: unknown
 * activation \"tanhh\" (known: tanh, ...)"). */
int cli_spec_load(const char *path, cli_spec *spec, char *err, size_t errlen);
/* Free what cli_spec_load allocated and zero *spec. */
void cli_spec_release(cli_spec *spec);

#endif
