/*
 * events_sse.c: GET /cluster/events as Server-Sent Events (text/event-stream): a
 * libmicrohttpd response whose content comes from a callback. The callback copies the
 * follower's next events out of the bus as "id:/event:/data:" frames; when it is caught
 * up it suspends the connection (the notifier resumes it on news), and a comment line
 * goes out every LG_EVENTS_KEEPALIVE_S seconds of silence so proxies and clients see
 * the stream alive. A "dropped" event, or the server stopping, ends the stream.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "api/events_hub.h"
#include "base/error.h"

#define SSE_SNDBUF (64 * 1024)

/* Formats the follower's next frame into f->out; false when there is none. */
static bool next_frame(lg_sse_follower *f)
{
    char data[LG_EVENTS_DATA_MAX];
    uint64_t id = 0;
    const char *type = NULL;
    lg_take t = lg_events_take(f->hub->bus, &f->cur, data, sizeof data, &id, &type);
    int n = 0;
    switch (t) {
    case LG_TAKE_NONE:
        return false;
    case LG_TAKE_STOPPED:
        f->ended = true;
        return false;
    case LG_TAKE_EVENT:
        n = snprintf(f->out, sizeof f->out, "id: %" PRIu64 "\nevent: %s\ndata: %s\n\n", id, type, data);
        break;
    case LG_TAKE_DROPPED:
        f->ended = true;
        /* fall through */
    case LG_TAKE_RESYNC:
        n = snprintf(f->out, sizeof f->out, "event: %s\ndata: %s\n\n", type, data);
        break;
    }
    LG_ASSERT(n > 0 && (size_t)n < sizeof f->out);
    f->out_len = (size_t)n;
    f->out_pos = 0;
    return true;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    lg_sse_follower *f = cls;
    lg_event_hub *h = f->hub;
    size_t n = 0;
    if (!f->started) {
        f->started = true;
        n = (size_t)snprintf(buf, max, "retry: 2000\n: legacygpu cluster events\n\n");
        if (n >= max) n = 0;
    }
    while (n < max) {
        if (f->out_pos == f->out_len && (f->ended || !next_frame(f))) break;
        size_t k = f->out_len - f->out_pos;
        if (k > max - n) k = max - n;
        memcpy(buf + n, f->out + f->out_pos, k);
        f->out_pos += k;
        n += k;
    }
    double now = lg_mono_now();
    if (n > 0) {
        f->last_write = now;
        return (ssize_t)n;
    }
    if (f->ended) return MHD_CONTENT_READER_END_OF_STREAM;
    if (now - f->last_write >= LG_EVENTS_KEEPALIVE_S) {
        static const char ka[] = ": keep-alive\n\n";
        if (max < sizeof ka - 1) return 0;
        memcpy(buf, ka, sizeof ka - 1);
        f->last_write = now;
        return (ssize_t)(sizeof ka - 1);
    }
    /* Caught up: sleep until the notifier sees news. Checked again under the hub's lock,
     * which the notifier takes before resuming, so no event slips between. */
    pthread_mutex_lock(&h->mu);
    if (!lg_events_pending(h->bus, &f->cur)) {
        f->suspended = true;
        MHD_suspend_connection(f->conn);
    }
    pthread_mutex_unlock(&h->mu);
    return 0;
}

static void sse_free(void *cls)
{
    lg_sse_follower *f = cls;
    lg_event_hub *h = f->hub;
    pthread_mutex_lock(&h->mu);
    LG_ASSERT(!f->suspended);
    if (f->prev) f->prev->next = f->next;
    else h->sse = f->next;
    if (f->next) f->next->prev = f->prev;
    pthread_mutex_unlock(&h->mu);
    free(f);
}

static struct MHD_Response *sse_respond(lg_http_stream *s, unsigned *status)
{
    lg_sse_follower *f = (lg_sse_follower *)s;
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, sse_read, f, sse_free);
    if (!r) {
        free(f);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    lg_event_hub *h = f->hub;
    pthread_mutex_lock(&h->mu);
    f->next = h->sse;
    if (h->sse) h->sse->prev = f;
    h->sse = f;
    pthread_mutex_unlock(&h->mu);
    *status = MHD_HTTP_OK;
    return r;
}

void lg_sse_reply(lg_http_req *req, lg_http_reply *rep, const lg_event_cursor *cur)
{
    lg_sse_follower *f = calloc(1, sizeof *f);
    if (!f) {
        lg_reply_error(rep, 503, "no memory for another event follower");
        return;
    }
    f->stream.respond = sse_respond;
    f->hub = req->api->hub;
    f->conn = req->conn;
    /* A small send buffer: a follower that stops reading holds little of the server's
     * memory and work before it is left waiting (and dropped once it reads again). */
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int sndbuf = SSE_SNDBUF;
    if (ci) setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    f->cur = *cur;
    f->last_write = lg_mono_now();
    rep->status = 200;
    rep->stream = &f->stream;
}
