#!/usr/bin/env python3
"""compare_ort.py: legacygpu against ONNX Runtime 1.30 on the same machine, in one run
(called by bench/compare_ort.sh, which installs onnxruntime-node and checks the build).

For each model folder (model.onnx, optionally test_data_set_0/input_*.pb), each thread
count and each batch size: one input file is made (the test input repeated along the
batch, or reproducible random data from the declared shapes), then `legacygpu bench
--json` and `node bench/ort_run.mjs` run on it alternately (A B A B ... for --rounds
rounds) so drift on the machine hits both alike; the median of each tool is the median of
its round medians. CPU time per run (all threads) is reported beside the wall time: on a
machine shared with other work it is the steadier measure at 1 thread (at 2 threads ORT's
spinning workers add to it). The outputs of one `legacygpu run` and one ORT run on the same input
give the max abs difference. Writes a Markdown table and a CSV.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
FIELDS = ["model", "threads", "batch", "lg_median_ms", "ort_median_ms", "ratio", "lg_cpu_ms", "ort_cpu_ms", "cpu_ratio",
          "lg_throughput", "ort_throughput",
          "max_abs_diff", "lg_load_ms", "ort_load_ms", "load_ratio", "lg_peak_mb", "ort_peak_mb", "mem_ratio"]


def model_dirs(paths):
    """Folders holding model.onnx: the paths themselves or their subfolders, sorted."""
    out = []
    for p in paths:
        if os.path.isfile(os.path.join(p, "model.onnx")):
            out.append(p)
        elif os.path.isdir(p):
            out += sorted(os.path.join(p, d) for d in os.listdir(p) if os.path.isfile(os.path.join(p, d, "model.onnx")))
        else:
            sys.exit(f"compare_ort: {p} is not a model folder (no model.onnx) nor a folder of them")
    return out


NP_TYPES = {1: np.float32, 6: np.int32, 7: np.int64}


def make_inputs(mdir, batch, tmp):
    """NAME=FILE.npy specs for every graph input at this batch size."""
    m = onnx.load(os.path.join(mdir, "model.onnx"), load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    specs = []
    rng = np.random.default_rng(1)
    for k, vi in enumerate(i for i in m.graph.input if i.name not in inits):
        pb = os.path.join(mdir, "test_data_set_0", f"input_{k}.pb")
        if os.path.isfile(pb):
            a = numpy_helper.to_array(onnx.load_tensor(pb))
            a = np.concatenate([a] * batch, axis=0) if batch > 1 else a
        else:
            tt = vi.type.tensor_type
            dims = [d.dim_value if d.dim_value > 0 else (batch if j == 0 else 32) for j, d in enumerate(tt.shape.dim)]
            dt = NP_TYPES.get(tt.elem_type)
            if dt is None:
                sys.exit(f"compare_ort: {mdir}: input {vi.name} has an element type this script cannot generate")
            a = rng.uniform(-1, 1, dims).astype(dt) if dt == np.float32 else rng.integers(0, 16, dims).astype(dt)
        f = os.path.join(tmp, f"{os.path.basename(mdir)}_b{batch}_{k}.npy")
        np.save(f, np.ascontiguousarray(a))
        specs.append(f"{vi.name}={f}")
    return specs


def run_json(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"compare_ort: {' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return json.loads(r.stdout)


def max_abs_diff(lg, mdir, specs, threads, tmp, node):
    lg_dir, ort_dir = os.path.join(tmp, "lg_out"), os.path.join(tmp, "ort_out")
    for d in (lg_dir, ort_dir):
        for f in os.listdir(d) if os.path.isdir(d) else []:
            os.remove(os.path.join(d, f))
    cmd = [lg, "run", os.path.join(mdir, "model.onnx"), "--threads", str(threads), "--output-dir", lg_dir]
    for s in specs:
        cmd += ["--input", s]
    subprocess.run(cmd, check=True, capture_output=True)
    run_json([node, os.path.join(HERE, "ort_run.mjs"), os.path.join(mdir, "model.onnx"), *specs, "--threads",
              str(threads), "--repeat", "1", "--warmup", "0", "--output-dir", ort_dir])
    worst = 0.0
    for f in sorted(os.listdir(ort_dir)):
        a, b = np.load(os.path.join(lg_dir, f)), np.load(os.path.join(ort_dir, f))
        if a.shape != b.shape:
            sys.exit(f"compare_ort: {mdir}: output {f} has shape {a.shape} here, {b.shape} in ORT")
        worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0)
    return worst


def compare(args, mdir, threads, batch, tmp):
    specs = make_inputs(mdir, batch, tmp)
    model = os.path.join(mdir, "model.onnx")
    lg_cmd = [args.legacygpu, "bench", model, "--threads", str(threads), "--batch", str(batch), "--runs",
              str(args.runs), "--warmup", str(args.warmup), "--json"]
    for s in specs:
        lg_cmd += ["--input", s]
    ort_cmd = [args.node, os.path.join(HERE, "ort_run.mjs"), model, *specs, "--threads", str(threads), "--repeat",
               str(args.runs), "--warmup", str(args.warmup)]
    lg, ort = [], []
    for _ in range(args.rounds):  # A B A B: drift hits both
        lg.append(run_json(lg_cmd))
        ort.append(run_json(ort_cmd))
    med = lambda rs, k: statistics.median(r[k] for r in rs)
    lg_ms, ort_ms = med(lg, "median_ms"), med(ort, "median_ms")
    lg_cpu, ort_cpu = med(lg, "cpu_ms"), med(ort, "cpu_ms")
    lg_load = med(lg, "load_ms") + med(lg, "session_ms")
    ort_load = med(ort, "load_ms")
    lg_peak = med(lg, "peak_rss_mb")
    ort_peak = med([{"x": r["peak_rss_mb"] - r["base_rss_mb"]} for r in ort], "x")
    diff = max_abs_diff(args.legacygpu, mdir, specs, threads, tmp, args.node)
    return {
        "model": os.path.basename(os.path.normpath(mdir)), "threads": threads, "batch": batch,
        "lg_median_ms": lg_ms, "ort_median_ms": ort_ms, "ratio": lg_ms / ort_ms,
        "lg_cpu_ms": lg_cpu, "ort_cpu_ms": ort_cpu, "cpu_ratio": lg_cpu / ort_cpu if ort_cpu > 0 else float("nan"),
        "lg_throughput": batch * 1000 / lg_ms, "ort_throughput": batch * 1000 / ort_ms, "max_abs_diff": diff,
        "lg_load_ms": lg_load, "ort_load_ms": ort_load, "load_ratio": lg_load / ort_load,
        "lg_peak_mb": lg_peak, "ort_peak_mb": ort_peak, "mem_ratio": lg_peak / ort_peak if ort_peak > 0 else float("nan"),
    }


def markdown(rows):
    out = ["| model | threads | batch | legacygpu ms | ORT ms | ratio (lg/ORT) | CPU ms/run lg / ORT | CPU ratio | "
           "max abs diff | load+session ms lg / ORT | peak MB lg / ORT | memory ratio |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['model']} | {r['threads']} | {r['batch']} | {r['lg_median_ms']:.2f} | {r['ort_median_ms']:.2f} | "
                   f"**{r['ratio']:.2f}** | {r['lg_cpu_ms']:.2f} / {r['ort_cpu_ms']:.2f} | {r['cpu_ratio']:.2f} | "
                   f"{r['max_abs_diff']:.1e} | {r['lg_load_ms']:.0f} / {r['ort_load_ms']:.0f} | "
                   f"{r['lg_peak_mb']:.0f} / {r['ort_peak_mb']:.0f} | {r['mem_ratio']:.2f} |")
    return "\n".join(out)


def write_results(out, rows):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "compare_ort.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    with open(os.path.join(out, "compare_ort.md"), "w") as f:
        f.write(markdown(rows) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", default=[os.path.join(HERE, "..", "..", "shared", "models")])
    ap.add_argument("--legacygpu", default=os.path.join(HERE, "..", "build", "legacygpu"))
    ap.add_argument("--node", default="node")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--batch", default="1,8", help="comma-separated batch sizes (default 1,8)")
    ap.add_argument("--runs", type=int, default=10, help="timed runs per round and tool (default 10)")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up runs per round and tool (default 2)")
    ap.add_argument("--rounds", type=int, default=3, help="alternated rounds A B A B (default 3)")
    ap.add_argument("--only", default="", help="comma-separated model names to keep")
    ap.add_argument("--out", default="bench/results", help="folder for compare_ort.md and compare_ort.csv")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",") if t]
    batches = [int(b) for b in args.batch.split(",") if b]
    only = {m for m in args.only.split(",") if m}
    dirs = [d for d in model_dirs(args.models) if not only or os.path.basename(os.path.normpath(d)) in only]
    if not dirs:
        sys.exit("compare_ort: no model folders to compare")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in dirs:
            for t in threads:
                for b in batches:
                    r = compare(args, d, t, b, tmp)
                    print(f"{r['model']} threads {t} batch {b}: legacygpu {r['lg_median_ms']:.2f} ms, "
                          f"ORT {r['ort_median_ms']:.2f} ms, ratio {r['ratio']:.2f}", file=sys.stderr)
                    rows.append(r)
                    write_results(args.out, rows)  # after every row: a long run keeps what it has
    print(markdown(rows))


if __name__ == "__main__":
    main()
