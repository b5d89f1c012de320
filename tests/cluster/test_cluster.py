#!/usr/bin/env python3
"""test_cluster.py: the cluster's integration scenarios, one function test_<name> each,
run as CTest test cluster.<name> (tests/cluster/cluster.cmake reads the `def test_` lines
and their `# timeout: S` comments). Real processes on 127.0.0.1, ephemeral ports; every
process a scenario starts is stopped when it ends; waiting is polling with deadlines.

    test_cluster.py CLI SOURCE_DIR SCRATCH_DIR SCENARIO [TIMEOUT_S]
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_lib import (PRIORITIES, STATES, STRATEGIES, UUID_RE, Failure, Http,  # noqa: E402
                         Procs, Resp, check_digit_outputs, expect, expect_error, expect_status, freeze, items,
                         kserve_inputs, list_tasks, list_workers, numbers, run_threads,
                         submit, task_body, wait_result, wait_until, wait_workers, worker_id)

NO_SUCH_TASK = "00000000-0000-4000-8000-000000000000"


class Ctx:
    """What a scenario gets: the binary, the model repository, its processes."""

    def __init__(self, cli, src, scratch):
        self.cli, self.src, self.scratch = cli, src, scratch
        self.models = os.path.join(src, "models")
        self.procs = Procs(cli, scratch)

    def body(self, k=3, **kw):
        return task_body(self.models, k, **kw)

    def serve(self, **kw):
        return self.procs.serve(self.models, **kw)

    def coordinator(self, **kw):
        return self.procs.coordinator(self.models, **kw)

    def worker(self, server, wid, extra=()):
        return self.procs.worker(server, self.models, wid, extra)

    def cli_run(self, args, api=None, token=None, timeout=60):
        env = dict(os.environ)
        env.pop("LEGACYGPU_TOKEN", None)
        if api:
            env["LEGACYGPU_API"] = api
        if token:
            env["LEGACYGPU_TOKEN"] = token
        return subprocess.run([self.cli] + args, capture_output=True, text=True, env=env, timeout=timeout)


def status_of(api, tid):
    r = expect_status(api.get(f"/cluster/tasks/{tid}/status"), 200, f"status of {tid}")
    j = r.json()
    expect(j.get("task_id") == tid and j.get("status") in STATES, "status body", r)
    return j["status"]


def submit_digits(api, t, n, priority="HIGH"):
    """Submits n tasks (digits 0..9 in turn); returns [(task_id, digit)]."""
    return [(submit(api, t.body(i % 10, priority=priority)), i % 10) for i in range(n)]


def expect_completed(api, tasks, timeout=30.0):
    for tid, k in tasks:
        res = wait_result(api, tid, timeout)
        expect(res.get("task_id") == tid and res.get("status") == "COMPLETED", f"result of {tid}", res)
        check_digit_outputs(res, k, f"task {tid}")


def metric_numbers(api):
    return numbers(expect_status(api.get("/cluster/metrics"), 200, "GET /cluster/metrics").json())


def strategy_in_config(api):
    cfg = expect_status(api.get("/cluster/config"), 200, "GET /cluster/config").json()
    expect(cfg.get("strategy") in STRATEGIES, "GET /cluster/config names the strategy", cfg)
    return cfg["strategy"]


# ---- the seed's scenarios -----------------------------------------------------------------

def test_health(t):  # timeout: 60
    srv = t.serve(workers=1)
    api = Http(srv.api)
    r = expect_status(api.get("/cluster/health"), 200, "GET /cluster/health")
    expect(isinstance(r.json(), dict) and isinstance(r.json().get("status"), str), "health status", r)
    expect("json" in r.headers.get("Content-Type", ""), "health Content-Type", r)


def test_metrics(t):  # timeout: 60
    srv = t.serve(workers=1)
    api = Http(srv.api)
    wait_workers(api, 1)
    before = metric_numbers(api)
    expect(before, "GET /cluster/metrics has no numbers", before)
    expect_completed(api, submit_digits(api, t, 3))
    after = metric_numbers(api)
    grew = [k for k in after if k in before and after[k] >= before[k] + 3]
    expect(grew, "no metric counted the 3 completed tasks", (before, after))


def test_config(t):  # timeout: 60
    srv = t.coordinator(extra=["--strategy", "LEAST_LOADED"])
    api = Http(srv.api)
    expect(strategy_in_config(api) == "LEAST_LOADED", "config shows the --strategy given")


def test_workers_empty(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    expect(list_workers(api) == [], "a cluster without workers lists none")


def test_workers_with_worker(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    t.worker(srv, "w-one")
    ws = wait_workers(api, 1)
    expect(worker_id(ws[0]) == "w-one", "the worker is listed by its id", ws)


def test_worker_details(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    t.worker(srv, "w-details", ["--max-tasks", "2"])
    wait_workers(api, 1)
    w = expect_status(api.get("/cluster/workers/w-details"), 200, "GET /cluster/workers/{id}").json()
    expect(worker_id(w) == "w-details", "details of the asked worker", w)
    expect(str(w.get("status", "")).lower() in ("idle", "busy"), "a live worker's status", w)
    expect(2 in numbers(w).values(), "details show capacity 2 (--max-tasks 2)", w)
    expect("digits" in json.dumps(w) or "cpu" in json.dumps(w), "details show models or backends", w)


def test_worker_unknown_404(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    expect_error(api.get("/cluster/workers/no-such-worker"), 404, "unknown worker")


def test_workers_status_filter(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    t.worker(srv, "w-filter")
    wait_workers(api, 1)
    idle = wait_until(lambda: list_workers(api, "?status=idle"), 10, "the worker listed as idle")
    expect([worker_id(w) for w in idle] == ["w-filter"], "?status=idle", idle)
    expect(list_workers(api, "?status=dead") == [], "?status=dead lists nobody")
    expect(list_workers(api, "?status=draining") == [], "?status=draining lists nobody")
    expect_error(api.get("/cluster/workers?status=sleepy"), 400, "unknown worker status")


def test_submit_basic(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    r = api.post("/cluster/tasks", t.body(3))
    expect_status(r, 202, "POST /cluster/tasks")
    j = r.json()
    expect(UUID_RE.match(j.get("task_id", "")) and j.get("status") == "QUEUED", "202 body", r)
    loc = r.headers.get("Location", "")
    expect(j["task_id"] in loc, "Location header names the task", (loc, str(r)))


def test_submit_priorities(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    tasks = []
    for p in PRIORITIES + ("low", "Critical"):
        tasks.append((submit(api, t.body(len(tasks) % 10, priority=p)), len(tasks) % 10))
    for tid, _ in tasks:
        expect(status_of(api, tid) == "QUEUED", "queued without workers")
    t.worker(srv, "w-prio")
    expect_completed(api, tasks)


def test_priority_order(t):  # timeout: 60
    """One worker taking one task at a time runs queued CRITICAL work before LOW work."""
    srv = t.coordinator()
    api = Http(srv.api)
    order = [("LOW", 0), ("NORMAL", 1), ("HIGH", 2), ("CRITICAL", 3)] * 3
    tasks = [(submit(api, t.body(k, priority=p)), k, p) for p, k in order]
    t.worker(srv, "w-order", ["--max-tasks", "1"])
    done = []
    for tid, k, p in tasks:
        res = wait_result(api, tid)
        expect(res.get("status") == "COMPLETED", f"{p} task", res)
        st = api.get(f"/cluster/tasks/{tid}/status").json()
        when = st.get("started_at") or st.get("finished_at") or st.get("completed_at")
        expect(isinstance(when, (int, float, str)) and when, "status shows when it ran", st)
        done.append((when, PRIORITIES.index(p)))
    done.sort()
    ranks = [r for _, r in done]
    expect(ranks == sorted(ranks, reverse=True), "tasks ran in priority order", ranks)


def test_submit_requirements(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    t.worker(srv, "w-req")
    wait_workers(api, 1)
    ok = submit(api, t.body(4, requirements={"backend": "cpu"}))
    expect_completed(api, [(ok, 4)])
    too_big = submit(api, t.body(5, requirements={"min_memory_mb": 1 << 40}))
    expect_error(api.get(f"/cluster/tasks/{too_big}/result?wait=0.5"), 408, "no worker fits the requirements")
    expect(status_of(api, too_big) == "QUEUED", "an unplaceable task stays queued")
    expect_error(api.post("/cluster/tasks", t.body(1, requirements={"min_memory_mb": "lots"})), 400,
                 "non-numeric min_memory_mb")
    expect_error(api.post("/cluster/tasks", t.body(1, requirements=["cpu"])), 400, "requirements not an object")


def test_task_status(t):  # timeout: 60
    srv = t.serve(workers=1)
    api = Http(srv.api)
    tid = submit(api, t.body(6))
    expect(status_of(api, tid) in STATES, "a known state")
    wait_until(lambda: status_of(api, tid) == "COMPLETED", 30, "status COMPLETED")
    expect_error(api.get(f"/cluster/tasks/{NO_SUCH_TASK}/status"), 404, "unknown task status")


def test_task_result(t):  # timeout: 60
    srv = t.serve(workers=1)
    api = Http(srv.api)
    for k in range(10):
        tid = submit(api, t.body(k))
        res = wait_result(api, tid)
        expect(res.get("task_id") == tid and res.get("status") == "COMPLETED", "result body", res)
        check_digit_outputs(res, k, f"digit {k}")
        # The postprocessed view of config.json (classify, top 3): the top class is k.
        tops = [v for v in _lists_of_dicts(res) if any("label" in d or "class" in d for d in v)]
        expect(tops, "result has the postprocessed top-K classes", res)
        first = tops[0][0]
        expect(str(first.get("label", first.get("class"))) == str(k), f"top class of digit {k}", tops[0])
        expect(len(tops[0]) == 3, "top_k 3 from config.json", tops[0])
    expect_error(api.get(f"/cluster/tasks/{NO_SUCH_TASK}/result"), 404, "unknown task result")


def _lists_of_dicts(obj):
    if isinstance(obj, list):
        found = [obj] if obj and all(isinstance(d, dict) for d in obj) else []
        return found + [x for v in obj for x in _lists_of_dicts(v)]
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _lists_of_dicts(v)]
    return []


def test_task_list(t):  # timeout: 60
    srv = t.serve(workers=1)
    api = Http(srv.api)
    tasks = submit_digits(api, t, 5)
    expect_completed(api, tasks)
    ids = {tid for tid, _ in tasks}
    listed = {x.get("task_id") for x in list_tasks(api)}
    expect(ids <= listed, "GET /cluster/tasks lists every task", (ids, listed))
    done = list_tasks(api, status="COMPLETED")
    expect(ids <= {x.get("task_id") for x in done}, "?status=COMPLETED lists them")
    expect(all(x.get("status") == "COMPLETED" for x in done), "?status=COMPLETED lists only those", done)
    expect(list_tasks(api, status="FAILED") == [], "?status=FAILED lists none")
    page = expect_status(api.get("/cluster/tasks?limit=2"), 200, "?limit=2").json()
    expect(len(items(page, "tasks")) == 2 and page.get("next_cursor"), "a page of 2 with a cursor", page)
    paged = list_tasks(api, page=2)
    expect(len(paged) == 5 and {x["task_id"] for x in paged} == ids, "cursor pages cover all, once",
           [x.get("task_id") for x in paged])
    expect_error(api.get("/cluster/tasks?status=SLEEPING"), 400, "unknown state filter")
    expect_error(api.get("/cluster/tasks?limit=-1"), 400, "negative limit")


def test_invalid_priority(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    err = expect_error(api.post("/cluster/tasks", t.body(1, priority="URGENT")), 400, "priority URGENT")
    expect("priority" in err["message"].lower(), "the message names the field", err)
    expect_error(api.post("/cluster/tasks", t.body(1, priority=3)), 400, "priority as a number")
    expect(list_tasks(api) == [], "rejected tasks are not stored")


def test_malformed_body(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    json_hdr = {"Content-Type": "application/json"}
    bad = [
        ("not JSON", b"{not json", json_hdr),
        ("truncated JSON", json.dumps(t.body(1)).encode()[:-7], json_hdr),
        ("a JSON array", b"[1, 2, 3]", json_hdr),
        ("empty body", b"", json_hdr),
        ("no model_name", {"input_data": kserve_inputs(t.models, 1)}, None),
        ("model_name not a string", {"model_name": 7, "input_data": kserve_inputs(t.models, 1)}, None),
        ("no input_data", {"model_name": "digits"}, None),
        ("inputs not a list", {"model_name": "digits", "input_data": {"inputs": 5}}, None),
        ("timeout negative", t.body(1, timeout=-1), None),
    ]
    for what, body, hdr in bad:
        expect_error(api.post("/cluster/tasks", body, headers=hdr), 400, what)
    expect(list_tasks(api) == [], "nothing malformed was stored")


def test_balancing_update(t):  # timeout: 60
    srv = t.serve(workers=2)
    api = Http(srv.api)
    wait_workers(api, 2)
    for s in STRATEGIES + ("round_robin",):
        expect_status(api.put("/cluster/config/balancing", {"strategy": s}), 200, f"PUT strategy {s}")
        expect(strategy_in_config(api) == s.upper(), f"config shows {s}")
        expect_completed(api, submit_digits(api, t, 4))


def test_invalid_strategy(t):  # timeout: 60
    srv = t.coordinator(extra=["--strategy", "ADAPTIVE"])
    api = Http(srv.api)
    for body in ({"strategy": "FASTEST"}, {"strategy": 1}, {}, {"mode": "ROUND_ROBIN"}):
        err = expect_error(api.put("/cluster/config/balancing", body), 400, f"PUT {body}")
        if "strategy" in body and isinstance(body["strategy"], str):
            expect("ROUND_ROBIN" in err["message"], "the message lists the valid strategies", err)
    expect(strategy_in_config(api) == "ADAPTIVE", "a rejected change changes nothing")


def test_full_workflow(t):  # timeout: 90
    srv = t.coordinator(extra=["--strategy", "ROUND_ROBIN"])
    api = Http(srv.api)
    expect_status(api.get("/cluster/health"), 200, "health")
    t.worker(srv, "w-a")
    t.worker(srv, "w-b")
    wait_workers(api, 2)
    tasks = submit_digits(api, t, 20)
    expect_completed(api, tasks)
    served = {}
    for tid, _ in tasks:
        w = api.get(f"/cluster/tasks/{tid}/status").json().get("worker_id")
        served[w] = served.get(w, 0) + 1
    expect(set(served) == {"w-a", "w-b"}, "round robin used both workers", served)
    ws = {worker_id(w): w for w in list_workers(api)}
    expect(set(ws) == {"w-a", "w-b"}, "both listed", ws)
    c = t.cli_run(["task", "list", "--status", "COMPLETED", "--json-output"], api=srv.api)
    expect(c.returncode == 0, f"task list via the CLI: {c.returncode} {c.stderr}")
    listed = {x.get("task_id") for x in items(json.loads(c.stdout), "tasks")}
    expect({tid for tid, _ in tasks} <= listed, "the CLI lists them")


def test_concurrent_tasks(t):  # timeout: 90
    srv = t.serve(workers=2)
    api = Http(srv.api)
    wait_workers(api, 2)

    def client(i):
        c = Http(srv.api)
        tasks = [(submit(c, t.body((i + j) % 10, priority=PRIORITIES[j % 4])), (i + j) % 10) for j in range(10)]
        expect_completed(c, tasks)
    run_threads(16, client)
    expect(len(list_tasks(api, status="COMPLETED")) == 160, "160 tasks completed")


def test_worker_disconnect(t):  # timeout: 90
    srv = t.coordinator()
    api = Http(srv.api)
    w = t.worker(srv, "w-gone")
    wait_workers(api, 1)
    expect_completed(api, submit_digits(api, t, 3))
    w.kill9()
    killed = time.monotonic()

    def gone():
        ws = {worker_id(x): str(x.get("status", "")).lower() for x in list_workers(api)}
        return ws.get("w-gone") in (None, "dead")
    wait_until(gone, 10, "the killed worker to be dead")
    print(f"worker declared dead {time.monotonic() - killed:.2f} s after kill -9")
    queued = submit_digits(api, t, 3)
    expect_error(api.get(f"/cluster/tasks/{queued[0][0]}/result?wait=0.3"), 408, "no live worker")
    t.worker(srv, "w-next")
    expect_completed(api, queued)
    # A graceful stop (SIGTERM) says goodbye: the worker leaves the live set at once.
    nxt = [p for p in t.procs.procs if p.name == "worker-w-next"][0]
    expect(nxt.stop() == 0, "worker exits 0 on SIGTERM")
    wait_until(lambda: not [x for x in list_workers(api) if str(x.get("status")).lower() != "dead"], 5,
               "the stopped worker to leave")


def test_no_workers_then_join(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    tasks = submit_digits(api, t, 5)
    expect_error(api.get(f"/cluster/tasks/{tasks[0][0]}/result?wait=0.5"), 408, "result without workers")
    for tid, _ in tasks:
        expect(status_of(api, tid) == "QUEUED", "stays QUEUED without workers")
    t.worker(srv, "w-late")
    expect_completed(api, tasks)


def test_api_without_workers(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    tid = submit(api, t.body(2))
    for path in ("/cluster/health", "/cluster/metrics", "/cluster/config", "/cluster/workers",
                 "/cluster/tasks", f"/cluster/tasks/{tid}/status", "/metrics", "/openapi.json",
                 "/v2/health/live", "/v2/models/digits"):
        expect_status(api.get(path), 200, "GET " + path)
    r = api.get("/v2/health/ready")
    expect(r.status in (200, 503), "GET /v2/health/ready answers", r)


def test_malformed_requests(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    expect_error(api.get("/cluster/nothing-here"), 404, "unknown path")
    expect_error(api.get("/no-such-page"), 404, "unknown top-level path")
    expect_status(api.get("/"), 200, "GET / (the dashboard)")
    expect_error(api.get("/cluster/tasks/not-a-uuid/status"), 404, "bad task id")
    expect_error(api.get("/cluster/tasks/../../etc/passwd"), 404, "path traversal")
    r = api.delete("/cluster/health")
    expect(r.status in (404, 405), "wrong method", r)
    expect_error(r, r.status, "wrong method")
    expect_error(api.put("/cluster/config/balancing", b"strategy=ROUND_ROBIN",
                         headers={"Content-Type": "application/json"}), 400, "balancing body not JSON")
    tid = submit(api, t.body(1))
    expect_error(api.get(f"/cluster/tasks/{tid}/result?wait=soon"), 400, "wait not a number")
    # Garbage on a raw socket gets an answer (or a close), and the server lives on.
    with socket.create_connection((api.host, api.port), timeout=10) as s:
        s.sendall(b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
        s.recv(4096)
    with socket.create_connection((api.host, api.port), timeout=10) as s:
        s.sendall(b"GET /cluster/health HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n")
        s.recv(4096)
    expect_status(Http(srv.api).get("/cluster/health"), 200, "healthy after garbage")


def test_throughput(t):  # timeout: 120
    srv = t.serve(workers=2)
    api = Http(srv.api)
    wait_workers(api, 2)
    n, clients = 500, 16
    ids = [[] for _ in range(clients)]
    start = time.monotonic()

    def client(i):
        c = Http(srv.api)
        ids[i] = [(submit(c, t.body(j % 10)), j % 10) for j in range(i, n, clients)]
        expect_completed(c, ids[i], timeout=60)
    run_threads(clients, client)
    took = time.monotonic() - start
    print(f"{n} tasks submitted and completed in {took:.2f} s: {n / took:.0f} tasks/s")
    expect(took < 60, f"{n} tasks in {took:.1f} s")


# ---- faults -------------------------------------------------------------------------------

def test_worker_kill_500(t):  # timeout: 150
    srv = t.coordinator()
    api = Http(srv.api)
    victim = t.worker(srv, "w-victim")
    t.worker(srv, "w-survivor")
    wait_workers(api, 2)
    n, clients = 500, 8
    submitted, lock = [], threading.Lock()
    killed_at = {}

    def client(i):
        c = Http(srv.api)
        for j in range(i, n, clients):
            tid = submit(c, t.body(j % 10))
            with lock:
                submitted.append((tid, j % 10))
                if len(submitted) == n // 3:
                    victim.kill9()
                    killed_at["done"] = len(list_tasks(c, status="COMPLETED"))
    run_threads(clients, client)
    print(f"w-victim killed with {killed_at['done']} of {n} tasks completed")
    expect(len({tid for tid, _ in submitted}) == n, "500 distinct task ids")
    expect_completed(api, submitted, timeout=60)
    done = list_tasks(api, status="COMPLETED")
    expect(len(done) == n and len({x["task_id"] for x in done}) == n,
           f"exactly {n} COMPLETED tasks, once each (got {len(done)})")
    expect(list_tasks(api, status="FAILED") == [], "none failed")
    m = expect_status(api.get("/cluster/metrics"), 200, "GET /cluster/metrics").json()
    expect(m.get("completed_total") == n, "one result per task: completed_total is 500", m)
    print(f"requeued after the kill: {m.get('requeued_total')}")


def test_coordinator_kill_200(t):  # timeout: 150
    srv = t.coordinator(data="store")
    api = Http(srv.api)
    w = t.worker(srv, "w-before", ["--max-tasks", "1"])
    wait_workers(api, 1)
    first = submit_digits(api, t, 1)
    expect_completed(api, first)
    tasks = first + submit_digits(api, t, 199)
    done_at_kill = len(list_tasks(api, status="COMPLETED"))
    srv.proc.kill9()
    w.kill9()
    print(f"coordinator killed with {done_at_kill} of {len(tasks)} tasks completed")
    srv2 = t.serve(workers=1, data="store", name="serve-restarted")
    api2 = Http(srv2.api)
    expect_completed(api2, tasks, timeout=60)
    done = list_tasks(api2, status="COMPLETED")
    expect(len(done) == len(tasks) and {x["task_id"] for x in done} == {tid for tid, _ in tasks},
           f"all {len(tasks)} accepted tasks COMPLETED once after the restart, got {len(done)}")


# ---- auth and error codes ------------------------------------------------------------------

TOKENS = {"user-token-1234": "user", "admin-token-5678": "admin"}


def tokens_file(t):
    p = t.procs.path("tokens.txt")
    with open(p, "w") as f:
        f.write("# token role\n")
        for tok, role in TOKENS.items():
            f.write(f"{tok} {role}\n")
    return p


def test_auth(t):  # timeout: 60
    srv = t.serve(workers=1, extra=["--tokens", tokens_file(t)])
    anon, bad = Http(srv.api), Http(srv.api, token="not-a-token")
    user, admin = Http(srv.api, token="user-token-1234"), Http(srv.api, token="admin-token-5678")
    for c, what in ((anon, "no token"), (bad, "bad token")):
        expect_error(c.post("/cluster/tasks", t.body(1)), 401, f"submit with {what}")
        expect_error(c.get("/cluster/tasks"), 401, f"list with {what}")
        expect_error(c.put("/cluster/config/balancing", {"strategy": "ADAPTIVE"}), 401, f"config with {what}")
    r = anon.post("/cluster/tasks", t.body(1), headers={"Authorization": "Basic dXNlcjpwYXNz"})
    expect_error(r, 401, "a Basic credential")
    tid = submit(user, t.body(7))
    expect_completed(user, [(tid, 7)])
    expect_error(user.put("/cluster/config/balancing", {"strategy": "ADAPTIVE"}), 403, "user changes strategy")
    expect_error(user.post("/cluster/shutdown"), 403, "user shuts down")
    expect_status(admin.put("/cluster/config/balancing", {"strategy": "ADAPTIVE"}), 200, "admin changes strategy")
    expect(strategy_in_config(admin) == "ADAPTIVE", "admin's change applied")
    expect_status(admin.get(f"/cluster/tasks/{tid}/status"), 200, "admin reads a user's task")


def small_body_flag(t):
    """The CLI's flag for the body limit, if it has one: (flag, value, bytes)."""
    h = t.cli_run(["serve", "--help"])
    m = re.search(r"--max-body[\w-]*", h.stdout + h.stderr)
    if not m:
        return None
    flag = m.group(0)
    if flag.endswith("mb"):
        return flag, "1", 1 << 20
    if flag.endswith("kb"):
        return flag, "64", 64 << 10
    return flag, "65536", 65536


