/*
 * placement.c: where a session runs a model's nodes, for `legacygpu info MODEL
 * --backend B` and `test-onnx --min-gpu-flops`: every node with its backend, and per
 * backend the node count and share of the FLOPs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct backend_sum {
    const char *name;
    int nodes;
    double flops;
} backend_sum;

/* Sums per backend into sums (at most 8), returns how many; *total gets all FLOPs. */
static int summarize(const lg_placement *pl, int n, backend_sum *sums, double *total)
{
    int ns = 0;
    *total = 0;
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < ns && strcmp(sums[k].name, pl[i].backend)) k++;
        if (k == ns) {
            if (ns == 8) continue;
            sums[ns++] = (backend_sum){ .name = pl[i].backend };
        }
        sums[k].nodes++;
        sums[k].flops += pl[i].flops;
        *total += pl[i].flops;
    }
    return ns;
}

static lg_placement *placement_of(lg_session *s, int *n)
{
    if (lg_session_placement(s, NULL, 0, n) != LG_OK) return NULL;
    lg_placement *pl = calloc((size_t)*n + 1, sizeof(*pl));
    if (pl && lg_session_placement(s, pl, *n, n) != LG_OK) {
        free(pl);
        return NULL;
    }
    return pl;
}

double lg_cli_device_share(lg_session *s)
{
    int n;
    lg_placement *pl = placement_of(s, &n);
    if (!pl) return 0;
    double dev = 0, total = 0;
    for (int i = 0; i < n; i++) {
        total += pl[i].flops;
        if (strcmp(pl[i].backend, "cpu") && strcmp(pl[i].backend, "-")) dev += pl[i].flops;
    }
    free(pl);
    return total > 0 ? dev / total : 0;
}

json_t *lg_cli_placement_json(lg_session *s)
{
    int n;
    lg_placement *pl = placement_of(s, &n);
    if (!pl) return NULL;
    backend_sum sums[8];
    double total;
    int ns = summarize(pl, n, sums, &total);
    char dev[320];
    lg_session_device(s, dev, sizeof(dev));
    json_t *nodes = json_array(), *summary = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(nodes, json_pack("{s:s, s:s, s:s, s:f}", "node", pl[i].node, "op", pl[i].op_type,
                                               "backend", pl[i].backend, "flops", pl[i].flops));
    for (int k = 0; k < ns; k++)
        json_array_append_new(summary, json_pack("{s:s, s:i, s:f, s:f}", "backend", sums[k].name, "nodes", sums[k].nodes,
                                                 "flops", sums[k].flops, "flops_share",
                                                 total > 0 ? sums[k].flops / total : 0.0));
    free(pl);
    return json_pack("{s:s, s:o, s:o, s:f}", "device", dev, "summary", summary, "nodes", nodes, "total_flops", total);
}

void lg_cli_placement_print(lg_session *s, FILE *f, bool all_nodes)
{
    int n;
    lg_placement *pl = placement_of(s, &n);
    if (!pl) {
        fprintf(f, "placement: unknown (%s)\n", lg_last_error());
        return;
    }
    backend_sum sums[8];
    double total;
    int ns = summarize(pl, n, sums, &total);
    char dev[320];
    lg_session_device(s, dev, sizeof(dev));
    fprintf(f, "placement on %s:\n", dev);
    if (all_nodes)
        for (int i = 0; i < n; i++)
            fprintf(f, "  %-8s %-20s %-40s %10.1f MFLOP\n", pl[i].backend, pl[i].op_type, pl[i].node, pl[i].flops / 1e6);
    for (int k = 0; k < ns; k++)
        fprintf(f, "  %-8s %4d node%s  %6.1f%% of %.2f GFLOP%s\n", sums[k].name, sums[k].nodes, sums[k].nodes == 1 ? " " : "s",
                total > 0 ? 100 * sums[k].flops / total : 0.0, total / 1e9,
                strcmp(sums[k].name, "-") ? "" : "  (folded at creation or fused into another node)");
    free(pl);
}
