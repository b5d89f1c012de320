/* cmd_api.c: placeholder until implemented. */
#include <stdio.h>
#include "cli/cli.h"
int lg_cmd_api(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "legacygpu api: not implemented yet\n"); return LG_EXIT_FAIL; }
