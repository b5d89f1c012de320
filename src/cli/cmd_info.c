/* cmd_info.c: placeholder until implemented. */
#include <stdio.h>
#include "cli/cli.h"
int lg_cmd_info(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "not implemented yet\n"); return LG_EXIT_FAIL; }
