/*
 * cmd_task.c: `legacygpu task submit|list|status|result|cancel`: tasks through the
 * REST API (http_client.c). Each --input FILE of a submit is one task: a .json file is
 * a KServe v2 body sent as the task's input_data; images, .npy and .pb files go as raw
 * bodies with their Content-Type. --json-output prints the API's bodies unchanged, one
 * per line; --wait follows each task to its end with long-polls.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include "base/error.h"
#include "cli/cli.h"
#include "cli/cmd_events.h"
#include "cli/http_client.h"
#include "cli/output.h"
#include "cluster/task.h"

#define MAX_INPUTS 256
#define MAX_REQUIRE 16
#define DEFAULT_WAIT_S 300.0
#define POLL_CHUNK_S 30.0      /* longest single long-poll */
#define HTTP_TIMEOUT_S 60.0    /* any other request */

/* Options every task subcommand takes, and the ones of submit, list and result. */
typedef struct task_opts {
    const char *api, *model, *idempotency_key, *status, *cursor;
    const char *inputs[MAX_INPUTS];
    int n_inputs;
    const char *require[MAX_REQUIRE];
    int n_require;
    lg_priority priority;
    double timeout_s, wait_s;
    int limit;
    bool wait, json;
    const char *id; /* the positional ID */
} task_opts;

