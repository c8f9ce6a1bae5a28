/*
 * arena.c -- the graph's bump allocator: a chain of chunks, each at least 64 KiB, handing
 * out zeroed 64-byte-aligned blocks. Nothing is freed on its own; a rollback drops what
 * a failed op recorded, release drops everything.
 */
#include <string.h>
#include "internal.h"

#define ALIGN 64
#define MIN_CHUNK ((size_t)64 * 1024)

struct tgi_chunk {
    tgi_chunk *next;
    size_t cap;     /* usable bytes after the header */
    size_t used;
    void *raw;      /* what the allocator returned */
    unsigned char *base;
};

static size_t round_up(size_t n) { return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

void *tgi_arena_alloc(tgi_arena *a, size_t bytes)
{
    tgi_chunk *c = a->head;
    size_t need = round_up(bytes ? bytes : 1);
    void *p;
    if (need < bytes)
        return NULL;
    if (!c || c->cap - c->used < need) {
        size_t cap = need > MIN_CHUNK ? need : MIN_CHUNK, total;
        if (cap > SIZE_MAX - sizeof(tgi_chunk) - ALIGN)
            return NULL;
        total = sizeof(tgi_chunk) + ALIGN + cap;
        void *raw = tgi_malloc(total);
        if (!raw)
            return NULL;
        c = raw;
        c->raw = raw;
        c->base = (unsigned char *)(((uintptr_t)((unsigned char *)raw + sizeof(tgi_chunk))
                                     + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1));
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    p = c->base + c->used;
    c->used += need;
    memset(p, 0, need);
    return p;
}

tgi_arena_mark tgi_arena_save(const tgi_arena *a)
{
    tgi_arena_mark m;
    m.head = a->head;
    m.used = a->head ? a->head->used : 0;
    return m;
}

void tgi_arena_rollback(tgi_arena *a, tgi_arena_mark m)
{
    while (a->head && a->head != m.head) {
        tgi_chunk *c = a->head;
        a->head = c->next;
        tgi_free(c->raw);
    }
    if (a->head)
        a->head->used = m.used;
}

void tgi_arena_release(tgi_arena *a)
{
    while (a->head) {
        tgi_chunk *c = a->head;
        a->head = c->next;
        tgi_free(c->raw);
    }
}

char *tgi_arena_strdup(tgi_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = tgi_arena_alloc(a, n);
    if (d)
        memcpy(d, s, n);
    return d;
}
