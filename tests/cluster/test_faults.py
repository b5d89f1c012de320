#!/usr/bin/env python3
"""test_faults.py: the cluster under faults, one function test_<name> each, run as CTest
test cluster.<name> like test_cluster.py's scenarios (tests/cluster/cluster.cmake):
store failures injected through the store's fault VFS (LEGACYGPU_STORE_FAULTS, see
src/cluster/store_faults.h), a full disk on a small tmpfs (root only), admission bounds,
the store budget, checks at the door and failures a retry cannot fix. Real processes on
127.0.0.1, ephemeral ports, polling with deadlines. A scenario that needs what this
machine lacks (root) exits 77, which CTest reports as skipped, and says why.

    test_faults.py CLI SOURCE_DIR SCRATCH_DIR SCENARIO [TIMEOUT_S]
"""
import os
import re
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_lib import (Http, expect, expect_error, list_tasks, submit,  # noqa: E402
                         wait_result, wait_until, wait_workers)
from test_cluster import Skip, main  # noqa: E402  (one scenario runner for every file)

def health(api):
    r = api.get("/cluster/health")
    expect(r.status == 200, "GET /cluster/health", r)
    return r.json()


def metric(api, name, labels=""):
    """The value of one sample of GET /metrics (0 when absent)."""
    text = api.get("/metrics").body.decode()
    m = re.search(r"^" + re.escape(name + labels) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def padded_body(t, k, pad_bytes):
    """A valid digits task whose stored input is pad_bytes larger (an extra JSON field)."""
    body = t.body(k)
    body["input_data"]["pad"] = "x" * pad_bytes
    return body


def expect_all_completed(api, ids, timeout):
    for tid in ids:
        j = wait_result(api, tid, timeout=timeout)
        expect(j["status"] == "COMPLETED", f"task {tid} COMPLETED", j)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---- injected store faults -----------------------------------------------------------------

def test_faults_store_injected(t):  # timeout: 240
    """Writes, fsyncs, full-disk writes and reads fail on command during submission,
    dispatch, completion, cancellation and restart: no task that got 202 is lost, none
    that got an error runs, and the coordinator recovers when the fault clears."""
    ctl = t.procs.path("faults")
    open(ctl, "w").close()

    def fault(what):
        with open(ctl, "w") as f:
            f.write(what)
    t.procs.env["LEGACYGPU_STORE_FAULTS"] = ctl
    srv = t.coordinator(data="store")
    api = Http(srv.api)
    accepted, refused = [], 0

    def attempt(n, what):
        nonlocal refused
        got = []
        for i in range(n):
            r = api.post("/cluster/tasks", t.body(i % 10))
            if r.status == 202:
                accepted.append(r.json()["task_id"])
            else:
                expect_error(r, r.status, what)
                expect(r.status in (503, 507), f"{what}: a store fault answers 503 or 507", r)
                expect(r.headers.get("Retry-After", "").isdigit(), f"{what}: Retry-After", r)
                refused += 1
            got.append(r)
        return got

    attempt(5, "no fault")
    expect(len(accepted) == 5, "5 tasks accepted without a fault")
    # fsync: WAL with synchronous=NORMAL syncs only at checkpoints, whose failures
    # SQLite retries later: submissions go on, nothing is lost, nothing crashes.
    fault("sync")
    attempt(6, "sync fault")
    fault("")
    for kind, status, words in (("write", 503, "cannot write"), ("full", 507, "the task store is full")):
        fault(kind)
        got = attempt(6, f"{kind} fault")
        bad = [r for r in got if r.status != 202]
        expect(bad, f"{kind} fault: some submission is refused")
        expect(all(r.status == status for r in bad), f"{kind} fault: HTTP {status}", bad[0])
        expect(words in bad[0].json()["error"]["message"], f"{kind} fault: the message says {words!r}", bad[0])
        h = health(api)
        expect(h["status"] == "degraded" and words in h.get("reason", ""), f"{kind} fault: health degraded", h)
        fault("")
        wait_until(lambda: health(api)["status"] == "healthy", 20, f"health back after the {kind} fault")
        n = len(accepted)
        attempt(3, f"after the {kind} fault")
        expect(len(accepted) == n + 3, f"after the {kind} fault: submissions accepted again")
    # Reads failing: answers may be errors, never a crash; then it works again.
    fault("read")
    for path in ("/cluster/tasks?limit=5", f"/cluster/tasks/{accepted[0]}/status", "/cluster/health"):
        r = api.get(path)
        expect(r.status in (200, 503), f"GET {path} while reads fail: 200 or 503", r)
    fault("")
    # Dispatch and completion while writes fail: the worker runs the tasks, the results
    # stay in memory and become durable (and visible) once writes work again.
    fault("write")
    t.worker(srv, "w1", ["--max-tasks", "2"])
    wait_workers(api, 1, timeout=30)
    wait_until(lambda: metric(api, "legacygpu_tasks_completed_total") >= len(accepted), 60,
               "the accepted tasks to run while writes fail")
    fault("")
    expect_all_completed(api, accepted, 60)
    # Cancellation while writes fail, then a kill -9 and a restart while reads fail.
    srv_w = [p for p in t.procs.procs if p.name == "worker-w1"][0]
    srv_w.stop()
    wait_until(lambda: health(api)["workers"] == 0, 30, "the worker to leave")
    late = [submit(api, t.body(k)) for k in range(3)]
    accepted.extend(late)
    fault("write")
    r = api.delete(f"/cluster/tasks/{late[0]}")
    expect(r.status in (200, 503), "cancel while writes fail: 200 or 503", r)
    srv.proc.kill9()
    fault("read")
    p = t.procs.spawn("serve-faulty", ["serve", "--port", "0", "--bind", "tcp://127.0.0.1:0", "--data",
                                       t.procs.path("store"), "--models", t.models, "--workers", "1"])
    wait_until(lambda: not p.alive(), 30, "a restart on an unreadable store to give up")
    expect(p.p.returncode != 0 and "store" in p.output(), "the failed restart says the store failed", p.output())
    fault("")
    srv2 = t.serve(workers=1, data="store", name="serve-restarted")
    api2 = Http(srv2.api)
    for tid in accepted:
        j = wait_result(api2, tid, timeout=60)
        expect(j["status"] == "COMPLETED" or (tid == late[0] and j["status"] == "CANCELLED"),
               f"task {tid} final after the restart", j)
    listed = list_tasks(api2)
    expect(len(listed) == len(accepted),
           f"the store holds exactly the {len(accepted)} accepted tasks, none of the {refused} refused ones "
           f"(it holds {len(listed)})")
    expect(health(api2)["status"] == "healthy", "healthy at the end")


# ---- a full disk ---------------------------------------------------------------------------

def test_faults_disk_full(t):  # timeout: 180
    """The data folder on an 8 MiB tmpfs filled to the brim: 507 naming the folder and
    the free bytes, no refused task runs, recovery once space is freed."""
    if os.geteuid() != 0:
        raise Skip("mounting a small tmpfs needs root")
    mnt = t.procs.path("small")
    os.makedirs(mnt, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt], capture_output=True, text=True)
    if r.returncode != 0:
        raise Skip(f"mount -t tmpfs failed: {r.stderr.strip()}")
    try:
        srv = t.serve(workers=1, data="small/data", extra=["--store-max-mb", "0"])
        api = Http(srv.api)
        wait_workers(api, 1)
        accepted = [submit(api, t.body(k)) for k in range(5)]
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb", buffering=0) as f:  # fill every byte left
            for chunk in (65536, 4096, 512, 1):
                try:
                    while True:
                        f.write(b"\0" * chunk)
                except OSError:
                    pass
        full = []
        for i in range(400):
            r = api.post("/cluster/tasks", padded_body(t, i % 10, 32768))
            if r.status == 202:
                accepted.append(r.json()["task_id"])
            else:
                expect_error(r, 507, "a submission on a full disk")
                full.append(r)
                if len(full) >= 5:
                    break
        expect(full, "a full disk refuses submissions with 507")
        msg = full[0].json()["error"]["message"]
        expect("the task store is full" in msg and mnt in msg and "bytes free" in msg,
               "the 507 names the folder and the free bytes", full[0])
        expect(full[0].headers.get("Retry-After"), "507 carries Retry-After", full[0])
        h = health(api)
        expect(h["status"] == "degraded" and "full" in h.get("reason", ""), "health degraded while full", h)
        expect(metric(api, "legacygpu_tasks_rejected_total", '{reason="store_full"}') >= len(full),
               "rejections counted by reason")
        os.unlink(filler)
        wait_until(lambda: health(api)["status"] == "healthy", 20, "health back once space is freed")
        accepted.append(submit(api, t.body(4)))
        expect_all_completed(api, accepted, 90)
        listed = list_tasks(api)
        expect(len(listed) == len(accepted), f"only the {len(accepted)} accepted tasks exist, got {len(listed)}")
        t.procs.procs[-1].stop()
    finally:
        for p in t.procs.procs:
            p.stop()
        subprocess.run(["umount", "-l", mnt], capture_output=True)


