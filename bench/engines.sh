#!/usr/bin/env bash
# The engine benchmark: Ryoan's on-disk engines (.kch, .kct; ':' for reference) in process
# with bench/engine_bench, beside Kyoto Cabinet's HashDB and TreeDB (Debian's
# libkyotocabinet-dev, installed here when missing); then the same engines behind ktserver,
# driven by ktbench. Writes bench/ENGINES.md (not RESULTS.md, which `make bench` owns).
#
# usage: bench/engines.sh [builddir]   (default build/release; configured here with
#                                       -DRYOAN_BENCH_KC=ON, which only adds engine_bench)
# env:   ENGINES_RECORDS records of the main runs (1000000)
#        ENGINES_BIG     records of the large random-get run (10000000, or 4000000 when the
#                        estimate from the main runs exceeds ENGINES_BUDGET)
#        ENGINES_BUDGET  seconds the whole run should take (600)
#        ENGINES_TMP     directory for the database files (/tmp); everything is removed after
#        ENGINES_JOBS    build jobs (nproc)
#        BENCH_DURATION  seconds per server workload (3); BENCH_KEYS server key space (100000)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build/release}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
RECORDS=${ENGINES_RECORDS:-1000000}
BUDGET=${ENGINES_BUDGET:-600}
DURATION=${BENCH_DURATION:-3}
KEYS=${BENCH_KEYS:-100000}
OUT_MD="$ROOT/bench/ENGINES.md"

log() { echo "engines: $*" >&2; }

# --- Kyoto Cabinet: Debian's package, for the comparison only ------------------------------
if ! pkg-config --exists kyotocabinet 2>/dev/null; then
  log "installing libkyotocabinet-dev"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo -n"
  { $SUDO apt-get update -q >/dev/null &&
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
      libkyotocabinet-dev pkg-config >/dev/null; } ||
    log "could not install libkyotocabinet-dev: Kyoto Cabinet columns skipped"
fi
KC_VERSION=$(pkg-config --modversion kyotocabinet 2>/dev/null || echo "")

# --- build -------------------------------------------------------------------------------
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRYOAN_BENCH_KC=ON >/dev/null
nice cmake --build "$BUILD" -j "${ENGINES_JOBS:-$(nproc)}" --target engine_bench ktserver ktbench
ENGINE_BENCH="$BUILD/engine_bench"
KTSERVER="$BUILD/ktserver"
KTBENCH="$BUILD/ktbench"

WORK=$(mktemp -d "${ENGINES_TMP:-/tmp}/ryoan-engines.XXXXXX")
PIDS=()
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ENGINES=(mem kch kct)
if [[ -n "$KC_VERSION" ]] &&
  "$ENGINE_BENCH" --engine kc-hash --records 1000 --dir "$WORK" >/dev/null 2>&1; then
  ENGINES+=(kc-hash kc-tree)
else
  log "engine_bench was built without Kyoto Cabinet: its columns are skipped"
fi

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
RESULTS="$WORK/engines.txt"
: >"$RESULTS"
: >"$WORK/commands.txt"

# bench ARGS...: one engine_bench process (a fresh database), lines appended to RESULTS.
bench() {
  echo "engine_bench $* --dir \$TMP" >>"$WORK/commands.txt"
  log "engine_bench $*"
  "$ENGINE_BENCH" "$@" --dir "$WORK" | tee -a "$RESULTS" >&2
}

# --- in process: every workload at $RECORDS records, one thread and two ------------------
for threads in 1 2; do
  for engine in "${ENGINES[@]}"; do
    bench --engine "$engine" --records "$RECORDS" --threads "$threads"
  done
done
# Without expiration times (ktopts=p): no background sweeper, as in a bare Kyoto Cabinet.
for engine in kch kct; do
  bench --engine "$engine" --records "$RECORDS" --threads 1 --persistent \
    --workloads set-rand,get-rand
done

# --- the large database: random gets only -------------------------------------------------
# Estimate its cost from the main runs (loading at the set-seq rate, 1M gets) and fall back
# to 4M records if 10M would not fit the budget (the server runs take about 60 s).
BIG_ENGINES=()
for engine in kch kct kc-hash kc-tree; do
  [[ " ${ENGINES[*]} " == *" $engine "* ]] && BIG_ENGINES+=("$engine")
done
BIG_OPS=1000000
elapsed=$(($(date +%s) - START))
estimate() {  # estimate RECORDS: seconds for the large runs
  awk -v n="$1" -v ops="$BIG_OPS" -v list=" ${BIG_ENGINES[*]} " '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
    f["threads"] == 1 && f["records"] > 0 && index(list, " " f["engine"] " ") {
      if (f["workload"] == "set-seq") load[f["engine"]] = f["ops_per_sec"]
      if (f["workload"] == "get-rand") get[f["engine"]] = f["ops_per_sec"]
    }
    END { for (e in load) s += 1.3 * n / load[e] + ops / get[e] + 3; printf "%d\n", s }' "$RESULTS"
}
BIG=${ENGINES_BIG:-}
BIG_NOTE="$(printf "%s records (ENGINES_BIG, set by the caller)." "${ENGINES_BIG:-}")"
if [[ -z "$BIG" ]]; then
  BIG=10000000
  est=$(estimate "$BIG")
  if ((elapsed + est + 60 > BUDGET)); then
    BIG_NOTE="10M records would have taken about $est s more (estimated from the 1M load and get rates), beyond the ${BUDGET} s budget of this run; 4M records instead."
    BIG=4000000
  else
    BIG_NOTE="10M records: estimated $est s from the 1M load and get rates, within the ${BUDGET} s budget."
  fi
  log "$BIG_NOTE"
