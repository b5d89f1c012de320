/*
 * cmd_completion.c: `legacygpu completion bash` prints a bash completion script made from
 * the CLI's own tables: the command table (main.c) gives the commands and their
 * subcommands, a table here gives what an option's value is (a folder, a file, one of a
 * few words); the options themselves are read at completion time from the command's own
 * --help, so they never drift from what the command accepts.
 *
 *   source <(legacygpu completion bash)
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* What follows an option: completed from this table; anything else completes files. */
static const struct {
    const char *options; /* space-separated */
    const char *words;   /* a word list, or "@dir" for folders */
} values[] = {
    { "--models --data --dir --cache --curve-allow --output-dir", "@dir" },
    { "--strategy", "ROUND_ROBIN LEAST_LOADED GPU_MATCH LATENCY_BASED ADAPTIVE" },
    { "--priority", "LOW NORMAL HIGH CRITICAL" },
    { "--backend", "cpu auto" },
    { "--status", "QUEUED DISPATCHED RUNNING COMPLETED FAILED CANCELLED TIMED_OUT" },
    { "--status-filter", "idle busy draining dead" },
};

static void print_bash(void)
{
    size_t n;
    const lg_cli_command *cmds = lg_cli_commands(&n);
    printf("# bash completion for legacygpu: source <(legacygpu completion bash), or install it as\n"
           "# /usr/share/bash-completion/completions/legacygpu. Made by `legacygpu completion bash`.\n"
           "_legacygpu()\n{\n"
           "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
           "    local bin=${COMP_WORDS[0]} cmd=${COMP_WORDS[1]} subs=\"\" words=\"\"\n"
           "    if (( COMP_CWORD == 1 )); then\n"
           "        COMPREPLY=($(compgen -W \"");
    for (size_t i = 0; i < n; i++) printf("%s ", cmds[i].name);
    printf("--help --version\" -- \"$cur\"))\n"
           "        return\n"
           "    fi\n"
           "    case $cmd in\n");
    for (size_t i = 0; i < n; i++)
        if (cmds[i].subcommands) printf("    %s) subs=\"%s\" ;;\n", cmds[i].name, cmds[i].subcommands);
    printf("    esac\n"
           "    if [[ -n $subs ]] && (( COMP_CWORD == 2 )); then\n"
           "        COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
           "        return\n"
           "    fi\n"
           "    if [[ $cur == -* ]]; then\n"
           "        local args=(\"$cmd\")\n"
           "        [[ -n $subs ]] && args+=(\"${COMP_WORDS[2]}\")\n"
           "        words=$(\"$bin\" \"${args[@]}\" --help 2>&1 | grep -o -- '--[a-z0-9][a-z0-9-]*' | sort -u)\n"
           "        COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
           "        return\n"
           "    fi\n"
           "    case $prev in\n");
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char opts[256];
        snprintf(opts, sizeof(opts), "%s", values[i].options);
        for (char *p = opts; (p = strchr(p, ' ')); p++) *p = '|';
        if (!strcmp(values[i].words, "@dir"))
            printf("    %s) COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n", opts);
        else
            printf("    %s) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")) ;;\n", opts, values[i].words);
    }
    printf("    *) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
           "    esac\n"
           "}\n"
           "complete -o filenames -F _legacygpu legacygpu\n");
}

int lg_cmd_completion(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "bash")) {
        print_bash();
        return LG_EXIT_OK;
    }
    bool help = argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
    fprintf(help ? stdout : stderr, "usage: legacygpu completion bash\n"
                                    "  prints a bash completion script: source <(legacygpu completion bash)\n");
    return help ? LG_EXIT_OK : LG_EXIT_USAGE;
}