# ---- admission control -----------------------------------------------------------------------

def test_admission_bounds(t):  # timeout: 300
    """Past --max-queued-tasks and --max-queued-mb: 503 with Retry-After, counted by
    reason; a restart with a backlog listens at once and its memory does not hold it."""
    srv = t.coordinator(data="store", extra=["--max-queued-tasks", "6"])
    api = Http(srv.api)
    ids = [submit(api, t.body(k)) for k in range(6)]
    r = api.post("/cluster/tasks", t.body(1))
    expect_error(r, 503, "a 7th queued task past --max-queued-tasks 6")
    expect("queue is full" in r.json()["error"]["message"] and r.headers.get("Retry-After"), "says so", r)
    r = api.post("/v2/models/digits/infer", {"inputs": t.body(2)["input_data"]["inputs"]})
    expect_error(r, 503, "KServe infer past the bound")
    expect(metric(api, "legacygpu_tasks_rejected_total", '{reason="queue_tasks"}') == 2, "2 rejections counted")
    srv.proc.stop()
    # Bytes: 40 queued tasks of 2 MiB each (80 MiB in the store) under a 100 MiB bound.
    srv = t.coordinator(data="store", name="coordinator-bytes", extra=["--max-queued-mb", "100"])
    api = Http(srv.api)
    big = [submit(api, padded_body(t, k % 10, 2 << 20)) for k in range(40)]
    r = api.post("/cluster/tasks", padded_body(t, 1, 30 << 20))
    expect_error(r, 503, "a task whose input passes --max-queued-mb")
    expect(metric(api, "legacygpu_tasks_rejected_total", '{reason="queue_bytes"}') == 1, "counted as queue_bytes")
    srv.proc.kill9()
    t0 = time.monotonic()
    srv = t.coordinator(data="store", name="coordinator-restarted")
    listen_s = time.monotonic() - t0
    api = Http(srv.api)
    rss = rss_kb(srv.proc.p.pid)
    print(f"restart with {len(ids) + len(big)} queued tasks (80 MiB of inputs): API in {listen_s:.2f} s, "
          f"RSS {rss / 1024:.1f} MiB")
    expect(listen_s < 10, f"the restart listens quickly ({listen_s:.1f} s)")
    expect(rss < 60 * 1024, f"the backlog's inputs are not in memory (RSS {rss / 1024:.1f} MiB)")
    t.worker(srv, "w1", ["--max-tasks", "2"])
    expect_all_completed(api, ids + big, 120)


