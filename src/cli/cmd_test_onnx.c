/*
 * cmd_test_onnx.c: `legacygpu test-onnx DIR...`: runs ONNX backend-test folders
 * (model.onnx + test_data_set_N folders of input_N.pb and output_N.pb) and reports each case as
 * pass, fail (with the error) or unsupported (with the reason), then a summary.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "base/tensor_impl.h"
#include "cli/compare.h"
#include "legacygpu/legacygpu.h"

typedef enum { CASE_PASS, CASE_FAIL, CASE_UNSUPPORTED } case_result;

typedef struct test_opts {
    double atol, rtol;
    int threads;
    bool quiet; /* print only failures and unsupported cases */
    bool tol_set;
    lg_cli_engine engine;
    double min_device_share; /* a case fails when less of its FLOPs run on the GPU; < 0: off */
} test_opts;

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted subdirectory names of dir that start with prefix (NULL: all). */
static char **list_dirs(const char *dir, const char *prefix, int *count)
{
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    char **names = NULL;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (prefix && strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (!is_dir(path)) continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, sizeof(char *) * (size_t)cap);
        }
        names[(*count)++] = strdup(e->d_name);
    }
    closedir(d);
    if (names) qsort(names, (size_t)*count, sizeof(char *), cmp_str);
    return names;
}

static void free_list(char **l, int n)
{
    for (int i = 0; i < n; i++) free(l[i]);
    free(l);
}

/* Reads <set>/<kind>_<i>.pb for i = 0.. while present; a model input or output declared a
 * sequence or optional at position i is read as a SequenceProto or OptionalProto. */
static int read_tensors(const lg_model *m, const char *set, const char *kind, lg_tensor ***out, char ***names, int *count)
{
    *count = 0;
    *out = NULL;
    *names = NULL;
    for (int i = 0;; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s_%d.pb", set, kind, i);
        if (!file_exists(path)) break;
        *out = realloc(*out, sizeof(lg_tensor *) * (size_t)(i + 1));
        *names = realloc(*names, sizeof(char *) * (size_t)(i + 1));
        lg_value_info vi;
        bool is_input = kind[0] == 'i';
        int have = is_input ? (i < lg_model_num_inputs(m) ? lg_model_input_info(m, i, &vi) : -1)
                            : (i < lg_model_num_outputs(m) ? lg_model_output_info(m, i, &vi) : -1);
        int rc = lg_value_read_file(path, have == LG_OK ? vi.dtype : LG_UNDEFINED, &(*out)[i], &(*names)[i]);
        if (rc != LG_OK) return rc;
        (*count)++;
    }
    return LG_OK;
}

static void free_tensors(lg_tensor **t, char **names, int n)
{
    for (int i = 0; i < n; i++) {
        lg_tensor_free(t[i]);
        free(names[i]);
    }
    free(t);
    free(names);
}

static int input_index(const lg_model *m, const char *name)
{
    for (int k = 0; name && k < lg_model_num_inputs(m); k++) {
        lg_value_info vi;
        lg_model_input_info(m, k, &vi);
        if (!strcmp(vi.name, name)) return k;
    }
    return -1;
}

