/*
 * alloc.c -- the allocator hook and the wrappers every allocation goes through, so that
 * tests can count calls (zero per training step) and fail the N-th one.
 */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static void *def_malloc(size_t n, void *u) { (void)u; return malloc(n); }
static void *def_realloc(void *p, size_t n, void *u) { (void)u; return realloc(p, n); }
static void def_free(void *p, void *u) { (void)u; free(p); }

pthread_mutex_t tgi_render_lock = PTHREAD_MUTEX_INITIALIZER; /* internal.h */

/* Set once before use (documented as not thread-safe); read-only afterwards. */
static tg_allocator alloc = { def_malloc, def_realloc, def_free, NULL };

void tg_set_allocator(const tg_allocator *a)
{
    if (a && a->malloc_fn && a->realloc_fn && a->free_fn) {
        alloc = *a;
    } else {
        alloc.malloc_fn = def_malloc;
        alloc.realloc_fn = def_realloc;
        alloc.free_fn = def_free;
        alloc.user = NULL;
    }
}

void *tgi_malloc(size_t n)
{
    return alloc.malloc_fn(n ? n : 1, alloc.user);
}

void *tgi_calloc(size_t count, size_t size)
{
    size_t n;
    void *p;
    if (!tgi_mul_size(count, size, &n))
        return NULL;
    p = tgi_malloc(n);
    if (p)
        memset(p, 0, n ? n : 1);
    return p;
}

void *tgi_realloc(void *p, size_t n)
{
    return alloc.realloc_fn(p, n ? n : 1, alloc.user);
}

void tgi_free(void *p)
{
    if (p)
        alloc.free_fn(p, alloc.user);
}

char *tgi_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = tgi_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int tgi_mul_size(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}
