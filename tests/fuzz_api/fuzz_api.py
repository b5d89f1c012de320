#!/usr/bin/env python3
"""fuzz_api.py: fuzzes the REST API from its own OpenAPI document. It starts
`legacygpu serve` (one local worker, small admission bounds), reads /openapi.json, and for
a bounded time sends requests generated from it and mutated: documented and other
methods, paths with odd, long, encoded and traversal parameters, query values, headers
(content types, lengths, encodings, tokens), bodies built for each route (task
submissions, KServe requests, raw tensors and images) and mutations of them (bit flips,
truncation, deep nesting, huge numbers, bad UTF-8), and raw malformed HTTP on a socket.

Passes when the server never crashes, never answers 5xx other than 503/507 (the
admission and store bounds), and is healthy afterwards. With a sanitizer build, any
report ends the process and fails the run. Standard library only.

    fuzz_api.py CLI SOURCE_DIR SCRATCH_DIR SECONDS [SEED]
"""
import base64
import http.client
import json
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster"))
from cluster_lib import Failure, Procs, kserve_inputs  # noqa: E402

ALLOWED_5XX = (503, 507)
SKIP_PATHS = ("/cluster/shutdown",)  # ends the server: not a fault
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "BREW", "")
CONTENT_TYPES = ("application/json", "application/octet-stream", "application/x-npy", "application/x-protobuf",
                 "image/png", "image/jpeg", "text/plain", "application/json; charset=utf-8", "multipart/form-data",
                 "", "application/x-www-form-urlencoded", "image/png; x=" + "a" * 300)
ODD_PARAMS = ("", "..", "../../../etc/passwd", "%2e%2e%2f", "%00", "a" * 300, "00000000-0000-4000-8000-000000000000",
              "digits", "nosuch", "%ff%fe", "é", "{id}", "-1", "0", "99999999999999999999", "a/b", "\t", "%")


