#!/usr/bin/env python3
"""cluster_bench.py: the cluster's HTTP benchmarks (reported in docs/performance.md,
"Cluster"; not timed tests). On 127.0.0.1 with the demo digits model:

  e2e       `serve --workers 2`, 32 keep-alive connections from a C client
            (bench/cluster_e2e.c, libcurl multi): each task one KServe infer request
            ("kserve"), or submit -> long-poll result ("seed"): tasks/s submitted-to-result
  e2e_py    the same seed loop from 32 Python threads (client-bound: one GIL)
  wrk       `serve --workers 2`, wrk -t2 -c32 POSTing tasks (Lua script) for D seconds,
            then until every accepted task completed: submit rate and end-to-end rate
  overhead  idle cluster, one client, sequential: submit-to-result minus model time, p50/p99
  failover  `cluster start` + 2 `worker start` (--max-tasks 1): a worker stops answering
            (SIGSTOP, then kill -9); time until its task completed on the other worker
  health    wrk -t2 -c32 -d5s GET /cluster/health: requests/s

    cluster_bench.py --cli build/legacygpu [--models models] [--only e2e,wrk,...] [--duration 5]
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "cluster"))
from cluster_lib import (Http, Procs, expect, freeze, list_workers, submit, task_body,  # noqa: E402
                         wait_result, wait_until, wait_workers, worker_id)

CLIENTS = 32


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def completed_count(api):
    """COMPLETED tasks, from the Prometheus tasks-by-state gauge of /metrics."""
    text = api.get("/metrics").body.decode()
    vals = [float(m.group(1)) for m in re.finditer(r'\{[^}]*state="COMPLETED"[^}]*\} ([0-9.e+]+)', text)]
    return int(max(vals)) if vals else 0


def bench_e2e(b):
    """The C client (bench/cluster_e2e.c), built here with cc and libcurl."""
    exe = os.path.join(b.scratch("e2e-client"), "cluster_e2e")
    os.makedirs(os.path.dirname(exe), exist_ok=True)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libcurl"], capture_output=True, text=True,
                           check=True).stdout.split()
    subprocess.run(["cc", "-O2", "-o", exe, os.path.join(HERE, "cluster_e2e.c")] + flags, check=True)
    with Procs(b.cli, b.scratch("e2e")) as procs:
        srv = procs.serve(b.models, workers=2)
        wait_workers(Http(srv.api), 2)
        seed = os.path.join(os.path.dirname(exe), "seed.json")
        kserve = os.path.join(os.path.dirname(exe), "kserve.json")
        body = task_body(b.models, 3)
        with open(seed, "w") as f:
            json.dump(body, f)
        with open(kserve, "w") as f:
            json.dump(body["input_data"], f)
        out = {}
        for mode, args in (("kserve", [kserve, str(CLIENTS), str(b.duration), "digits"]),
                           ("seed", [seed, str(CLIENTS), str(b.duration)])):
            run = subprocess.run([exe, srv.api] + args, capture_output=True, text=True, check=True)
            out[mode] = json.loads(run.stdout)
        return out


def bench_e2e_py(b):
    with Procs(b.cli, b.scratch("e2e")) as procs:
        srv = procs.serve(b.models, workers=2)
        wait_workers(Http(srv.api), 2)
        body = task_body(b.models, 3)
        stop_at = time.monotonic() + b.duration
        counts = [0] * CLIENTS

        def client(i):
            c = Http(srv.api)
            while time.monotonic() < stop_at:
                res = wait_result(c, submit(c, body))
                expect(res["status"] == "COMPLETED", "completed", res)
                counts[i] += 1
        start = time.monotonic()
        ts = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        took = time.monotonic() - start
        n = sum(counts)
        return {"clients": CLIENTS, "tasks": n, "seconds": round(took, 2), "tasks_per_s": round(n / took)}


def wrk(url, seconds, script=None):
    args = ["wrk", "-t2", f"-c{CLIENTS}", f"-d{seconds}s", "--latency"] + (["-s", script] if script else []) + [url]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = {p: m.group(1) for p in ("50%", "99%") for m in [re.search(re.escape(p) + r"\s+(\S+)", out)] if m}
    return {"command": " ".join(args), "requests": total, "requests_per_s": round(rps),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "latency": lat}


def bench_wrk(b):
    with Procs(b.cli, b.scratch("wrk")) as procs:
        srv = procs.serve(b.models, workers=2)
        api = Http(srv.api)
        wait_workers(api, 2)
        script = os.path.join(procs.scratch, "submit.lua")
        with open(script, "w") as f:
            f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                    f"wrk.body = {json.dumps(json.dumps(task_body(b.models, 3)))}\n")
        start = time.monotonic()
        w = wrk(srv.api + "/cluster/tasks", b.duration, script)
        accepted = w["requests"] - w["non_2xx"]
        wait_until(lambda: completed_count(api) >= accepted, 300, f"{accepted} tasks completed", 0.05)
        took = time.monotonic() - start
        w.update(accepted=accepted, seconds_to_last_result=round(took, 2),
                 end_to_end_tasks_per_s=round(accepted / took))
        return w


def model_time_s(b, scratch):
    """Median time of one digits run in the engine alone (`legacygpu run --repeat 200`)."""
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 8, 8), }"
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"  # magic + header: a multiple of 64
    npy = os.path.join(scratch, "zeros.npy")
    with open(npy, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(4 * 64))
    out = subprocess.run([b.cli, "run", os.path.join(b.models, "digits", "model.onnx"), "--input",
                          "input=" + npy, "--threads", "1", "--repeat", "200", "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["timing_ms"]["run_median"] / 1000.0


def bench_overhead(b):
    with Procs(b.cli, b.scratch("overhead")) as procs:
        srv = procs.serve(b.models, workers=2)
        api = Http(srv.api)
        wait_workers(api, 2)
        body = task_body(b.models, 3)
        for _ in range(50):  # warm the model caches and the connection
            wait_result(api, submit(api, body))
        lat = []
        for _ in range(b.samples):
            t0 = time.perf_counter()
            wait_result(api, submit(api, body))
            lat.append(time.perf_counter() - t0)
        model = model_time_s(b, procs.scratch)
        over = [max(0.0, x - model) for x in lat]
        return {"samples": len(lat), "model_ms": round(model * 1e3, 3),
                "submit_to_result_p50_ms": round(percentile(lat, 50) * 1e3, 3),
                "overhead_p50_ms": round(percentile(over, 50) * 1e3, 3),
                "overhead_p99_ms": round(percentile(over, 99) * 1e3, 3),
                "overhead_mean_ms": round(statistics.mean(over) * 1e3, 3)}


def bench_failover(b):
    with Procs(b.cli, b.scratch("failover")) as procs:
        srv = procs.coordinator(b.models, extra=["--strategy", "ROUND_ROBIN"])
        api = Http(srv.api)
        victim = procs.worker(srv, b.models, "w-victim", ["--max-tasks", "1"])
        procs.worker(srv, b.models, "w-other", ["--max-tasks", "1"])
        wait_workers(api, 2)
        body = task_body(b.models, 3)
        for _ in range(10):
            wait_result(api, submit(api, body))
        freeze(victim.p, "the victim worker")
        stopped = time.monotonic()
        tids = [submit(api, body) for _ in range(8)]

        def stuck():
            return [t for t in tids if api.get(f"/cluster/tasks/{t}/status").json().get("worker_id") == "w-victim"]
        on_victim = wait_until(stuck, 5, "a task dispatched to the stopped worker")
        victim.p.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        for t in tids:
            res = wait_result(api, t, timeout=60)
            expect(res["status"] == "COMPLETED", "completed elsewhere", res)
        done = time.monotonic()
        ws = {worker_id(w): w.get("status") for w in list_workers(api)}
        return {"tasks_on_victim": len(on_victim), "from_unresponsive_s": round(done - stopped, 3),
                "from_kill_s": round(done - killed, 3), "workers_after": ws}


def bench_health(b):
    with Procs(b.cli, b.scratch("health")) as procs:
        srv = procs.serve(b.models, workers=2)
        wait_workers(Http(srv.api), 2)
        return wrk(srv.api + "/cluster/health", b.duration)


BENCHES = {"e2e": bench_e2e, "e2e_py": bench_e2e_py, "wrk": bench_wrk, "overhead": bench_overhead, "failover": bench_failover,
           "health": bench_health}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True, help="the legacygpu binary")
    ap.add_argument("--models", default=os.path.join(HERE, "..", "models"))
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated: " + ",".join(BENCHES))
    ap.add_argument("--duration", type=int, default=5, help="seconds of load per run")
    ap.add_argument("--samples", type=int, default=2000, help="sequential tasks for the overhead")
    ap.add_argument("--keep", default=None, help="scratch folder to keep (logs); default a temp one")
    b = ap.parse_args()
    b.models = os.path.abspath(b.models)
    root = b.keep or tempfile.mkdtemp(prefix="lg-cluster-bench-")

    def scratch(name):
        path = os.path.join(root, name)
        shutil.rmtree(path, ignore_errors=True)  # a fresh store for every run
        return path
    b.scratch = scratch
    results = {}
    for name in b.only.split(","):
        print(f"== {name}", file=sys.stderr, flush=True)
        results[name] = BENCHES[name](b)
        print(json.dumps({name: results[name]}, indent=2), flush=True)
    if root != b.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
