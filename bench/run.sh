#!/usr/bin/env bash
# The standard benchmark: ktserver (binary, HTTP RPC, REST) beside memcached (text protocol)
# and redis (RESP) on loopback, all driven by ktbench with the same workloads, written to
# bench/RESULTS.md (table) and bench/results.jsonl (one ktbench JSON line per run).
#
# usage: bench/run.sh [builddir]   (builddir holds ktserver and ktbench; default build/release)
# env:   BENCH_DURATION seconds per workload (3), BENCH_KEYS key space (100000)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build/release}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
KTSERVER="$BUILD/ktserver"
KTBENCH="$BUILD/ktbench"
DURATION=${BENCH_DURATION:-3}
KEYS=${BENCH_KEYS:-100000}
OUT_MD="$ROOT/bench/RESULTS.md"
OUT_JSON="$ROOT/bench/results.jsonl"
WORK=$(mktemp -d /tmp/ryoan-bench.XXXXXX)

log() { echo "bench: $*" >&2; }

[[ -x "$KTBENCH" ]] || { log "no $KTBENCH (build it first: make build)"; exit 1; }
[[ -x "$KTSERVER" ]] || { log "no $KTSERVER (build it first: make build)"; exit 1; }

# --- reference servers: Debian's packages, installed only when missing ---------------------
missing=()
command -v memcached >/dev/null || missing+=(memcached)
command -v redis-server >/dev/null || missing+=(redis-server)
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo -n"
  if ! { $SUDO apt-get update -q >/dev/null &&
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
      "${missing[@]}" >/dev/null; }; then
    log "could not install ${missing[*]}; those rows will be missing"
  fi
fi

# --- servers ------------------------------------------------------------------------------
PIDS=()
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    if ! port_open "$p"; then
      echo "$p"
      return
    fi
  done
  log "no free port"
  exit 1
}

# wait_port PORT PID NAME: until the server accepts connections (10 s at most).
wait_port() {
  for _ in $(seq 100); do
    port_open "$1" && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  log "$3 did not start on port $1"
  return 1
}

KT_PORT=$(free_port)
KT_CMD=("$KTSERVER" -host 127.0.0.1 -port "$KT_PORT" -th 8 -le :)
"${KT_CMD[@]}" >"$WORK/ktserver.log" 2>&1 &
PIDS+=($!)
wait_port "$KT_PORT" $! ktserver || { cat "$WORK/ktserver.log" >&2; exit 1; }

MC_PORT="" MC_CMD=()
if command -v memcached >/dev/null; then
  MC_PORT=$(free_port)
  MC_CMD=(memcached -l 127.0.0.1 -p "$MC_PORT" -t 2 -U 0 -m 1024)
  # memcached refuses to run as root unless told which user to be.
  [[ $(id -u) -ne 0 ]] || MC_CMD+=(-u root)
  "${MC_CMD[@]}" >"$WORK/memcached.log" 2>&1 &
  PIDS+=($!)
  wait_port "$MC_PORT" $! memcached || MC_PORT=""
fi

RD_PORT="" RD_CMD=()
if command -v redis-server >/dev/null; then
  RD_PORT=$(free_port)
  RD_CMD=(redis-server --bind 127.0.0.1 --port "$RD_PORT" --save "" --appendonly no)
  "${RD_CMD[@]}" >"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  wait_port "$RD_PORT" $! redis-server || RD_PORT=""
fi

# --- targets: name, port, ktbench protocol --------------------------------------------------
TARGETS=()
probe() {  # probe NAME PORT PROTOCOL: keep the target if one verified write+read works
  if "$KTBENCH" --port "$2" --protocol "$3" --keys 10 --ops 20 --mix 0.5 --preload --verify \
    >/dev/null 2>"$WORK/probe.log"; then
    TARGETS+=("$1:$2:$3")
  else
    log "$1 does not work, skipped: $(tail -1 "$WORK/probe.log")"
  fi
}
[[ -z "$MC_PORT" ]] || probe memcached "$MC_PORT" memcached
probe kt-binary "$KT_PORT" binary
probe kt-http "$KT_PORT" http
probe kt-rest "$KT_PORT" rest
[[ -z "$RD_PORT" ]] || probe redis "$RD_PORT" redis

# --- workloads: name and ktbench arguments (random keys; value 100 bytes unless given) --------
WORKLOADS=(
  "get c1 d1|--mix 1 --connections 1 --depth 1"
  "get c16 d1|--mix 1 --connections 16 --depth 1"
  "get c1 d16|--mix 1 --connections 1 --depth 16"
  "get c16 d16|--mix 1 --connections 16 --depth 16"
  "set c1 d1|--mix 0 --connections 1 --depth 1"
  "set c16 d1|--mix 0 --connections 16 --depth 1"
  "set c1 d16|--mix 0 --connections 1 --depth 16"
  "set c16 d16|--mix 0 --connections 16 --depth 16"
  "get bulk100 c16|--mix 1 --connections 16 --bulk 100"
  "set bulk100 c16|--mix 0 --connections 16 --bulk 100"
  "mix 90:10 c16|--mix 0.9 --connections 16"
  "get v8 c16|--mix 1 --connections 16 --value-size 8"
  "set v8 c16|--mix 0 --connections 16 --value-size 8"
  "get v1000 c16|--mix 1 --connections 16 --value-size 1000"
  "set v1000 c16|--mix 0 --connections 16 --value-size 1000"
)
COMMON=(--keys "$KEYS" --duration "$DURATION" --timeout 10 --pattern random --preload --verify)

