/*
 * fuzz_spec.c -- libFuzzer harness for the tapegrad command's JSON spec parser
 * (cli_spec_load in src/cli/spec_json.c). The input is the spec's text, written to a memfd
 * and loaded through its /proc path.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "fuzz.h"

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int fd = memfd_create("fuzz_spec", 0);
    (void)argc;
    (void)argv;
    if (fd < 0) {
        perror("fuzz_spec: memfd_create");
        exit(2);
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *bad = fuzz_spec_one(data, size, path);
    if (bad) {
        fprintf(stderr, "fuzz_spec: %s\n", bad);
        abort();
    }
    return 0;
}
