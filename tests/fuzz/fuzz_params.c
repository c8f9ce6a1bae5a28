/*
 * fuzz_params.c -- libFuzzer harness for tg_params_read_mem into four fixed tensors:
 * "w1" [3,4], "b1" [3], "s" [] and "t4" [2,1,2,1] (fuzz_params_tensors). The input is the
 * file's bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include "fuzz.h"

static tg_graph *graph;
static tg_tensor *ts[FUZZ_N_PARAMS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!(graph = tg_graph_new()) || fuzz_params_tensors(graph, ts) != 0) {
        fprintf(stderr, "fuzz_params: %s\n", tg_last_error());
        exit(2);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_status s;
    const char *bad = fuzz_params_verify(data, size, ts, FUZZ_N_PARAMS, &s);
    if (bad) {
        fprintf(stderr, "fuzz_params: %s\n", bad);
        abort();
    }
    return 0;
}
