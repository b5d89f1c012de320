/*
 * fuzz_tensor_read.c: libFuzzer target for the tensor readers (.pb TensorProto, .npy,
 * SequenceProto, OptionalProto): the first byte picks the reader (low two bits: 0 pb,
 * 1 npy, 2 sequence, 3 optional), the rest is the file.
 */
#include <stdint.h>
#include <stdlib.h>

#include "legacygpu/legacygpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    lg_tensor *t = NULL;
    char *name = NULL;
    static const lg_dtype kinds[4] = { LG_UNDEFINED, LG_UNDEFINED, LG_SEQUENCE, LG_OPTIONAL };
    int pick = data[0] & 3;
    int rc = pick == 1 ? lg_tensor_read_npy(data + 1, size - 1, &t)
                       : lg_value_read_pb(data + 1, size - 1, kinds[pick], &t, &name);
    if (rc == LG_OK) {
        /* Touch every byte so a wrong size shows up under AddressSanitizer. */
        volatile uint8_t sum = 0;
        const uint8_t *p = lg_tensor_data(t);
        if (lg_tensor_dtype(t) != LG_STRING && lg_tensor_dtype(t) != LG_SEQUENCE && lg_tensor_dtype(t) != LG_OPTIONAL)
            for (size_t i = 0; i < lg_tensor_nbytes(t); i++) sum ^= p[i];
        lg_tensor_free(t);
        free(name);
    } else if (lg_last_error()[0] == 0) {
        __builtin_trap();
    }
    return 0;
}
