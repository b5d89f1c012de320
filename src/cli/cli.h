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
#include <stddef.h>

#include <jansson.h>
#include <stdio.h>

#include "legacygpu/legacygpu.h"

#define LG_EXIT_OK 0
#define LG_EXIT_FAIL 1
#define LG_EXIT_USAGE 2

typedef struct lg_cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;
    const char *subcommands; /* "start stop ..." for commands that take one, else NULL */
} lg_cli_command;

/* main.c's command table (the completion script is made from it). */
const lg_cli_command *lg_cli_commands(size_t *n);

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
int lg_cmd_keygen(int argc, char **argv);
int lg_cmd_completion(int argc, char **argv);

/* Numeric option values: LG_EXIT_OK, or LG_EXIT_USAGE after printing what was expected. */
int lg_cli_int(const char *flag, const char *s, int lo, int hi, int *out);
int lg_cli_number(const char *flag, const char *s, double lo, double hi, double *out);

/* Prints "legacygpu: <context>: <lg_last_error()>" to stderr for status rc; returns 1. */
int lg_cli_fail(int rc, const char *context);

/* --backend, --device and --precision, shared by the commands that run models:
 *   static const struct option o[] = { LG_CLI_ENGINE_LONGOPTS, ... };
 *   lg_cli_engine e = LG_CLI_ENGINE_INIT;
 *   case LG_OPT_BACKEND: case LG_OPT_DEVICE: case LG_OPT_PRECISION:
 *       if (lg_cli_engine_opt(&e, c, optarg)) return LG_EXIT_USAGE; break;
 *   lg_cli_engine_apply(&e, "cpu", &session_options);                          */
enum { LG_OPT_BACKEND = 0x4000, LG_OPT_DEVICE, LG_OPT_PRECISION };
typedef struct lg_cli_engine {
    const char *backend; /* NULL: the command's default */
    int device;          /* -1: not given */
    int precision;       /* 0 fp32, 1 fp16 */
    char buf[64];
} lg_cli_engine;
#define LG_CLI_ENGINE_INIT { .backend = NULL, .device = -1, .precision = 0 }
#define LG_CLI_ENGINE_LONGOPTS                                                                     \
    { "backend", required_argument, 0, LG_OPT_BACKEND }, { "device", required_argument, 0, LG_OPT_DEVICE }, \
    { "precision", required_argument, 0, LG_OPT_PRECISION }
#define LG_CLI_ENGINE_USAGE                                                                        \
    "  --backend B        auto (first usable GPU, else the CPU), cpu, vulkan or vulkan:N\n"       \
    "  --device N         device N of the GPU backend (legacygpu info lists them)\n"              \
    "  --precision P      fp32 (default) or fp16 (GPU: fp16 storage, fp16 math where supported)\n"
int lg_cli_engine_opt(lg_cli_engine *e, int opt, const char *arg);
const char *lg_cli_engine_backend(lg_cli_engine *e, const char *dflt);
void lg_cli_engine_apply(lg_cli_engine *e, const char *dflt, lg_session_options *so);

/* Placement (placement.c): share of the FLOPs on a GPU (0..1), a JSON summary, or a
 * printed one (with every node when all_nodes). */
double lg_cli_device_share(lg_session *s);
json_t *lg_cli_placement_json(lg_session *s);
void lg_cli_placement_print(lg_session *s, FILE *f, bool all_nodes);

#endif
