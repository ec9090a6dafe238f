#!/usr/bin/env bash
# Counts the server's system calls per request with strace -c -f over 20,000 requests, for
# HTTP keep-alive and binary at pipeline depth 1 and 16 (16 connections), and names the
# calls that make up the figure.
# usage: bench/syscalls.sh <builddir>   (needs strace; installs it if missing)
# Prints a markdown table; exits non-zero if the server or a run fails.
set -euo pipefail
build=${1:-build/release}
requests=20000
log() { echo "syscalls: $*" >&2; }
if ! command -v strace >/dev/null; then
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo -n"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq strace >/dev/null ||
    { log "strace is missing and could not be installed"; exit 1; }
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
work=$(mktemp -d /tmp/ryoan-syscalls.XXXXXX)
"$build/ktserver" -host 127.0.0.1 -port "$port" -le : >"$work/server.log" 2>&1 &
server=$!
tracer=""
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  [[ -z "$tracer" ]] || kill "$tracer" 2>/dev/null || true
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  log "ktserver did not start on port $port"
  cat "$work/server.log" >&2
  exit 1
fi
"$build/ktbench" --port "$port" --protocol binary --preload --keys 1000 --ops 1000 >/dev/null 2>&1 ||
  { log "preload failed"; exit 1; }
printf '| protocol | depth | requests | syscalls | per request | calls per request |\n'
printf '|---|---:|---:|---:|---:|---|\n'
for protocol in http binary; do
  for depth in 1 16; do
    out="$work/strace.$protocol.$depth"
    strace -c -f -p "$server" -o "$out" 2>"$out.err" &
    tracer=$!
    # Start the load only once strace is attached to every thread.
    for _ in $(seq 100); do grep -q attached "$out.err" 2>/dev/null && break; sleep 0.05; done
    sleep 0.3
    if ! "$build/ktbench" --port "$port" --protocol "$protocol" --connections 16 --depth "$depth" \
      --keys 1000 --mix 1 --ops "$requests" >/dev/null 2>"$work/run.log"; then
      log "ktbench $protocol depth $depth failed: $(tail -1 "$work/run.log")"
      exit 1
    fi
    sleep 0.2
    kill -INT "$tracer"
    wait "$tracer" 2>/dev/null || true
    tracer=""
    calls=$(awk '$NF=="total" {print $4}' "$out")
    [[ -n "$calls" ]] || { log "no strace summary for $protocol depth $depth"; exit 1; }
    # The calls behind the figure, most frequent first: "name per-request".
    detail=$(awk -v n="$requests" '$1 ~ /^[0-9.]+$/ && $NF != "total" && $4 ~ /^[0-9]+$/ {
        printf "%d %s %.2f\n", $4, $NF, $4 / n }' "$out" | sort -rn | head -5 |
      awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $3}')
    printf '| %s | %d | %d | %d | %.2f | %s |\n' "$protocol" "$depth" "$requests" "$calls" \
      "$(echo "$calls / $requests" | bc -l)" "$detail"
  done
done
