"""cluster_lib.py: what the cluster integration tests and the cluster benchmark share:
starting and stopping `legacygpu` processes (serve, cluster start, worker start) on
127.0.0.1 with ephemeral ports, a keep-alive HTTP client for the REST API, polling with
deadlines, and task inputs made from the demo model's sample digits.

Standard library only (run with Debian's /usr/bin/python3 or any Python 3.9+).

    with Procs(cli, scratch) as procs:
        srv = procs.serve(models, workers=2)          # parses the API and ZeroMQ URLs
        api = Http(srv.api)
        r = api.post("/cluster/tasks", task_body(3))  # r.status, r.json(), r.headers
        res = wait_result(api, r.json()["task_id"])
"""
import ctypes
import http.client
import json
import os
import re
import signal
import struct
import subprocess
import threading
import time
import urllib.parse
import zlib

STATES = ("QUEUED", "DISPATCHED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT")
FINAL_STATES = ("COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT")
PRIORITIES = ("LOW", "NORMAL", "HIGH", "CRITICAL")
STRATEGIES = ("ROUND_ROBIN", "LEAST_LOADED", "GPU_MATCH", "LATENCY_BASED", "ADAPTIVE")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
API_LINE = re.compile(r"legacygpu: API (https?://127\.0\.0\.1:\d+)")
ZMQ_LINE = re.compile(r"legacygpu: workers connect to (tcp://127\.0\.0\.1:\d+)")
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


class Failure(AssertionError):
    """A scenario's expectation did not hold."""


def expect(cond, what, resp=None):
    if not cond:
        raise Failure(what + (f"\n  response: {resp}" if resp is not None else ""))


def wait_until(fn, timeout, what, interval=0.01):
    """Polls fn() until it returns something truthy; fails with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def process_stopped(pid):
    """True once the process is in the stopped state (T) after a SIGSTOP."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
    except OSError:
        return False


def freeze(proc, what):
    """SIGSTOP, then wait (with a deadline) until the kernel has really stopped it."""
    proc.send_signal(signal.SIGSTOP)
    wait_until(lambda: process_stopped(proc.pid), 10, f"{what} to stop")


# ---- processes -------------------------------------------------------------------------

def _die_with_parent():
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Proc:
    """A child process whose merged stdout/stderr is read line by line into a log."""

    def __init__(self, name, argv, log_path, env=None):
        self.name, self.argv = name, argv
        self.lines, self.cond = [], threading.Condition()
        self.log = open(log_path, "a", encoding="utf-8")
        self.log.write("$ " + " ".join(argv) + "\n")
        self.log.flush()
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, errors="replace", env=env,
                                  preexec_fn=_die_with_parent)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stdout:
            self.log.write(line)
            self.log.flush()
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def output(self):
        with self.cond:
            return "\n".join(self.lines)

    def wait_line(self, regex, timeout=START_TIMEOUT_S):
        """The first match of regex in the output; fails if the process exits first."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    m = regex.search(line)
                    if m:
                        return m
                if not self.reader.is_alive() and self.p.poll() is not None:
                    raise Failure(f"{self.name} exited with {self.p.returncode} before printing "
                                  f"/{regex.pattern}/:\n{self.output_locked()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(f"{self.name} printed no /{regex.pattern}/ within {timeout:g} s:\n"
                                  f"{self.output_locked()}")
                self.cond.wait(min(left, 0.2))

    def output_locked(self):
        return "\n".join(self.lines[-40:])

    def alive(self):
        return self.p.poll() is None

    def kill9(self):
        if self.alive():
            self.p.send_signal(signal.SIGKILL)
        self.p.wait()

    def stop(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM, then SIGKILL after the deadline; returns the exit code."""
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.log.write(f"[test] {self.name} ignored SIGTERM for {timeout:g} s: SIGKILL\n")
                self.p.kill()
                self.p.wait()
        self.reader.join(2)
        return self.p.returncode


class Server:
    """A running coordinator: its process, API URL and the endpoint workers connect to."""

    def __init__(self, proc, api, zmq):
        self.proc, self.api, self.zmq = proc, api, zmq