/* ---- usage ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: legacygpu task submit --model NAME --input FILE [FILE...] [options]\n"
               "       legacygpu task list [--status S] [--limit N] [--cursor C]\n"
               "       legacygpu task status ID\n"
               "       legacygpu task result ID [--timeout S]\n"
               "       legacygpu task cancel ID\n"
               " submit (one task per --input):\n"
               "  --input FILE        .json (KServe v2 body), .png/.jpg, .npy or .pb\n"
               "  --priority P        LOW, NORMAL (default), HIGH or CRITICAL\n"
               "  --require KEY=VALUE what a worker must offer (min_memory_mb, backend,\n"
               "                      device_vendor, fp16, or a tag); repeatable\n"
               "  --timeout S         the task fails as TIMED_OUT after S seconds\n"
               "  --idempotency-key K resubmitting with K returns the first task (one input)\n"
               "  --wait              wait for each task's result (up to --wait-timeout)\n"
               "  --wait-timeout S    how long --wait waits (default 300)\n"
               " result:\n"
               "  --timeout S         long-poll up to S seconds for the result (default 0:\n"
               "                      answer at once)\n"
               " every subcommand:\n"
               "  --api URL           REST API (default $LEGACYGPU_API or " LG_DEFAULT_API ")\n"
               "  --json-output       print the API's JSON bodies as they are\n"
               "  --cacert FILE       CA certificate that signed an https:// API's (default\n"
               "                      $LEGACYGPU_CACERT, else the system's CAs)\n"
               " environment: LEGACYGPU_TOKEN is sent as 'Authorization: Bearer TOKEN'.\n"
               " exit codes: 0 ok, 1 failed (task failed or cancelled, not found, server error),\n"
               "  2 usage, 3 cannot reach the API, 4 timed out waiting.\n");
}

enum {
    OPT_API = 1, OPT_JSON, OPT_MODEL, OPT_INPUT, OPT_PRIORITY, OPT_REQUIRE, OPT_TIMEOUT, OPT_KEY, OPT_WAIT,
    OPT_WAIT_TIMEOUT, OPT_STATUS, OPT_LIMIT, OPT_CURSOR, OPT_CACERT, OPT_HELP,
};

static int parse_option(task_opts *o, int opt, const char *arg)
{
    char *end;
    switch (opt) {
    case OPT_API: o->api = arg; return LG_EXIT_OK;
    case OPT_CACERT: lg_http_use_cacert(arg); return LG_EXIT_OK;
    case OPT_JSON: o->json = true; return LG_EXIT_OK;
    case OPT_MODEL: o->model = arg; return LG_EXIT_OK;
    case OPT_INPUT:
        if (o->n_inputs == MAX_INPUTS) break;
        o->inputs[o->n_inputs++] = arg;
        return LG_EXIT_OK;
    case OPT_PRIORITY:
        if (lg_priority_parse(arg, &o->priority) == LG_OK) return LG_EXIT_OK;
        fprintf(stderr, "legacygpu: --priority expects LOW, NORMAL, HIGH or CRITICAL, got '%s'\n", arg);
        return LG_EXIT_USAGE;
    case OPT_REQUIRE:
        if (o->n_require == MAX_REQUIRE || !strchr(arg, '=') || arg[0] == '=') {
            fprintf(stderr, "legacygpu: --require expects KEY=VALUE, got '%s'\n", arg);
            return LG_EXIT_USAGE;
        }
        o->require[o->n_require++] = arg;
        return LG_EXIT_OK;
    case OPT_TIMEOUT: return lg_cli_number("--timeout", arg, 0, 1e7, &o->timeout_s);
    case OPT_KEY: o->idempotency_key = arg; return LG_EXIT_OK;
    case OPT_WAIT: o->wait = true; return LG_EXIT_OK;
    case OPT_WAIT_TIMEOUT: return lg_cli_number("--wait-timeout", arg, 0, 1e7, &o->wait_s);
    case OPT_STATUS: {
        lg_task_state st;
        if (lg_task_state_parse(arg, &st) == LG_OK) {
            o->status = lg_task_state_name(st);
            return LG_EXIT_OK;
        }
        fprintf(stderr, "legacygpu: --status: %s\n", lg_last_error());
        return LG_EXIT_USAGE;
    }
    case OPT_LIMIT:
        o->limit = (int)strtol(arg, &end, 10);
        if (end != arg && !*end && o->limit >= 1 && o->limit <= 10000) return LG_EXIT_OK;
        fprintf(stderr, "legacygpu: --limit expects an integer in 1..10000, got '%s'\n", arg);
        return LG_EXIT_USAGE;
    case OPT_CURSOR: o->cursor = arg; return LG_EXIT_OK;
    default: break;
    }
    fprintf(stderr, "legacygpu: too many --%s options\n", opt == OPT_INPUT ? "input" : "require");
    return LG_EXIT_USAGE;
}

static int parse_args(int argc, char **argv, task_opts *o)
{
    static const struct option longopts[] = {
        { "api", required_argument, 0, OPT_API },
        { "json-output", no_argument, 0, OPT_JSON },
        { "json", no_argument, 0, OPT_JSON },
        { "model", required_argument, 0, OPT_MODEL },
        { "input", required_argument, 0, OPT_INPUT },
        { "priority", required_argument, 0, OPT_PRIORITY },
        { "require", required_argument, 0, OPT_REQUIRE },
        { "timeout", required_argument, 0, OPT_TIMEOUT },
        { "idempotency-key", required_argument, 0, OPT_KEY },
        { "wait", no_argument, 0, OPT_WAIT },
        { "wait-timeout", required_argument, 0, OPT_WAIT_TIMEOUT },
        { "status", required_argument, 0, OPT_STATUS },
        { "limit", required_argument, 0, OPT_LIMIT },
        { "cursor", required_argument, 0, OPT_CURSOR },
        { "cacert", required_argument, 0, OPT_CACERT },
        { "help", no_argument, 0, OPT_HELP },
        { 0, 0, 0, 0 },
    };
    memset(o, 0, sizeof(*o));
    o->priority = LG_PRIO_NORMAL;
    o->wait_s = DEFAULT_WAIT_S;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == OPT_HELP || opt == 'h') {
            usage(stdout);
            return -1;
        }
        if (opt == '?') {
            usage(stderr);
            return LG_EXIT_USAGE;
        }
        int rc = parse_option(o, opt, optarg);
        if (rc != LG_EXIT_OK) return rc;
    }
    if (optind < argc && !o->model) o->id = argv[optind++];
    /* submit: files after the options are inputs too (--input digit_*.png). */
    while (optind < argc && o->model && o->n_inputs < MAX_INPUTS) o->inputs[o->n_inputs++] = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "legacygpu: unexpected argument '%s'\n", argv[optind]);
        return LG_EXIT_USAGE;
    }
    lg_out_init(o->json);
    return LG_EXIT_OK;
}

