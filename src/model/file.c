/*
 * file.c: whole-file reads via mmap (read-only, private), falling back to read().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "model/file.h"

int lg_file_read(const char *path, size_t max_len, lg_file *out)
{
    memset(out, 0, sizeof(*out));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lg_error(errno == ENOENT ? LG_E_NOT_FOUND : LG_E_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return lg_error(LG_E_IO, "%s is not a regular file", path);
    }
    if ((size_t)st.st_size > max_len) {
        close(fd);
        return lg_error(LG_E_LIMIT, "%s is %lld bytes, over the %zu-byte limit", path, (long long)st.st_size, max_len);
    }
    out->len = (size_t)st.st_size;
    if (out->len == 0) {
        close(fd);
        out->data = NULL;
        return LG_OK;
    }
    void *p = mmap(NULL, out->len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (p != MAP_FAILED) {
        close(fd);
        out->data = p;
        out->mapped = 1;
        return LG_OK;
    }
    out->data = malloc(out->len);
    if (!out->data) {
        close(fd);
        return lg_error(LG_E_NOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < out->len) {
        ssize_t r = read(fd, (char *)out->data + got, out->len - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) continue;
            free(out->data);
            close(fd);
            return lg_error(LG_E_IO, "cannot read %s: %s", path, r < 0 ? strerror(errno) : "unexpected end of file");
        }
        got += (size_t)r;
    }
    close(fd);
    return LG_OK;
}

void lg_file_close(lg_file *f)
{
    if (f->mapped) munmap(f->data, f->len);
    else free(f->data);
    memset(f, 0, sizeof(*f));
}
