/*
 * rng.c -- xorshift64* random numbers. The state always lives with its owner (net, test,
 * pipeline), so a seed gives bit-identical runs.
 */
#include <math.h>
#include "internal.h"

uint64_t tgi_rng_next(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

double tgi_rng_uniform01(uint64_t *s)
{
    return (double)(tgi_rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

double tgi_rng_normal(uint64_t *s)
{
    double u1, u2;
    do {
        u1 = tgi_rng_uniform01(s);
    } while (u1 <= 0.0);
    u2 = tgi_rng_uniform01(s);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double tg_rand_uniform(uint64_t *rng, double lo, double hi)
{
    return lo + (hi - lo) * tgi_rng_uniform01(rng);
}
