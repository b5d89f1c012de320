/*
 * http_client.c: libcurl client of the REST API for the CLI: base URL, token and CA
 * file from the options and the environment, one easy handle reused (keep-alive),
 * responses into memory. An https:// API's certificate and host name are always
 * verified; nothing turns that off.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "cli/cli.h"
#include "cli/http_client.h"

struct lg_http {
    CURL *curl;
    char base[512];
    char auth[600]; /* "Authorization: Bearer ..." or "" */
    char cacert[512]; /* CA file for https, or "" (the system's CAs) */
    CURLcode last;  /* outcome of the last request */
};

typedef struct buffer {
    char *data;
    size_t len, cap;
} buffer;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    buffer *b = arg;
    size_t add = size * n;
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + add + 1) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    lg_http_response *r = arg;
    size_t len = size * n;
    static const char key[] = "location:";
    if (len > sizeof(key) - 1 && !strncasecmp(p, key, sizeof(key) - 1)) {
        size_t i = sizeof(key) - 1;
        while (i < len && (p[i] == ' ' || p[i] == '\t')) i++;
        size_t end = len;
        while (end > i && (p[end - 1] == '\r' || p[end - 1] == '\n')) end--;
        size_t m = end - i < sizeof(r->location) - 1 ? end - i : sizeof(r->location) - 1;
        memcpy(r->location, p + i, m);
        r->location[m] = '\0';
    }
    return len;
}

static const char *cacert_flag; /* --cacert, set before lg_http_open */

void lg_http_use_cacert(const char *path)
{
    cacert_flag = path;
}

/* The CA file to verify an https API with ("" for the system's), checked readable. */
static int pick_cacert(char *out, size_t n)
{
    const char *ca = cacert_flag && *cacert_flag ? cacert_flag : getenv("LEGACYGPU_CACERT");
    const char *from = cacert_flag && *cacert_flag ? "--cacert" : "LEGACYGPU_CACERT";
    out[0] = '\0';
    if (!ca || !*ca) return LG_OK;
    if (strlen(ca) >= n) return lg_error(LG_E_INVALID_ARG, "%s: path too long: %s", from, ca);
    FILE *f = fopen(ca, "r");
    if (!f) return lg_error(LG_E_IO, "%s: cannot read the CA certificate '%s': %s", from, ca, strerror(errno));
    fclose(f);
    snprintf(out, n, "%s", ca);
    return LG_OK;
}

int lg_http_open(const char *api_url, lg_http **out)
{
    *out = NULL;
    const char *url = api_url && *api_url ? api_url : getenv("LEGACYGPU_API");
    if (!url || !*url) url = LG_DEFAULT_API;
    if (strlen(url) >= sizeof(((lg_http *)0)->base)) return lg_error(LG_E_INVALID_ARG, "API URL too long: %s", url);
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return lg_error(LG_E_INVALID_ARG, "API URL '%s' is not http://HOST:PORT or https://HOST:PORT", url);
    char cacert[sizeof(((lg_http *)0)->cacert)];
    LG_CHECK(pick_cacert(cacert, sizeof(cacert)));
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return lg_error(LG_E_RUNTIME, "libcurl failed to start");
    lg_http *h = calloc(1, sizeof(*h));
    if (!h) return lg_error(LG_E_NOMEM, "out of memory");
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return lg_error(LG_E_RUNTIME, "libcurl failed to start");
    }
    snprintf(h->base, sizeof(h->base), "%s", url);
    snprintf(h->cacert, sizeof(h->cacert), "%s", cacert);
    size_t n = strlen(h->base);
    while (n > 0 && h->base[n - 1] == '/') h->base[--n] = '\0';
    const char *token = getenv("LEGACYGPU_TOKEN");
    if (token && *token) snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer %s", token);
    *out = h;
    return LG_OK;
}

