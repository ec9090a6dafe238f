#!/usr/bin/env bash
# Counts the server's system calls per request with strace -c -f over 20,000 requests, for
# HTTP keep-alive and binary at pipeline depth 1 and 16 (16 connections).
# usage: bench/syscalls.sh <builddir>   (needs strace; installs it if missing)
set -euo pipefail
build=${1:-build/release}
command -v strace >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq strace >/dev/null; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$build/ktserver" -host 127.0.0.1 -port "$port" -le : >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 0.5
"$build/ktbench" --port "$port" --protocol binary --preload --keys 1000 --ops 1000 >/dev/null 2>&1
printf '| protocol | depth | requests | syscalls | per request |\n|---|---:|---:|---:|---:|\n'
for protocol in http binary; do
  for depth in 1 16; do
    out=$(mktemp)
    strace -c -f -p "$server" -o "$out" 2>"$out.err" &
    tracer=$!
    # Start the load only once strace is attached to every thread.
    for _ in $(seq 100); do grep -q attached "$out.err" 2>/dev/null && break; sleep 0.05; done
    sleep 0.3
    "$build/ktbench" --port "$port" --protocol "$protocol" --connections 16 --depth "$depth" \
      --keys 1000 --mix 1 --ops 20000 >/dev/null 2>&1
    sleep 0.2
    kill -INT $tracer; wait $tracer 2>/dev/null || true
    calls=$(awk '$NF=="total" {print $4}' "$out")
    printf '| %s | %d | 20000 | %d | %.2f |\n' "$protocol" "$depth" "$calls" "$(echo "$calls / 20000" | bc -l)"
    rm -f "$out" "$out.err"
  done
done