/* ---- reading inputs --------------------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        lg_error(LG_E_IO, "cannot open '%s'", path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *grown = realloc(buf, cap * 2);
            if (!grown) free(buf);
            buf = grown;
            cap *= 2;
        }
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        lg_error(bad ? LG_E_IO : LG_E_NOMEM, "cannot read '%s'", path);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Content types by file extension; NULL content type: a JSON body. */
static const struct {
    const char *ext;
    const char *content_type;
} input_types[] = {
    { ".json", NULL },
    { ".png", "image/png" },
    { ".jpg", "image/jpeg" },
    { ".jpeg", "image/jpeg" },
    { ".npy", "application/x-npy" },
    { ".pb", "application/x-protobuf" },
};

static int input_type(const char *path, const char **content_type)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(input_types) / sizeof(input_types[0]); i++)
        if (!strcasecmp(dot, input_types[i].ext)) {
            *content_type = input_types[i].content_type;
            return LG_OK;
        }
    return lg_error(LG_E_INVALID_ARG, "'%s': unknown input kind (use .json, .png, .jpg, .npy or .pb)", path);
}

/* The --require list as a JSON object: numbers and booleans where they parse. */
static json_t *requirements_json(const task_opts *o)
{
    json_t *r = json_object();
    for (int i = 0; i < o->n_require; i++) {
        const char *eq = strchr(o->require[i], '=');
        char key[64];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - o->require[i]), o->require[i]);
        const char *v = eq + 1;
        char *end;
        long long n = strtoll(v, &end, 10);
        json_t *val;
        if (*v && !*end) val = json_integer(n);
        else if (!strcasecmp(v, "true") || !strcasecmp(v, "false")) val = json_boolean(!strcasecmp(v, "true"));
        else val = json_string(v);
        json_object_set_new(r, key, val);
    }
    return r;
}

/* ---- talking to the API ----------------------------------------------------------- */

/* Standard base64 of data (malloc'd text). */
static char *base64(const uint8_t *data, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (!out) return NULL;
    char *p = out;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len) v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len) v |= data[i + 2];
        *p++ = abc[v >> 18 & 63];
        *p++ = abc[v >> 12 & 63];
        *p++ = i + 1 < len ? abc[v >> 6 & 63] : '=';
        *p++ = i + 2 < len ? abc[v & 63] : '=';
    }
    *p = '\0';
    return out;
}

/* The JSON submit body for input_data (stolen) with the options. */
static char *json_submit_body(const task_opts *o, json_t *input)
{
    json_t *req = json_pack("{s:s, s:o, s:s}", "model_name", o->model, "input_data", input, "priority",
                            lg_priority_name(o->priority));
    if (o->n_require) json_object_set_new(req, "requirements", requirements_json(o));
    if (o->timeout_s > 0) json_object_set_new(req, "timeout", json_real(o->timeout_s));
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    return body;
}

/* input_data for one file as JSON: the file's KServe v2 body, or an image in base64.
 * NULL (message printed) when it cannot be. */
static json_t *json_input(const char *path, const char *ctype, const uint8_t *data, size_t len)
{
    if (!ctype) {
        json_error_t jerr;
        json_t *input = json_loadb((const char *)data, len, 0, &jerr);
        if (!input) fprintf(stderr, "legacygpu: '%s' line %d: %s\n", path, jerr.line, jerr.text);
        return input;
    }
    if (strncmp(ctype, "image/", 6) != 0) {
        fprintf(stderr, "legacygpu: '%s': --require works with .json and image inputs (raw tensor bodies "
                        "carry no requirements)\n", path);
        return NULL;
    }
    char *b64 = base64(data, len);
    json_t *input = b64 ? json_pack("{s:s}", "image_base64", b64) : NULL;
    free(b64);
    return input;
}

