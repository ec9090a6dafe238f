#!/usr/bin/env python3
"""The issue's targets, checked against one `make bench` run (used by bench/run.sh).

  targets.py missed  RESULTS.jsonl                 label of every workload run whose target
                                                   was missed ("kt-binary|get c16 d1"), one a line
  targets.py mix     RESULTS.jsonl                 the 90:10 GET p99 check, markdown
  targets.py report  RESULTS.jsonl SYSCALLS IDLE   the Targets table, markdown
  targets.py profile PROFILE_TEXT                  summary of a `perf report` / callgrind_annotate
                                                   listing: top functions, kernel share, hints
"""

import json
import re
import sys

BASE = "memcached"
# Workload rows of the targets (names as in bench/run.sh).
D1 = {"get": "get c16 d1", "set": "set c16 d1"}
D16 = {"get": "get c16 d16", "set": "set c16 d16"}
BULK = {"get": "get bulk100 c16", "set": "set bulk100 c16"}
MIX, MIX_BASE = "mix 90:10 c16", "get c16 d1"
KT = [("kt-binary", "binary"), ("kt-http", "HTTP RPC")]


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                rows[r["label"]] = r
    return rows


def bad(r):
    return r is None or r.get("errors", 0) > 0 or r.get("mismatches", 0) > 0


def checks(rows):
    """(target text, measured text, met, label to profile or None) for the workload targets."""
    out = []

    def get(t, w):
        return rows.get(f"{t}|{w}")

    def ratio(t, w, minimum, what):
        r, b = get(t, w), get(BASE, w)
        label = f"{t}|{w}"
        if bad(r) or bad(b) or not b["records_per_sec"]:
            out.append((f"{what} ≥ {minimum:.1f}x memcached", "no clean run", False, label))
            return
        x = r["records_per_sec"] / b["records_per_sec"]
        out.append((f"{what} ≥ {minimum:.1f}x memcached",
                    f"{r['records_per_sec']:,.0f} vs {b['records_per_sec']:,.0f} rec/s = {x:.2f}x",
                    x >= minimum, label))

    for t, name in KT:
        minimum = 1.0 if t == "kt-binary" else 0.8
        for op in ("get", "set"):
            ratio(t, D1[op], minimum, f"{name} {op}, c16 d1")
    for t, name in KT:
        for op in ("get", "set"):
            r = get(t, D1[op])
            label = f"{t}|{D1[op]}"
            if bad(r):
                out.append((f"{name} {op} p99, c16 d1 < 1 ms", "no clean run", False, label))
            else:
                out.append((f"{name} {op} p99, c16 d1 < 1 ms", f"{r['p99_us']:,.0f} µs",
                            r["p99_us"] < 1000, label))
    for t, name in KT:
        for op in ("get", "set"):
            ratio(t, D16[op], 0.8, f"{name} {op}, c16 d16")
    for t, name in KT:
        for op in ("get", "set"):
            r = get(t, BULK[op])
            label = f"{t}|{BULK[op]}"
            what = f"{name} {op}_bulk of 100, c16 ≥ 2,000,000 rec/s"
            if bad(r):
                out.append((what, "no clean run", False, label))
            else:
                out.append((what, f"{r['records_per_sec']:,.0f} rec/s",
                            r["records_per_sec"] >= 2e6, label))
    for t, name in KT:
        m, g = get(t, MIX), get(t, MIX_BASE)
        label = f"{t}|{MIX}"
        what = f"{name} 90:10 mix GET p99 ≤ 1.5x read-only get p99"
        if bad(m) or bad(g) or m.get("get_p99_us") is None or g.get("get_p99_us") is None:
            out.append((what, "no clean run", False, label))
        else:
            x = m["get_p99_us"] / g["get_p99_us"]
            out.append((what, f"{m['get_p99_us']:,.0f} vs {g['get_p99_us']:,.0f} µs = {x:.2f}x",
                        x <= 1.5, label))
    return out


def cmd_missed(path):
    seen = set()
    for _, _, met, label in checks(load(path)):
        if not met and label and label not in seen:
            seen.add(label)
            print(label)


def cmd_mix(path):
    rows = load(path)
    targets = []
    for label in rows:
        t = label.split("|")[0]
        if t not in targets:
            targets.append(t)
    print(f"| server | `{MIX_BASE}` p99 (read-only) | `{MIX}` GET p99 | `{MIX}` SET p99 "
          "| GET p99 ratio | ≤ 1.5x |")
    print("|---|---:|---:|---:|---:|---|")
    for t in targets:
        m, g = rows.get(f"{t}|{MIX}"), rows.get(f"{t}|{MIX_BASE}")
        if bad(m) or bad(g) or m.get("get_p99_us") is None or g.get("get_p99_us") is None:
            print(f"| {t} | – | – | – | – | no clean run |")
            continue
        x = m["get_p99_us"] / g["get_p99_us"]
        sp = m.get("set_p99_us")
        print(f"| {t} | {g['get_p99_us']:,.1f} µs | {m['get_p99_us']:,.1f} µs | "
              f"{'–' if sp is None else f'{sp:,.1f} µs'} | {x:.2f}x | {'yes' if x <= 1.5 else 'no'} |")


