/*
 * error.c -- status texts and the per-thread last error (the only file-scope mutable state).
 */
#include <stdarg.h>
#include <stdio.h>
#include "internal.h"

static _Thread_local tg_status last_status = TG_OK;
static _Thread_local char last_msg[1024];

const char *tg_strerror(tg_status s)
{
    switch (s) {
    case TG_OK: return "ok";
    case TG_ERR_ARG: return "invalid argument";
    case TG_ERR_SHAPE: return "shape mismatch";
    case TG_ERR_NOMEM: return "out of memory";
    case TG_ERR_STATE: return "call out of order";
    case TG_ERR_IO: return "input/output error";
    case TG_ERR_FORMAT: return "bad file format";
    case TG_ERR_NONFINITE: return "non-finite value";
    case TG_ERR_UNAVAILABLE: return "not available in this build";
    case TG_ERR_OVERFLOW: return "size overflow";
    case TG_ERR_TRUNCATED: return "truncated input";
    case TG_ERR_CORRUPT: return "corrupt data";
    case TG_ERR_VERSION: return "unsupported version";
    case TG_ERR_LIMIT: return "size limit exceeded";
    case TG_ERR_MISMATCH: return "mismatch";
    case TG_ERR_RANGE: return "value out of range";
    }
    return "unknown status";
}

tg_status tg_last_status(void) { return last_status; }
const char *tg_last_error(void) { return last_msg; }

void tg_error_clear(void)
{
    last_status = TG_OK;
    last_msg[0] = '\0';
}

tg_status tg_error_set(tg_status s, const char *fmt, ...)
{
    va_list ap;
    last_status = s;
    if (!fmt) {
        snprintf(last_msg, sizeof last_msg, "%s", tg_strerror(s));
        return s;
    }
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    va_end(ap);
    return s;
}

const char *tg_version(void) { return PACKAGE_VERSION; }
