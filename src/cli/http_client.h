/*
 * http_client.h: the CLI's client of the REST API (libcurl): one keep-alive handle,
 * the base URL from --api or LEGACYGPU_API (default http://127.0.0.1:8000), the bearer
 * token from LEGACYGPU_TOKEN, the CA that signed an https:// API's certificate from
 * --cacert or LEGACYGPU_CACERT (else the system's CAs), and the exit code that fits each
 * outcome.
 *
 *   lg_http *h;
 *   lg_http_open(api_flag, &h);
 *   lg_http_response r;
 *   if (lg_http_get(h, "/cluster/health", 10, &r) != LG_OK) return lg_http_fail(h, "health");
 *   puts(r.body);                 // r.status: 200, 404, ...
 *   lg_http_response_clear(&r);
 *   lg_http_close(h);
 */
#ifndef LG_CLI_HTTP_CLIENT_H
#define LG_CLI_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define LG_DEFAULT_API "http://127.0.0.1:8000"
#define LG_EXIT_UNREACHABLE 3 /* cannot reach the API */
#define LG_EXIT_TIMEOUT 4     /* timed out waiting (a task, a long-poll) */

typedef struct lg_http lg_http;

typedef struct lg_http_response {
    long status;       /* HTTP status */
    char *body;        /* NUL-terminated (malloc'd), "" when empty */
    size_t len;
    char location[512]; /* the Location header, "" when none */
} lg_http_response;

/* api_url: --api value or NULL (then $LEGACYGPU_API, then the default). An https:// API
 * is verified against the CA file of lg_http_use_cacert, else $LEGACYGPU_CACERT, else the
 * system's CAs; a CA file that cannot be read is LG_E_IO. */
int lg_http_open(const char *api_url, lg_http **out);
/* --cacert FILE: the CA certificate (PEM) every later lg_http_open verifies with. */
void lg_http_use_cacert(const char *path);
void lg_http_close(lg_http *h);
const char *lg_http_base(const lg_http *h);

/* One request to base + path. LG_E_IO (with the URL and curl's reason in the message)
 * when the API cannot be reached or the exchange broke; any HTTP status is LG_OK.
 * timeout_s bounds the whole exchange (0: none). extra_headers: NULL-terminated. */
int lg_http_request(lg_http *h, const char *method, const char *path, const char *content_type, const void *body,
                    size_t len, const char *const *extra_headers, double timeout_s, lg_http_response *resp);
int lg_http_get(lg_http *h, const char *path, double timeout_s, lg_http_response *resp);
void lg_http_response_clear(lg_http_response *r);

/* "path?name=value" with value percent-encoded, appended to buf (size n). */
void lg_http_query_add(char *buf, size_t n, const char *name, const char *value);

/* True when the last request reached the server but the connection closed before a
 * complete answer (e.g. a server that shut down while answering). */
bool lg_http_closed_early(const lg_http *h);

/* Prints "legacygpu: <context>: cannot reach the API at URL: ..." and returns 3. */
int lg_http_unreachable(const lg_http *h, const char *context);
/* For a non-2xx response: prints the API's error message ({"error": {"message"}})
 * with the status to stderr and returns 1 (2 for a 400, the caller's usage). */
int lg_http_error(const lg_http_response *r, const char *context);

#endif