# ---- the store budget ------------------------------------------------------------------------

def test_store_budget(t):  # timeout: 180
    """--store-max-mb 2: finished tasks are purged oldest first past it (counted), the
    file stays near the budget, queued and running tasks are never purged."""
    srv = t.serve(workers=1, data="store", extra=["--store-max-mb", "2"])
    api = Http(srv.api)
    wait_workers(api, 1)
    ids = [submit(api, padded_body(t, k % 10, 20000)) for k in range(300)]
    expect_all_completed(api, ids[-20:], 120)
    wait_until(lambda: metric(api, "legacygpu_tasks_purged_total") > 0, 30, "purges past the budget")
    wait_until(lambda: metric(api, "legacygpu_store_bytes") <= 2 * 1048576, 30, "the store back within budget")
    size = os.path.getsize(t.procs.path("store", "legacygpu.db"))
    print(f"300 tasks of 20 KB with a 2 MiB budget: {metric(api, 'legacygpu_tasks_purged_total'):.0f} purged, "
          f"file {size / 1048576:.2f} MiB")
    expect(size < 4 * 1048576, f"the database file stays near its budget ({size} bytes)")
    # The newest tasks are still there; the oldest went first.
    expect(api.get(f"/cluster/tasks/{ids[-1]}/status").status == 200, "the newest task is kept")
    expect(api.get(f"/cluster/tasks/{ids[0]}/status").status == 404, "the oldest finished task was purged")


