/*
 * events_ws.c: GET /cluster/events upgraded to a WebSocket (the request asks with
 * "Upgrade: websocket"): libmicrohttpd answers 101 and hands over the socket, and a
 * thread of the follower's own speaks the protocol with libwslay (framing, masking,
 * ping/pong, close). Each event is one text message:
 * {"id":N,"event":"task","data":{...}}; resync and dropped have no id. The thread sleeps
 * in poll() on the socket and an eventfd the notifier writes to on news. A follower
 * whose unsent messages pile up (a slow reader) is dropped with a final event.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <wslay/wslay.h>

#include "api/events_hub.h"
#include "base/error.h"

#define WS_MAX_QUEUED 256          /* unsent messages before a follower is dropped */
#define WS_MAX_RECV (64 * 1024)    /* clients only send control frames */

typedef struct ws_conn {
    lg_ws_follower *f;
    MHD_socket sock;
    struct MHD_UpgradeResponseHandle *urh;
    char *extra;                   /* bytes libmicrohttpd read past the headers */
    size_t extra_len, extra_pos;
    bool ending;
} ws_conn;

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    ws_conn *w = user;
    if (w->extra_pos < w->extra_len) {
        size_t k = w->extra_len - w->extra_pos < len ? w->extra_len - w->extra_pos : len;
        memcpy(buf, w->extra + w->extra_pos, k);
        w->extra_pos += k;
        return (ssize_t)k;
    }
    ssize_t n = recv(w->sock, buf, len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    else if (n <= 0) wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return n > 0 ? n : -1;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
    ws_conn *w = user;
    ssize_t n = send(w->sock, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    else if (n < 0) wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return n;
}

static void ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
    /* Pings are answered and closes echoed by wslay; data from the client is ignored. */
}

static void queue_text(wslay_event_context_ptr ctx, const char *text, size_t len)
{
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, len};
    wslay_event_queue_msg(ctx, &m);
}

/* Queues the follower's news; false once the stream must end (dropped or stopping). */
static bool queue_news(ws_conn *w, wslay_event_context_ptr ctx)
{
    lg_ws_follower *f = w->f;
    char data[LG_EVENTS_DATA_MAX], msg[LG_EVENTS_DATA_MAX + 128];
    for (;;) {
        uint64_t id = 0;
        const char *type = NULL;
        if (wslay_event_get_queued_msg_count(ctx) >= WS_MAX_QUEUED) {
            int n = snprintf(msg, sizeof msg,
                             "{\"event\":\"dropped\",\"data\":{\"reason\":\"%d messages unsent: dropped so the "
                             "cluster never waits\"}}",
                             WS_MAX_QUEUED);
            queue_text(ctx, msg, (size_t)n);
            return false;
        }
        lg_take t = lg_events_take(f->hub->bus, &f->cur, data, sizeof data, &id, &type);
        if (t == LG_TAKE_NONE) return true;
        if (t == LG_TAKE_STOPPED) return false;
        int n = t == LG_TAKE_EVENT
                    ? snprintf(msg, sizeof msg, "{\"id\":%" PRIu64 ",\"event\":\"%s\",\"data\":%s}", id, type, data)
                    : snprintf(msg, sizeof msg, "{\"event\":\"%s\",\"data\":%s}", type, data);
        LG_ASSERT(n > 0 && (size_t)n < sizeof msg);
        queue_text(ctx, msg, (size_t)n);
        if (t == LG_TAKE_DROPPED) return false;
    }
}