: >"$OUT_JSON"
: >"$WORK/commands.txt"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
failures=0
for w in "${WORKLOADS[@]}"; do
  name=${w%%|*}
  read -r -a args <<<"${w#*|}"
  for t in "${TARGETS[@]}"; do
    IFS=: read -r tname tport tproto <<<"$t"
    cmd=("$KTBENCH" --port "$tport" --protocol "$tproto" "${COMMON[@]}" "${args[@]}"
      --label "$tname|$name")
    echo "ktbench --port $tport --protocol $tproto ${COMMON[*]} ${args[*]} --label '$tname|$name'" \
      >>"$WORK/commands.txt"
    # Every server gets a moment to settle (background flushes, freed connections).
    sleep 0.2
    if ! "${cmd[@]}" >>"$OUT_JSON" 2>"$WORK/run.log"; then
      failures=$((failures + 1))
      log "FAILED: $tname $name: $(grep -v '^preload' "$WORK/run.log" | tail -2 | tr '\n' ' ')"
    fi
    grep -v '^preload' "$WORK/run.log" >&2 || true
  done
done
ELAPSED=$(($(date +%s) - START))
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- RESULTS.md -----------------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
mc_ver=$(memcached -V 2>/dev/null || echo "n/a")
rd_ver=$(redis-server --version 2>/dev/null | awk '{print $3}' || echo "n/a")
rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
target_names=""
for t in "${TARGETS[@]}"; do target_names+="${t%%:*} "; done
workload_names=""
for w in "${WORKLOADS[@]}"; do workload_names+="${w%%|*};"; done

{
  echo "# Benchmark results"
  echo
  echo "Generated by \`make bench\` (bench/run.sh). Every figure is from the same run: ktserver,"
  echo "memcached and redis on loopback, each driven by \`ktbench\` with identical workloads."
  echo
  echo "* Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "* Machine: $(nproc) CPUs, $cpu, $mem RAM, Linux $(uname -r)"
  echo "* Load average before / after: $LOAD_START / $LOAD_END (client and servers share the CPUs)"
  echo "* ryoan commit: $rev; memcached: $mc_ver; redis: $rd_ver"
  echo "* $DURATION s per workload, $KEYS random keys, values 100 bytes unless stated, $ELAPSED s in all; $failures failed run(s)"
  echo
  echo "## Servers"
  echo
  echo '```'
  printf '%q ' "${KT_CMD[@]}" | sed "s|$ROOT/||; s/ $//"
  echo
  [[ ${#MC_CMD[@]} -eq 0 ]] || { printf '%q ' "${MC_CMD[@]}" | sed 's/ $//'; echo; }
  [[ ${#RD_CMD[@]} -eq 0 ]] || { printf '%q ' "${RD_CMD[@]}" | sed 's/ $//'; echo; }
  echo '```'
  echo
  echo "## Records per second (ratio to memcached)"
  echo
  echo "A *record* is one key read or written: with --bulk 100 one request carries 100. \`cN\` ="
  echo "N connections, \`dN\` = N requests sent back to back per connection before the replies are"
  echo "read. Every run preloads all keys and verifies every value read (--preload --verify)."
  echo
  awk -v targets="$target_names" -v workloads="$workload_names" -v metric=records_per_sec \
    -f "$ROOT/bench/table.awk" "$OUT_JSON"
  echo
  echo "## p99 latency per request, microseconds"
  echo
  awk -v targets="$target_names" -v workloads="$workload_names" -v metric=p99_us \
    -f "$ROOT/bench/table.awk" "$OUT_JSON"
  echo
  echo "## How each protocol does a request"
  echo
  echo "* kt-binary: get = get_bulk (0xBA) with 1 key, set = set_bulk (0xB8) with 1 record;"
  echo "  bulk = one get_bulk / set_bulk of 100."
  echo "* kt-http: get = \`GET /rpc/get?key=...\`, set = \`POST /rpc/set\` with a TSV body;"
  echo "  bulk = \`POST /rpc/get_bulk\` / \`/rpc/set_bulk\` with 100 \`_key\` records."
  echo "* kt-rest: \`GET /key\`, \`PUT /key\`; REST has no bulk call, so bulk = 100 requests"
  echo "  sent back to back."
  echo "* memcached: text protocol \`get\` / \`set\`; bulk = one \`get k1 ... k100\`, or 100"
  echo "  \`set\` commands sent back to back."
  echo "* redis: RESP \`GET\` / \`SET\`; bulk = \`MGET\` / \`MSET\` of 100 (ktbench's own RESP"
  echo "  client, not redis-benchmark)."
  echo
  echo "Observed: memcached 1.6 answers pipelined single-key \`get\`s with one \`sendmsg\` per"
  echo "reply, which is why its \`get d16\` rows gain little from pipelining; its multi-key"
  echo "\`get\` (the bulk rows) is the fast path. A busy machine (see the load average above)"
  echo "makes single runs noisy: compare rows within one run, not across runs."
  echo
  echo "## Commands"
  echo
  echo "Raw figures: bench/results.jsonl. ktbench runs, in order:"
  echo
  echo '```'
  cat "$WORK/commands.txt"
  echo '```'
} >"$OUT_MD"
log "wrote $OUT_MD ($ELAPSED s, $failures failed)"
exit $((failures > 0))
