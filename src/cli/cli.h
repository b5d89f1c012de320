/*
 * cli.h: the legacygpu command's subcommands and the helpers they share.
 *
 * Each subcommand lives in cmd_<name>.c and is listed in main.c's command table.
 * A subcommand returns the process exit code (see docs/cli.md):
 *   0 success, 1 the work failed (model, data, test failures), 2 bad usage.
 */
#ifndef LG_CLI_H
#define LG_CLI_H

#include <stdbool.h>

#define LG_EXIT_OK 0
#define LG_EXIT_FAIL 1
#define LG_EXIT_USAGE 2

typedef struct lg_cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;
} lg_cli_command;

int lg_cmd_info(int argc, char **argv);
int lg_cmd_run(int argc, char **argv);
int lg_cmd_bench(int argc, char **argv);
int lg_cmd_test_onnx(int argc, char **argv);
int lg_cmd_infer(int argc, char **argv);
int lg_cmd_serve(int argc, char **argv);
int lg_cmd_cluster(int argc, char **argv);
int lg_cmd_api(int argc, char **argv);
int lg_cmd_worker(int argc, char **argv);
int lg_cmd_task(int argc, char **argv);

/* Numeric option values: LG_EXIT_OK, or LG_EXIT_USAGE after printing what was expected. */
int lg_cli_int(const char *flag, const char *s, int lo, int hi, int *out);
int lg_cli_number(const char *flag, const char *s, double lo, double hi, double *out);

/* Prints "legacygpu: <context>: <lg_last_error()>" to stderr for status rc; returns 1. */
int lg_cli_fail(int rc, const char *context);

#endif
