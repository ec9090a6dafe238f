#!/usr/bin/env python3
"""Markdown for bench/ENGINES.md from one run of bench/engines.sh.

usage: engines_report.py ENGINE_LINES SERVER_JSONL RECORDS BIG BIG_OPS
ENGINE_LINES: engine_bench output (key=value lines); SERVER_JSONL: ktbench JSON lines labelled
"<mem|kch|kct>|<get|set> c16".
"""
import json
import sys

ENGINE_NAMES = {
    "mem": "`:` (memory)",
    "kch": "`.kch`",
    "kct": "`.kct`",
    "kc-hash": "KC HashDB",
    "kc-tree": "KC TreeDB",
    "kch-p": "`.kch` ktopts=p",
    "kct-p": "`.kct` ktopts=p",
}
WORKLOADS = ["set-seq", "set-rand", "get-seq", "get-rand"]


def load_lines(path):
    rows = []
    with open(path) as f:
        for line in f:
            fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            if "engine" not in fields:
                continue
            for k in ("records", "threads", "ops"):
                fields[k] = int(fields[k])
            for k in ("ops_per_sec", "avg_us", "p99_us"):
                fields[k] = float(fields[k])
            rows.append(fields)
    return rows


def find(rows, engine, records, threads, workload, ops=None):
    for r in rows:
        if (r["engine"], r["records"], r["threads"], r["workload"]) == (
            engine, records, threads, workload) and (ops is None or r["ops"] == ops):
            return r
    return None


def millions(n):
    return f"{n / 1e6:g}M" if n >= 1000000 else f"{n:,}"


def verdict(ok):
    return "**met**" if ok else "**not met**"


