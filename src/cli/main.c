/*
 * main.c: the legacygpu command: dispatches to subcommands through a table.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "legacygpu/legacygpu.h"

static const lg_cli_command commands[] = {
    { "info", lg_cmd_info, "version, CPU and SIMD features, threads, backends, memory", NULL },
    { "run", lg_cmd_run, "run a model on tensor files (.pb/.npy), write its outputs", NULL },
    { "bench", lg_cmd_bench, "time a model: load, session, runs (min/median/p90), memory", NULL },
    { "infer", lg_cmd_infer, "classify images with a model (JPEG/PNG)", NULL },
    { "test-onnx", lg_cmd_test_onnx, "run ONNX backend-test folders and compare outputs", NULL },
    { "serve", lg_cmd_serve, "coordinator, REST API and local workers in one process", NULL },
    { "cluster", lg_cmd_cluster, "start/stop/inspect a coordinator (start|stop|status|workers)",
      "start stop status workers strategy events" },
    { "api", lg_cmd_api, "the coordinator's REST API daemon (same as cluster start)", "start stop status" },
    { "worker", lg_cmd_worker, "run a worker on this machine (start|list)", "start list" },
    { "task", lg_cmd_task, "submit and follow tasks (submit|list|status|result|cancel)",
      "submit list status result cancel" },
    { "keygen", lg_cmd_keygen, "write a CURVE key pair for the worker links", NULL },
    { "completion", lg_cmd_completion, "print the shell completion script (bash)", "bash" },
};

const lg_cli_command *lg_cli_commands(size_t *n)
{
    *n = sizeof(commands) / sizeof(commands[0]);
    return commands;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: legacygpu <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'legacygpu <command> --help' for a command's options.\n");
}

int lg_cli_fail(int rc, const char *context)
{
    const char *msg = lg_last_error();
    fprintf(stderr, "legacygpu: %s%s%s\n", context ? context : "", context ? ": " : "",
            msg && *msg ? msg : lg_strerror(rc));
    return LG_EXIT_FAIL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return LG_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return LG_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("legacygpu %s\n", lg_version());
        return LG_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "legacygpu: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return LG_EXIT_USAGE;
}
