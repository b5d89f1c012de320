/*
 * cmd_keygen.c: `legacygpu keygen NAME [--dir D]`: writes a fresh ZeroMQ CURVE key pair
 * for a coordinator or a worker (cluster/curve.h): D/NAME.key, the public key to hand to
 * the other side, and D/NAME.key_secret, the pair to keep (mode 0600). Never overwrites.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cluster/curve.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: legacygpu keygen NAME [--dir D]\n"
               "  writes a CURVE key pair for the worker links: D/NAME.key (public: copy it into the\n"
               "  coordinator's --curve-allow folder, or give it to workers as --coordinator-key) and\n"
               "  D/NAME.key_secret (keep it private: --curve-secret). Existing files are kept.\n"
               "  --dir D             where to write them (default .)\n");
}

int lg_cmd_keygen(int argc, char **argv)
{
    enum { OPT_DIR = 1, OPT_HELP };
    static const struct option longopts[] = {
        { "dir", required_argument, 0, OPT_DIR },
        { "help", no_argument, 0, OPT_HELP },
        { 0, 0, 0, 0 },
    };
    const char *dir = ".";
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == OPT_HELP || opt == 'h') {
            usage(stdout);
            return LG_EXIT_OK;
        }
        if (opt != OPT_DIR) {
            usage(stderr);
            return LG_EXIT_USAGE;
        }
        dir = optarg;
    }
    if (argc - optind != 1) {
        fprintf(stderr, "legacygpu: keygen needs one NAME%s\n", argc - optind > 1 ? ", got more" : "");
        usage(stderr);
        return LG_EXIT_USAGE;
    }
    char pub[1024], sec[1024];
    int rc = lg_curve_keygen(dir, argv[optind], pub, sec, sizeof(pub));
    if (rc != 0) return lg_cli_fail(rc, NULL);
    printf("legacygpu: public key %s\nlegacygpu: secret key %s (keep it private)\n", pub, sec);
    return LG_EXIT_OK;
}