void lg_http_close(lg_http *h)
{
    if (!h) return;
    curl_easy_cleanup(h->curl);
    free(h);
    curl_global_cleanup();
}

const char *lg_http_base(const lg_http *h) { return h->base; }

int lg_http_request(lg_http *h, const char *method, const char *path, const char *content_type, const void *body,
                    size_t len, const char *const *extra_headers, double timeout_s, lg_http_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    char url[2048];
    if ((size_t)snprintf(url, sizeof(url), "%s%s", h->base, path) >= sizeof(url))
        return lg_error(LG_E_INVALID_ARG, "URL too long: %s%s", h->base, path);

    struct curl_slist *headers = NULL;
    char ct[160];
    if (content_type) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, ct);
    }
    if (h->auth[0]) headers = curl_slist_append(headers, h->auth);
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    for (const char *const *x = extra_headers; x && *x; x++) headers = curl_slist_append(headers, *x);

    buffer b = { 0 };
    CURL *c = h->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    if (timeout_s > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000.0));
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->cacert[0]) curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    CURLcode cc = curl_easy_perform(c);
    h->last = cc;
    curl_slist_free_all(headers);
    if (cc != CURLE_OK) {
        free(b.data);
        bool tls = cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
                   cc == CURLE_SSL_CONNECT_ERROR;
        return lg_error(cc == CURLE_OPERATION_TIMEDOUT ? LG_E_LIMIT : LG_E_IO, "%s %s: %s%s", method, url,
                        curl_easy_strerror(cc),
                        !tls ? ""
                        : h->cacert[0] ? " (the API's certificate is not signed by the CA in the --cacert file)"
                                       : " (give the CA that signed the API's certificate with --cacert FILE or "
                                         "LEGACYGPU_CACERT)");
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->body = b.data ? b.data : strdup("");
    resp->len = b.len;
    if (!resp->body) return lg_error(LG_E_NOMEM, "out of memory");
    return LG_OK;
}

int lg_http_get(lg_http *h, const char *path, double timeout_s, lg_http_response *resp)
{
    return lg_http_request(h, "GET", path, NULL, NULL, 0, NULL, timeout_s, resp);
}

void lg_http_response_clear(lg_http_response *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

void lg_http_query_add(char *buf, size_t n, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(buf);
    int w = snprintf(buf + len, n - len, "%c%s=", strchr(buf, '?') ? '&' : '?', name);
    if (w < 0 || (size_t)w >= n - len) return;
    len += (size_t)w;
    for (const unsigned char *p = (const unsigned char *)value; *p && len + 4 < n; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-_.~", *p)) {
            buf[len++] = (char)*p;
        } else {
            buf[len++] = '%';
            buf[len++] = hex[*p >> 4];
            buf[len++] = hex[*p & 15];
        }
    }
    buf[len] = '\0';
}

bool lg_http_closed_early(const lg_http *h)
{
    return h->last == CURLE_GOT_NOTHING || h->last == CURLE_RECV_ERROR || h->last == CURLE_PARTIAL_FILE;
}

int lg_http_unreachable(const lg_http *h, const char *context)
{
    fprintf(stderr, "legacygpu: %s: cannot reach the API at %s: %s\n", context, h->base, lg_last_error());
    return LG_EXIT_UNREACHABLE;
}

int lg_http_error(const lg_http_response *r, const char *context)
{
    json_error_t jerr;
    json_t *root = json_loadb(r->body, r->len, 0, &jerr);
    const char *msg = NULL;
    json_t *err = json_object_get(root, "error");
    if (json_is_object(err)) msg = json_string_value(json_object_get(err, "message"));
    else if (json_is_string(err)) msg = json_string_value(err);
    fprintf(stderr, "legacygpu: %s: HTTP %ld: %s\n", context, r->status, msg ? msg : (r->len ? r->body : "no body"));
    json_decref(root);
    return r->status == 400 ? LG_EXIT_USAGE : LG_EXIT_FAIL;
}