def test_error_codes(t):  # timeout: 90
    limit = small_body_flag(t)
    extra = ["--tokens", tokens_file(t)] + ([limit[0], limit[1]] if limit else [])
    srv = t.coordinator(extra=extra)
    user, admin = Http(srv.api, token="user-token-1234"), Http(srv.api, token="admin-token-5678")
    expect_error(user.post("/cluster/tasks", b"{", headers={"Content-Type": "application/json"}), 400, "400")
    expect_error(Http(srv.api).get("/cluster/tasks"), 401, "401")
    expect_error(user.put("/cluster/config/balancing", {"strategy": "ADAPTIVE"}), 403, "403")
    expect_error(user.get(f"/cluster/tasks/{NO_SUCH_TASK}/status"), 404, "404")
    tid = submit(user, t.body(1))
    expect_error(user.get(f"/cluster/tasks/{tid}/result?wait=0.3"), 408, "408")
    # 409: an Idempotency-Key reused with another body; the same body gets the same task.
    key = {"Idempotency-Key": "key-409"}
    first = submit(user, t.body(1), headers=key)
    again = user.post("/cluster/tasks", t.body(1), headers=key)
    expect(again.status in (200, 202) and again.json().get("task_id") == first, "same key, same body", again)
    expect_error(user.post("/cluster/tasks", t.body(2), headers=key), 409, "409")
    # 413: a body over the limit.
    big = (limit[2] if limit else 64 << 20) + 1024
    expect_error(post_big(user, big), 413, f"413 ({big} bytes, limit flag {limit})")
    # 415: a content type the API does not take.
    expect_error(user.post("/cluster/tasks", json.dumps(t.body(1)).encode(),
                           headers={"Content-Type": "text/plain"}), 415, "415 text/plain")
    expect_error(user.post("/cluster/tasks", b"<task/>", headers={"Content-Type": "application/xml"}), 415, "415 xml")
    # 503: shutdown (admin) drains: while a task is still in flight (on a worker that has
    # stopped answering, SIGSTOP) the API stays up and refuses new tasks.
    w = t.worker(srv, "w-frozen")
    expect_completed(user, [(tid, 1), (first, 1)])  # the queue is empty: the next task goes to w
    freeze(w.p, "the worker w-frozen")
    stuck = submit(user, t.body(2))
    try:
        wait_until(lambda: user.get(f"/cluster/tasks/{stuck}/status").json().get("status") in ("DISPATCHED", "RUNNING"),
                   10, "the task dispatched to the frozen worker")
    except Failure as e:
        raise Failure(f"{e}\n  task: {user.get(f'/cluster/tasks/{stuck}/status')}\n"
                      f"  worker: {user.get('/cluster/workers/w-frozen')}")
    r = admin.post("/cluster/shutdown")
    expect(r.status in (200, 202), "admin shutdown", r)
    expect_error(user.post("/cluster/tasks", t.body(1)), 503, "503 while draining")
    expect(user.get("/cluster/health").json().get("status") == "draining", "health says draining")
    w.p.send_signal(signal.SIGCONT)
    srv.proc.p.wait(15)
    expect(srv.proc.p.returncode == 0, f"the coordinator exits 0 after shutdown, not {srv.proc.p.returncode}")


