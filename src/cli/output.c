/*
 * output.c: human vs --json-output printing for the cluster commands; colours come
 * from one table of names and are used only on a terminal.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/output.h"

#define ANSI_RESET "\033[0m"
#define SLOT_COUNT 4
#define SLOT_SIZE 160

static bool json_mode;
static bool color_on;

/* Task states, worker statuses and health words, and their colour. */
static const struct {
    const char *name;
    const char *ansi;
} state_colors[] = {
    { "QUEUED", "\033[36m" },     { "DISPATCHED", "\033[34m" }, { "RUNNING", "\033[34m" },
    { "COMPLETED", "\033[32m" },  { "FAILED", "\033[31m" },     { "CANCELLED", "\033[33m" },
    { "TIMED_OUT", "\033[31m" },  { "idle", "\033[32m" },       { "busy", "\033[34m" },
    { "draining", "\033[33m" },   { "dead", "\033[31m" },       { "healthy", "\033[32m" },
    { "ok", "\033[32m" },         { "ready", "\033[32m" },      { "degraded", "\033[33m" },
    { "unhealthy", "\033[31m" },
};

void lg_out_init(bool json)
{
    const char *term = getenv("TERM");
    json_mode = json;
    color_on = !json && isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !(term && !strcmp(term, "dumb"));
}

bool lg_out_json_mode(void) { return json_mode; }
bool lg_out_color(void) { return color_on; }

void lg_out_json(const char *body)
{
    size_t n = body ? strlen(body) : 0;
    fputs(n ? body : "{}", stdout);
    if (!n || body[n - 1] != '\n') fputc('\n', stdout);
}

/* Text wrapped in ansi when colour is on, in one of a few rotating buffers. */
static const char *wrap(const char *ansi, const char *text)
{
    static char slots[SLOT_COUNT][SLOT_SIZE];
    static int next;
    if (!color_on || !ansi) return text;
    char *s = slots[next];
    next = (next + 1) % SLOT_COUNT;
    snprintf(s, SLOT_SIZE, "%s%s%s", ansi, text, ANSI_RESET);
    return s;
}

const char *lg_out_state(const char *name)
{
    if (!name) return "?";
    for (size_t i = 0; i < sizeof(state_colors) / sizeof(state_colors[0]); i++)
        if (!strcasecmp(name, state_colors[i].name)) return wrap(state_colors[i].ansi, name);
    return name;
}

const char *lg_out_bold(const char *text) { return wrap("\033[1m", text); }
const char *lg_out_dim(const char *text) { return wrap("\033[2m", text); }

void lg_out_field(const char *key, const char *fmt, ...)
{
    char k[64];
    snprintf(k, sizeof(k), "%s:", key);
    printf("  %-16s ", k);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}
