/*
 * cmd_info.c: `legacygpu info [--json] [MODEL]`: version, CPU and SIMD features, threads,
 * backends and their devices, memory; with MODEL, the model's inputs, outputs and opset.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "legacygpu/legacygpu.h"

static json_t *value_json(const lg_value_info *vi)
{
    json_t *shape = json_array();
    for (int d = 0; d < vi->ndim; d++) {
        if (vi->dims[d] >= 0) json_array_append_new(shape, json_integer(vi->dims[d]));
        else if (vi->dim_names[d]) json_array_append_new(shape, json_string(vi->dim_names[d]));
        else json_array_append_new(shape, json_null());
    }
    return json_pack("{s:s, s:s, s:o}", "name", vi->name, "dtype", lg_dtype_name(vi->dtype), "shape", shape);
}

static json_t *model_json(const char *path, int *rc)
{
    lg_model *m;
    if ((*rc = lg_model_load(path, &m)) != LG_OK) return NULL;
    lg_model_meta meta;
    lg_model_meta_get(m, &meta);
    json_t *ins = json_array(), *outs = json_array();
    lg_value_info vi;
    for (int i = 0; i < lg_model_num_inputs(m); i++) {
        lg_model_input_info(m, i, &vi);
        json_array_append_new(ins, value_json(&vi));
    }
    for (int i = 0; i < lg_model_num_outputs(m); i++) {
        lg_model_output_info(m, i, &vi);
        json_array_append_new(outs, value_json(&vi));
    }
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:i, s:I, s:o, s:o}", "path", path, "producer", meta.producer_name,
                          "producer_version", meta.producer_version, "ir_version", (json_int_t)meta.ir_version,
                          "opset", (json_int_t)meta.opset, "nodes", meta.num_nodes, "weight_bytes",
                          (json_int_t)meta.weight_bytes, "inputs", ins, "outputs", outs);
    lg_model_free(m);
    return j;
}

static void print_value(const char *kind, json_t *v)
{
    printf("  %-7s %s: %s [", kind, json_string_value(json_object_get(v, "name")), json_string_value(json_object_get(v, "dtype")));
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(v, "shape"), i, d) {
        if (i) printf(",");
        if (json_is_integer(d)) printf("%lld", (long long)json_integer_value(d));
        else if (json_is_string(d)) printf("%s", json_string_value(d));
        else printf("?");
    }
    printf("]\n");
}

int lg_cmd_info(int argc, char **argv)
{
    bool as_json = false;
    const char *model = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) as_json = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: legacygpu info [--json] [MODEL]\n");
            return LG_EXIT_OK;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "legacygpu: info: unknown option '%s'\nusage: legacygpu info [--json] [MODEL]\n", argv[i]);
            return LG_EXIT_USAGE;
        } else model = argv[i];
    }
    lg_system_info si;
    lg_system_info_get(&si);
    json_t *backends = json_array();
    for (int b = 0; b < lg_backend_count(); b++) {
        json_t *devs = json_array();
        for (int d = 0; d < lg_backend_device_count(b); d++) {
            char name[256];
            if (lg_backend_device_name(b, d, name, sizeof(name)) == LG_OK) json_array_append_new(devs, json_string(name));
        }
        json_array_append_new(backends, json_pack("{s:s, s:o}", "name", lg_backend_name(b), "devices", devs));
    }
    json_t *root = json_pack("{s:s, s:{s:s, s:s, s:i}, s:i, s:{s:I, s:I}, s:o}", "version", lg_version(), "cpu", "model",
                             si.cpu_model, "simd", si.simd, "cores", si.num_cores, "threads", si.num_threads, "memory",
                             "total_bytes", (json_int_t)si.mem_total, "available_bytes", (json_int_t)si.mem_available,
                             "backends", backends);
    if (model) {
        int rc;
        json_t *mj = model_json(model, &rc);
        if (!mj) {
            json_decref(root);
            return lg_cli_fail(rc, NULL);
        }
        json_object_set_new(root, "model", mj);
    }
    if (as_json) {
        char *text = json_dumps(root, JSON_INDENT(2));
        puts(text);
        free(text);
    } else {
        printf("legacygpu %s\n", lg_version());
        printf("cpu:      %s (%d cores)\n", si.cpu_model, si.num_cores);
        printf("simd:     %s\n", si.simd);
        printf("threads:  %d\n", si.num_threads);
        printf("memory:   %.1f GiB total, %.1f GiB available\n", (double)si.mem_total / (1 << 30), (double)si.mem_available / (1 << 30));
        size_t i;
        json_t *b;
        json_array_foreach(backends, i, b) {
            printf("backend:  %s:", json_string_value(json_object_get(b, "name")));
            size_t k;
            json_t *d;
            json_array_foreach(json_object_get(b, "devices"), k, d) printf(" %s%s", k ? "; " : "", json_string_value(d));
            printf("\n");
        }
        json_t *mj = json_object_get(root, "model");
        if (mj) {
            printf("model:    %s (%s %s, ir %lld, opset %lld, %lld nodes, %.1f MB of weights)\n", model,
                   json_string_value(json_object_get(mj, "producer")), json_string_value(json_object_get(mj, "producer_version")),
                   (long long)json_integer_value(json_object_get(mj, "ir_version")), (long long)json_integer_value(json_object_get(mj, "opset")),
                   (long long)json_integer_value(json_object_get(mj, "nodes")), (double)json_integer_value(json_object_get(mj, "weight_bytes")) / 1e6);
            json_t *v;
            json_array_foreach(json_object_get(mj, "inputs"), i, v) print_value("input", v);
            json_array_foreach(json_object_get(mj, "outputs"), i, v) print_value("output", v);
        }
    }
    json_decref(root);
    return LG_EXIT_OK;
}