/* Submits one input; on success *out is the API's answer (202 or 200). JSON files, and
 * images with requirements, go as a JSON body; other files as raw bodies. */
static int submit_one(lg_http *h, const task_opts *o, const char *path, lg_http_response *out)
{
    const char *ctype = NULL;
    if (input_type(path, &ctype) != LG_OK) {
        fprintf(stderr, "legacygpu: %s\n", lg_last_error());
        return LG_EXIT_USAGE;
    }
    size_t len;
    uint8_t *data = read_file(path, &len);
    if (!data) return lg_cli_fail(LG_E_IO, "task submit");

    char key_header[320] = "";
    if (o->idempotency_key) snprintf(key_header, sizeof(key_header), "Idempotency-Key: %s", o->idempotency_key);
    const char *headers[] = { key_header[0] ? key_header : NULL, NULL };
    char url[1024] = "/cluster/tasks";
    int rc;
    if (!ctype || o->n_require) {
        json_t *input = json_input(path, ctype, data, len);
        free(data);
        if (!input) return LG_EXIT_USAGE;
        char *body = json_submit_body(o, input);
        rc = lg_http_request(h, "POST", url, "application/json", body, strlen(body), headers, HTTP_TIMEOUT_S, out);
        free(body);
    } else {
        char num[32];
        lg_http_query_add(url, sizeof(url), "model", o->model);
        lg_http_query_add(url, sizeof(url), "priority", lg_priority_name(o->priority));
        if (o->timeout_s > 0) {
            snprintf(num, sizeof(num), "%g", o->timeout_s);
            lg_http_query_add(url, sizeof(url), "timeout", num);
        }
        rc = lg_http_request(h, "POST", url, ctype, data, len, headers, HTTP_TIMEOUT_S, out);
        free(data);
    }
    if (rc != LG_OK) return lg_http_unreachable(h, "task submit");
    if (out->status != 200 && out->status != 202) {
        char ctx[600];
        snprintf(ctx, sizeof(ctx), "task submit %s", path);
        int ex = lg_http_error(out, ctx);
        lg_http_response_clear(out);
        return ex;
    }
    return LG_EXIT_OK;
}

/* The "status" field of a body ("" if none). */
static const char *body_status(json_t *root)
{
    const char *s = json_string_value(json_object_get(root, "status"));
    return s ? s : "";
}

static bool final_state(const char *name)
{
    lg_task_state st;
    return lg_task_state_parse(name, &st) == LG_OK && lg_task_state_final(st);
}

/* Long-polls the result of id for up to wait_s seconds (0: one immediate look).
 * Returns the exit code; *out holds the last body when it is 0, 1 or 4. */
static int fetch_result(lg_http *h, const char *id, double wait_s, lg_http_response *out)
{
    double deadline = lg_now() + wait_s;
    char path[256], num[32];
    for (;;) {
        double left = deadline - lg_now();
        double chunk = left < 0 ? 0 : left < POLL_CHUNK_S ? left : POLL_CHUNK_S;
        snprintf(path, sizeof(path), "/cluster/tasks/%s/result", id);
        snprintf(num, sizeof(num), "%.3f", chunk);
        if (chunk > 0) lg_http_query_add(path, sizeof(path), "wait", num);
        if (lg_http_get(h, path, chunk + HTTP_TIMEOUT_S, out) != LG_OK) return lg_http_unreachable(h, "task result");
        if (out->status == 200) {
            json_t *root = json_loads(out->body, 0, NULL);
            bool done = final_state(body_status(root));
            json_decref(root);
            if (done) return LG_EXIT_OK;
        } else if (out->status != 202 && out->status != 408) {
            int ex = lg_http_error(out, "task result");
            lg_http_response_clear(out);
            return ex;
        }
        if (lg_now() >= deadline) return LG_EXIT_TIMEOUT;
        lg_http_response_clear(out);
    }
}

