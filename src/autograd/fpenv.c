/*
 * fpenv.c -- flushing subnormals to zero in this thread's float arithmetic (core.h).
 *
 * x86-64: MXCSR bits FTZ (15: subnormal results become 0) and DAZ (6: subnormal inputs read
 * as 0), which every SSE/AVX instruction obeys. aarch64: FPCR.FZ (24), which does both.
 * Both registers are per thread, so the mode is too. Elsewhere only "off" is available, and
 * where the register does not keep the bits (valgrind emulates IEEE and drops them) "on" fails
 * rather than silently not flushing.
 */
#include "internal.h"

#if defined(__x86_64__)
#include <pmmintrin.h>
#define FLUSH_BITS (_MM_FLUSH_ZERO_MASK | _MM_DENORMALS_ZERO_MASK)
static uint64_t csr_get(void) { return _mm_getcsr(); }
static void csr_set(uint64_t v) { _mm_setcsr((unsigned)v); }
#elif defined(__aarch64__)
#define FLUSH_BITS (UINT64_C(1) << 24)
static uint64_t csr_get(void)
{
    uint64_t v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
    return v;
}
static void csr_set(uint64_t v) { __asm__ __volatile__("msr fpcr, %0" : : "r"(v)); }
#endif

tg_status tg_set_flush_subnormals(int on)
{
#ifdef FLUSH_BITS
    csr_set(on ? csr_get() | FLUSH_BITS : csr_get() & ~(uint64_t)FLUSH_BITS);
    if (!on || tg_flush_subnormals())
        return TG_OK;
    return tg_error_set(TG_ERR_UNAVAILABLE, "flush_subnormals: not supported on this CPU: the "
                        "bits did not stay set (valgrind ignores them)");
#else
    return on ? tg_error_set(TG_ERR_UNAVAILABLE, "flush_subnormals: not supported on this CPU")
              : TG_OK;
#endif
}

int tg_flush_subnormals(void)
{
#ifdef FLUSH_BITS
    return (csr_get() & FLUSH_BITS) == FLUSH_BITS;
#else
    return 0;
#endif
}

/* The flush bits exactly as they are, and back: a caller that set only one of FTZ/DAZ gets
 * just that back after tg_train. */
uint64_t tgi_flush_save(void)
{
#ifdef FLUSH_BITS
    return csr_get() & FLUSH_BITS;
#else
    return 0;
#endif
}

void tgi_flush_restore(uint64_t saved)
{
#ifdef FLUSH_BITS
    csr_set((csr_get() & ~(uint64_t)FLUSH_BITS) | (saved & FLUSH_BITS));
#else
    (void)saved;
#endif
}
