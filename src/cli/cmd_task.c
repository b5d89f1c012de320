/* cmd_task.c: placeholder until implemented. */
#include <stdio.h>
#include "cli/cli.h"
int lg_cmd_task(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "legacygpu task: not implemented yet\n"); return LG_EXIT_FAIL; }