/* Runs one data set; fills why on failure. */
static case_result run_set(lg_session *s, lg_model *m, const char *set, const test_opts *o, char *why, size_t wl)
{
    lg_tensor **in = NULL, **ref = NULL;
    char **in_names = NULL, **ref_names = NULL;
    int n_in = 0, n_ref = 0;
    case_result res = CASE_FAIL;
    int rc = read_tensors(m, set, "input", &in, &in_names, &n_in);
    if (rc == LG_OK) rc = read_tensors(m, set, "output", &ref, &ref_names, &n_ref);
    if (rc != LG_OK) {
        snprintf(why, wl, "cannot read test data: %s", lg_last_error());
        res = rc == LG_E_UNSUPPORTED ? CASE_UNSUPPORTED : CASE_FAIL;
        goto done;
    }
    /* Bind by name when every input file names a model input; else by position. */
    bool by_name = n_in > 0;
    for (int i = 0; i < n_in; i++) {
        bool found = false;
        for (int k = 0; in_names[i] && k < lg_model_num_inputs(m); k++) {
            lg_value_info vi;
            lg_model_input_info(m, k, &vi);
            if (!strcmp(vi.name, in_names[i])) found = true;
        }
        if (!found) by_name = false;
    }
    /* ONNX 1.12's test data stores bfloat16 tensors as their uint16 bits. */
    for (int i = 0; i < n_in; i++) {
        lg_value_info vi;
        if (lg_model_input_info(m, by_name ? input_index(m, in_names[i]) : i, &vi) == LG_OK && vi.dtype == LG_BFLOAT16 &&
            in[i]->dtype == LG_UINT16)
            in[i]->dtype = LG_BFLOAT16;
    }
    lg_tensor **got = calloc((size_t)n_ref + 1, sizeof(lg_tensor *));
    int n_out = n_ref < lg_model_num_outputs(m) ? n_ref : lg_model_num_outputs(m);
    rc = lg_session_run(s, n_in, by_name ? (const char *const *)in_names : NULL, in, n_out, NULL, got);
    if (rc != LG_OK) {
        snprintf(why, wl, "%s", lg_last_error());
        res = rc == LG_E_UNSUPPORTED ? CASE_UNSUPPORTED : CASE_FAIL;
    } else if (n_out != n_ref) {
        snprintf(why, wl, "model has %d outputs, test data %d", lg_model_num_outputs(m), n_ref);
    } else {
        res = CASE_PASS;
        for (int i = 0; i < n_ref; i++) {
            lg_compare_result cr;
            if (got[i]->dtype == LG_BFLOAT16 && ref[i]->dtype == LG_UINT16) ref[i]->dtype = LG_BFLOAT16;
            if (!lg_tensor_compare(got[i], ref[i], o->atol, o->rtol, &cr)) {
                lg_value_info vi;
                lg_model_output_info(m, i, &vi);
                snprintf(why, wl, "output '%s': %s", vi.name, cr.message);
                res = CASE_FAIL;
                break;
            }
        }
    }
    for (int i = 0; i < n_ref; i++) lg_tensor_free(got[i]);
    free(got);
done:
    free_tensors(in, in_names, n_in);
    free_tensors(ref, ref_names, n_ref);
    return res;
}

static case_result run_case(const char *dir, const test_opts *o, char *why, size_t wl, double *ms)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/model.onnx", dir);
    lg_model *m = NULL;
    lg_session *s = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = lg_model_load(path, &m);
    if (rc == LG_OK) {
        lg_session_options so = { .num_threads = o->threads, .release_weights = 1 };
        lg_cli_engine eng = o->engine;
        lg_cli_engine_apply(&eng, "cpu", &so);
        rc = lg_session_create(m, &so, &s);
    }
    if (rc == LG_OK && o->min_device_share >= 0) {
        double share = lg_cli_device_share(s);
        if (share < o->min_device_share) {
            snprintf(why, wl, "%.1f%% of the FLOPs run on the GPU, %.1f%% wanted", 100 * share, 100 * o->min_device_share);
            lg_session_free(s);
            lg_model_free(m);
            return CASE_FAIL;
        }
    }
    if (rc != LG_OK) {
        snprintf(why, wl, "%s", lg_last_error());
        lg_model_free(m);
        return rc == LG_E_UNSUPPORTED ? CASE_UNSUPPORTED : CASE_FAIL;
    }
    int n_sets = 0;
    char **sets = list_dirs(dir, "test_data_set_", &n_sets);
    case_result res = CASE_PASS;
    if (n_sets == 0) {
        snprintf(why, wl, "no test_data_set_* folder");
        res = CASE_FAIL;
    }
    for (int i = 0; i < n_sets && res == CASE_PASS; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, sets[i]);
        res = run_set(s, m, path, o, why, wl);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    free_list(sets, n_sets);
    lg_session_free(s);
    lg_model_free(m);
    return res;
}

static const char *case_name(const char *dir)
{
    const char *e = dir + strlen(dir);
    while (e > dir && e[-1] == '/') e--;
    const char *b = e;
    while (b > dir && b[-1] != '/') b--;
    static char buf[512];
    snprintf(buf, sizeof(buf), "%.*s", (int)(e - b), b);
    return buf;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: legacygpu test-onnx [options] DIR...\n"
               "  DIR is a test case (model.onnx + test_data_set_*) or a folder of them.\n"
               "  --atol X        absolute tolerance (default 1e-4)\n"
               "  --rtol X        relative tolerance (default 1e-3)\n"
               "  --threads N     threads per session (default: all cores)\n"
               LG_CLI_ENGINE_USAGE
               "                  (fp16: default tolerances atol 5e-2, rtol 5e-2)\n"
               "  --min-gpu-flops P  a case fails unless P%% of its FLOPs run on the GPU\n"
               "  --quiet         print only cases that do not pass\n"
               "  --min-pass N    exit 1 if fewer than N cases pass (failures alone do not fail the run)\n"
               "exit status: 0 all ran cases passed (or --min-pass met), 1 otherwise, 2 usage\n");
}

