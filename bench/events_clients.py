"""events_clients.py URL N SECONDS [STUCK]: holds N followers of URL/cluster/events
(Server-Sent Events) open for SECONDS while reading them as fast as they come, plus
STUCK followers that never read; then prints one JSON line: followers still connected,
events and bytes read, followers dropped by the server. Standard library only; one
thread, a selector over the sockets."""
import json
import selectors
import socket
import sys
import time
import urllib.parse

url, n, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
stuck_n = int(sys.argv[4]) if len(sys.argv) > 4 else 0
u = urllib.parse.urlparse(url)
req = f"GET /cluster/events HTTP/1.1\r\nHost: {u.hostname}\r\nAccept: text/event-stream\r\n\r\n".encode()
sel = selectors.DefaultSelector()
stats = {"followers": n, "stuck": stuck_n, "events": 0, "bytes": 0, "dropped": 0, "closed": 0}
stuck = []
for i in range(n + stuck_n):
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(req)
    if i < n:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, {"tail": b""})
    else:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.append(s)
print("ready", flush=True)
end = time.monotonic() + secs
while time.monotonic() < end:
    for key, _ in sel.select(timeout=0.2):
        try:
            data = key.fileobj.recv(262144)
        except BlockingIOError:
            continue
        if not data:
            sel.unregister(key.fileobj)
            key.fileobj.close()
            stats["closed"] += 1
            continue
        stats["bytes"] += len(data)
        chunk = key.data["tail"] + data
        stats["events"] += chunk.count(b"\nid: ") + chunk.startswith(b"id: ")
        stats["dropped"] += chunk.count(b"event: dropped")
        key.data["tail"] = chunk[-16:]
stats["connected_at_end"] = len(sel.get_map())
print(json.dumps(stats), flush=True)