def cmd_report(path, syscalls_path, idle_path):
    rows = checks(load(path))
    # bench/syscalls.sh rows: | protocol | depth | requests | syscalls | per request | ... |
    sc = {}
    try:
        with open(syscalls_path) as f:
            for line in f:
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if len(cells) >= 5 and cells[1].isdigit():
                    sc[(cells[0], int(cells[1]))] = float(cells[4])
    except OSError:
        pass
    for proto, name in (("http", "HTTP keep-alive"), ("binary", "binary")):
        for depth, limit in ((1, 2.2), (16, 0.25)):
            v = sc.get((proto, depth))
            what = f"{name} syscalls per request, depth {depth} ≤ {limit}"
            rows.append((what, "not measured" if v is None else f"{v:.2f}",
                         v is not None and v <= limit, None))
    idle = {}
    try:
        with open(idle_path) as f:
            m = re.search(r"idle_bytes_per_conn=(-?\d+) alive=(\d+) n=(\d+)", f.read())
            if m:
                idle = {"bytes": int(m.group(1)), "alive": int(m.group(2)), "n": int(m.group(3))}
    except OSError:
        pass
    if idle:
        rows.append(("10,000 concurrent keep-alive connections held",
                     f"{idle['alive']:,} of {idle['n']:,} held",
                     idle["n"] >= 10000 and idle["alive"] == idle["n"], None))
        rows.append(("server memory per idle connection ≤ 4 KiB (original: ~4.2 KiB)",
                     f"{idle['bytes']:,} B ({idle['bytes'] / 1024:.2f} KiB)",
                     idle["bytes"] <= 4096, None))
    else:
        rows.append(("10,000 concurrent keep-alive connections held", "not measured", False, None))
        rows.append(("server memory per idle connection ≤ 4 KiB", "not measured", False, None))
    print("| target | measured | met |")
    print("|---|---:|---|")
    for what, measured, met, _ in rows:
        print(f"| {what} | {measured} | {'met' if met else '**not met**'} |")
    n_met = sum(1 for r in rows if r[2])
    print()
    print(f"{n_met} of {len(rows)} met.")


# What a function near the top of a server profile usually means, and the lever.
HINTS = [
    (r"FindLink|HashEngine|TreeEngine|Bucket", "the record lookup itself (hash chain walk / "
     "tree descent): longer chains than needed or cache misses per probe; a larger bucket array "
     "or a cheaper key compare would shorten it"),
    (r"pthread_mutex|futex|__lll_lock", "lock acquisition: threads contend on a shared mutex "
     "(database or bucket lock); finer-grained or reader-shared locking would cut it"),
    (r"malloc|free|_int_malloc|_int_free|operator new|operator delete",
     "allocation per request; reusing per-connection buffers would remove it"),
    (r"memmove|memcpy|memcmp|copy_from_iter|copy_to_iter|copy_user",
     "copying bytes (socket buffers, values, keys); fewer copies per record would help"),
    (r"finish_task_switch|schedule|__switch_to|raw_spin_unlock_irqrestore|try_to_wake_up",
     "scheduler work: threads sleep and are woken per request (client and server share the "
     "CPUs); fewer wakeups (handling more per epoll round, fewer handoffs) would cut it"),
    (r"tcp_|ip_|__dev_queue_xmit|net_rx|loopback|skb|sock_",
     "the kernel's TCP loopback path, paid per send/recv: fewer, larger system calls are the lever"),
    (r"epoll|ep_poll|do_epoll", "epoll bookkeeping; fewer epoll_wait/epoll_ctl calls per request"),
    (r"entry_SYSCALL|syscall_exit|irqentry_exit|do_syscall", "system call entry/exit overhead: "
     "fewer system calls per request"),
]


def cmd_profile(path):
    """Parses "  12.34%  [k] symbol" (perf) or "1,234 (12.34%)  file:symbol [obj]" (callgrind)."""
    entries = []
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*([\d.]+)%\s+\[(.)\]\s+(.+?)\s*$", line)
            if m:
                entries.append((float(m.group(1)), m.group(2) == "k", m.group(3)))
                continue
            m = re.match(r"\s*[\d,]+\s+\(\s*([\d.]+)%\)\s+(.+?)(\s+\[.*\])?\s*$", line)
            if m and "PROGRAM TOTALS" not in line:
                # "file:function(args) [obj]": keep the function's name.
                sym = re.sub(r"^(\?\?\?|[^:(]*\.(cc|cpp|h|hpp|c|S)):", "", m.group(2)).split("(")[0]
                entries.append((float(m.group(1)), False, sym))
    if not entries:
        print("(no profile samples)")
        return
    kernel = sum(p for p, k, _ in entries if k)
    user = sum(p for p, k, _ in entries if not k)
    print("| share | where | function |")
    print("|---:|---|---|")
    for p, k, sym in entries[:10]:
        print(f"| {p:.1f}% | {'kernel' if k else 'user'} | `{sym[:90]}` |")
    print()
    if any(k for _, k, _ in entries):
        print(f"Kernel {kernel:.0f}% / user {user:.0f}% of the server's samples "
              "(functions under 0.05% not counted).", end=" ")
    told = set()
    notes = []
    for p, _, sym in entries[:6]:
        for pattern, hint in HINTS:
            if re.search(pattern, sym) and hint not in told:
                told.add(hint)
                notes.append(f"`{sym[:60]}` ({p:.1f}%): {hint}")
                break
    if notes:
        print("Reading the top of the profile: " + "; ".join(notes) + ".")
    else:
        print()


def main(argv):
    if len(argv) >= 3 and argv[1] == "missed":
        cmd_missed(argv[2])
    elif len(argv) >= 3 and argv[1] == "mix":
        cmd_mix(argv[2])
    elif len(argv) >= 5 and argv[1] == "report":
        cmd_report(argv[2], argv[3], argv[4])
    elif len(argv) >= 3 and argv[1] == "profile":
        cmd_profile(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