def post_big(c, n):
    """POSTs an n-byte JSON body on a raw socket; the answer may come before all is sent."""
    s = socket.create_connection((c.host, c.port), timeout=30)
    try:
        head = (f"POST /cluster/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {c.token}\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n")
        s.sendall(head.encode())
        chunk = b" " * (1 << 20)
        try:
            sent = 0
            while sent < n:
                sent += s.send(chunk[:min(len(chunk), n - sent)])
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = http.client.HTTPResponse(s)
        r.begin()
        return Resp(r.status, r.headers, r.read())
    finally:
        s.close()


# ---- KServe v2, Prometheus, OpenAPI, CLI ---------------------------------------------------

def test_kserve_v2(t):  # timeout: 60
    srv = t.serve(workers=1)
    api = Http(srv.api)
    wait_workers(api, 1)
    expect_status(api.get("/v2/health/live"), 200, "live")
    expect_status(api.get("/v2/health/ready"), 200, "ready")
    meta = expect_status(api.get("/v2/models/digits"), 200, "model metadata").json()
    expect(meta.get("name") == "digits", "metadata name", meta)
    ins = meta.get("inputs") or []
    expect(len(ins) == 1 and ins[0].get("name") == "input" and ins[0].get("datatype") == "FP32", "inputs", meta)
    expect(ins[0].get("shape", [])[1:] == [1, 8, 8], "input shape [-1,1,8,8]", meta)
    expect(meta.get("outputs"), "outputs listed", meta)
    expect_status(api.get("/v2/models/digits/ready"), 200, "model ready")
    expect_error(api.get("/v2/models/nope"), 404, "unknown model metadata")
    for k in (0, 5, 9):
        req = dict(kserve_inputs(t.models, k), id=f"req-{k}")
        res = expect_status(api.post("/v2/models/digits/infer", req), 200, "infer").json()
        expect(res.get("model_name") == "digits" and res.get("id") == f"req-{k}", "infer answer", res)
        check_digit_outputs(res, k, f"infer digit {k}")
    expect_error(api.post("/v2/models/nope/infer", kserve_inputs(t.models, 1)), 404, "infer unknown model")
    bad = {"inputs": [{"name": "input", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": [1.0]}]}
    r = api.post("/v2/models/digits/infer", bad)
    expect(r.status == 400, "infer with 1 value for 64", r)


def test_prometheus(t):  # timeout: 60
    srv = t.serve(workers=2)
    api = Http(srv.api)
    wait_workers(api, 2)
    expect_completed(api, submit_digits(api, t, 10))
    r = expect_status(api.get("/metrics"), 200, "GET /metrics")
    expect(r.headers.get("Content-Type", "").startswith("text/plain"), "Prometheus content type", r)
    text = r.body.decode()
    chk = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    expect(chk.returncode == 0, f"promtool check metrics: {chk.stdout}{chk.stderr}")
    low = text.lower()
    for what in ("completed", "queue", "worker", "_bucket{", 'le="+inf"', "_seconds"):
        expect(what in low, f"/metrics mentions {what!r}", text[:1500])
    samples = [ln for ln in text.splitlines() if ln and not ln.startswith("#") and "completed" in ln.lower()]
    expect(any(float(ln.rsplit(" ", 1)[-1]) >= 10 for ln in samples), "10 completed tasks counted", samples)


OPENAPI_ROUTES = [
    ("get", "/cluster/health"), ("get", "/cluster/metrics"), ("get", "/cluster/config"),
    ("put", "/cluster/config/balancing"), ("get", "/cluster/workers"), ("get", "/cluster/workers/{}"),
    ("post", "/cluster/tasks"), ("get", "/cluster/tasks"), ("get", "/cluster/tasks/{}/status"),
    ("get", "/cluster/tasks/{}/result"), ("delete", "/cluster/tasks/{}"), ("post", "/cluster/shutdown"),
    ("get", "/v2/health/live"), ("get", "/v2/health/ready"), ("get", "/v2/models/{}"),
    ("get", "/v2/models/{}/ready"), ("post", "/v2/models/{}/infer"), ("get", "/metrics"),
    ("get", "/openapi.json"),
]


def test_openapi(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    doc = expect_status(api.get("/openapi.json"), 200, "GET /openapi.json").json()
    expect(str(doc.get("openapi", "")).startswith("3."), "an OpenAPI 3 document", str(doc)[:300])
    paths = {re.sub(r"\{[^}]*\}", "{}", p): ops for p, ops in doc.get("paths", {}).items()}
    missing = [f"{m.upper()} {p}" for m, p in OPENAPI_ROUTES if m not in paths.get(p, {})]
    expect(not missing, f"/openapi.json lacks {missing}")
    # Every documented GET without parameters answers as documented (the routes are real).
    for p, ops in paths.items():
        if "get" in ops and "{}" not in p and p != "/cluster/events":  # that one streams
            r = api.get(p)
            expect(str(r.status) in ops["get"].get("responses", {}), f"documented GET {p}", r)


def test_task_cancel(t):  # timeout: 60
    srv = t.coordinator()
    api = Http(srv.api)
    tid = submit(api, t.body(1))
    r = api.delete(f"/cluster/tasks/{tid}")
    expect(r.status in (200, 202, 204), "DELETE cancels a queued task", r)
    expect(status_of(api, tid) == "CANCELLED", "CANCELLED")
    expect_error(api.delete(f"/cluster/tasks/{NO_SUCH_TASK}"), 404, "cancel an unknown task")
    t.worker(srv, "w-cancel")
    expect_completed(api, submit_digits(api, t, 2))
    expect(status_of(api, tid) == "CANCELLED", "a cancelled task never runs")


def test_cli(t):  # timeout: 90
    srv = t.serve(workers=1)
    api = Http(srv.api)
    wait_workers(api, 1)
    png = os.path.join(t.models, "digits", "samples", "digit_8.png")
    c = t.cli_run(["task", "submit", "--model", "digits", "--input", png, "--priority", "HIGH", "--wait",
                   "--json-output"], api=srv.api)
    expect(c.returncode == 0, f"task submit --wait: exit {c.returncode}: {c.stderr}")
    res = json.loads(c.stdout)
    tid = res.get("task_id", "")
    expect(res.get("status") == "COMPLETED" and UUID_RE.match(tid), "the result body", c.stdout[:500])
    check_digit_outputs(res, 8, "CLI task of digit_8.png")
    same = wait_result(api, tid)
    expect(same == res, "--json-output prints the API's result body", (same, res))
    inp = t.procs.path("digit4.json")
    with open(inp, "w") as f:
        json.dump(kserve_inputs(t.models, 4), f)
    c = t.cli_run(["task", "submit", "--model", "digits", "--input", inp, "--json-output"], api=srv.api)
    expect(c.returncode == 0, f"task submit (no wait): {c.returncode} {c.stderr}")
    sub = json.loads(c.stdout)
    expect(UUID_RE.match(sub.get("task_id", "")) and sub.get("status") == "QUEUED", "the 202 body", c.stdout)
    c = t.cli_run(["task", "result", sub["task_id"], "--timeout", "20", "--json-output"], api=srv.api)
    expect(c.returncode == 0, f"task result: {c.returncode} {c.stderr}")
    check_digit_outputs(json.loads(c.stdout), 4, "CLI task of a KServe JSON file")
    for args in (["task", "status", tid], ["cluster", "status"], ["cluster", "workers"], ["worker", "list"],
                 ["task", "list"]):
        c = t.cli_run(args + ["--json-output"], api=srv.api)
        expect(c.returncode == 0, f"{' '.join(args)}: {c.returncode} {c.stderr}")
        json.loads(c.stdout)
    c = t.cli_run(["task", "status", tid, "--json-output"], api=srv.api)
    expect(json.loads(c.stdout) == api.get(f"/cluster/tasks/{tid}/status").json(), "status body as the API's")
    c = t.cli_run(["task", "status", tid], api=srv.api)
    expect(c.returncode == 0 and "\x1b[" not in c.stdout and "COMPLETED" in c.stdout, "human output, no colour",
           c.stdout)
    # Exit codes: 2 bad usage, 1 failed (unknown task), 3 the API is unreachable.
    for args, code in ((["task", "submit"], 2), (["task", "submit", "--model", "digits", "--priority", "URGENT"], 2),
                       (["task", "frobnicate"], 2), (["task", "status", NO_SUCH_TASK], 1)):
        c = t.cli_run(args, api=srv.api)
        expect(c.returncode == code, f"{' '.join(args)}: exit {c.returncode}, expected {code}: {c.stderr}")
        expect(c.stderr.strip(), f"{' '.join(args)}: says why on stderr")
    for args in (["cluster", "status"], ["task", "status", tid]):
        c = t.cli_run(args, api="http://127.0.0.1:1")
        expect(c.returncode == 3, f"{' '.join(args)}, API unreachable: exit {c.returncode}: {c.stderr}")


# ---- driver -------------------------------------------------------------------------------

class Skip(Exception):
    """The scenario cannot run on this machine (the message says why)."""


def vulkan_devices(t):
    """The Vulkan devices `legacygpu info --json` lists (lavapipe in CI)."""
    info = json.loads(t.cli_run(["info", "--json"]).stdout or "{}")
    return [d for d in info.get("devices", []) if isinstance(d, dict) and d.get("backend", "vulkan") == "vulkan"]


def test_gpu_requirement(t):  # timeout: 150
    """A task requiring the Vulkan backend runs on the worker that has a Vulkan device
    (lavapipe in CI); a CPU-only worker never takes it. The GPU worker advertises its
    device (backend, vendor, memory, fp16) and serves it with an executor of its own."""
    if not vulkan_devices(t):
        raise Skip("no Vulkan device on this machine (install mesa-vulkan-drivers for lavapipe)")
    srv = t.coordinator()
    api = Http(srv.api)
    t.worker(srv, "w-cpu", ["--backend", "cpu", "--max-tasks", "2"])
    t.worker(srv, "w-gpu", ["--backend", "vulkan", "--max-tasks", "2"])
    wait_workers(api, 2)
    gpu = expect_status(api.get("/cluster/workers/w-gpu"), 200, "GET the GPU worker").json()
    devs = gpu.get("devices") or gpu.get("info", {}).get("devices", [])
    vk = [d for d in devs if d.get("backend") == "vulkan"]
    expect(vk and vk[0].get("memory_mb", 0) > 0 and vk[0].get("healthy") is True,
           "the GPU worker advertises its Vulkan device with memory and health", gpu)
    cpu = expect_status(api.get("/cluster/workers/w-cpu"), 200, "GET the CPU worker").json()
    cdevs = cpu.get("devices") or cpu.get("info", {}).get("devices", [])
    expect(not [d for d in cdevs if d.get("backend") == "vulkan"], "the CPU-only worker advertises no GPU", cpu)
    need = {"backend": "vulkan", "min_memory_mb": 256}
    tasks = [(submit(api, t.body(i % 10, requirements=need)), i % 10) for i in range(8)]
    expect_completed(api, tasks, timeout=90)
    for tid, _ in tasks:
        w = api.get(f"/cluster/tasks/{tid}/status").json().get("worker_id")
        expect(w == "w-gpu", f"task {tid} requiring vulkan ran on the GPU worker", w)
    # Without a GPU worker, such a task waits: the CPU worker never takes it.
    gw = [p for p in t.procs.procs if p.name == "worker-w-gpu"][0]
    expect(gw.stop() == 0, "GPU worker exits 0 on SIGTERM")
    waiting = submit(api, t.body(3, requirements={"backend": "vulkan"}))
    expect_error(api.get(f"/cluster/tasks/{waiting}/result?wait=1.0"), 408, "no GPU worker left")
    expect(status_of(api, waiting) == "QUEUED", "a vulkan task stays queued with only a CPU worker")


def test_gpu_device_lost(t):  # timeout: 150
    """A GPU lost under a task (VK_ERROR_DEVICE_LOST, injected) fails that attempt with
    the reason, the worker marks the device unhealthy and says so to the coordinator,
    and the task is requeued and completes; later GPU tasks find no healthy GPU."""
    if not vulkan_devices(t):
        raise Skip("no Vulkan device on this machine (install mesa-vulkan-drivers for lavapipe)")
    srv = t.coordinator()
    api = Http(srv.api)
    t.procs.spawn("worker-w-gpu", ["worker", "start", "--coordinator", srv.zmq, "--models", t.models,
                                   "--worker-id", "w-gpu", "--backend", "vulkan"],
                  env={"LEGACYGPU_VK_INJECT_DEVICE_LOST": "1"})
    wait_workers(api, 1)
    tid = submit(api, t.body(7))
    expect_completed(api, [(tid, 7)], timeout=90)

    def gpu_unhealthy():
        w = api.get("/cluster/workers/w-gpu").json()
        devs = w.get("devices") or w.get("info", {}).get("devices", [])
        return [d for d in devs if d.get("backend") == "vulkan" and d.get("healthy") is False]
    wait_until(gpu_unhealthy, 20, "the lost GPU to be marked unhealthy in the registry")
    log = [p for p in t.procs.procs if p.name == "worker-w-gpu"][0].output()
    expect("marked unhealthy" in log and "device lost" in log, "the worker logs the lost device", log[-2000:])
    gpu_task = submit(api, t.body(2, requirements={"backend": "vulkan"}))
    expect_error(api.get(f"/cluster/tasks/{gpu_task}/result?wait=1.0"), 408, "no healthy GPU left")
    expect(status_of(api, gpu_task) == "QUEUED", "a vulkan task waits for a healthy GPU")


class ScenarioTimeout(Exception):
    pass


def main(argv, scenarios=None):
    """Runs one scenario: test_<name> from `scenarios` (another file's globals()) or this file."""
    if len(argv) < 5:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    cli, src, scratch, name = argv[1:5]
    timeout = int(argv[5]) if len(argv) > 5 else 120
    fn = (scenarios if scenarios is not None else globals()).get("test_" + name)
    if fn is None:
        print(f"no scenario {name!r}", file=sys.stderr)
        return 2
    shutil.rmtree(scratch, ignore_errors=True)
    t = Ctx(cli, src, scratch)

    def on_alarm(*_):
        raise ScenarioTimeout(f"scenario {name} ran past {timeout - 10} s")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(max(timeout - 10, 5))
    start = time.monotonic()
    try:
        with t.procs:
            fn(t)
    except Skip as e:
        signal.alarm(0)
        print(f"SKIP cluster.{name}: {e}")
        return 77
    except (Failure, ScenarioTimeout, OSError, ValueError, KeyError, TypeError) as e:
        signal.alarm(0)
        print(f"FAIL cluster.{name}: {e}", file=sys.stderr)
        for p in t.procs.procs:
            print(f"---- {p.name} (exit {p.p.returncode}), last lines:\n{p.output_locked()}", file=sys.stderr)
        return 1
    signal.alarm(0)
    print(f"PASS cluster.{name} ({time.monotonic() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
