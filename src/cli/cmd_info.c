/*
 * cmd_info.c: `legacygpu info [--json] [MODEL]`: version, CPU and SIMD features, threads,
 * backends and their devices (every GPU in detail, and what --backend auto picks), memory;
 * with MODEL, the model's inputs, outputs and opset, every operator it uses (domain, opset,
 * count) marked when this build cannot run it, and why (model_ops.c), and with --backend
 * where each node runs (placement.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/info_devices.h"
#include "cli/model_ops.h"
#include "base/error.h"
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

/* Parses "NAME=1x3x224x224" (or "1,3,224,224"). */
static int parse_shape(const char *spec, char *name, size_t nlen, int *ndim, int64_t *dims)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || (size_t)(eq - spec) >= nlen) return -1;
    snprintf(name, nlen, "%.*s", (int)(eq - spec), spec);
    *ndim = 0;
    const char *p = eq + 1;
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0 || *ndim == LG_MAX_DIMS) return -1;
        dims[(*ndim)++] = v;
        p = end;
        if (*p == 'x' || *p == ',') p++;
        else if (*p) return -1;
    }
    return *ndim > 0 ? 0 : -1;
}

/* Output shapes inferred from the given input shapes (no data is run). */
static json_t *inferred_json(lg_model *m, int n_shapes, char **specs, int *rc)
{
    lg_session *s;
    if ((*rc = lg_session_create(m, NULL, &s)) != LG_OK) return NULL;
    char names[32][256];
    const char *name_ptrs[32];
    lg_tensor *views[32] = { 0 };
    json_t *res = NULL;
    for (int i = 0; i < n_shapes; i++) {
        int nd;
        int64_t dims[LG_MAX_DIMS];
        lg_value_info vi;
        if (parse_shape(specs[i], names[i], sizeof(names[i]), &nd, dims) != 0) {
            *rc = lg_error(LG_E_INVALID_ARG, "--input-shape '%s': expected NAME=DIMxDIM...", specs[i]);
            goto done;
        }
        lg_dtype dt = LG_FLOAT;
        for (int k = 0; k < lg_model_num_inputs(m); k++)
            if (lg_model_input_info(m, k, &vi) == LG_OK && !strcmp(vi.name, names[i]) && vi.dtype) dt = vi.dtype;
        name_ptrs[i] = names[i];
        /* Only the shape is read: a zero-sized wrap carries it without data. */
        if ((*rc = lg_tensor_wrap(dt, nd, dims, NULL, &views[i])) != LG_OK) goto done;
    }
    int n_out = lg_model_num_outputs(m);
    lg_value_info *outs = calloc((size_t)n_out + 1, sizeof(*outs));
    if ((*rc = lg_session_infer_shapes(s, n_shapes, name_ptrs, views, n_out, outs)) == LG_OK) {
        res = json_array();
        for (int k = 0; k < n_out; k++) {
            json_t *shape = json_array();
            for (int d = 0; d < outs[k].ndim; d++)
                json_array_append_new(shape, outs[k].dims[d] >= 0 ? json_integer(outs[k].dims[d]) : json_null());
            if (outs[k].ndim < 0) {
                json_decref(shape);
                shape = json_null();
            }
            json_array_append_new(res, json_pack("{s:s, s:s, s:o}", "name", outs[k].name, "dtype",
                                                 lg_dtype_name(outs[k].dtype), "shape", shape));
        }
    }
    free(outs);
done:
    for (int i = 0; i < n_shapes; i++) lg_tensor_free(views[i]);
    lg_session_free(s);
    return res;
}

static json_t *model_json(const char *path, int n_shapes, char **specs, int *rc)
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
    int n_bad = 0;
    json_t *ops = lg_cli_model_ops(m, &n_bad);
    json_object_set_new(j, "operators", ops);
    json_object_set_new(j, "unsupported_operators", json_integer(n_bad));
    if (n_shapes > 0) {
        json_t *inf = inferred_json(m, n_shapes, specs, rc);
        if (!inf) {
            json_decref(j);
            j = NULL;
        } else {
            json_object_set_new(j, "inferred_outputs", inf);
        }
    }
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

/* One line per operator: domain, op, opset, count, and why it cannot run when it cannot. */
static void print_ops(json_t *mj)
{
    json_t *ops = json_object_get(mj, "operators");
    long long bad = (long long)json_integer_value(json_object_get(mj, "unsupported_operators"));
    printf("operators: %zu distinct, %lld not runnable by this build\n", json_array_size(ops), bad);
    size_t i;
    json_t *o;
    json_array_foreach(ops, i, o) {
        const char *reason = json_string_value(json_object_get(o, "reason"));
        printf("  %-12s %-28s opset %-3lld x%-5lld %s%s%s\n", json_string_value(json_object_get(o, "domain")),
               json_string_value(json_object_get(o, "op_type")), (long long)json_integer_value(json_object_get(o, "opset")),
               (long long)json_integer_value(json_object_get(o, "count")), reason ? "CANNOT RUN (" : "ok",
               reason ? json_string_value(json_object_get(o, "status")) : "", reason ? "): " : "");
        if (reason) printf("      %s\n", reason);
    }
}

