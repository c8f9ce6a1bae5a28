/*
 * internal.h -- shared internals (tgi_ prefix), hidden from the ABI by -fvisibility=hidden.
 *
 * The allocator wrappers every file uses, the graph arena, the graph struct, the RNG and
 * small helpers for error messages.
 */
#ifndef TAPEGRAD_INTERNAL_H
#define TAPEGRAD_INTERNAL_H

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "tapegrad.h"

/* ---- allocation (all library allocations go through these) -------------------------- */
void *tgi_malloc(size_t n);
void *tgi_calloc(size_t count, size_t size);
void *tgi_realloc(void *p, size_t n);
void tgi_free(void *p);
char *tgi_strdup(const char *s);
/* a * b into *out; 0 on overflow. */
int tgi_mul_size(size_t a, size_t b, size_t *out);

/* ---- arena: a chain of chunks; allocations are 64-byte aligned and zeroed ----------- */
typedef struct tgi_chunk tgi_chunk;
typedef struct tgi_arena {
    tgi_chunk *head;          /* newest chunk first */
} tgi_arena;
typedef struct tgi_arena_mark {
    tgi_chunk *head;
    size_t used;
} tgi_arena_mark;
void *tgi_arena_alloc(tgi_arena *a, size_t bytes);
tgi_arena_mark tgi_arena_save(const tgi_arena *a);
void tgi_arena_rollback(tgi_arena *a, tgi_arena_mark m);  /* frees chunks made after m */
void tgi_arena_release(tgi_arena *a);
char *tgi_arena_strdup(tgi_arena *a, const char *s);

/* One lock around every call into Graphviz and PLplot (dot.c, plot.c): besides their own
 * globals they share process state with each other (strtok's hidden pointer, which both use:
 * ThreadSanitizer caught Graphviz continuing a tokenisation PLplot had started in another
 * thread) and with pango's caches, so one lock each was not enough. */
extern pthread_mutex_t tgi_render_lock;

/* This thread's subnormal-flush bits (fpenv.c), saved and restored exactly. */
uint64_t tgi_flush_save(void);
void tgi_flush_restore(uint64_t saved);

/* Hot loops built for three instruction sets, picked at load time by the CPU (an ifunc):
 * AVX-512 (x86-64-v4), AVX2+FMA (x86-64-v3) and the baseline, so the distributed library
 * runs anywhere and still uses wide vectors. gcc on x86-64 with glibc (ifuncs) only; elsewhere
 * one build. Not under ThreadSanitizer: gcc instruments the resolvers, which the loader runs
 * before the TSan runtime is ready, and the program crashes at load.
 * Results can differ in the last bit between the clones (FMA contraction). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) && \
    !defined(__SANITIZE_THREAD__)
#define TGI_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TGI_CLONES
#endif

/* ---- the graph ------------------------------------------------------------------------ */
#define TGI_GRAPH_MAGIC 0x74617065u  /* "tape" */

struct tg_graph {
    uint32_t magic;
    tgi_arena arena;            /* tensors, nodes, names, args, values, grads, scratch */
    tg_tensor **tensors;        /* (n_tensors) in creation order */
    int n_tensors, cap_tensors;
    tg_node **nodes;            /* (n_nodes) in recording order */
    int n_nodes, cap_nodes;
    long step, epoch;
    int check_numerics;
    int stale;                  /* 1 when recorded values may not match the leaves' data:
                                   a leaf changed after ops were recorded, or a forward did
                                   not complete; a complete forward clears it */
    int n_hooks;                /* hooks registered on any tensor */
    int next_hook_id;
};

struct tg_hook {
    struct tg_hook *next;
    int id;
    int when;
    long period;                /* fires when step % period == 0 */
    tg_hook_fn fn;
    void *user;
};

/* A tensor struct in g's arena with shape checked (no data, not listed yet). */
tg_tensor *tgi_tensor_alloc(tg_graph *g, tg_kind kind, const char *name, int rank,
                            const int *dims, const char *who);
/* Append t to g's tensor list, setting t->index. */
tg_status tgi_graph_add_tensor(tg_graph *g, tg_tensor *t);
/* A leaf's values changed through the API: recorded outputs are stale until a forward. */
#define TGI_LEAF_CHANGED(g) ((g)->stale |= (g)->n_nodes > 0)
/* Checks that g is a live graph; sets TG_ERR_ARG naming `who` otherwise. */
int tgi_graph_ok(const tg_graph *g, const char *who);
/* Allocate gradient storage for every tensor that requires one and has none. */
tg_status tgi_graph_alloc_grads(tg_graph *g);
/* Fire t's hooks for `when` with the given values. */
tg_status tgi_hooks_fire(tg_graph *g, tg_tensor *t, int when);
/* 1 if a hook of t for `when` fires at `step`. */
int tgi_hooks_want(const tg_tensor *t, int when, long step);
/* Free every hook of t. */
void tgi_hooks_free(tg_tensor *t);
/* First non-finite index in x[0..n), or n if all finite. */
size_t tgi_first_nonfinite(const float *x, size_t n);

/* "'name' [2,3]" for messages; buf of at least TGI_DESC_LEN. */
#define TGI_DESC_LEN 160
const char *tgi_desc(const tg_tensor *t, char *buf);

/* ---- random numbers: xorshift64*; the state lives with its owner --------------------- */
uint64_t tgi_rng_next(uint64_t *s);
double tgi_rng_uniform01(uint64_t *s);      /* [0, 1) with 53 bits */
double tgi_rng_normal(uint64_t *s);         /* standard normal (Box-Muller) */

/* ---- BLAS: the only caller of cblas_sgemm -------------------------------------------- */
/* C[M,N] = alpha op(A) op(B) + beta C, row-major; lda/ldb/ldc the row strides as stored. */
void tgi_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
               int lda, const float *B, int ldb, float beta, float *C, int ldc);

#endif