class Procs:
    """Every process a scenario starts; all are stopped (workers first) on exit."""

    def __init__(self, cli, scratch, env=None):
        self.cli, self.scratch = cli, scratch
        self.env = dict(os.environ if env is None else env)
        self.procs = []
        os.makedirs(scratch, exist_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            p.stop()
        return False

    def spawn(self, name, args, env=None):
        e = dict(self.env)
        e.update(env or {})
        p = Proc(name, [self.cli] + list(args), os.path.join(self.scratch, name + ".log"), e)
        self.procs.append(p)
        return p

    def path(self, *parts):
        return os.path.join(self.scratch, *parts)

    def _coordinator(self, name, args):
        p = self.spawn(name, args)
        api = p.wait_line(API_LINE).group(1)
        zmq = p.wait_line(ZMQ_LINE).group(1)
        return Server(p, api, zmq)

    def serve(self, models, workers=1, data="data", extra=(), name="serve"):
        """`legacygpu serve`: coordinator, API and `workers` local workers in one process."""
        return self._coordinator(name, ["serve", "--port", "0", "--bind", "tcp://127.0.0.1:0",
                                        "--data", self.path(data), "--models", models,
                                        "--workers", str(workers)] + list(extra))

    def coordinator(self, models, data="data", extra=(), name="coordinator"):
        """`legacygpu cluster start`: coordinator and API, no workers."""
        return self._coordinator(name, ["cluster", "start", "--port", "0",
                                        "--bind-address", "tcp://127.0.0.1:0",
                                        "--data", self.path(data), "--models", models] + list(extra))

    def worker(self, server, models, worker_id, extra=()):
        """`legacygpu worker start` connected to server (a separate process)."""
        return self.spawn("worker-" + worker_id, ["worker", "start", "--coordinator", server.zmq,
                                                  "--models", models, "--worker-id", worker_id]
                          + list(extra))


# ---- HTTP ---------------------------------------------------------------------------------

class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        self._json = None

    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body)
            except ValueError as e:
                raise Failure(f"response is not JSON ({e}): {self}")
        return self._json

    def __str__(self):
        text = self.body[:600].decode("utf-8", "replace")
        return f"HTTP {self.status} {text}{'...' if len(self.body) > 600 else ''}"