static void *ws_thread(void *arg)
{
    ws_conn *w = arg;
    lg_ws_follower *f = w->f;
    struct wslay_event_callbacks cb = {ws_recv, ws_send, NULL, NULL, NULL, NULL, ws_on_msg};
    wslay_event_context_ptr ctx = NULL;
    if (wslay_event_context_server_init(&ctx, &cb, w) == 0) {
        wslay_event_config_set_max_recv_msg_length(ctx, WS_MAX_RECV);
        double last_ping = lg_mono_now(), closing_since = 0;
        bool open = queue_news(w, ctx);
        if (!open) {
            wslay_event_queue_close(ctx, WSLAY_CODE_GOING_AWAY, NULL, 0);
            closing_since = lg_mono_now();
        }
        while (wslay_event_want_read(ctx) || wslay_event_want_write(ctx)) {
            /* Our close frame is out: wait for the peer's answer a moment, not forever
             * (and not at all when the server stops). */
            if (!open && !wslay_event_want_write(ctx) &&
                (lg_events_stopping(f->hub->bus) || lg_mono_now() - closing_since > 2.0))
                break;
            struct pollfd p[2] = {{w->sock, POLLIN, 0}, {f->wake_fd, POLLIN, 0}};
            if (wslay_event_want_write(ctx)) p[0].events |= POLLOUT;
            int rc = poll(p, 2, 1000);
            if (rc < 0 && errno != EINTR) break;
            if (p[1].revents & POLLIN) {
                uint64_t v;
                if (read(f->wake_fd, &v, sizeof v) < 0) { /* nothing pending */ }
            }
            if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                if (wslay_event_recv(ctx) != 0) break;
            }
            if (open && !queue_news(w, ctx)) {
                open = false;
                wslay_event_queue_close(ctx, WSLAY_CODE_GOING_AWAY, NULL, 0);
                closing_since = lg_mono_now();
            }
            if (open && lg_mono_now() - last_ping >= LG_EVENTS_KEEPALIVE_S) {
                struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};
                wslay_event_queue_msg(ctx, &ping);
                last_ping = lg_mono_now();
            }
            if (wslay_event_want_write(ctx) && wslay_event_send(ctx) != 0) break;
        }
        wslay_event_context_free(ctx);
    }
    MHD_upgrade_action(w->urh, MHD_UPGRADE_ACTION_CLOSE);
    lg_hub_ws_remove(f->hub, f);
    close(f->wake_fd);
    free(w->extra);
    free(w);
    free(f);
    return NULL;
}

static void ws_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                        size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    lg_ws_follower *f = cls;
    ws_conn *w = calloc(1, sizeof *w);
    if (w && extra_in_size) {
        w->extra = malloc(extra_in_size);
        if (w->extra) memcpy(w->extra, extra_in, extra_in_size);
        w->extra_len = w->extra ? extra_in_size : 0;
    }
    f->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 << 10);
    bool ok = w && f->wake_fd >= 0;
    if (ok) {
        w->f = f;
        w->sock = sock;
        w->urh = urh;
        lg_hub_ws_add(f->hub, f);
        if (pthread_create(&th, &attr, ws_thread, w) != 0) {
            lg_hub_ws_remove(f->hub, f);
            ok = false;
        }
    }
    pthread_attr_destroy(&attr);
    if (!ok) {
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        if (f->wake_fd >= 0) close(f->wake_fd);
        if (w) free(w->extra);
        free(w);
        free(f);
    }
}

static struct MHD_Response *ws_respond(lg_http_stream *s, unsigned *status)
{
    lg_ws_follower *f = (lg_ws_follower *)s;
    struct MHD_Response *r = MHD_create_response_for_upgrade(ws_upgraded, f);
    if (!r) {
        free(f);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(r, "Sec-WebSocket-Accept", f->accept);
    *status = MHD_HTTP_SWITCHING_PROTOCOLS;
    return r;
}

void lg_ws_reply(lg_http_req *req, lg_http_reply *rep, const lg_event_cursor *cur)
{
    const char *version = lg_http_header(req, "Sec-WebSocket-Version");
    const char *key = lg_http_header(req, "Sec-WebSocket-Key");
    lg_ws_follower *f = calloc(1, sizeof *f);
    if (!f) {
        lg_reply_error(rep, 503, "no memory for another event follower");
        return;
    }
    if (!version || strcmp(version, "13") != 0 || !lg_ws_accept(key, f->accept)) {
        free(f);
        lg_reply_error(rep, 400, "WebSocket upgrade needs Sec-WebSocket-Version 13 and a 24-character "
                                 "Sec-WebSocket-Key");
        return;
    }
    f->stream.respond = ws_respond;
    f->hub = req->api->hub;
    f->cur = *cur;
    f->wake_fd = -1;
    rep->status = 101;
    rep->stream = &f->stream;
}
