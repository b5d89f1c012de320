/*
 * file.h: reading a whole file into memory (mmap when possible), with a size limit.
 *
 *   lg_file f;
 *   if (lg_file_read("model.onnx", 1 << 30, &f) == LG_OK) { use(f.data, f.len); lg_file_close(&f); }
 */
#ifndef LG_FILE_H
#define LG_FILE_H

#include <stddef.h>

typedef struct lg_file {
    void *data;
    size_t len;
    int mapped;
} lg_file;

int lg_file_read(const char *path, size_t max_len, lg_file *out);
void lg_file_close(lg_file *f);

#endif