int lg_cmd_test_onnx(int argc, char **argv)
{
    test_opts o = { .atol = 1e-4, .rtol = 1e-3, .engine = LG_CLI_ENGINE_INIT, .min_device_share = -1 };
    double share_pct;
    long min_pass = -1;
    static const struct option longopts[] = {
        { "atol", required_argument, 0, 'a' }, { "rtol", required_argument, 0, 'r' },
        { "threads", required_argument, 0, 't' }, { "quiet", no_argument, 0, 'q' },
        { "min-pass", required_argument, 0, 'm' }, { "min-gpu-flops", required_argument, 0, 'g' },
        { "help", no_argument, 0, 'h' }, LG_CLI_ENGINE_LONGOPTS, { 0, 0, 0, 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "q", longopts, NULL)) != -1) {
        switch (c) {
        case 'a': o.atol = atof(optarg); o.tol_set = true; break;
        case 'r': o.rtol = atof(optarg); o.tol_set = true; break;
        case 'g':
            if (lg_cli_number("--min-gpu-flops", optarg, 0, 100, &share_pct)) return LG_EXIT_USAGE;
            o.min_device_share = share_pct / 100;
            break;
        case LG_OPT_BACKEND:
        case LG_OPT_DEVICE:
        case LG_OPT_PRECISION:
            if (lg_cli_engine_opt(&o.engine, c, optarg)) return LG_EXIT_USAGE;
            break;
        case 't': o.threads = atoi(optarg); break;
        case 'q': o.quiet = true; break;
        case 'm': min_pass = atol(optarg); break;
        case 'h': usage(stdout); return LG_EXIT_OK;
        default: usage(stderr); return LG_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return LG_EXIT_USAGE;
    }
    if (o.engine.precision && !o.tol_set) o.atol = o.rtol = 5e-2;
    int passed = 0, failed = 0, unsupported = 0;
    char why[2048];
    for (int a = optind; a < argc; a++) {
        const char *arg = argv[a];
        char model[4096];
        snprintf(model, sizeof(model), "%s/model.onnx", arg);
        int n_cases = 0;
        char **cases = NULL;
        bool single = file_exists(model);
        if (!single) {
            if (!is_dir(arg)) {
                fprintf(stderr, "legacygpu: %s: not a test case folder\n", arg);
                failed++;
                continue;
            }
            cases = list_dirs(arg, NULL, &n_cases);
        }
        for (int k = 0; k < (single ? 1 : n_cases); k++) {
            char dir[4096];
            if (single) snprintf(dir, sizeof(dir), "%s", arg);
            else snprintf(dir, sizeof(dir), "%s/%s", arg, cases[k]);
            snprintf(model, sizeof(model), "%s/model.onnx", dir);
            if (!single && !file_exists(model)) continue;
            double ms = 0;
            why[0] = 0;
            case_result r = run_case(dir, &o, why, sizeof(why), &ms);
            const char *name = case_name(dir);
            if (r == CASE_PASS) {
                passed++;
                if (!o.quiet) printf("pass         %s (%.1f ms)\n", name, ms);
            } else if (r == CASE_FAIL) {
                failed++;
                printf("FAIL         %s: %s\n", name, why);
            } else {
                unsupported++;
                printf("unsupported  %s: %s\n", name, why);
            }
            fflush(stdout);
        }
        free_list(cases, n_cases);
    }
    printf("%d passed, %d failed, %d unsupported\n", passed, failed, unsupported);
    if (min_pass >= 0) {
        if (passed < min_pass) {
            fprintf(stderr, "legacygpu: %d cases passed, fewer than the floor of %ld\n", passed, min_pass);
            return LG_EXIT_FAIL;
        }
        return LG_EXIT_OK;
    }
    return failed ? LG_EXIT_FAIL : LG_EXIT_OK;
}
