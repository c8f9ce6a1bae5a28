/*
 * csv.c -- one CSV file per monitor: "step,epoch,unit,value", a row per sample and unit.
 *
 * Numbers are printed under the C locale (uselocale on this thread only), so a process running
 * with a comma decimal separator still writes "0.5"; "%.9g" is enough digits for every float to
 * read back bitwise. The file is written to path.tmp, flushed, fsynced and renamed over path,
 * so a crash or a full disk never leaves a truncated file under the final name.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"

static int put_value(FILE *f, float v)
{
    if (isnan(v))
        return fputs("nan", f);
    if (isinf(v))
        return fputs(v > 0 ? "inf" : "-inf", f);
    return fprintf(f, "%.9g", (double)v);
}

/* All rows; 0, or the errno of the first failed write. */
static int put_rows(FILE *f, const tg_monitor *m)
{
    const long n = tg_monitor_n_samples(m);
    const int units = tg_monitor_n_units(m);
    const float *v = tg_monitor_values(m);
    const long *steps = tg_monitor_steps(m), *epochs = tg_monitor_epochs(m);
    long i;
    int u;
    if (fputs("step,epoch,unit,value\n", f) < 0)
        return errno;
    for (i = 0; i < n; ++i)
        for (u = 0; u < units; ++u)
            if (fprintf(f, "%ld,%ld,%d,", steps[i], epochs[i], u) < 0 ||
                put_value(f, v[(size_t)i * (size_t)units + (size_t)u]) < 0 || putc('\n', f) < 0)
                return errno ? errno : EIO;
    return 0;
}

/* Make the rename durable; a directory that refuses fsync (some file systems) is not an error:
 * the data itself was synced before the rename. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    int fd;
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    else
        return;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

tg_status tg_monitor_write_csv(const tg_monitor *m, const char *path)
{
    locale_t c_loc, old_loc;
    FILE *f;
    char *tmp;
    int fd, err;
    size_t len;
    if (!m || !path || !*path)
        return tg_error_set(TG_ERR_ARG, "write_csv: %s is NULL or empty", m ? "path" : "monitor");
    len = strlen(path);
    tmp = tgi_malloc(len + 5);
    if (!tmp)
        return tg_error_set(TG_ERR_NOMEM, "write_csv: '%s': out of memory", path);
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        tg_status s = tg_error_set(TG_ERR_IO, "write_csv: cannot create '%s': %s", tmp,
                                   strerror(errno));
        tgi_free(tmp);
        return s;
    }
    f = fdopen(fd, "w");
    if (!f) {
        err = errno;
        close(fd);
        goto fail;
    }
    /* glibc hands out its static C locale object here: no allocation */
    c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!c_loc) {
        err = errno;
        fclose(f);
        goto fail;
    }
    old_loc = uselocale(c_loc);
    err = put_rows(f, m);
    uselocale(old_loc);
    freelocale(c_loc);
    if (!err && fflush(f) != 0)
        err = errno;
    if (!err && fsync(fileno(f)) != 0)
        err = errno;
    if (fclose(f) != 0 && !err)
        err = errno;
    if (err)
        goto fail;
    if (rename(tmp, path) != 0) {
        err = errno;
        unlink(tmp);
        tgi_free(tmp);
        return tg_error_set(TG_ERR_IO, "write_csv: cannot rename '%s.tmp' to '%s': %s", path,
                            path, strerror(err));
    }
    sync_dir(path);
    tgi_free(tmp);
    return TG_OK;
fail:
    unlink(tmp);
    tgi_free(tmp);
    return tg_error_set(TG_ERR_IO, "write_csv: writing '%s' failed: %s", path, strerror(err));
}
