#!/usr/bin/env bash
# Stateless forwarding over loopback: throughput and CPU per forwarded
# message of the sipshard process, at light and at heavy load.
#
# Starts sipshard (default: 1 receive thread, 1 shard) with a temporary
# config that forwards every request statelessly to one backend, then runs
# sipshard-udp-bench (client + backend in one process) twice:
#   light  paced at --light-rate requests/s (default 1000) for --duration s;
#   heavy  as fast as a window of --window outstanding transactions allows.
# Each transaction is 2 forwarded messages (request and response) and
# 4 datagrams through the proxy. The proxy's CPU comes from
# /proc/PID/task/*/schedstat over the measured interval (1 s warm-up
# excluded); wake-ups come from its counters (SIGUSR1 stats dump).
# The route forwards with record_route = true (as the bundled config does)
# unless --record-route false is given.
#
# Usage: bench/stateless_forwarding.sh [--shards N] [--receive-threads M]
#          [--message options|invite] [--duration S] [--light-rate N]
#          [--window N] [--record-route true|false] [--no-build]
# Environment: BUILD_DIR (default build/), JOBS (build parallelism).
# Total runtime about 2 * (duration + 2) s plus the build.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
SHARDS=1
RECEIVE_THREADS=1
MESSAGE=options
DURATION=10
LIGHT_RATE=1000
WINDOW=64
RECORD_ROUTE=true
BUILD=1

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --shards) SHARDS=$2; shift 2 ;;
    --receive-threads) RECEIVE_THREADS=$2; shift 2 ;;
    --message) MESSAGE=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --light-rate) LIGHT_RATE=$2; shift 2 ;;
    --window) WINDOW=$2; shift 2 ;;
    --record-route) RECORD_ROUTE=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "stateless_forwarding.sh: unknown argument $1" >&2; usage >&2; exit 1 ;;
  esac
done

WORK=$(mktemp -d /tmp/sipshard-bench-XXXXXX)
PROXY_PID=
TOOL_PID=
cleanup() {
  trap - EXIT INT TERM
  if [[ -n $TOOL_PID ]] && kill -0 "$TOOL_PID" 2>/dev/null; then
    kill -TERM "$TOOL_PID" 2>/dev/null || true
    wait "$TOOL_PID" 2>/dev/null || true
  fi
  if [[ -n $PROXY_PID ]] && kill -0 "$PROXY_PID" 2>/dev/null; then
    kill -TERM "$PROXY_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$PROXY_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ $BUILD == 1 ]]; then
  if ! { [[ -f $BUILD_DIR/CMakeCache.txt ]] ||
         cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo; } \
         >"$WORK/build.log" 2>&1 ||
     ! cmake --build "$BUILD_DIR" --target sipshard sipshard-udp-bench ${JOBS:+-j "$JOBS"} \
         >>"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log" >&2
    exit 1
  fi
fi
SIPSHARD=$BUILD_DIR/sipshard
TOOL=$BUILD_DIR/sipshard-udp-bench
for binary in "$SIPSHARD" "$TOOL"; do
  [[ -x $binary ]] || { echo "stateless_forwarding.sh: $binary is missing" >&2; exit 1; }
done

{ read -r PROXY_PORT; read -r BACKEND_PORT; } < <("$TOOL" --print-free-ports 2)
cat >"$WORK/sipshard.toml" <<EOF
[server]
listen = ["udp:127.0.0.1:$PROXY_PORT"]
receive_threads = $RECEIVE_THREADS
shards = $SHARDS
log_level = "warning"

[[sets]]
name = "backend"
  [[sets.destinations]]
  uri = "sip:127.0.0.1:$BACKEND_PORT"

[[routes]]
name = "default"
action = "forward"
set = "backend"
stateful = false
record_route = $RECORD_ROUTE
EOF
"$SIPSHARD" --check-config "$WORK/sipshard.toml" >/dev/null

"$SIPSHARD" --config "$WORK/sipshard.toml" --stats-file "$WORK/stats.json" \
  2>"$WORK/sipshard.log" &
PROXY_PID=$!

echo "sipshard stateless forwarding: $RECEIVE_THREADS receive thread(s), $SHARDS shard(s)," \
     "$MESSAGE, record_route = $RECORD_ROUTE, ${DURATION} s per load"
echo "host: $(nproc) CPUs, kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# Runs the tool with load arguments $2...; leaves its JSON line in $WORK/$1.json.
run_load() {
  local name=$1
  shift
  "$TOOL" --proxy "127.0.0.1:$PROXY_PORT" --backend "127.0.0.1:$BACKEND_PORT" \
    --message "$MESSAGE" --duration "$DURATION" --warmup 1 \
    --proxy-pid "$PROXY_PID" --proxy-stats "$WORK/stats.json" --json "$@" \
    >"$WORK/$name.json" &
  TOOL_PID=$!
  local rc=0
  wait "$TOOL_PID" || rc=$?
  TOOL_PID=
  if [[ $rc != 0 ]] || ! kill -0 "$PROXY_PID" 2>/dev/null; then
    echo "stateless_forwarding.sh: the run failed (tool exit $rc); sipshard log:" >&2
    cat "$WORK/sipshard.log" >&2
    exit 1
  fi
}

# Extracts a flat numeric or string field from a JSON line.
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2"; }

run_load light --rate "$LIGHT_RATE"
run_load heavy --window "$WINDOW"
LIGHT=$(cat "$WORK/light.json")
HEAVY=$(cat "$WORK/heavy.json")

printf '\n%-18s %11s %11s %6s %8s %8s %8s %12s %10s %10s\n' \
  load "fwd msgs/s" "answered/s" lost "p50 µs" "p99 µs" "CPU %" "CPU µs/fwd" "wakeups/fwd" "vol.sw/fwd"
for run in light heavy; do
  json=$LIGHT; label="light ${LIGHT_RATE}/s"
  if [[ $run == heavy ]]; then json=$HEAVY; label="heavy window ${WINDOW}"; fi
  printf '%-18s %11s %11s %6s %8s %8s %8s %12s %10s %10s\n' "$label" \
    "$(field forwarded_per_s "$json")" "$(field transactions_per_s "$json")" \
    "$(field lost "$json")" "$(field latency_p50_us "$json")" "$(field latency_p99_us "$json")" \
    "$(field proxy_cpu_percent "$json")" "$(field proxy_cpu_us_per_forwarded "$json")" \
    "$(field proxy_wakeups_per_forwarded "$json")" \
    "$(field proxy_voluntary_switches_per_forwarded "$json")"
done
echo
echo "fwd = forwarded message (request or response; 2 per transaction, 4 datagrams through the proxy)."
echo "CPU = the sipshard process (all threads); raw results per run:"
echo "light: $LIGHT"
echo "heavy: $HEAVY"
