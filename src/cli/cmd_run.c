/*
 * cmd_run.c: `legacygpu run MODEL --input NAME=FILE ... --output-dir DIR [--json]`:
 * runs a model on tensor files (.pb or .npy) and writes every output as .pb and .npy.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "legacygpu/legacygpu.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static json_t *shape_json(const lg_tensor *t)
{
    json_t *a = json_array();
    for (int d = 0; d < lg_tensor_ndim(t); d++) json_array_append_new(a, json_integer(lg_tensor_dims(t)[d]));
    return a;
}

/* Output names may hold '/' or ':' (exporters): keep file names flat and portable. */
static void file_stem(const char *name, char *out, size_t len)
{
    size_t i = 0;
    for (; name[i] && i + 1 < len; i++) {
        char c = name[i];
        out[i] = (c == '/' || c == '\\' || c == ':' || c == ' ') ? '_' : c;
    }
    out[i] = 0;
    if (!out[0] || !strcmp(out, ".") || !strcmp(out, "..")) snprintf(out, len, "output");
}

static void usage(FILE *f)
{
    fprintf(f, "usage: legacygpu run MODEL [--input NAME=FILE]... [--output-dir DIR] [--json]\n"
               "  --input NAME=FILE  tensor for graph input NAME (.pb TensorProto or .npy);\n"
               "                     FILE alone binds by the name inside a .pb, else by position\n"
               "  --output-dir DIR   write each output as DIR/<name>.pb and DIR/<name>.npy\n"
               "  --json             print inputs, output shapes and timing as JSON\n"
               "  --threads N        threads (default: all cores)\n"
               "  --repeat N         run N times, report the median (default 1)\n"
               LG_CLI_ENGINE_USAGE);
}

