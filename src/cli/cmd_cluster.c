/* cmd_cluster.c: placeholder until implemented. */
#include <stdio.h>
#include "cli/cli.h"
int lg_cmd_cluster(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "legacygpu cluster: not implemented yet\n"); return LG_EXIT_FAIL; }
