/*
 * fuzz_idx.c -- libFuzzer harness for tg_idx_read, raw and gzip. The input's first byte picks
 * the mode (as is, or compressed in one or two gzip members, and the options; see fuzz.h),
 * the rest is the file, written to a memfd and read back through its /proc path.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "fuzz.h"

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int fd = memfd_create("fuzz_idx", 0);
    (void)argc;
    (void)argv;
    if (fd < 0) {
        perror("fuzz_idx: memfd_create");
        exit(2);
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *bad = fuzz_idx_one(data, size, path);
    if (bad) {
        fprintf(stderr, "fuzz_idx: %s\n", bad);
        abort();
    }
    return 0;
}