/* ---- human output ------------------------------------------------------------------ */

/* The result's postprocessed classes, "3 (0.998), 8 (0.001)", per batch item. */
static void print_top_k(json_t *post)
{
    json_t *batches = json_object_get(post, "top_k");
    size_t bi;
    json_t *items;
    json_array_foreach(batches, bi, items) {
        printf("   ");
        size_t i;
        json_t *c;
        json_array_foreach(items, i, c) {
            const char *label = json_string_value(json_object_get(c, "label"));
            char idx[32];
            snprintf(idx, sizeof(idx), "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(c, "index")));
            printf("%s %s (%.3f)", i ? "," : "", i ? (label ? label : idx) : lg_out_bold(label ? label : idx),
                   json_number_value(json_object_get(c, "probability")));
        }
        putchar('\n');
    }
}

/* Output tensors as "name [shape] TYPE". */
static void print_outputs(json_t *outputs)
{
    size_t i;
    json_t *t;
    json_array_foreach(outputs, i, t) {
        printf("   %s [", json_string_value(json_object_get(t, "name")));
        size_t d;
        json_t *dim;
        json_array_foreach(json_object_get(t, "shape"), d, dim)
            printf("%s%" JSON_INTEGER_FORMAT, d ? ", " : "", json_integer_value(dim));
        printf("] %s\n", json_string_value(json_object_get(t, "datatype")));
    }
}

/* One task's status or result body as lines: "ID STATE (label)", then its classes,
 * outputs or error. */
static void print_task_body(const char *label, const char *body)
{
    json_t *root = json_loads(body, 0, NULL);
    const char *id = json_string_value(json_object_get(root, "task_id"));
    printf("%s%s%s  %s", label ? label : "", label ? "  " : "", id ? id : "?", lg_out_state(body_status(root)));
    const char *model = json_string_value(json_object_get(root, "model_name"));
    if (!model) model = json_string_value(json_object_get(root, "model"));
    if (model) printf("  %s", lg_out_dim(model));
    putchar('\n');
    const char *prio = json_string_value(json_object_get(root, "priority"));
    if (prio && json_is_integer(json_object_get(root, "max_attempts"))) { /* a status body */
        const char *worker = json_string_value(json_object_get(root, "worker_id"));
        printf("   priority %s, attempts %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT "%s%s\n", prio,
               json_integer_value(json_object_get(root, "attempts")),
               json_integer_value(json_object_get(root, "max_attempts")), worker ? ", worker " : "",
               worker ? worker : "");
    }
    json_t *res = json_object_get(root, "result");
    if (!json_is_object(res)) res = root;
    json_t *post = json_object_get(res, "postprocessed");
    if (json_is_object(post) && json_object_get(post, "top_k")) print_top_k(post);
    else if (json_is_array(json_object_get(res, "outputs"))) print_outputs(json_object_get(res, "outputs"));
    json_t *err = json_object_get(root, "error");
    const char *why = json_is_object(err) ? json_string_value(json_object_get(err, "message")) : json_string_value(err);
    /* One line per reason (a failed task lists every attempt). */
    for (const char *line = why; line && *line;) {
        size_t n = strcspn(line, "\n");
        printf("   %s %.*s\n", line == why ? "error:" : "      ", (int)n, line);
        line += n + (line[n] == '\n');
    }
    json_decref(root);
}

/* Exit code of a final body: 0 COMPLETED, 1 otherwise. */
static int body_exit(const char *body)
{
    json_t *root = json_loads(body, 0, NULL);
    int ex = strcmp(body_status(root), "COMPLETED") ? LG_EXIT_FAIL : LG_EXIT_OK;
    json_decref(root);
    return ex;
}

/* ---- subcommands ------------------------------------------------------------------ */

static int do_submit(lg_http *h, const task_opts *o)
{
    if (!o->model || !o->n_inputs || o->id) {
        fprintf(stderr, "legacygpu: task submit needs --model NAME and at least one --input FILE\n");
        return LG_EXIT_USAGE;
    }
    if (o->idempotency_key && o->n_inputs > 1) {
        fprintf(stderr, "legacygpu: --idempotency-key names one task; give one --input with it\n");
        return LG_EXIT_USAGE;
    }
    int worst = LG_EXIT_OK;
    /* On a terminal, --wait shows each task's state changes from the event stream. */
    lg_task_progress *progress =
        o->wait && !lg_out_json_mode() && isatty(STDERR_FILENO) ? lg_task_progress_start(lg_http_base(h), stderr) : NULL;
    for (int i = 0; i < o->n_inputs; i++) {
        lg_http_response r;
        int ex = submit_one(h, o, o->inputs[i], &r);
        if (ex != LG_EXIT_OK) {
            lg_task_progress_stop(progress);
            return ex; /* later inputs would fail the same way */
        }
        json_t *root = json_loads(r.body, 0, NULL);
        char id[LG_TASK_ID_LEN + 1];
        snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(root, "task_id")) ?: "");
        json_decref(root);
        if (!o->wait) {
            if (lg_out_json_mode()) lg_out_json(r.body);
            else print_task_body(o->inputs[i], r.body);
            lg_http_response_clear(&r);
            continue;
        }
        lg_http_response_clear(&r);
        lg_task_progress_add(progress, id, o->inputs[i]);
        ex = fetch_result(h, id, o->wait_s, &r);
        if (ex == LG_EXIT_OK || ex == LG_EXIT_TIMEOUT) {
            if (lg_out_json_mode()) lg_out_json(r.body);
            else if (ex == LG_EXIT_OK) print_task_body(o->inputs[i], r.body);
            if (ex == LG_EXIT_OK) ex = body_exit(r.body);
            else fprintf(stderr, "legacygpu: task %s (%s): not done after %g s\n", id, o->inputs[i], o->wait_s);
            lg_http_response_clear(&r);
        }
        if (ex == LG_EXIT_UNREACHABLE) {
            worst = ex;
            break;
        }
        if (ex > worst) worst = ex;
    }
    lg_task_progress_stop(progress);
    return worst;
}

