/*
 * hook.c -- callbacks on a tensor's value or gradient. A tensor with no hooks has a NULL
 * list, the only thing the run loop tests, so a graph without hooks pays nothing.
 */
#include "internal.h"

tg_status tg_hook_add(tg_tensor *t, int when, tg_hook_fn fn, void *user, int *id)
{
    tg_hook *h, **tail;
    if (!t || !fn)
        return tg_error_set(TG_ERR_ARG, "hook_add: %s is NULL", t ? "callback" : "tensor");
    if (!(when & (TG_ON_VALUE | TG_ON_GRAD)) || (when & ~(TG_ON_VALUE | TG_ON_GRAD)))
        return tg_error_set(TG_ERR_ARG, "hook_add: 'when' is %d; use TG_ON_VALUE and/or "
                            "TG_ON_GRAD", when);
    if (!tgi_graph_ok(t->graph, "hook_add"))
        return tg_last_status();
    if ((when & TG_ON_GRAD) && !t->requires_grad)
        return tg_error_set(TG_ERR_ARG, "hook_add: '%s' has no gradient to watch", t->name);
    h = tgi_malloc(sizeof *h);
    if (!h)
        return tg_error_set(TG_ERR_NOMEM, "hook_add: out of memory");
    h->next = NULL;
    h->id = t->graph->next_hook_id++;
    h->when = when;
    h->period = 1;
    h->fn = fn;
    h->user = user;
    for (tail = &t->hooks; *tail; tail = &(*tail)->next)
        ;
    *tail = h; /* in registration order */
    t->graph->n_hooks++;
    if (id)
        *id = h->id;
    return TG_OK;
}

tg_status tg_hook_set_period(tg_tensor *t, int id, long period)
{
    tg_hook *h;
    if (!t)
        return tg_error_set(TG_ERR_ARG, "hook_set_period: tensor is NULL");
    if (period < 1)
        return tg_error_set(TG_ERR_ARG, "hook_set_period: period %ld on '%s' (need >= 1)",
                            period, t->name);
    for (h = t->hooks; h; h = h->next)
        if (h->id == id) {
            h->period = period;
            return TG_OK;
        }
    return tg_error_set(TG_ERR_STATE, "hook_set_period: '%s' has no hook %d", t->name, id);
}

static int fires(const tg_hook *h, int when, long step)
{
    return (h->when & when) && step % h->period == 0;
}

int tgi_hooks_want(const tg_tensor *t, int when, long step)
{
    const tg_hook *h;
    for (h = t->hooks; h; h = h->next)
        if (fires(h, when, step))
            return 1;
    return 0;
}

tg_status tg_hook_remove(tg_tensor *t, int id)
{
    tg_hook **p;
    if (!t)
        return tg_error_set(TG_ERR_ARG, "hook_remove: tensor is NULL");
    for (p = &t->hooks; *p; p = &(*p)->next) {
        if ((*p)->id == id) {
            tg_hook *h = *p;
            *p = h->next;
            tgi_free(h);
            t->graph->n_hooks--;
            return TG_OK;
        }
    }
    return tg_error_set(TG_ERR_STATE, "hook_remove: '%s' has no hook %d (removed already?)",
                        t->name, id);
}

tg_status tgi_hooks_fire(tg_graph *g, tg_tensor *t, int when)
{
    const tg_hook *h;
    const float *v = when == TG_ON_GRAD ? t->grad : t->data;
    for (h = t->hooks; h; h = h->next) {
        if (fires(h, when, g->step)) {
            tg_status s = h->fn(t, when, v, g->step, g->epoch, h->user);
            if (s != TG_OK) {
                if (tg_last_status() != s)
                    tg_error_set(s, "hook %d on '%s' returned %s", h->id, t->name,
                                 tg_strerror(s));
                return s;
            }
        }
    }
    return TG_OK;
}

void tgi_hooks_free(tg_tensor *t)
{
    while (t->hooks) {
        tg_hook *h = t->hooks;
        t->hooks = h->next;
        tgi_free(h);
    }
}
