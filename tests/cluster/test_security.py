#!/usr/bin/env python3
"""test_security.py: the encrypted and authenticated links, as scenarios of the cluster
framework (test_cluster.py's driver and Ctx; one CTest test cluster.<name> each):

- the REST API over TLS: a CA and a server certificate made here with openssl; the CLI
  succeeds with the CA (--cacert or LEGACYGPU_CACERT), fails clearly without it or with
  another CA;
- ZeroMQ CURVE between workers and coordinator: keys from `legacygpu keygen`; a worker
  whose key is in the allow folder works (its traffic, relayed through a recording proxy,
  carries no task data in clear); a worker with an unknown key, and one without CURVE,
  are refused and logged, get no task and see no data; serve's in-process workers need
  no keys;
- `worker start` without --coordinator connects to tcp://127.0.0.1:5555.

    test_security.py CLI SOURCE_DIR SCRATCH_DIR SCENARIO [TIMEOUT_S]
"""
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_lib import Failure, Http, Server, expect, list_workers, submit, wait_result, wait_until  # noqa: E402
from cluster_lib import check_digit_outputs, wait_workers  # noqa: E402
import test_cluster  # noqa: E402


def openssl(t, *args):
    r = subprocess.run(["openssl"] + list(args), cwd=t.scratch, capture_output=True, text=True, timeout=60)
    expect(r.returncode == 0, f"openssl {' '.join(args)}: {r.stderr}")


def make_ca(t, name):
    """A self-signed CA: (NAME.pem, NAME.key) in the scratch folder."""
    openssl(t, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=legacygpu test {name}",
            "-keyout", f"{name}.key", "-out", f"{name}.pem")
    return t.procs.path(f"{name}.pem")


