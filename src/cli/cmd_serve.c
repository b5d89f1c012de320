/* cmd_serve.c: placeholder until implemented. */
#include <stdio.h>
#include "cli/cli.h"
int lg_cmd_serve(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "legacygpu serve: not implemented yet\n"); return LG_EXIT_FAIL; }
