#!/usr/bin/env python3
"""test_partitions.py: network faults between the coordinator and its workers, one
function test_<name> each, run as CTest test cluster.<name> (tests/cluster/cluster.cmake).

- partition_netns: the coordinator and a worker on separate "hosts": two network
  namespaces made by the test (root only; exit 77, reported as skipped, otherwise)
  joined by a veth pair with addresses from a private /30 that exists only inside them.
  The busy worker's link is cut for longer than the heartbeat timeout, then restored:
  every task completes exactly once, the worker rejoins, its late results are ignored.
  The namespaces are deleted at the end, whatever happens.
- slow_link: a small userspace TCP proxy on 127.0.0.1 (this kernel has no netem) that
  delays every chunk and now and then drops the connection, between a worker and the
  coordinator, under load: every task completes exactly once.

    test_partitions.py CLI SOURCE_DIR SCRATCH_DIR SCENARIO [TIMEOUT_S]
"""
import ctypes
import os
import random
import re
import select
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_lib import (API_LINE, Failure, Http, Proc, Server, expect, list_tasks, list_workers,  # noqa: E402
                         submit, wait_result, wait_until, wait_workers, worker_id)
from test_cluster import Skip, main  # noqa: E402
from test_faults import metric  # noqa: E402

CLONE_NEWNET = 0x40000000
NET = "10.213.77"          # a private /30 used only inside the namespaces made here
COORD_ADDR, WORKER_ADDR = NET + ".1", NET + ".2"
ZMQ_ANY = re.compile(r"legacygpu: workers connect to (tcp://[0-9.]+:\d+)")


def ip(*args):
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise Failure(f"ip {' '.join(args)}: {r.stderr.strip()}")


def expect_exactly_once(api, ids, timeout):
    for tid in ids:
        j = wait_result(api, tid, timeout=timeout)
        expect(j["status"] == "COMPLETED", f"task {tid} COMPLETED", j)
    done = list_tasks(api, status="COMPLETED")
    expect(len(done) == len(ids), f"{len(ids)} tasks COMPLETED, the list holds {len(done)}")
    total = metric(api, "legacygpu_tasks_completed_total")
    expect(total == len(ids), f"each task completed once: completed_total {total:g} for {len(ids)} tasks")


# ---- separate hosts --------------------------------------------------------------------------

def test_partition_netns(t):  # timeout: 240
    if os.geteuid() != 0:
        raise Skip("network namespaces need root")
    tag = f"{os.getpid() % 100000}"
    ns_c, ns_w = f"lgc{tag}", f"lgw{tag}"
    veth_c, veth_w = f"lgvc{tag}", f"lgvw{tag}"
    made = []
    libc = ctypes.CDLL(None, use_errno=True)
    home = open("/proc/self/ns/net")
    try:
        for ns in (ns_c, ns_w):
            ip("netns", "add", ns)
            made.append(ns)
        ip("link", "add", veth_c, "netns", ns_c, "type", "veth", "peer", "name", veth_w, "netns", ns_w)
        ip("-n", ns_c, "addr", "add", COORD_ADDR + "/30", "dev", veth_c)
        ip("-n", ns_w, "addr", "add", WORKER_ADDR + "/30", "dev", veth_w)
        for ns, dev in ((ns_c, veth_c), (ns_w, veth_w)):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", dev, "up")
        # This thread (the test's only one that makes sockets and processes) moves into
        # the coordinator's namespace: its API on 127.0.0.1 is the one the test reaches.
        with open(f"/var/run/netns/{ns_c}") as f:
            if libc.setns(f.fileno(), CLONE_NEWNET) != 0:
                raise Skip(f"setns into {ns_c} failed: errno {ctypes.get_errno()}")
        p = t.procs.spawn("coordinator", ["cluster", "start", "--port", "0", "--bind-address",
                                          f"tcp://{COORD_ADDR}:0", "--data", t.procs.path("data"),
                                          "--models", t.models, "--heartbeat", "0.5"])
        srv = Server(p, p.wait_line(API_LINE).group(1), p.wait_line(ZMQ_ANY).group(1))
        api = Http(srv.api)
        # Worker "far" on the other host; worker "near" beside the coordinator.
        far = Proc("worker-far", ["ip", "netns", "exec", ns_w, t.cli, "worker", "start", "--coordinator", srv.zmq,
                                  "--models", t.models, "--worker-id", "far", "--max-tasks", "2", "--heartbeat",
                                  "0.5"], t.procs.path("worker-far.log"), t.procs.env)
        t.procs.procs.append(far)
        t.procs.spawn("worker-near", ["worker", "start", "--coordinator", srv.zmq, "--models", t.models,
                                      "--worker-id", "near", "--max-tasks", "1", "--heartbeat", "0.5"])
        wait_workers(api, 2, timeout=30)
        # Load in batches until the far worker is seen holding tasks, then cut at once.
        ids = []
        for _ in range(100):
            ids += [submit(api, t.body(k % 10, priority="NORMAL")) for k in range(40)]
            if any(worker_id(w) == "far" and w.get("in_flight", 0) > 0 for w in list_workers(api)):
                break
        else:
            raise Failure("the far worker never held a task")
        ip("-n", ns_w, "link", "set", veth_w, "down")  # the cut
        ids += [submit(api, t.body(k % 10, priority="NORMAL")) for k in range(100)]
        wait_until(lambda: any(worker_id(w) == "far" and w["status"] == "dead" for w in list_workers(api)),
                   30, "the cut worker declared dead")
        cut_for = 3.0  # beyond the 1.5 s heartbeat timeout, measured from its death
        deadline = time.monotonic() + cut_for
        wait_until(lambda: time.monotonic() > deadline, cut_for + 5, "the cut to last")
        ip("-n", ns_w, "link", "set", veth_w, "up")
        wait_until(lambda: any(worker_id(w) == "far" and w["status"] in ("idle", "busy")
                               for w in list_workers(api)), 60, "the cut worker to rejoin")
        expect_exactly_once(api, ids, 120)
        later = [submit(api, t.body(k % 10)) for k in range(20)]
        for tid in later:
            wait_result(api, tid, timeout=60)
        far_w = [w for w in list_workers(api) if worker_id(w) == "far"][0]
        expect(far_w.get("completed", 0) > 0, "the rejoined worker works again", far_w)
        expect(far.alive(), "the far worker survived the cut")
    finally:
        for p in reversed(t.procs.procs):
            p.stop()
        t.procs.procs.clear()
        libc.setns(home.fileno(), CLONE_NEWNET)
        home.close()
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


