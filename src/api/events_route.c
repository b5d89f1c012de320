/*
 * events_route.c: the HTTP endpoints of the event bus: GET /cluster/events (Server-Sent
 * Events, or WebSocket when the request asks for an upgrade), GET /cluster/stats/recent
 * (the last 15 minutes for the dashboard's charts) and POST /cluster/workers/{id}/drain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/events_hub.h"
#include "base/error.h"

bool lg_events_request_cursor(lg_http_req *req, lg_http_reply *rep, lg_event_cursor *cur)
{
    lg_event_hub *h = req->api->hub;
    const char *types = lg_http_query(req, "types");
    const char *model = lg_http_query(req, "model");
    const char *last = lg_http_header(req, "Last-Event-ID");
    if (!last) last = lg_http_query(req, "last_event_id");
    unsigned bits = LG_EVT_ALL;
    char bad[40];
    if (types && !lg_events_parse_types(types, &bits, bad, sizeof bad)) {
        lg_reply_error(rep, 400, "unknown event type '%s' in types (valid: task, worker, strategy, drain)", bad);
        return false;
    }
    if (model && strlen(model) >= sizeof cur->model) {
        lg_reply_error(rep, 400, "model name in the filter is longer than %zu bytes", sizeof cur->model - 1);
        return false;
    }
    int64_t after = -1;
    if (last && *last) {
        char *end;
        long long v = strtoll(last, &end, 10);
        if (*end || v < 0) {
            lg_reply_error(rep, 400, "Last-Event-ID '%.40s' is not an event id (a number >= 0)", last);
            return false;
        }
        after = v;
    }
    lg_events_cursor_init(h->bus, cur, after, bits, model);
    return true;
}

static bool wants_websocket(const lg_http_req *req)
{
    const char *up = lg_http_header(req, "Upgrade");
    return up && strcasestr(up, "websocket") != NULL;
}

void lg_h_events(lg_http_req *req, lg_http_reply *rep)
{
    lg_event_hub *h = req->api->hub;
    if (lg_events_stopping(h->bus)) {
        lg_reply_error(rep, 503, "the API is stopping");
        return;
    }
    lg_event_cursor cur;
    if (!lg_events_request_cursor(req, rep, &cur)) return;
    if (wants_websocket(req)) lg_ws_reply(req, rep, &cur);
    else lg_sse_reply(req, rep, &cur);
}

void lg_h_stats_recent(lg_http_req *req, lg_http_reply *rep)
{
    size_t len;
    char *text = lg_recent_json(lg_events_recent(req->api->hub->bus), lg_now(), &len);
    if (!text) {
        lg_reply_error(rep, 500, "no memory for the statistics");
        return;
    }
    lg_reply_text(rep, 200, "application/json", text, len);
}

void lg_h_worker_drain(lg_http_req *req, lg_http_reply *rep)
{
    int rc = lg_coord_worker_drain(req->api->coord, req->params[0]);
    if (rc == LG_E_NOT_FOUND) {
        lg_reply_error(rep, 404, "unknown worker '%s'", req->params[0]);
        return;
    }
    if (rc != LG_OK) {
        lg_reply_error(rep, 409, "%s", lg_last_error());
        return;
    }
    lg_reply_json(rep, 200, json_pack("{s:s,s:s}", "worker_id", req->params[0], "status", "draining"));
}