class Fuzzer:
    def __init__(self, api_url, models, rng):
        host_port = api_url.split("//", 1)[1]
        self.host, port = host_port.split(":")
        self.port = int(port)
        self.rng = rng
        self.models = models
        self.digit = kserve_inputs(models, 3)
        with open(os.path.join(models, "digits", "samples", "digit_3.png"), "rb") as f:
            self.png = f.read()
        self.ids = []
        self.counts = {}
        self.spec = json.loads(self.http("GET", "/openapi.json")[1])
        self.ops = [(path, method.upper(), op) for path, item in self.spec["paths"].items()
                    for method, op in item.items() if path not in SKIP_PATHS]

    # ---- sending ----------------------------------------------------------------------

    def http(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.putrequest(method or "GET", path, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            if body is not None and "Content-Length" not in (headers or {}):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def raw(self, data):
        """Sends bytes on a socket; the status of the answer, or None without one."""
        with socket.create_connection((self.host, self.port), timeout=2) as s:
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                return None
            buf = b""
            while len(buf) < 65536:
                try:
                    chunk = s.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
        if buf.startswith(b"HTTP/1.") and len(buf) >= 12 and buf[9:12].isdigit():
            return int(buf[9:12])
        return None

    def check(self, status, what, body=b""):
        self.counts[status] = self.counts.get(status, 0) + 1
        if status is not None and status >= 500 and status not in ALLOWED_5XX:
            raise Failure(f"{what}: HTTP {status}: {body[:300]!r}")

    # ---- generating ---------------------------------------------------------------------

    def param(self):
        r = self.rng.random()
        if r < 0.4 and self.ids:
            return self.rng.choice(self.ids)
        return self.rng.choice(ODD_PARAMS)

    def fill(self, path):
        out = []
        for part in path.split("/"):
            out.append(self.param() if part.startswith("{") else part)
        p = "/".join(out)
        return p if p.startswith("/") else "/" + p

    def query(self, op):
        names = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"]
        names += ["wait", "model", "priority", "timeout", "limit", "cursor", "status", "zz"]
        qs = []
        for _ in range(self.rng.randrange(4)):
            key = self.rng.choice(names)
            if key == "wait":  # long polls: short, or a value the server must refuse
                v = self.rng.choice(("0", "0.01", "-1", "nan", "inf", "1e309", "x", "", "1000000"))
            else:
                v = self.rng.choice(("1", "0", "-1", "0.01", "nan", "inf", "1e309", "HIGH", "COMPLETED", "digits",
                                     "nosuch", "", "%ff", "a" * 200, "2.5", "1000000"))
            qs.append(f"{key}={v}")
        return ("?" + "&".join(qs)) if qs else ""

    def tensor(self):
        t = dict(self.digit["inputs"][0])
        choice = self.rng.randrange(8)
        if choice == 0:
            t["shape"] = [self.rng.choice((-1, 0, 1, 8, 1600, 2 ** 40)) for _ in range(self.rng.randrange(6))]
        elif choice == 1:
            t["datatype"] = self.rng.choice(("FP16", "INT64", "BYTES", "BOOL", "UINT8", "XX", 7))
        elif choice == 2:
            t["data"] = self.rng.choice(([], [None] * 64, ["a"] * 64, [[0.0] * 8] * 8, [1e308] * 64, {}))
        elif choice == 3:
            t["name"] = self.rng.choice(("x", "", None, "input" * 50))
        return t

    def task_body(self):
        body = {"model_name": self.rng.choice(("digits", "digits", "nosuch", "", None, 3, "../x")),
                "input_data": {"inputs": [self.tensor()]}}
        r = self.rng.random()
        if r < 0.1:
            body["input_data"] = {"image_base64": base64.b64encode(self.png).decode()}
        elif r < 0.15:
            body["input_data"] = {"image_base64": self.rng.choice(("!!", "", "aGVsbG8=", 5))}
        if self.rng.random() < 0.3:
            body["priority"] = self.rng.choice(("LOW", "HIGH", "URGENT", 1, None))
        if self.rng.random() < 0.2:
            body["requirements"] = self.rng.choice(({"backend": "cpu"}, {"min_memory_mb": -5}, {"fp16": "x"}, [],
                                                    {"a" * 100: "b"}, {"t%d" % i: i for i in range(12)}))
        if self.rng.random() < 0.2:
            body["timeout"] = self.rng.choice((0, 0.5, -1, 1e9, "10"))
        return body

    def npy(self):
        shape = self.rng.choice(((1, 1, 8, 8), (1, 1, 16, 16), (8, 8), (), (1, 1, 8, 8, 1)))
        header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
            self.rng.choice(("<f4", "<f8", "<i8", "|b1", "xx")), "".join(f"{d}, " for d in shape))
        header += " " * (63 - (len(header) + 10) % 64) + "\n"
        n = 1
        for d in shape:
            n *= d
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * (4 * n)

    def body_for(self, path, ctype):
        if ctype.startswith("application/json") or not ctype:
            if "/infer" in path:
                doc = {"id": "f", "inputs": [self.tensor()]}
            elif path.startswith("/cluster/tasks"):
                doc = self.task_body()
            elif "balancing" in path:
                doc = {"strategy": self.rng.choice(("ADAPTIVE", "round_robin", "nope", 3, None))}
            else:
                doc = {"x": 1}
            return json.dumps(doc).encode()
        if ctype.startswith("image/"):
            return self.png
        if "npy" in ctype or "octet" in ctype:
            return self.npy()
        return bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(64)))

    def mutate(self, data):
        if not data or self.rng.random() < 0.5:
            return data
        data = bytearray(data)
        for _ in range(self.rng.randrange(1, 8)):
            op = self.rng.randrange(6)
            i = self.rng.randrange(len(data)) if data else 0
            if op == 0 and data:
                data[i] ^= 1 << self.rng.randrange(8)
            elif op == 1:
                del data[i:]
            elif op == 2:
                data[i:i] = self.rng.choice((b"[" * 2000, b"{\"a\":" * 500, b"\xff\xfe", b"\x00", b"1e99999",
                                             b"\"\\ud800\"", b"-" * 100))
            elif op == 3 and data:
                data[i] = self.rng.randrange(256)
            elif op == 4:
                data += data[: self.rng.randrange(len(data) + 1)]
            else:
                data = data[::-1] if self.rng.random() < 0.1 else data
        return bytes(data)

    # ---- one step ---------------------------------------------------------------------------

    def step(self):
        r = self.rng.random()
        if r < 0.12:
            return self.step_raw()
        path, method, op = self.rng.choice(self.ops)
        if self.rng.random() < 0.1:
            method = self.rng.choice(METHODS)
        url = self.fill(path) + self.query(op)
        headers = {}
        body = None
        if method in ("POST", "PUT", "PATCH", "DELETE") or self.rng.random() < 0.05:
            types = list((op.get("requestBody") or {}).get("content", {}).keys()) or ["application/json"]
            ctype = self.rng.choice(types) if self.rng.random() < 0.8 else self.rng.choice(CONTENT_TYPES)
            if ctype:
                headers["Content-Type"] = ctype
            body = self.mutate(self.body_for(path, ctype))
        if self.rng.random() < 0.1:
            headers["Authorization"] = self.rng.choice(("Bearer x", "Basic Zm9v", "Bearer " + "a" * 5000, ""))
        if self.rng.random() < 0.1:
            headers["Idempotency-Key"] = self.rng.choice(("k1", "k2", "", "x" * 500))
        if self.rng.random() < 0.05:
            headers["Accept-Encoding"] = "gzip, br"
        try:
            status, data = self.http(method or "GET", url, body, headers)
        except (http.client.HTTPException, OSError, UnicodeError) as e:
            # The client refused to send it (bad characters) or the server closed the
            # connection on a malformed request: the health check below decides.
            self.counts[type(e).__name__] = self.counts.get(type(e).__name__, 0) + 1
            return
        self.check(status, f"{method} {url} ({headers.get('Content-Type')})", data)
        if status == 202 and data.startswith(b"{"):
            try:
                tid = json.loads(data).get("task_id")
            except ValueError:
                tid = None
            if tid:
                self.ids.append(tid)
                self.ids = self.ids[-50:]

    def step_raw(self):
        body = json.dumps(self.task_body()).encode()
        choice = self.rng.randrange(7)
        if choice == 0:
            req = b"POST /cluster/tasks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" \
                  b"Content-Type: application/json\r\n\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
        elif choice == 1:
            req = b"POST /cluster/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n" + body
        elif choice == 2:
            req = b"POST /cluster/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n" + body
        elif choice == 3:
            req = b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        elif choice == 4:
            req = b"GET /cluster/health HTTP/1.1\r\n" + b"X-H: " + b"v" * 9000 + b"\r\n" * 2
        elif choice == 5:
            req = b"POST /cluster/tasks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + body
        else:
            req = self.mutate(b"POST /cluster/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              b"Content-Length: %d\r\n\r\n" % len(body) + body)
        try:
            status = self.raw(req)
        except OSError:
            status = None
        self.check(status, f"raw request {req[:60]!r}")


def main(argv):
    if len(argv) < 5:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    cli, src, scratch, seconds = argv[1], argv[2], argv[3], float(argv[4])
    seed = int(argv[5]) if len(argv) > 5 else int(time.time())
    rng = random.Random(seed)
    models = os.path.join(src, "models")
    n = 0
    with Procs(cli, scratch) as procs:
        srv = procs.serve(models, workers=1, extra=["--max-queued-tasks", "64", "--max-body-bytes", "1048576",
                                                    "--store-max-mb", "64"])
        fz = Fuzzer(srv.api, models, rng)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                fz.step()
                n += 1
                if not srv.proc.alive():
                    raise Failure(f"the server died (exit {srv.proc.p.returncode})")
            status, body = fz.http("GET", "/cluster/health")
            if status != 200 or json.loads(body).get("status") != "healthy":
                raise Failure(f"unhealthy afterwards: HTTP {status} {body[:300]!r}")
        except (Failure, OSError) as e:
            print(f"FAIL fuzz_api (seed {seed}, {n} requests): {e}\n---- server, last lines:\n"
                  f"{srv.proc.output_locked()}", file=sys.stderr)
            return 1
        code = srv.proc.stop()
        if code != 0:
            print(f"FAIL fuzz_api (seed {seed}): the server exited {code} at stop:\n{srv.proc.output_locked()}",
                  file=sys.stderr)
            return 1
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(fz.counts.items(), key=lambda kv: str(kv[0])))
    print(f"PASS fuzz_api: {n} requests in {seconds:g} s (seed {seed}); answers {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