static int do_list(lg_http *h, const task_opts *o)
{
    char path[512] = "/cluster/tasks", num[16];
    if (o->status) lg_http_query_add(path, sizeof(path), "status", o->status);
    if (o->limit) {
        snprintf(num, sizeof(num), "%d", o->limit);
        lg_http_query_add(path, sizeof(path), "limit", num);
    }
    if (o->cursor) lg_http_query_add(path, sizeof(path), "cursor", o->cursor);
    lg_http_response r;
    if (lg_http_get(h, path, HTTP_TIMEOUT_S, &r) != LG_OK) return lg_http_unreachable(h, "task list");
    if (r.status != 200) {
        int ex = lg_http_error(&r, "task list");
        lg_http_response_clear(&r);
        return ex;
    }
    if (lg_out_json_mode()) {
        lg_out_json(r.body);
        lg_http_response_clear(&r);
        return LG_EXIT_OK;
    }
    json_t *root = json_loads(r.body, 0, NULL);
    json_t *tasks = json_is_array(root) ? root : json_object_get(root, "tasks");
    size_t i;
    json_t *t;
    printf("%s\n", lg_out_bold("TASK                                  STATUS      PRIORITY  MODEL"));
    json_array_foreach(tasks, i, t) {
        const char *st = body_status(t);
        const char *model = json_string_value(json_object_get(t, "model_name"));
        if (!model) model = json_string_value(json_object_get(t, "model"));
        int pad = 10 - (int)strlen(st);
        printf("%-36s  %s%*s  %-8s  %s\n", json_string_value(json_object_get(t, "task_id")) ?: "?", lg_out_state(st),
               pad > 0 ? pad : 0, "",
               json_string_value(json_object_get(t, "priority")) ?: "", model ? model : "");
    }
    const char *next = json_string_value(json_object_get(root, "next_cursor"));
    printf("%zu task%s%s%s\n", json_array_size(tasks), json_array_size(tasks) == 1 ? "" : "s",
           next && *next ? "; more with --cursor " : "", next && *next ? next : "");
    json_decref(root);
    lg_http_response_clear(&r);
    return LG_EXIT_OK;
}