def main():
    rows = load_lines(sys.argv[1])
    server = []
    with open(sys.argv[2]) as f:
        server = [json.loads(line) for line in f if line.strip()]
    records, big, big_ops = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    engines = [e for e in ["mem", "kch", "kct", "kc-hash", "kc-tree"]
               if any(r["engine"] == e for r in rows)]
    have_kc = "kc-hash" in engines

    out = []
    p = out.append
    p("## Targets")
    p("")
    p("Ratios are operations per second, Ryoan over the reference, in the same run.")
    p("")
    p("| Target | Measured | Result |")
    p("|---|---|---|")
    if have_kc:
        for mine, ref, workload, label in [
            ("kch", "kc-hash", "get-rand", ".kch >= 1.0x KC HashDB, random get"),
            ("kch", "kc-hash", "set-rand", ".kch >= 1.0x KC HashDB, random set"),
            ("kct", "kc-tree", "get-rand", ".kct >= 1.0x KC TreeDB, random get"),
        ]:
            for threads in (1, 2):
                a = find(rows, mine, records, threads, workload, records)
                b = find(rows, ref, records, threads, workload, records)
                if not a or not b:
                    continue
                ratio = a["ops_per_sec"] / b["ops_per_sec"]
                p(f"| {label}, {millions(records)} records, {threads} thread{'s' * (threads > 1)} "
                  f"| {a['ops_per_sec']:,.0f} / {b['ops_per_sec']:,.0f} = {ratio:.2f}x "
                  f"| {verdict(ratio >= 1.0)} |")
    for engine in ["kch", "kct"]:
        small = find(rows, engine, records, 1, "get-rand", big_ops)
        large = find(rows, engine, big, 1, "get-rand", big_ops)
        if small and large:
            ratio = large["avg_us"] / small["avg_us"]
            p99 = large["p99_us"] / small["p99_us"]
            p(f"| {ENGINE_NAMES[engine]} random-get latency at {millions(big)} <= 2x that at "
              f"{millions(records)} | avg {large['avg_us']:.2f} / {small['avg_us']:.2f} us = "
              f"{ratio:.2f}x (p99 {large['p99_us']:.2f} / {small['p99_us']:.2f} us = {p99:.2f}x) "
              f"| {verdict(ratio <= 2.0)} |")
    # Each server workload runs several times (engines.sh SERVER_ROUNDS): its median counts.
    runs = {}
    for s in server:
        runs.setdefault(s["label"], []).append(s)
    by_label = {label: sorted(rs, key=lambda r: r["records_per_sec"])[len(rs) // 2]
                for label, rs in runs.items()}
    kct_set_missed = False
    for engine in ["kch", "kct"]:
        for op in ["get", "set"]:
            a, b = by_label.get(f"{engine}|{op} c16"), by_label.get(f"mem|{op} c16")
            if not a or not b:
                continue
            ratio = a["records_per_sec"] / b["records_per_sec"]
            kct_set_missed |= engine == "kct" and op == "set" and ratio < 0.8
            p(f"| ktserver {ENGINE_NAMES[engine]} {op} c16 >= 0.8x `:` | "
              f"{a['records_per_sec']:,.0f} / {b['records_per_sec']:,.0f} = {ratio:.2f}x "
              f"| {verdict(ratio >= 0.8)} |")
    p("")
    if kct_set_missed:
        p("Where the time goes (`.kct` set through ktserver): every acknowledged write is its own")
        p("LMDB commit, made on the I/O thread that received it; writers of different threads share")
        p("a commit, but on a 2-CPU machine ktserver runs one I/O thread, so there is no other")
        p("writer. A single `.kct` set is ~17,800 instructions (callgrind of engine_bench): the tree")
        p("is searched twice (mdb_get for the pre-image, then mdb_put), and the commit (~20%)")
        p("copies the path and saves the free list. What would close it: run the record writes")
        p("that one pass of the event loop collects in one transaction and send their replies")
        p("after its commit; and one tree search per set.")
        p("")

    for threads in (1, 2):
        p(f"## {millions(records)} records, {threads} thread{'s' * (threads > 1)}: "
          "ops/s (avg / p99 us per operation)")
        p("")
        p("| Workload | " + " | ".join(ENGINE_NAMES[e] for e in engines) + " |")
        p("|---" * (len(engines) + 1) + "|")
        for workload in WORKLOADS:
            cells = []
            for e in engines:
                r = find(rows, e, records, threads, workload, records)
                cells.append(f"{r['ops_per_sec']:,.0f} ({r['avg_us']:.2f} / {r['p99_us']:.2f})"
                             if r else "-")
            p(f"| {workload} | " + " | ".join(cells) + " |")
        p("")
    p("`set-seq` and `set-rand` fill a new database (keys in order, or each key once in a random")
    p("order); `get-seq` reads every key in order, `get-rand` as many uniformly random keys, on")
    p("the database `set-seq` filled. Keys are 8 bytes (the record number, big-endian), values")
    p("100 bytes; each operation is timed on its own (avg = threads x elapsed / operations).")
    p("Ryoan's engines run with the server's defaults (timed records, no ktopts=p). The records")
    p("here carry no expiration time, so the DB layer's background sweeper stands idle: it")
    p("examines records (one per write, one per 8 reads; spec/databases.md 4.5) only while some")
    p("record can expire or a kt* cap is set. `.kch` stores appends into, and reads records from,")
    p("a shared mapping of its data file (no system call per operation). `.kch` and KC HashDB get")
    p("bnum = 2 x records; everything else")
    p("is at its defaults (KC: 64 MiB mapped region for HashDB, 64 MiB page cache for TreeDB;")
    p("no synchronous writes anywhere).")
    p("")
    persistent = [r for r in rows if r["engine"].endswith("-p")]
    if persistent:
        p("### Without expiration times (ktopts=p: no sweeper), 1 thread")
        p("")
        p("| Engine | set-rand | get-rand |")
        p("|---|---|---|")
        for e in ["kch-p", "kct-p", "kch", "kct", "kc-hash", "kc-tree"]:
            cells = []
            for workload in ["set-rand", "get-rand"]:
                r = find(rows, e, records, 1, workload, records)
                cells.append(f"{r['ops_per_sec']:,.0f} ({r['avg_us']:.2f} / {r['p99_us']:.2f})"
                             if r else "-")
            if any(c != "-" for c in cells):
                p(f"| {ENGINE_NAMES[e]} | " + " | ".join(cells) + " |")
        p("")
    p(f"## Random get, {millions(records)} against {millions(big)} records, 1 thread, "
      f"{millions(big_ops)} gets")
    p("")
    p(f"| Engine | {millions(records)}: ops/s (avg / p99 us) | {millions(big)}: ops/s "
      "(avg / p99 us) | load of the large one, sets/s | avg ratio |")
    p("|---|---|---|---|---|")
    for e in ["kch", "kct", "kc-hash", "kc-tree"]:
        small = find(rows, e, records, 1, "get-rand", big_ops)
        large = find(rows, e, big, 1, "get-rand", big_ops)
        load = find(rows, e, big, 1, "load")
        if not small or not large:
            continue
        p(f"| {ENGINE_NAMES[e]} | {small['ops_per_sec']:,.0f} ({small['avg_us']:.2f} / "
          f"{small['p99_us']:.2f}) | {large['ops_per_sec']:,.0f} ({large['avg_us']:.2f} / "
          f"{large['p99_us']:.2f}) | {load['ops_per_sec']:,.0f} | "
          f"{large['avg_us'] / small['avg_us']:.2f}x |" if load else "")
    p("")
    if server:
        p("## Through the server (ktbench, binary protocol, 16 connections)")
        p("")
        rounds = max(len(rs) for rs in runs.values())
        p("One ktserver per database (default threads), each preloaded with every key; random")
        p("keys, 100-byte values, every value read verified. Client and server share the CPUs.")
        p(f"The servers took turns, {rounds} runs of each workload: the table shows the median")
        p("run, the list below it every run (records/s, in order).")
        p("")
        p("| Database | get c16: records/s (p99 us) | ratio to `:` | set c16: records/s (p99 us) "
          "| ratio to `:` |")
        p("|---|---|---|---|---|")
        for e in ["mem", "kch", "kct"]:
            cells = []
            for op in ["get", "set"]:
                a, b = by_label.get(f"{e}|{op} c16"), by_label.get(f"mem|{op} c16")
                if not a:
                    cells += ["-", "-"]
                    continue
                cells.append(f"{a['records_per_sec']:,.0f} ({a['p99_us']:.0f})")
                cells.append(f"{a['records_per_sec'] / b['records_per_sec']:.2f}x" if b else "-")
            p(f"| {ENGINE_NAMES[e]} | " + " | ".join(cells) + " |")
        p("")
        for label, rs in runs.items():
            p(f"* {label}: " + ", ".join(f"{r['records_per_sec']:,.0f}" for r in rs))
    print("\n".join(out))


if __name__ == "__main__":
    main()