# ---- a slow, lossy link ----------------------------------------------------------------------

class Proxy:
    """TCP proxy on 127.0.0.1: every chunk waits 0-delay_s, and each connection is cut
    with probability drop per chunk (ZeroMQ then reconnects)."""

    def __init__(self, target, delay_s, drop, seed=1):
        self.target, self.delay_s, self.drop = target, delay_s, drop
        self.rng = random.Random(seed)
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.stopping = False
        self.cuts = 0
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while not self.stopping:
            r, _, _ = select.select([self.lsock], [], [], 0.2)
            if not r:
                continue
            c, _ = self.lsock.accept()
            try:
                u = socket.create_connection(self.target, timeout=5)
            except OSError:
                c.close()
                continue
            th = threading.Thread(target=self._pump, args=(c, u), daemon=True)
            th.start()
            self.threads.append(th)

    def _pump(self, a, b):
        socks = [a, b]
        try:
            while not self.stopping:
                r, _, _ = select.select(socks, [], [], 0.2)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    if self.rng.random() < self.drop:
                        self.cuts += 1
                        return
                    time.sleep(self.rng.random() * self.delay_s)  # the link's latency, not a wait for state
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()

    def close(self):
        self.stopping = True
        self.lsock.close()


def test_slow_link(t):  # timeout: 240
    srv = t.procs.coordinator(t.models, extra=["--heartbeat", "0.5", "--heartbeat-misses", "6"])
    api = Http(srv.api)
    host, port = srv.zmq.rsplit("//", 1)[1].split(":")
    proxy = Proxy((host, int(port)), delay_s=0.05, drop=0.004)
    try:
        t.procs.spawn("worker-slow", ["worker", "start", "--coordinator", f"tcp://127.0.0.1:{proxy.port}",
                                      "--models", t.models, "--worker-id", "slow", "--max-tasks", "2",
                                      "--heartbeat", "0.5", "--heartbeat-misses", "6"])
        t.procs.spawn("worker-direct", ["worker", "start", "--coordinator", srv.zmq, "--models", t.models,
                                        "--worker-id", "direct", "--max-tasks", "1"])
        wait_workers(api, 2, timeout=60)
        ids = [submit(api, t.body(k % 10, priority="NORMAL")) for k in range(300)]
        expect_exactly_once(api, ids, 180)
        slow = [w for w in list_workers(api) if worker_id(w) == "slow"]
        print(f"slow link: {proxy.cuts} connections cut; the slow worker completed "
              f"{slow[0].get('completed', 0) if slow else 0} tasks")
    finally:
        proxy.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv, globals()))