/* GET or DELETE on a task: status, result, cancel. */
static int do_one(lg_http *h, const task_opts *o, const char *sub)
{
    if (!o->id) {
        fprintf(stderr, "legacygpu: task %s needs a task ID\n", sub);
        return LG_EXIT_USAGE;
    }
    char ctx[128], path[256];
    snprintf(ctx, sizeof(ctx), "task %s %s", sub, o->id);
    lg_http_response r;
    int ex = LG_EXIT_OK;
    if (!strcmp(sub, "result")) {
        ex = fetch_result(h, o->id, o->timeout_s, &r);
        if (ex != LG_EXIT_OK && ex != LG_EXIT_TIMEOUT) return ex;
        if (ex == LG_EXIT_TIMEOUT) {
            fprintf(stderr, "legacygpu: %s: not done after %g s\n", ctx, o->timeout_s);
            if (lg_out_json_mode()) lg_out_json(r.body);
            lg_http_response_clear(&r);
            return ex;
        }
        ex = body_exit(r.body);
    } else {
        bool cancel = !strcmp(sub, "cancel");
        snprintf(path, sizeof(path), cancel ? "/cluster/tasks/%s" : "/cluster/tasks/%s/status", o->id);
        if (lg_http_request(h, cancel ? "DELETE" : "GET", path, NULL, NULL, 0, NULL, HTTP_TIMEOUT_S, &r) != LG_OK)
            return lg_http_unreachable(h, ctx);
        if (r.status != 200) {
            ex = lg_http_error(&r, ctx);
            lg_http_response_clear(&r);
            return ex;
        }
    }
    if (lg_out_json_mode()) lg_out_json(r.body);
    else print_task_body(NULL, r.body);
    lg_http_response_clear(&r);
    return ex;
}

static int do_status(lg_http *h, const task_opts *o) { return do_one(h, o, "status"); }
static int do_result(lg_http *h, const task_opts *o) { return do_one(h, o, "result"); }
static int do_cancel(lg_http *h, const task_opts *o) { return do_one(h, o, "cancel"); }

static const struct {
    const char *name;
    int (*run)(lg_http *h, const task_opts *o);
} subcommands[] = {
    { "submit", do_submit }, { "list", do_list },     { "status", do_status },
    { "result", do_result }, { "cancel", do_cancel },
};

int lg_cmd_task(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? LG_EXIT_USAGE : LG_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
        if (strcmp(argv[1], subcommands[i].name)) continue;
        task_opts o;
        int rc = parse_args(argc - 1, argv + 1, &o);
        if (rc != LG_EXIT_OK) return rc < 0 ? LG_EXIT_OK : rc;
        lg_http *h;
        if (lg_http_open(o.api, &h) != LG_OK) return lg_cli_fail(LG_E_INVALID_ARG, "task");
        int ex = subcommands[i].run(h, &o);
        lg_http_close(h);
        return ex;
    }
    fprintf(stderr, "legacygpu: unknown task subcommand '%s'\n", argv[1]);
    usage(stderr);
    return LG_EXIT_USAGE;
}
