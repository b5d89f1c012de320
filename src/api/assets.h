/*
 * assets.h: the dashboard's files (the files of src/api/assets/ and Debian's Chart.js), embedded in
 * the binary at build time by src/api/assets/embed.cmake into a generated C file.
 */
#ifndef LG_API_ASSETS_H
#define LG_API_ASSETS_H

#include <stddef.h>

typedef struct lg_asset {
    const char *name;          /* "app.js" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
} lg_asset;

extern const lg_asset lg_assets[];
extern const int lg_n_assets;

#endif
