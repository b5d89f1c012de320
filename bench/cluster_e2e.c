/*
 * cluster_e2e.c: end-to-end throughput of the cluster's REST API from a light C client:
 * N keep-alive connections (libcurl multi), each in a loop submits a task
 * (POST /cluster/tasks) and long-polls its result (GET .../result?wait=30), for D
 * seconds; or, with a KServe model name, sends each task as one
 * POST /v2/models/NAME/infer that answers when the cluster has run it. Prints JSON:
 * tasks completed, seconds, tasks/s, and submit-to-result p50/p99.
 *
 *   cluster_e2e URL BODY_FILE [CLIENTS=32] [SECONDS=5] [KSERVE_MODEL]
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CLIENTS 256
#define MAX_SAMPLES 1000000

typedef struct client {
    CURL *h;
    char buf[65536];
    size_t len;
    int posting;       /* 1: the POST is in flight, 0: the result GET */
    double started;    /* when the task was submitted */
    char url[512];
} client;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    client *c = arg;
    size_t k = size * n;
    if (c->len + k < sizeof(c->buf)) {
        memcpy(c->buf + c->len, p, k);
        c->len += k;
        c->buf[c->len] = 0;
    }
    return k;
}

static const char *base, *body, *kserve_model;
static struct curl_slist *json_headers;

static void start_post(client *c)
{
    c->len = 0;
    c->posting = 1;
    c->started = now();
    if (kserve_model) snprintf(c->url, sizeof(c->url), "%s/v2/models/%s/infer", base, kserve_model);
    else snprintf(c->url, sizeof(c->url), "%s/cluster/tasks", base);
    curl_easy_setopt(c->h, CURLOPT_URL, c->url);
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, json_headers);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->h, CURLOPT_HTTPGET, 0L);
    curl_easy_setopt(c->h, CURLOPT_POST, 1L);
}

/* After the POST: the task id from {"task_id": "..."}; then long-poll its result. */
static int start_get(client *c)
{
    const char *p = strstr(c->buf, "\"task_id\"");
    if (!p || !(p = strchr(p + 9, '"'))) return -1;
    char id[64];
    if (sscanf(p + 1, "%63[^\"]", id) != 1) return -1;
    c->len = 0;
    c->posting = 0;
    snprintf(c->url, sizeof(c->url), "%s/cluster/tasks/%s/result?wait=30", base, id);
    curl_easy_setopt(c->h, CURLOPT_URL, c->url);
    curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cluster_e2e URL BODY_FILE [CLIENTS] [SECONDS]\n");
        return 2;
    }
    base = argv[1];
    FILE *f = fopen(argv[2], "rb");
    if (!f) return perror(argv[2]), 1;
    static char bodybuf[1 << 20];
    size_t bl = fread(bodybuf, 1, sizeof(bodybuf) - 1, f);
    fclose(f);
    bodybuf[bl] = 0;
    body = bodybuf;
    int n = argc > 3 ? atoi(argv[3]) : 32;
    double seconds = argc > 4 ? atof(argv[4]) : 5;
    kserve_model = argc > 5 ? argv[5] : NULL;
    if (n < 1 || n > MAX_CLIENTS) n = 32;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    json_headers = curl_slist_append(NULL, "Content-Type: application/json");
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)n);
    static client cl[MAX_CLIENTS];
    double *lat = malloc(sizeof(double) * MAX_SAMPLES);
    long done = 0, errors = 0;
    double t0 = now(), stop_at = t0 + seconds;
    for (int i = 0; i < n; i++) {
        cl[i].h = curl_easy_init();
        curl_easy_setopt(cl[i].h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(cl[i].h, CURLOPT_WRITEDATA, &cl[i]);
        curl_easy_setopt(cl[i].h, CURLOPT_PRIVATE, &cl[i]);
        curl_easy_setopt(cl[i].h, CURLOPT_TCP_NODELAY, 1L);
        start_post(&cl[i]);
        curl_multi_add_handle(m, cl[i].h);
    }
    int running = n;
    while (running > 0) {
        int still;
        curl_multi_perform(m, &still);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            client *c;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            long code = 0;
            curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
            curl_multi_remove_handle(m, c->h);
            int again = 0;
            if (kserve_model && msg->data.result == CURLE_OK && code == 200 && strstr(c->buf, "\"outputs\"")) {
                if (done < MAX_SAMPLES) lat[done++] = now() - c->started;
                again = now() < stop_at;
                if (again) start_post(c);
            } else if (msg->data.result != CURLE_OK || kserve_model || (c->posting && code != 202) ||
                       (!c->posting && code != 200)) {
                errors++;
                again = now() < stop_at;
                if (again) start_post(c);
            } else if (c->posting) {
                again = start_get(c) == 0;
                if (!again) errors++;
            } else {
                if (!strstr(c->buf, "COMPLETED")) errors++;
                else if (done < MAX_SAMPLES) lat[done++] = now() - c->started;
                again = now() < stop_at;
                if (again) start_post(c);
            }
            if (again) curl_multi_add_handle(m, c->h);
            else running--;
        }
        if (running > 0) curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double took = now() - t0;
    qsort(lat, (size_t)done, sizeof(double), cmp);
    printf("{\"clients\": %d, \"tasks\": %ld, \"errors\": %ld, \"seconds\": %.2f, \"tasks_per_s\": %.0f, "
           "\"latency_p50_ms\": %.2f, \"latency_p99_ms\": %.2f}\n",
           n, done, errors, took, done / took, done ? lat[done / 2] * 1e3 : 0.0,
           done ? lat[(long)(done * 0.99)] * 1e3 : 0.0);
    for (int i = 0; i < n; i++) curl_easy_cleanup(cl[i].h);
    curl_multi_cleanup(m);
    curl_slist_free_all(json_headers);
    free(lat);
    return errors ? 1 : 0;
}
