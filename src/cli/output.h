/*
 * output.h: how the cluster commands print: exactly the API's JSON body with
 * --json-output, otherwise short human lines, coloured only when stdout is a terminal
 * (and NO_COLOR is unset, TERM is not "dumb").
 *
 *   lg_out_init(json);                       // once, after parsing the options
 *   if (lg_out_json_mode()) lg_out_json(body);
 *   else printf("%s  %s\n", id, lg_out_state("COMPLETED"));   // green on a terminal
 */
#ifndef LG_CLI_OUTPUT_H
#define LG_CLI_OUTPUT_H

#include <stdbool.h>

/* Decides the mode once: json for --json-output, colour from isatty(stdout). */
void lg_out_init(bool json);
bool lg_out_json_mode(void);
bool lg_out_color(void);

/* Prints body as is, with a newline when it lacks one. */
void lg_out_json(const char *body);

/* A state, status or level name wrapped in its colour (a static buffer per call slot;
 * at most four live at once). Unknown names stay uncoloured. */
const char *lg_out_state(const char *name);
/* Text in bold / dim on a terminal (same buffers as lg_out_state). */
const char *lg_out_bold(const char *text);
const char *lg_out_dim(const char *text);

/* "key: value" with the key padded to a column (human mode). */
void lg_out_field(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
