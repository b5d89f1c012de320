/*
 * bench_inputs.h: input tensors for `legacygpu bench`, made from a model's declared
 * input shapes: the first symbolic dimension of each input is the batch, other symbolic
 * dimensions come from --dim NAME=N (default 32); values are reproducible pseudo-random
 * numbers (floats in [-1, 1), integers in [0, 16), bools 0/1). --input NAME=FILE replaces
 * an input with a tensor file.
 *
 *   lg_bench_inputs in = { 0 };
 *   if (lg_bench_inputs_make(model, batch, n_dims, dims, n_files, files, &in) != LG_OK) ...;
 *   lg_session_run(sess, in.n, (const char *const *)in.names, in.tensors, ...);
 *   lg_bench_inputs_free(&in);
 */
#ifndef LG_CLI_BENCH_INPUTS_H
#define LG_CLI_BENCH_INPUTS_H

#include "legacygpu/legacygpu.h"

#define LG_BENCH_MAX_INPUTS 64

typedef struct lg_bench_inputs {
    int n;
    char *names[LG_BENCH_MAX_INPUTS];
    lg_tensor *tensors[LG_BENCH_MAX_INPUTS];
    char shapes[512];            /* "input [1,3,224,224] float32 (generated)", for the report */
} lg_bench_inputs;

/* dims: "NAME=N" specs for symbolic dimensions; files: "NAME=FILE" overrides. On error
 * the message is set (lg_last_error) and what was made is freed. */
int lg_bench_inputs_make(const lg_model *m, int batch, int n_dims, char *const *dims, int n_files,
                         char *const *files, lg_bench_inputs *out);
void lg_bench_inputs_free(lg_bench_inputs *in);

#endif