def make_server_cert(t, ca):
    """A certificate for 127.0.0.1 signed by CA ca: (cert path, key path)."""
    with open(t.procs.path("san.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl(t, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
            "-out", "server.csr")
    openssl(t, "x509", "-req", "-in", "server.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.cnf", "-out", "server.pem")
    return t.procs.path("server.pem"), t.procs.path("server.key")


def cli(t, args, env=None, timeout=60):
    e = {k: v for k, v in os.environ.items() if not k.startswith("LEGACYGPU_")}
    e.update(env or {})
    return subprocess.run([t.cli] + args, capture_output=True, text=True, env=e, timeout=timeout)


def test_tls_api(t):  # timeout: 90
    make_ca(t, "ca")
    make_ca(t, "other")
    cert, key = make_server_cert(t, "ca")
    ca, other = t.procs.path("ca.pem"), t.procs.path("other.pem")
    srv = t.serve(workers=1, extra=["--tls-cert", cert, "--tls-key", key])
    expect(srv.api.startswith("https://127.0.0.1:"), f"serve prints an https:// API URL, got {srv.api}")
    # With the CA: the flag, then the environment.
    c = cli(t, ["cluster", "status", "--api", srv.api, "--cacert", ca, "--json-output"])
    expect(c.returncode == 0, f"cluster status over TLS with --cacert: exit {c.returncode}: {c.stderr}")
    png = os.path.join(t.models, "digits", "samples", "digit_5.png")
    c = cli(t, ["task", "submit", "--model", "digits", "--input", png, "--wait", "--json-output"],
            env={"LEGACYGPU_API": srv.api, "LEGACYGPU_CACERT": ca})
    expect(c.returncode == 0, f"task submit --wait over TLS with LEGACYGPU_CACERT: exit {c.returncode}: {c.stderr}")
    import json
    check_digit_outputs(json.loads(c.stdout), 5, "a task submitted over TLS")
    # Without the CA (the system's CAs do not know it), with another CA: exit 3, and why.
    c = cli(t, ["cluster", "status", "--api", srv.api])
    expect(c.returncode == 3, f"without the CA: exit {c.returncode}, expected 3: {c.stderr}")
    expect("--cacert" in c.stderr and "certificate" in c.stderr, "without the CA: says to give --cacert", c.stderr)
    c = cli(t, ["cluster", "status", "--api", srv.api, "--cacert", other])
    expect(c.returncode == 3, f"with another CA: exit {c.returncode}, expected 3: {c.stderr}")
    expect("not signed by the CA" in c.stderr, "with another CA: says the CA does not match", c.stderr)
    c = cli(t, ["cluster", "status", "--api", srv.api, "--cacert", t.procs.path("nosuch.pem")])
    expect(c.returncode != 0 and "nosuch.pem" in c.stderr, "a missing CA file is named", c.stderr)
    # Plain http to the TLS port gets no answer it can use.
    c = cli(t, ["cluster", "status", "--api", srv.api.replace("https://", "http://")])
    expect(c.returncode == 3, f"http:// to the https port: exit {c.returncode}, expected 3: {c.stderr}")
    # Bad TLS set-ups: one file without the other (usage), a key that is not a key.
    c = cli(t, ["serve", "--port", "0", "--bind", "tcp://127.0.0.1:0", "--data", t.procs.path("d2"),
                "--tls-cert", cert])
    expect(c.returncode == 2 and "--tls-key" in c.stderr, f"--tls-cert alone: exit {c.returncode}", c.stderr)
    c = cli(t, ["serve", "--port", "0", "--bind", "tcp://127.0.0.1:0", "--data", t.procs.path("d3"), "--workers", "0",
                "--tls-cert", cert, "--tls-key", cert])
    expect(c.returncode == 1 and "private key" in c.stderr, f"a certificate as the key: exit {c.returncode}",
           c.stderr)


# ---- CURVE -------------------------------------------------------------------------------

def keygen(t, name, folder="keys"):
    os.makedirs(t.procs.path(folder), exist_ok=True)
    c = cli(t, ["keygen", name, "--dir", t.procs.path(folder)])
    expect(c.returncode == 0, f"keygen {name}: exit {c.returncode}: {c.stderr}")
    pub, sec = t.procs.path(folder, name + ".key"), t.procs.path(folder, name + ".key_secret")
    expect(os.path.isfile(pub) and os.path.isfile(sec), f"keygen {name} wrote {pub} and {sec}")
    expect(os.stat(sec).st_mode & 0o077 == 0, f"{sec} is private (mode {oct(os.stat(sec).st_mode)})")
    return pub, sec


class Recorder:
    """A TCP relay to `target` that keeps every byte it passes, both ways."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.data, self.lock, self.stopping = bytearray(), threading.Lock(), False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        pairs = []
        while not self.stopping:
            socks = [self.lsock] + [s for p in pairs for s in p]
            ready, _, _ = select.select(socks, [], [], 0.1)
            for s in ready:
                if s is self.lsock:
                    a, _ = self.lsock.accept()
                    b = socket.create_connection(self.target)
                    pairs.append((a, b))
                    continue
                pair = next(p for p in pairs if s in p)
                other = pair[1] if s is pair[0] else pair[0]
                try:
                    chunk = s.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    pairs.remove(pair)
                    for x in pair:
                        x.close()
                    continue
                with self.lock:
                    self.data += chunk
                other.sendall(chunk)
        for p in pairs:
            for x in p:
                x.close()
        self.lsock.close()

    def captured(self):
        with self.lock:
            return bytes(self.data)

    def stop(self):
        self.stopping = True
        self.thread.join(5)


def zmtp_probe(host, port):
    """Connects like a ZeroMQ peer without CURVE (ZMTP 3.0, NULL mechanism) and returns
    every byte the coordinator sends until it closes (at most 2 s). The greeting goes in
    two steps, as libzmq does, so the coordinator's own greeting arrives before it hangs up."""
    got = bytearray()

    def read_until(s, enough, seconds):
        deadline = time.monotonic() + seconds
        while len(got) < enough and time.monotonic() < deadline:
            if select.select([s], [], [], 0.1)[0]:
                try:
                    chunk = s.recv(4096)
                except OSError:
                    return False
                if not chunk:
                    return False
                got.extend(chunk)
        return True

    with socket.create_connection((host, port), timeout=2) as s:
        s.sendall(b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03")
        if read_until(s, 64, 2):
            s.sendall(b"\x00" + b"NULL".ljust(20, b"\x00") + b"\x00" + b"\x00" * 31)
            read_until(s, 1 << 20, 2)
    return bytes(got)


def endpoint_port(ep):
    return int(ep.rsplit(":", 1)[1])


def test_curve_workers(t):  # timeout: 120
    coord_pub, coord_sec = keygen(t, "coordinator")
    good_pub, good_sec = keygen(t, "good")
    _, bad_sec = keygen(t, "stranger")
    allow = t.procs.path("allowed")
    os.makedirs(allow)
    with open(good_pub) as src, open(os.path.join(allow, "good.key"), "w") as dst:
        dst.write(src.read())
    srv = t.coordinator(extra=["--curve-secret", coord_sec, "--curve-allow", allow])
    api = Http(srv.api)
    # The allowed worker talks through a relay that records its traffic.
    relay = Recorder("127.0.0.1", endpoint_port(srv.zmq))
    try:
        keys = ["--coordinator-key", coord_pub]
        t.worker(Server(None, srv.api, f"tcp://127.0.0.1:{relay.port}"), "good",
                        ["--curve-secret", good_sec] + keys)
        bad = t.worker(srv, "stranger", ["--curve-secret", bad_sec] + keys)
        plain = t.worker(srv, "plain")
        wait_workers(api, 1)
        wait_until(lambda: "refused this worker's CURVE key" in bad.output(), 20, "the stranger to log its refusal")
        wait_until(lambda: "requires CURVE" in plain.output(), 20, "the worker without CURVE to log its refusal")
        wait_until(lambda: "CURVE key not in the allow list" in srv.proc.output(), 20,
                   "the coordinator to log a refused key")
        tasks = [(submit(api, t.body(k)), k) for k in (1, 4, 7, 9)]
        for tid, k in tasks:
            res = wait_result(api, tid, 60)
            expect(res.get("status") == "COMPLETED", f"task {tid} completed", res)
            check_digit_outputs(res, k, f"task {tid}")
            st = api.get(f"/cluster/tasks/{tid}/status").json()
            expect(st.get("worker_id", st.get("worker")) == "good", "every task ran on the allowed worker", st)
        ids = sorted(w.get("worker_id", w.get("id")) for w in list_workers(api))
        expect(ids == ["good"], f"only the allowed worker is registered, got {ids}")
        for p in (bad, plain):
            expect(p.alive(), f"{p.name} keeps running (it retries)")
        # What went over the allowed worker's link is ciphertext: no model name, no task id.
        seen = relay.captured()
        expect(len(seen) > 1000, f"the relay saw the allowed worker's traffic ({len(seen)} bytes)")
        for word in [b"digits", b"in_flight", b"good"] + [tid.encode() for tid, _ in tasks]:
            expect(word not in seen, f"{word!r} travelled in clear over the CURVE link")
    finally:
        relay.stop()
    # Allowing a key is adding its file: the folder is read again, no restart.
    stranger_pub = t.procs.path("keys", "stranger.key")
    with open(stranger_pub) as src, open(os.path.join(allow, "stranger.key"), "w") as dst:
        dst.write(src.read())
    wait_until(lambda: any(w.get("worker_id") == "stranger" for w in list_workers(api)), 30,
               "the stranger to register once its key is allowed")
    # A peer without CURVE gets the coordinator's greeting (mechanism CURVE) and nothing else.
    got = zmtp_probe("127.0.0.1", endpoint_port(srv.zmq))
    expect(len(got) <= 64 and got[12:17] == b"CURVE", f"a NULL-mechanism peer gets only a CURVE greeting: {got!r}")


def test_curve_serve_local_workers(t):  # timeout: 60
    _, coord_sec = keygen(t, "coordinator")
    allow = t.procs.path("allowed")
    os.makedirs(allow)
    srv = t.serve(workers=1, extra=["--curve-secret", coord_sec, "--curve-allow", allow])
    api = Http(srv.api)
    wait_workers(api, 1)
    tid = submit(api, t.body(6))
    res = wait_result(api, tid, 60)
    expect(res.get("status") == "COMPLETED", "serve's in-process worker runs tasks without keys", res)
    check_digit_outputs(res, 6, f"task {tid}")


def test_curve_bad_setup(t):  # timeout: 60
    coord_pub, coord_sec = keygen(t, "coordinator")
    c = cli(t, ["keygen", "coordinator", "--dir", t.procs.path("keys")])
    expect(c.returncode == 1 and "not overwriting" in c.stderr, "keygen keeps an existing key", c.stderr)
    allow = t.procs.path("allowed")
    os.makedirs(allow)
    base = ["cluster", "start", "--port", "0", "--bind-address", "tcp://127.0.0.1:0", "--models", t.models]
    c = cli(t, base + ["--data", t.procs.path("d1"), "--curve-secret", coord_sec])
    expect(c.returncode == 2 and "--curve-allow" in c.stderr, f"--curve-secret alone: exit {c.returncode}", c.stderr)
    lone = t.procs.path("lone.key")  # a public key with no secret file beside it
    with open(coord_pub) as src, open(lone, "w") as dst:
        dst.write(src.read())
    c = cli(t, base + ["--data", t.procs.path("d2"), "--curve-secret", lone, "--curve-allow", allow], timeout=20)
    expect(c.returncode == 1 and "no secret key" in c.stderr, f"a public key as --curve-secret: exit {c.returncode}",
           c.stderr)
    c = cli(t, base + ["--data", t.procs.path("d3"), "--curve-secret", coord_sec, "--curve-allow",
                       t.procs.path("nosuch")])
    expect(c.returncode == 1 and "nosuch" in c.stderr, f"a missing allow folder: exit {c.returncode}", c.stderr)
    c = cli(t, ["worker", "start", "--coordinator", "tcp://127.0.0.1:1", "--curve-secret", coord_sec])
    expect(c.returncode == 2 and "--coordinator-key" in c.stderr, f"worker without --coordinator-key: {c.returncode}",
           c.stderr)
    c = cli(t, ["worker", "start", "--coordinator", "tcp://127.0.0.1:1", "--curve-secret", t.procs.path("nosuch"),
                "--coordinator-key", coord_pub])
    expect(c.returncode == 1 and "nosuch" in c.stderr, f"worker with a missing key file: {c.returncode}", c.stderr)


def test_worker_default_coordinator(t):  # timeout: 60
    w = t.procs.spawn("worker-default", ["worker", "start", "--worker-id", "w-default", "--models", t.models],
                      env={"LEGACYGPU_COORDINATOR": ""})
    m = w.wait_line(re.compile(r"legacygpu: worker w-default connecting to (\S+)"))
    expect(m.group(1) == "tcp://127.0.0.1:5555", f"the default coordinator is tcp://127.0.0.1:5555, got {m.group(1)}")
    expect(w.stop() == 0, "the worker stops cleanly on SIGTERM")


if __name__ == "__main__":
    try:
        sys.exit(test_cluster.main(sys.argv, globals()))
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