# ---- checks at the door ----------------------------------------------------------------------

def npy(shape, dtype="<f4"):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        dtype, "".join(f"{d}, " for d in shape))
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    n = 1
    for d in shape:
        n *= d
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * (n * 4)


def test_door_checks(t):  # timeout: 90
    """Unknown models 404 naming the models there are; inputs that cannot fit the model
    400 naming the expected shape; nothing of it is stored."""
    srv = t.serve(workers=1)
    api = Http(srv.api)
    wait_workers(api, 1)
    for name in ("nosuch", "../../../etc/passwd"):
        r = api.post("/cluster/tasks", dict(t.body(1), model_name=name))
        expect_error(r, 404, f"model {name!r}")
        expect("'digits'" in r.json()["error"]["message"], "the 404 names the models there are", r)
    expect_error(api.post("/v2/models/nosuch/infer", {"inputs": t.body(1)["input_data"]["inputs"]}), 404,
                 "KServe infer of an unknown model")
    big = {"inputs": [{"name": "input", "shape": [1, 1, 400, 400], "datatype": "FP32", "data": [0.0] * 160000}]}
    r = api.post("/cluster/tasks", {"model_name": "digits", "input_data": big})
    expect_error(r, 400, "a [1,1,400,400] input for digits")
    expect("1,8,8]" in r.json()["error"]["message"], "the 400 names the expected shape", r)
    wrong = {"inputs": [{"name": "pixels", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": [0.0] * 64}]}
    r = api.post("/cluster/tasks", {"model_name": "digits", "input_data": wrong})
    expect_error(r, 400, "an input name the model lacks")
    expect("'input'" in r.json()["error"]["message"], "names the model's inputs", r)
    ints = {"inputs": [{"name": "input", "shape": [1, 1, 8, 8], "datatype": "INT64", "data": [0] * 64}]}
    expect_error(api.post("/cluster/tasks", {"model_name": "digits", "input_data": ints}), 400, "an INT64 input")
    r = api.post("/cluster/tasks?model=digits", npy([1, 1, 16, 16]),
                 headers={"Content-Type": "application/x-npy"})
    expect_error(r, 400, "a .npy of the wrong shape")
    expect_error(api.post("/v2/models/digits/infer", big), 400, "KServe infer of the wrong shape")
    tid = submit(api, t.body(3))
    expect(wait_result(api, tid)["status"] == "COMPLETED", "a fitting task still runs")
    expect(len(list_tasks(api)) == 1, "nothing refused at the door was stored")
    expect(metric(api, "legacygpu_tasks_rejected_total", '{reason="unknown_model"}') >= 2, "unknown_model counted")
    expect(metric(api, "legacygpu_tasks_rejected_total", '{reason="bad_input"}') >= 4, "bad_input counted")


def test_final_failures(t):  # timeout: 90
    """A failure a retry cannot fix (here: a shape the coordinator could not check,
    because only the worker knows the model) is final at the first attempt and says so."""
    empty = t.procs.path("empty-repo")
    os.makedirs(empty, exist_ok=True)
    srv = t.procs.coordinator(empty)
    api = Http(srv.api)
    t.worker(srv, "w1")
    wait_workers(api, 1)
    bad = {"inputs": [{"name": "input", "shape": [1, 1, 4, 4], "datatype": "FP32", "data": [0.0] * 16}]}
    tid = submit(api, {"model_name": "digits", "input_data": bad})
    j = wait_result(api, tid)
    expect(j["status"] == "FAILED" and j["attempts"] == 1, "FAILED after one attempt", j)
    expect("not retried" in (j.get("error") or ""), "the reason says it is not retried", j)
    expect(wait_result(api, submit(api, t.body(5)))["status"] == "COMPLETED", "a good task completes")


# ---- driver -------------------------------------------------------------------------------

if __name__ == "__main__":
    sys.exit(main(sys.argv, globals()))
