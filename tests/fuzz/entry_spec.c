/*
 * entry_spec.c -- the oracle for the tapegrad command's JSON spec parser (see fuzz.h).
 * Built only with jansson, together with src/cli/spec_json.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "../../src/cli/cli.h"
#include "fuzz.h"

static char why[1024];

/* A loaded spec against the ranges cli.h documents and the library's own checks. */
static const char *spec_check(const cli_spec *s)
{
    float value = 0.0f, grad = 0.0f;
    tg_optim *opt;
    int i;
    if (!s->name || s->n_inputs < 1 || s->n_layers < 1 || !s->layers || !s->act_args ||
        !s->loss || s->epochs < 1 || s->batch < 1 || (s->shuffle != 0 && s->shuffle != 1) ||
        (s->center != 0 && s->center != 1) || s->n_monitors < 0 ||
        (s->n_monitors > 0 && !s->monitors))
        return "loaded with a field out of its documented range";
    if (tg_layers_check(s->n_inputs, s->layers, s->n_layers) != TG_OK) {
        snprintf(why, sizeof why, "loaded but tg_layers_check refuses it: %s", tg_last_error());
        return why;
    }
    for (i = 0; i < s->n_layers; ++i)
        if (s->layers[i].act_args && (s->layers[i].act_args != &s->act_args[i] ||
                                      s->layers[i].act_args_size != sizeof(tg_float_arg)))
            return "loaded with an activation argument outside act_args";
    for (i = 0; i < s->n_monitors; ++i)
        if (!s->monitors[i].type || s->monitors[i].period < 1 || s->monitors[i].layer < 0 ||
            s->monitors[i].layer > s->n_layers)
            return "loaded with a monitor out of range";
    if (!(opt = tg_optim_new(&s->optim, &value, &grad, 1))) {
        snprintf(why, sizeof why, "loaded but tg_optim_new refuses it: %s", tg_last_error());
        return why;
    }
    tg_optim_free(opt);
    return NULL;
}

const char *fuzz_spec_one(const uint8_t *data, size_t size, const char *path)
{
    char err[2048];
    cli_spec spec;
    const char *r = NULL;
    if (fuzz_write_file(path, data, size) != 0) {
        snprintf(why, sizeof why, "cannot write '%s': %s", path, strerror(errno));
        return why;
    }
    err[0] = '\0';
    if (cli_spec_load(path, &spec, err, sizeof err) == 0)
        r = spec_check(&spec);
    else if (strncmp(err, path, strlen(path)) != 0) {
        snprintf(why, sizeof why, "failed with a message that does not start with the path: "
                 "\"%s\"", err);
        r = why;
    }
    cli_spec_release(&spec);
    return r;
}
