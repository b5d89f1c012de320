/*
 * api.h: the REST API server (libmicrohttpd + jansson) over a coordinator: the seed's
 * /cluster/... endpoints, KServe v2 / Triton HTTP (/v2/...), Prometheus /metrics and
 * /openapi.json. Routes are a table (routes.c); see docs/api.md.
 *
 *   lg_api_config ac;
 *   lg_api_config_defaults(&ac);
 *   ac.port = 8000;
 *   lg_api *api;
 *   if (lg_api_start(coord, &ac, &api) != LG_OK) ...;
 *   printf("API on %s\n", lg_api_url(api));
 *   ...
 *   lg_api_stop(api);
 */
#ifndef LG_API_H
#define LG_API_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/coordinator.h"

typedef struct lg_api lg_api;

typedef struct lg_api_config {
    const char *bind_host;       /* default "127.0.0.1"; others need a tokens file */
    int port;                    /* 0: pick a free port */
    const char *tokens_file;     /* "TOKEN ROLE" lines (role user|admin), or NULL */
    const char *tls_cert_file;   /* PEM certificate (chain): serve https (tls.c); NULL: http */
    const char *tls_key_file;    /* its PEM private key; both or neither */
    int64_t max_body_bytes;      /* default 64 MiB */
    int threads;                 /* HTTP threads; default one per core (2..8) */
    /* Called by POST /cluster/shutdown (admin) after the coordinator starts draining. */
    void (*on_shutdown)(void *arg);
    void *on_shutdown_arg;
} lg_api_config;

void lg_api_config_defaults(lg_api_config *cfg);
int lg_api_start(lg_coord *c, const lg_api_config *cfg, lg_api **out);
/* "http://127.0.0.1:8000" (https:// with TLS) with the real port. */
const char *lg_api_url(const lg_api *a);
int lg_api_port(const lg_api *a);
void lg_api_stop(lg_api *a);

#endif
