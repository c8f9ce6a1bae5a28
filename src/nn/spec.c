/*
 * spec.c -- layer specs: activation names and validation of a whole net spec.
 *
 * Every message names the layer index (0-based, as in the API) and the field, so a spec read
 * from a file can be fixed from the message alone.
 */
#include <stdio.h>
#include <string.h>
#include "internal.h"

const tg_op_def *tg_activation_find(const char *name)
{
    const tg_op_def *op;
    if (!name) {
        tg_error_set(TG_ERR_ARG, "activation: name is NULL");
        return NULL;
    }
    op = tg_op_find(!strcmp(name, "linear") || !strcmp(name, "none") ? "identity" : name);
    if (!op) {
        tg_error_set(TG_ERR_ARG, "activation: unknown activation '%s'", name);
        return NULL;
    }
    if (!tg_op_is_activation(op)) {
        tg_error_set(TG_ERR_ARG, "activation: op '%s' is not an activation", name);
        return NULL;
    }
    return op;
}

static int is_builtin(const tg_op_def *op)
{
    int i;
    for (i = 0; i < TG_BUILTIN_OP_COUNT; ++i)
        if (tg_builtin_ops[i] == op)
            return 1;
    return 0;
}

static tg_status check_activation(const tg_layer_spec *l, int i)
{
    const tg_op_def *op = l->activation;
    if (!op)
        return tg_error_set(TG_ERR_ARG, "layer %d: activation is NULL (use identity for a "
                            "linear layer)", i);
    if (is_builtin(op)) {
        if (!tg_op_is_activation(op))
            return tg_error_set(TG_ERR_ARG, "layer %d: activation: built-in op '%s' is not an "
                                "activation", i, op->name);
    } else if (!op->name || !op->shape || !op->forward || !op->backward ||
               (op->n_in != 1 && op->n_in != -1)) {
        return tg_error_set(TG_ERR_ARG, "layer %d: activation: user op '%s' must take one "
                            "input and have shape, forward and backward functions", i,
                            op->name ? op->name : "(unnamed)");
    }
    if (!l->act_args != !l->act_args_size)
        return tg_error_set(TG_ERR_ARG, "layer %d: act_args %s but act_args_size is %zu", i,
                            l->act_args ? "given" : "NULL", l->act_args_size);
    return TG_OK;
}

/* Re-issue the last error with "layer i: " in front. */
static tg_status prefix_layer(tg_status s, int i)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tg_last_error());
    return tg_error_set(s, "layer %d: %s", i, msg);
}

tg_status tg_layers_check(int n_inputs, const tg_layer_spec *layers, int n_layers)
{
    tg_status s;
    int i;
    if (n_inputs < 1)
        return tg_error_set(TG_ERR_ARG, "net: n_inputs is %d (must be >= 1)", n_inputs);
    if (n_layers < 1 || !layers)
        return tg_error_set(TG_ERR_ARG, "net: %d layers%s (need at least one)", n_layers,
                            layers ? "" : ", layers is NULL");
    for (i = 0; i < n_layers; ++i) {
        const tg_layer_spec *l = &layers[i];
        if (l->n_nodes < 1)
            return tg_error_set(TG_ERR_ARG, "layer %d: n_nodes is %d (must be >= 1)", i,
                                l->n_nodes);
        if ((s = check_activation(l, i)) != TG_OK)
            return s;
        if ((s = tg_init_check(&l->weight_init, "weight")) != TG_OK)
            return prefix_layer(s, i);
        if ((s = tg_init_check(&l->bias_init, "bias")) != TG_OK)
            return prefix_layer(s, i);
        if (l->bias_init.kind == TG_INIT_ORTHOGONAL)
            return tg_error_set(TG_ERR_ARG, "layer %d: bias_init orthogonal needs a matrix; "
                                "biases are vectors", i);
    }
    return TG_OK;
}