int lg_cmd_info(int argc, char **argv)
{
    bool as_json = false;
    const char *model = NULL;
    lg_session *placement_session = NULL;
    lg_model *placement_model = NULL;
    char *shapes[32];
    int n_shapes = 0;
    lg_cli_engine eng = LG_CLI_ENGINE_INIT;
    bool all_nodes = false;
    static const char usage[] =
        "usage: legacygpu info [--json] [MODEL [--input-shape NAME=1x3x224x224]... [--backend B [--nodes]]]\n"
        "  --backend B, --device N, --precision P  with MODEL: where each node runs on that backend,\n"
        "                       nodes and share of the FLOPs per backend (--nodes: every node)\n";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) as_json = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("%s", usage);
            return LG_EXIT_OK;
        } else if (!strcmp(argv[i], "--nodes")) {
            all_nodes = true;
        } else if ((!strcmp(argv[i], "--backend") || !strcmp(argv[i], "--device") || !strcmp(argv[i], "--precision")) &&
                   i + 1 < argc) {
            int opt = argv[i][2] == 'b' ? LG_OPT_BACKEND : argv[i][2] == 'd' ? LG_OPT_DEVICE : LG_OPT_PRECISION;
            if (lg_cli_engine_opt(&eng, opt, argv[++i])) return LG_EXIT_USAGE;
        } else if (!strcmp(argv[i], "--input-shape") && i + 1 < argc && n_shapes < 32) {
            shapes[n_shapes++] = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "legacygpu: info: unknown option '%s'\n%s", argv[i], usage);
            return LG_EXIT_USAGE;
        } else model = argv[i];
    }
    if (n_shapes && !model) {
        fprintf(stderr, "legacygpu: info: --input-shape needs a MODEL\n%s", usage);
        return LG_EXIT_USAGE;
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
    json_t *root = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:i}, s:i, s:{s:I, s:I}, s:o}", "version", lg_version(),
                             "cpu", "model", si.cpu_model, "simd", si.simd, "flags", si.cpu_flags, "simd_path",
                             si.simd_path, "simd_reason", si.simd_reason, "cores", si.num_cores, "threads", si.num_threads, "memory",
                             "total_bytes", (json_int_t)si.mem_total, "available_bytes", (json_int_t)si.mem_available,
                             "backends", backends);
    json_t *devices = lg_info_devices_json();
    json_object_set_new(root, "auto", lg_info_auto_json(devices));
    json_object_set_new(root, "devices", devices);
    if (model) {
        int rc;
        json_t *mj = model_json(model, n_shapes, shapes, &rc);
        if (!mj) {
            json_decref(root);
            return lg_cli_fail(rc, NULL);
        }
        json_object_set_new(root, "model", mj);
        if (eng.backend || eng.device >= 0) {
            lg_model *m;
            lg_session *sess = NULL;
            lg_session_options so = { 0 };
            lg_cli_engine_apply(&eng, "auto", &so);
            if ((rc = lg_model_load(model, &m)) == LG_OK) rc = lg_session_create(m, &so, &sess);
            if (rc != LG_OK) {
                json_decref(root);
                if (rc != LG_E_PARSE && rc != LG_E_IO) lg_model_free(m);
                return lg_cli_fail(rc, model);
            }
            if (as_json) json_object_set_new(mj, "placement", lg_cli_placement_json(sess));
            else placement_session = sess;
            placement_model = m;
        }
    }
    if (as_json) {
        char *text = json_dumps(root, JSON_INDENT(2));
        puts(text);
        free(text);
    } else {
        printf("legacygpu %s\n", lg_version());
        printf("cpu:      %s (%d cores)\n", si.cpu_model, si.num_cores);
        printf("simd:     %s\n", si.simd);
        printf("kernels:  %s (%s; CPU flags: %s)\n", si.simd_path, si.simd_reason, si.cpu_flags);
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
        lg_info_devices_print(devices, json_object_get(root, "auto"));
        json_t *mj = json_object_get(root, "model");
        if (mj) {
            printf("model:    %s (%s %s, ir %lld, opset %lld, %lld nodes, %.1f MB of weights)\n", model,
                   json_string_value(json_object_get(mj, "producer")), json_string_value(json_object_get(mj, "producer_version")),
                   (long long)json_integer_value(json_object_get(mj, "ir_version")), (long long)json_integer_value(json_object_get(mj, "opset")),
                   (long long)json_integer_value(json_object_get(mj, "nodes")), (double)json_integer_value(json_object_get(mj, "weight_bytes")) / 1e6);
            json_t *v;
            json_array_foreach(json_object_get(mj, "inputs"), i, v) print_value("input", v);
            json_array_foreach(json_object_get(mj, "outputs"), i, v) print_value("output", v);
            json_array_foreach(json_object_get(mj, "inferred_outputs"), i, v) print_value("inferred", v);
            print_ops(mj);
            if (placement_session) lg_cli_placement_print(placement_session, stdout, all_nodes);
        }
    }
    lg_session_free(placement_session);
    lg_model_free(placement_model);
    json_decref(root);
    return LG_EXIT_OK;
}
