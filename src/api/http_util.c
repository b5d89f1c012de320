/*
 * http_util.c: the helpers handlers share: JSON and error replies, the mapping of core
 * status codes to HTTP statuses, query and header look-ups, body parsing, base64.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api/api_internal.h"
#include "base/error.h"

void lg_reply_text(lg_http_reply *rep, int status, const char *content_type, char *text, size_t len)
{
    free(rep->body);
    rep->status = status;
    rep->body = text;
    rep->len = len;
    rep->content_type = content_type;
}

void lg_reply_json(lg_http_reply *rep, int status, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    LG_ASSERT(text != NULL);
    lg_reply_text(rep, status, "application/json", text, strlen(text));
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
          : (s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4                    ? 4
                                                                      : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    /* No overlong forms, no UTF-16 surrogates, nothing past U+10FFFF. */
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
        (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return n;
}

/* Messages quote what clients sent (paths, names): bytes that are not UTF-8 become '?',
 * so that the JSON error body can always be made. */
static void utf8_scrub(char *msg)
{
    for (unsigned char *p = (unsigned char *)msg; *p;) {
        int n = utf8_len(p);
        if (n == 0) *p++ = '?';
        else p += n;
    }
}

void lg_reply_error(lg_http_reply *rep, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    utf8_scrub(msg);
    lg_reply_json(rep, status, json_pack("{s:{s:i,s:s}}", "error", "code", status, "message", msg));
}

/* Core status -> HTTP status. */
static const struct {
    int rc;
    int http;
} status_map[] = {
    {LG_E_INVALID_ARG, 400}, {LG_E_PARSE, 400},  {LG_E_SHAPE, 400},    {LG_E_IMAGE, 400},
    {LG_E_NOT_FOUND, 404},   {LG_E_LIMIT, 503},  {LG_E_UNSUPPORTED, 415},
};

void lg_reply_status(lg_http_reply *rep, int rc)
{
    int http = 500;
    for (size_t i = 0; i < sizeof status_map / sizeof status_map[0]; i++)
        if (status_map[i].rc == rc) http = status_map[i].http;
    const char *msg = lg_last_error();
    if (rc == LG_E_RUNTIME && strstr(msg, "idempotency")) http = 409;
    /* The task store failed: 507 when the disk is full, else 503; both say when to retry. */
    if (rc == LG_E_IO && strncmp(msg, "the task store", 14) == 0) {
        http = strncmp(msg, LG_COORD_STORE_FULL, strlen(LG_COORD_STORE_FULL)) == 0 ? 507 : 503;
        rep->retry_after = 5;
    }
    lg_reply_error(rep, http, "%s", *msg ? msg : lg_strerror(rc));
}

const char *lg_http_query(const lg_http_req *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *lg_http_header(const lg_http_req *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, key);
}

json_t *lg_http_body_object(const lg_http_req *req, lg_http_reply *rep)
{
    if (!req->body || req->body_len == 0) {
        lg_reply_error(rep, 400, "malformed JSON: the request has no body");
        return NULL;
    }
    json_error_t err;
    json_t *j = json_loadb(req->body, req->body_len, 0, &err);
    if (!j) {
        lg_reply_error(rep, 400, "malformed JSON at line %d, column %d: %s", err.line, err.column, err.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        lg_reply_error(rep, 400, "malformed request: the body must be a JSON object");
        return NULL;
    }
    return j;
}

bool lg_http_query_number(const lg_http_req *req, lg_http_reply *rep, const char *key, double max, double *out)
{
    const char *s = lg_http_query(req, key);
    if (!s) return true;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= max)) {
        lg_reply_error(rep, 400, "query parameter '%s' must be a number from 0 to %g, not '%s'", key, max, s);
        return false;
    }
    *out = v;
    return true;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

uint8_t *lg_base64_decode(const char *s, size_t *out_len)
{
    size_t n = strlen(s);
    uint8_t *out = malloc(n / 4 * 3 + 3);
    if (!out) return NULL;
    uint32_t acc = 0;
    int bits = 0;
    size_t len = 0;
    bool padding = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        if (c == '=') {
            padding = true;
            continue;
        }
        int v = b64_value(c);
        if (v < 0 || padding) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits >= 6) { /* a lone trailing character carries no whole byte */
        free(out);
        return NULL;
    }
    *out_len = len;
    return out;
}

json_t *lg_json_time(double t)
{
    return t > 0 ? json_real(t) : json_null();
}