class Http:
    """One keep-alive connection to the API (use one per thread)."""

    def __init__(self, url, token=None, timeout=30.0):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.token, self.timeout = token, timeout
        self.conn, self.used = None, False

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn, self.used = None, False

    def request(self, method, path, body=None, headers=None, token=None):
        hdrs = {}
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        tok = token if token is not None else self.token
        if tok:
            hdrs["Authorization"] = "Bearer " + tok
        hdrs.update(headers or {})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            reused = self.used
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                r = self.conn.getresponse()
                data = r.read()
            except (ConnectionError, http.client.BadStatusLine):
                self.close()
                if attempt or not reused:  # a fresh connection failing is a real failure
                    raise
                continue  # the server closed an idle keep-alive connection: resend once
            self.used = True
            if r.will_close:
                self.close()
            return Resp(r.status, r.headers, data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def expect_status(r, status, what):
    expect(r.status == status, f"{what}: expected HTTP {status}", r)
    return r


def expect_error(r, status, what):
    """An error answer: the status and a JSON body {"error": {"code", "message"}}."""
    expect(r.status == status, f"{what}: expected HTTP {status}", r)
    ctype = r.headers.get("Content-Type", "")
    expect("json" in ctype, f"{what}: error Content-Type is {ctype!r}, not JSON", r)
    err = r.json().get("error") if isinstance(r.json(), dict) else None
    expect(isinstance(err, dict) and "code" in err, f"{what}: no error.code", r)
    expect(isinstance(err.get("message"), str) and err["message"], f"{what}: no error.message", r)
    return err


# ---- inputs -------------------------------------------------------------------------------

def _png_gray8(path):
    """Pixels (rows of bytes) of an 8-bit grayscale, non-interlaced PNG."""
    data = open(path, "rb").read()
    expect(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
    w, h, depth, color, _, _, interlace = hdr
    expect(depth == 8 and color == 0 and interlace == 0, f"{path}: not 8-bit grayscale")
    raw, rows, prev = zlib.decompress(idat), [], bytearray(w)
    for y in range(h):
        f, line = raw[y * (w + 1)], bytearray(raw[y * (w + 1) + 1:(y + 1) * (w + 1)])
        for x in range(w):
            a = line[x - 1] if x else 0
            b, c = prev[x], (prev[x - 1] if x else 0)
            p = a + b - c
            paeth = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else (
                b if abs(p - b) <= abs(p - c) else c)
            line[x] = (line[x] + (0, a, b, (a + b) // 2, paeth)[f]) & 255
        rows.append(line)
        prev = line
    return rows


_digits = {}


def digit_pixels(models, k):
    """The 64 floats the digits model sees for samples/digit_k.png (area resize, / 255)."""
    if k not in _digits:
        rows = _png_gray8(os.path.join(models, "digits", "samples", f"digit_{k}.png"))
        s = len(rows) // 8
        _digits[k] = [sum(rows[y * s + i][x * s + j] for i in range(s) for j in range(s)) / (s * s) / 255.0
                      for y in range(8) for x in range(8)]
    return _digits[k]


def kserve_inputs(models, k):
    return {"inputs": [{"name": "input", "shape": [1, 1, 8, 8], "datatype": "FP32",
                        "data": digit_pixels(models, k)}]}


def task_body(models, k, priority="HIGH", requirements=None, **extra):
    body = {"model_name": "digits", "input_data": kserve_inputs(models, k), "priority": priority}
    if requirements is not None:
        body["requirements"] = requirements
    body.update(extra)
    return body


def argmax(xs):
    return max(range(len(xs)), key=lambda i: xs[i])


def flat_data(d):
    """Tensor data, flattened (KServe allows nested lists)."""
    out = []
    for v in d:
        out.extend(flat_data(v) if isinstance(v, list) else [v])
    return out


def check_digit_outputs(body, k, what):
    """body (a result body, its "result" or a KServe answer) carries the output tensors of
    the digits model for digit k."""
    outs = body.get("outputs", (body.get("result") or {}).get("outputs"))
    expect(isinstance(outs, list) and outs, f"{what}: no outputs", json.dumps(body)[:600])
    o = outs[0]
    for key in ("name", "shape", "datatype", "data"):
        expect(key in o, f"{what}: output tensor without {key!r}", json.dumps(o)[:600])
    data = flat_data(o["data"])
    expect(o["shape"] in ([1, 10], [10]) and len(data) == 10, f"{what}: output shape {o['shape']}")
    expect(argmax(data) == k, f"{what}: digit {k} classified as {argmax(data)}", data)


# ---- cluster helpers ----------------------------------------------------------------------

def items(body, key):
    """A list answer: either the list itself or body[key]."""
    if isinstance(body, list):
        return body
    expect(isinstance(body, dict) and isinstance(body.get(key), list), f"no {key!r} list", body)
    return body[key]


def worker_id(w):
    return w.get("worker_id", w.get("id"))


def list_workers(api, query=""):
    r = expect_status(api.get("/cluster/workers" + query), 200, "GET /cluster/workers" + query)
    return items(r.json(), "workers")


def wait_workers(api, n, timeout=START_TIMEOUT_S, status=None):
    """Waits until n workers (not dead) are registered; returns them."""
    def ready():
        ws = [w for w in list_workers(api) if str(w.get("status", "")).lower() != "dead"]
        if status is not None:
            ws = [w for w in ws if str(w.get("status", "")).lower() == status]
        return ws if len(ws) == n else None
    return wait_until(ready, timeout, f"{n} registered workers")


def submit(api, body, headers=None):
    r = api.post("/cluster/tasks", body, headers=headers)
    expect(r.status == 202, "POST /cluster/tasks: expected HTTP 202", r)
    j = r.json()
    expect(isinstance(j.get("task_id"), str) and UUID_RE.match(j["task_id"]), "task_id is not a UUID", r)
    return j["task_id"]


def wait_result(api, tid, timeout=30.0):
    """Long-polls GET /cluster/tasks/{id}/result until the task is final; returns the body."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            st = api.get(f"/cluster/tasks/{tid}/status")
            wid = st.json().get("worker_id") if st.status == 200 else None
            holder = api.get(f"/cluster/workers/{wid}") if wid else "none"
            raise Failure(f"task {tid} not final after {timeout:g} s; status: {st}\n  its worker: {holder}")
        r = api.get(f"/cluster/tasks/{tid}/result?wait={min(left, 5.0):.2f}")
        if r.status == 408:
            continue
        expect(r.status == 200, f"GET result of {tid}", r)
        j = r.json()
        if j.get("status") in FINAL_STATES:
            return j


def list_tasks(api, status=None, page=100):
    """Every task (following cursors), optionally of one state."""
    out, cursor = [], ""
    for _ in range(10000):
        q = f"?limit={page}" + (f"&status={status}" if status else "") + (
            f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        r = expect_status(api.get("/cluster/tasks" + q), 200, "GET /cluster/tasks" + q)
        body = r.json()
        out.extend(items(body, "tasks"))
        cursor = (body.get("next_cursor") or "") if isinstance(body, dict) else ""
        if not cursor:
            return out
    raise Failure("task list cursor never ended")


def numbers(obj, prefix=""):
    """Every number in a JSON value, by path: for 'some counter changed' checks."""
    if isinstance(obj, bool):
        return {}
    if isinstance(obj, (int, float)):
        return {prefix: obj}
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(numbers(v, f"{prefix}.{k}"))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(numbers(v, f"{prefix}[{i}]"))
    return out


def run_threads(n, fn):
    """Runs fn(i) on n threads; re-raises the first failure."""
    errors = []

    def body(i):
        try:
            fn(i)
        except BaseException as e:  # reported below, on the main thread
            errors.append(e)
    ts = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]
