#!/usr/bin/env python3
"""Memory cost of idle keep-alive connections on a running ktserver.

Opens N connections (default 10,000), sends one small request on each (even ones HTTP/1.1
`GET /rpc/void`, odd ones a binary get_bulk of one absent key), reads every reply, leaves them
all open and idle for a moment, and reports the server's VmRSS before and after, the bytes per
idle connection, and the server's open descriptors. Then closes them and reports VmRSS again.

usage: bench/idle_connections.py --port P --pid SERVER_PID [-n 10000] [--settle 2]
Prints a markdown table on stdout (progress on stderr); exit 1 if a connection was lost.
"""

import argparse
import os
import resource
import selectors
import socket
import struct
import sys
import time

HTTP_REQUEST = b"GET /rpc/void HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
# get_bulk (0xBA), flags 0, 1 key: dbidx 0, key "idle-absent". Reply: 0xBA + hits (0).
_KEY = b"idle-absent"
BINARY_REQUEST = struct.pack(">BII", 0xBA, 0, 1) + struct.pack(">HI", 0, len(_KEY)) + _KEY
BINARY_REPLY = struct.pack(">BI", 0xBA, 0)


def log(msg):
    print(f"idle: {msg}", file=sys.stderr, flush=True)


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def tcp_mem_pages():
    """Pages the kernel charges to TCP sockets, all processes (client and server ends)."""
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                parts = line.split()
                return int(parts[parts.index("mem") + 1])
    return 0


def reply_complete(is_http, buf):
    """True once `buf` holds the whole reply to the one request sent."""
    if not is_http:
        if len(buf) >= len(BINARY_REPLY):
            if buf[: len(BINARY_REPLY)] != BINARY_REPLY:
                raise RuntimeError(f"unexpected binary reply {buf[:16]!r}")
            return True
        return False
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = buf[:end].decode("latin-1").split("\r\n")
    if not head[0].startswith("HTTP/1.1 200"):
        raise RuntimeError(f"unexpected HTTP reply {head[0]!r}")
    length = 0
    for h in head[1:]:
        name, _, value = h.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
        if name.strip().lower() == "connection" and "close" in value.lower():
            raise RuntimeError("server closes the connection after the reply")
    return len(buf) >= end + 4 + length


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True, help="the ktserver process")
    ap.add_argument("-n", "--connections", type=int, default=10000)
    ap.add_argument("--settle", type=float, default=2.0, help="seconds idle before measuring")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds for all replies")
    args = ap.parse_args()
    n = args.connections

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as e:
            log(f"cannot raise RLIMIT_NOFILE: {e}")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < n + 64:
        log(f"RLIMIT_NOFILE {soft} is too low for {n} connections")
        return 2

    time.sleep(0.5)
    rss0 = status_kib(args.pid, "VmRSS")
    fds0 = open_fds(args.pid)
    tcp0 = tcp_mem_pages()

    t0 = time.monotonic()
    socks = []
    for i in range(n):
        s = socket.create_connection((args.host, args.port), timeout=args.timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(HTTP_REQUEST if i % 2 == 0 else BINARY_REQUEST)
        s.setblocking(False)
        socks.append(s)
    t_open = time.monotonic() - t0

    # Read every reply, whichever answers first.
    sel = selectors.DefaultSelector()
    bufs = {}
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)
        bufs[i] = b""
    pending = n
    deadline = time.monotonic() + args.timeout
    lost = 0
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1.0):
            i = key.data
            try:
                data = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            if not data:
                lost += 1
                pending -= 1
                sel.unregister(key.fileobj)
                continue
            bufs[i] += data
            if reply_complete(i % 2 == 0, bufs[i]):
                pending -= 1
                sel.unregister(key.fileobj)
    sel.close()
    t_reply = time.monotonic() - t0
    if pending or lost:
        log(f"{pending} replies missing, {lost} connections closed by the server")
        return 1
    bufs.clear()

    time.sleep(args.settle)
    # Every connection must still be open: a non-blocking peek finds nothing to read.
    alive = 0
    for s in socks:
        try:
            alive += s.recv(1, socket.MSG_PEEK) != b""
        except BlockingIOError:
            alive += 1
    rss1 = status_kib(args.pid, "VmRSS")
    fds1 = open_fds(args.pid)
    tcp1 = tcp_mem_pages()

    for s in socks:
        s.close()
    socks.clear()
    time.sleep(args.settle)
    rss2 = status_kib(args.pid, "VmRSS")
    fds2 = open_fds(args.pid)

    per_conn = (rss1 - rss0) * 1024 / n
    page = os.sysconf("SC_PAGE_SIZE")
    tcp_per = (tcp1 - tcp0) * page / n
    log(f"{n} opened in {t_open:.2f}s, all replied in {t_reply:.2f}s, {alive} alive after "
        f"{args.settle:g}s; VmRSS {rss0} -> {rss1} KiB ({per_conn:.0f} B/conn), "
        f"{rss2} KiB after close")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| connections opened (half HTTP, half binary), one request each | {n} |")
    print(f"| still open after {args.settle:g} s idle | {alive} |")
    print(f"| server descriptors before / idle / after close | {fds0} / {fds1} / {fds2} |")
    print(f"| server VmRSS before | {rss0} KiB |")
    print(f"| server VmRSS with {n} idle connections | {rss1} KiB |")
    print(f"| server VmRSS after closing them | {rss2} KiB |")
    print(f"| **server VmRSS per idle connection** | **{per_conn:.0f} B ({per_conn / 1024:.2f} KiB)** |")
    print(f"| kernel TCP memory per connection, both ends (/proc/net/sockstat) | {tcp_per:.0f} B |")
    print(f"<!-- idle_bytes_per_conn={per_conn:.0f} alive={alive} n={n} -->")
    return 0 if alive == n else 1


if __name__ == "__main__":
    sys.exit(main())
