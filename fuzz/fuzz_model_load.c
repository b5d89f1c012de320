/*
 * fuzz_model_load.c: libFuzzer target for the ONNX model loader: any bytes either load
 * into a valid graph or fail with a status and a message; nothing crashes or leaks.
 */
#include <stdint.h>
#include <string.h>

#include "legacygpu/legacygpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lg_model *m = NULL;
    int rc = lg_model_load_memory(data, size, NULL, &m);
    if (rc == LG_OK) {
        /* Walk the public view of what was loaded. */
        lg_value_info vi;
        for (int i = 0; i < lg_model_num_inputs(m); i++) lg_model_input_info(m, i, &vi);
        for (int i = 0; i < lg_model_num_outputs(m); i++) lg_model_output_info(m, i, &vi);
        lg_model_meta meta;
        lg_model_meta_get(m, &meta);
        lg_model_free(m);
    } else if (lg_last_error()[0] == 0) {
        __builtin_trap(); /* every failure must say why */
    }
    return 0;
}
