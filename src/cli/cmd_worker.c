/* cmd_worker.c: placeholder until implemented. */
#include <stdio.h>
#include "cli/cli.h"
int lg_cmd_worker(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "legacygpu worker: not implemented yet\n"); return LG_EXIT_FAIL; }