fi
for engine in "${BIG_ENGINES[@]}"; do
  bench --engine "$engine" --records "$BIG" --ops "$BIG_OPS" --threads 1 --workloads get-rand
done
if [[ "$RECORDS" != "$BIG_OPS" ]]; then
  # The latency check compares the same number of gets.
  for engine in "${BIG_ENGINES[@]}"; do
    bench --engine "$engine" --records "$RECORDS" --ops "$BIG_OPS" --threads 1 --workloads get-rand
  done
fi
INPROC_ELAPSED=$(($(date +%s) - START))

# --- through the server: ktbench, binary protocol, 16 connections -------------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  python3 - <<'PY'
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(500):
    port = random.randint(10000, max(10001, lo - 1))
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
PY
}

SERVER_JSON="$WORK/server.jsonl"
: >"$SERVER_JSON"
SERVER_CMDS=()
SERVER_NAMES=()
SERVER_PORTS=()
SERVER_PIDS=()
for db in ":" "$WORK/server.kch" "$WORK/server.kct"; do
  name=${db##*.}
  [[ "$db" != ":" ]] || name=mem
  port=$(free_port)
  cmd=("$KTSERVER" -host 127.0.0.1 -port "$port" -le "$db")
  SERVER_CMDS+=("$(printf '%q ' "${cmd[@]}" | sed "s|$ROOT/||; s|$WORK|\$TMP|g; s/ $//")")
  "${cmd[@]}" >"$WORK/ktserver-$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 100); do
    port_open "$port" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  port_open "$port" || { log "FATAL: ktserver $db did not start:"; cat "$WORK/ktserver-$name.log" >&2; exit 1; }
  SERVER_NAMES+=("$name")
  SERVER_PORTS+=("$port")
  SERVER_PIDS+=("$pid")
done
# Client and server share 2 CPUs, so one run of a workload can differ from the next by a
# fifth: the servers take turns, SERVER_ROUNDS times, and the report takes each median.
SERVER_ROUNDS=${SERVER_ROUNDS:-3}
for round in $(seq "$SERVER_ROUNDS"); do
  for i in "${!SERVER_NAMES[@]}"; do
    name=${SERVER_NAMES[$i]}
    port=${SERVER_PORTS[$i]}
    for mix in 1 0; do
      op="get"
      [[ "$mix" == 1 ]] || op="set"
      log "ktbench $name $op c16 (round $round of $SERVER_ROUNDS)"
      sleep 0.2
      "$KTBENCH" --port "$port" --protocol binary --connections 16 --mix "$mix" --keys "$KEYS" \
        --value-size 100 --duration "$DURATION" --timeout 10 --pattern random --preload --verify \
        --label "$name|$op c16" >>"$SERVER_JSON" 2>"$WORK/ktbench.log" ||
        { log "FAILED: $name $op"; cat "$WORK/ktbench.log" >&2; }
    done
  done
done
for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
ELAPSED=$(($(date +%s) - START))
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- ENGINES.md ---------------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
fs=$(df -T "$WORK" | awk 'NR == 2 {print $2 " on " $1}')
rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
{
  echo "# Engines (in-process)"
  echo
  echo "Generated by \`make bench-engines\` (bench/engines.sh): Ryoan's storage engines through its"
  echo "DB API (bench/engine_bench), beside Kyoto Cabinet's HashDB and TreeDB in the same run,"
  echo "then the same engines behind ktserver."
  echo
  echo "* Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "* Machine: $(nproc) CPUs, $cpu, $mem RAM, Linux $(uname -r); files on $fs"
  echo "* Load average before / after: $LOAD_START / $LOAD_END"
  echo "* ryoan commit: $rev (plus the working tree); Kyoto Cabinet: ${KC_VERSION:-not installed} (Debian's libkyotocabinet-dev)"
  echo "* In process $INPROC_ELAPSED s, $ELAPSED s in all"
  echo "* Large database: $BIG_NOTE"
  echo
  python3 "$ROOT/bench/engines_report.py" "$RESULTS" "$SERVER_JSON" "$RECORDS" "$BIG" "$BIG_OPS"
  echo
  echo "## Commands"
  echo
  echo "\`\$TMP\` is a fresh directory under ${ENGINES_TMP:-/tmp}, removed at the end."
  echo
  echo '```'
  cat "$WORK/commands.txt"
  for c in "${SERVER_CMDS[@]}"; do echo "$c"; done
  echo "ktbench --port <port> --protocol binary --connections 16 --mix 1|0 --keys $KEYS --value-size 100 --duration $DURATION --timeout 10 --pattern random --preload --verify"
  echo '```'
} >"$OUT_MD"
log "wrote $OUT_MD"
