/*
 * cmd_events.h: following the cluster's event stream from the CLI (cmd_events.c):
 * `legacygpu cluster events`, and the progress lines of `legacygpu task submit --wait`.
 *
 *   lg_task_progress *p = lg_task_progress_start(api_base, stderr); // NULL: no progress
 *   lg_task_progress_add(p, task_id, "digit_3.png");
 *   ...                                    // lines appear as the task changes state
 *   lg_task_progress_stop(p);
 */
#ifndef LG_CLI_CMD_EVENTS_H
#define LG_CLI_CMD_EVENTS_H

#include <stdio.h>

int lg_cmd_cluster_events(int argc, char **argv);

typedef struct lg_task_progress lg_task_progress;
/* Connects to base's event stream (task events) on a thread of its own and returns once
 * it is connected (NULL when it could not connect within a few seconds). */
lg_task_progress *lg_task_progress_start(const char *base, FILE *out);
/* Prints the state changes of task id from now on, labelled with label. */
void lg_task_progress_add(lg_task_progress *p, const char *id, const char *label);
void lg_task_progress_stop(lg_task_progress *p);

#endif