int lg_cmd_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "input", required_argument, 0, 'i' }, { "output-dir", required_argument, 0, 'o' },
        { "json", no_argument, 0, 'j' },         { "threads", required_argument, 0, 't' },
        { "repeat", required_argument, 0, 'r' }, { "help", no_argument, 0, 'h' }, LG_CLI_ENGINE_LONGOPTS,
        { 0, 0, 0, 0 },
    };
    const char *out_dir = NULL;
    bool as_json = false;
    int threads = 0, repeat = 1, n_in = 0, c;
    lg_cli_engine eng = LG_CLI_ENGINE_INIT;
    char *in_specs[256];
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:o:", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (n_in == 256) {
                fprintf(stderr, "legacygpu: too many --input options\n");
                return LG_EXIT_USAGE;
            }
            in_specs[n_in++] = optarg;
            break;
        case 'o': out_dir = optarg; break;
        case 'j': as_json = true; break;
        case 't': threads = atoi(optarg); break;
        case 'r': repeat = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        case 'h': usage(stdout); return LG_EXIT_OK;
        case LG_OPT_BACKEND:
        case LG_OPT_DEVICE:
        case LG_OPT_PRECISION:
            if (lg_cli_engine_opt(&eng, c, optarg)) return LG_EXIT_USAGE;
            break;
        default: usage(stderr); return LG_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return LG_EXIT_USAGE;
    }
    const char *model_path = argv[optind];
    int code = LG_EXIT_FAIL, rc;
    lg_model *m = NULL;
    lg_session *s = NULL;
    lg_tensor *inputs[256] = { 0 }, **outputs = NULL;
    char *names[256] = { 0 };
    bool named = n_in > 0;
    double t0 = now_ms();
    if ((rc = lg_model_load(model_path, &m)) != LG_OK) return lg_cli_fail(rc, NULL);
    double t1 = now_ms();
    lg_session_options so = { .num_threads = threads, .release_weights = 1 };
    lg_cli_engine_apply(&eng, "cpu", &so);
    if ((rc = lg_session_create(m, &so, &s)) != LG_OK) {
        lg_cli_fail(rc, model_path);
        goto done;
    }
    double t2 = now_ms();
    for (int i = 0; i < n_in; i++) {
        char *eq = strchr(in_specs[i], '=');
        const char *file = eq ? eq + 1 : in_specs[i];
        char *pb_name = NULL;
        if ((rc = lg_tensor_read_file(file, &inputs[i], &pb_name)) != LG_OK) {
            lg_cli_fail(rc, NULL);
            goto done;
        }
        if (eq) {
            names[i] = strndup(in_specs[i], (size_t)(eq - in_specs[i]));
            free(pb_name);
        } else {
            names[i] = pb_name;
        }
        if (!names[i]) named = false;
    }
    int n_out = lg_model_num_outputs(m);
    outputs = calloc((size_t)n_out + 1, sizeof(lg_tensor *));
    double *times = calloc((size_t)repeat, sizeof(double));
    for (int r = 0; r < repeat; r++) {
        for (int k = 0; k < n_out; k++) {
            lg_tensor_free(outputs[k]);
            outputs[k] = NULL;
        }
        double a = now_ms();
        rc = lg_session_run(s, n_in, named ? (const char *const *)names : NULL, inputs, n_out, NULL, outputs);
        times[r] = now_ms() - a;
        if (rc != LG_OK) {
            free(times);
            lg_cli_fail(rc, model_path);
            goto done;
        }
    }
    qsort(times, (size_t)repeat, sizeof(double), cmp_double);
    double median = times[repeat / 2], best = times[0];
    free(times);
    if (out_dir && mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "legacygpu: cannot create %s: %s\n", out_dir, strerror(errno));
        goto done;
    }
    json_t *jout = json_array();
    for (int k = 0; k < n_out; k++) {
        lg_value_info vi;
        lg_model_output_info(m, k, &vi);
        json_t *o = json_pack("{s:s, s:s, s:o}", "name", vi.name, "dtype", lg_dtype_name(lg_tensor_dtype(outputs[k])),
                              "shape", shape_json(outputs[k]));
        if (out_dir) {
            char stem[512], path[4096];
            file_stem(vi.name, stem, sizeof(stem));
            snprintf(path, sizeof(path), "%s/%s.pb", out_dir, stem);
            if ((rc = lg_tensor_write_pb(outputs[k], vi.name, path)) != LG_OK) {
                json_decref(o);
                json_decref(jout);
                lg_cli_fail(rc, NULL);
                goto done;
            }
            json_object_set_new(o, "pb", json_string(path));
            snprintf(path, sizeof(path), "%s/%s.npy", out_dir, stem);
            if (lg_tensor_dtype(outputs[k]) != LG_STRING && (rc = lg_tensor_write_npy(outputs[k], path)) != LG_OK) {
                json_decref(o);
                json_decref(jout);
                lg_cli_fail(rc, NULL);
                goto done;
            }
            if (lg_tensor_dtype(outputs[k]) != LG_STRING) json_object_set_new(o, "npy", json_string(path));
        }
        json_array_append_new(jout, o);
        if (!as_json) {
            char shape[256] = "[";
            size_t off = 1;
            for (int d = 0; d < lg_tensor_ndim(outputs[k]); d++)
                off += (size_t)snprintf(shape + off, sizeof(shape) - off, d ? ",%lld" : "%lld", (long long)lg_tensor_dims(outputs[k])[d]);
            snprintf(shape + off, sizeof(shape) - off, "]");
            printf("%s: %s %s\n", vi.name, lg_dtype_name(lg_tensor_dtype(outputs[k])), shape);
        }
    }
    if (as_json) {
        json_t *jin = json_array();
        for (int i = 0; i < n_in; i++)
            json_array_append_new(jin, json_pack("{s:s?, s:s, s:o}", "name", names[i], "dtype",
                                                 lg_dtype_name(lg_tensor_dtype(inputs[i])), "shape", shape_json(inputs[i])));
        json_t *root = json_pack("{s:s, s:o, s:o, s:{s:f, s:f, s:f, s:f, s:i}}", "model", model_path, "inputs", jin,
                                 "outputs", jout, "timing_ms", "load", t1 - t0, "session", t2 - t1, "run_median",
                                 median, "run_best", best, "runs", repeat);
        char *text = json_dumps(root, JSON_INDENT(2));
        puts(text);
        free(text);
        json_decref(root);
    } else {
        json_decref(jout);
        printf("run: %.2f ms (median of %d), load %.1f ms, session %.1f ms\n", median, repeat, t1 - t0, t2 - t1);
    }
    code = LG_EXIT_OK;
done:
    for (int i = 0; i < n_in; i++) {
        lg_tensor_free(inputs[i]);
        free(names[i]);
    }
    for (int k = 0; outputs && k < lg_model_num_outputs(m); k++) lg_tensor_free(outputs[k]);
    free(outputs);
    lg_session_free(s);
    lg_model_free(m);
    return code;
}
