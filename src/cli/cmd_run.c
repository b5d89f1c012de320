/* cmd_run.c: placeholder until implemented. */
#include <stdio.h>
#include "cli/cli.h"
int lg_cmd_run(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "not implemented yet\n"); return LG_EXIT_FAIL; }
