/*
 * cmd_api.c: `legacygpu api start|stop|status`: the coordinator's REST API daemon under
 * its other name; the same as `legacygpu cluster start|stop|status` (cmd_cluster.c).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int lg_cmd_api(int argc, char **argv)
{
    static const char *const same[] = { "start", "stop", "status" };
    for (size_t i = 0; argc >= 2 && i < sizeof(same) / sizeof(same[0]); i++)
        if (!strcmp(argv[1], same[i])) return lg_cmd_cluster(argc, argv);
    bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
    fprintf(help ? stdout : stderr, "usage: legacygpu api start|stop|status [options]\n"
                                    "  the same as 'legacygpu cluster start|stop|status'\n");
    return help ? LG_EXIT_OK : LG_EXIT_USAGE;
}
