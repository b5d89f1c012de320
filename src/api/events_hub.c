/*
 * events_hub.c: the event bus of an API server and its notifier thread: started with
 * the API (the bus becomes the coordinator's observer), it wakes suspended SSE
 * followers and WebSocket threads when events arrive or a keep-alive is due; stopping
 * ends every follower before libmicrohttpd stops (it must not stop with suspended or
 * upgraded connections).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/events_hub.h"
#include "base/error.h"

double lg_mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* hub->mu held: resumes the suspended SSE followers that have news (or all of them). */
static void wake_followers(lg_event_hub *h, bool news, bool all)
{
    double now = lg_mono_now();
    for (lg_sse_follower *f = h->sse; f; f = f->next) {
        if (!f->suspended) continue;
        if (!all && !(news && lg_events_pending(h->bus, &f->cur)) && now - f->last_write < LG_EVENTS_KEEPALIVE_S)
            continue;
        f->suspended = false;
        MHD_resume_connection(f->conn);
    }
    if (!news && !all) return;
    uint64_t one = 1;
    for (lg_ws_follower *f = h->ws; f; f = f->next)
        if (write(f->wake_fd, &one, sizeof one) < 0) {
            /* the counter is full: the thread has a wake-up pending anyway */
        }
}

/* Wake-ups are batched: a follower resumed for every single event would cost a
 * suspend/resume cycle per event; waiting this long after the last round lets events
 * gather, so each round sends them in one write. */
#define BATCH_S 0.02

static void *notifier(void *arg)
{
    lg_event_hub *h = arg;
    uint64_t seen = lg_events_next_id(h->bus);
    double last_round = 0;
    while (!lg_events_stopping(h->bus)) {
        uint64_t now_id = lg_events_wait(h->bus, seen, 1.0);
        double since = lg_mono_now() - last_round;
        if (now_id != seen && since < BATCH_S) {
            struct timespec pause = {0, (long)((BATCH_S - since) * 1e9)};
            nanosleep(&pause, NULL);
            now_id = lg_events_next_id(h->bus);
        }
        last_round = lg_mono_now();
        pthread_mutex_lock(&h->mu);
        wake_followers(h, now_id != seen, false);
        pthread_mutex_unlock(&h->mu);
        seen = now_id;
    }
    pthread_mutex_lock(&h->mu);
    wake_followers(h, true, true);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int lg_event_hub_start(lg_api *a)
{
    lg_event_hub *h = calloc(1, sizeof *h);
    if (!h) return lg_error(LG_E_NOMEM, "events: no memory for the hub");
    int rc = lg_events_create(&h->bus);
    if (rc != LG_OK) {
        free(h);
        return rc;
    }
    h->coord = a->coord;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->ws_done, NULL);
    if (pthread_create(&h->notifier, NULL, notifier, h) != 0) {
        lg_events_destroy(h->bus);
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->ws_done);
        free(h);
        return lg_error(LG_E_RUNTIME, "events: cannot start the notifier thread");
    }
    h->notifier_started = true;
    a->hub = h;
    lg_coord_set_observer(a->coord, lg_events_observe, h->bus);
    return LG_OK;
}

void lg_event_hub_stop(lg_api *a)
{
    lg_event_hub *h = a->hub;
    if (!h || h->stopped) return;
    h->stopped = true;
    lg_events_stop(h->bus);
    if (h->notifier_started) pthread_join(h->notifier, NULL);
    pthread_mutex_lock(&h->mu);
    while (h->n_ws_threads > 0) pthread_cond_wait(&h->ws_done, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

void lg_event_hub_free(lg_api *a)
{
    lg_event_hub *h = a->hub;
    if (!h) return;
    lg_event_hub_stop(a);
    lg_coord_set_observer(a->coord, NULL, NULL);
    LG_ASSERT(h->sse == NULL && h->ws == NULL); /* the daemon has freed every response */
    lg_events_destroy(h->bus);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->ws_done);
    free(h);
    a->hub = NULL;
}

void lg_hub_ws_add(lg_event_hub *h, lg_ws_follower *f)
{
    pthread_mutex_lock(&h->mu);
    f->prev = NULL;
    f->next = h->ws;
    if (h->ws) h->ws->prev = f;
    h->ws = f;
    h->n_ws_threads++;
    pthread_mutex_unlock(&h->mu);
}

void lg_hub_ws_remove(lg_event_hub *h, lg_ws_follower *f)
{
    pthread_mutex_lock(&h->mu);
    if (f->prev) f->prev->next = f->next;
    else h->ws = f->next;
    if (f->next) f->next->prev = f->prev;
    if (--h->n_ws_threads == 0) pthread_cond_broadcast(&h->ws_done);
    pthread_mutex_unlock(&h->mu);
}
