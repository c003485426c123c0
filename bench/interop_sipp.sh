#!/usr/bin/env bash
# SIPp interop over loopback: SIPp UAC -> sipshard -> SIPp UAS.
#
# sipshard runs one stateful route with record_route = true to a set of one
# destination, the SIPp UAS. The UAC places --calls calls at --rate calls/s
# (INVITE, 100/180/200, ACK, BYE/200 along the recorded route set, so the
# BYE is relayed statefully too: our Record-Route carries sx=t). The scenarios
# are bench/sipp/uac_record_route.xml and uas_record_route.xml: SIPp's
# built-in uac sends BYE to sip:service@proxy without a Route (a proxy
# answers 404) and its built-in uas drops Record-Route.
#
# Passes (exit 0) when SIPp reports every call successful (its exit code
# 0 and the Successful/Failed counts of -trace_stat) and sipshard counted
# at least one transaction per INVITE and per BYE; anything else exits 1,
# a missing tool 2. Everything runs under a 60 s bound; every process it
# started is killed on exit.
#
# Usage: bench/interop_sipp.sh [--calls N] [--rate CPS] [--sipshard PATH]
# Environment: BUILD_DIR (default build/), used when --sipshard is not given.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
CALLS=200
RATE=50
SIPSHARD=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --calls) CALLS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --sipshard) SIPSHARD=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
SIPSHARD=${SIPSHARD:-$BUILD_DIR/sipshard}
command -v sipp >/dev/null || { echo "sipp not found (tools/install-deps.sh installs sip-tester)" >&2; exit 2; }
[[ -x $SIPSHARD ]] || { echo "no sipshard binary at $SIPSHARD" >&2; exit 2; }

WORK=$(mktemp -d /tmp/sipshard-sipp.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# A UDP port on 127.0.0.1 that is free right now (distinct per call).
free_port() {
  python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PROXY_PORT=$(free_port)
UAS_PORT=$(free_port)
UAC_PORT=$(free_port)
while [[ $UAS_PORT == "$PROXY_PORT" ]]; do UAS_PORT=$(free_port); done
while [[ $UAC_PORT == "$PROXY_PORT" || $UAC_PORT == "$UAS_PORT" ]]; do UAC_PORT=$(free_port); done

cat > "$WORK/sipshard.toml" <<TOML
[server]
listen = ["udp:127.0.0.1:$PROXY_PORT"]
receive_threads = 1
shards = 2

[[sets]]
name = "sipp"
  [[sets.destinations]]
  uri = "sip:127.0.0.1:$UAS_PORT"

[[routes]]
name = "default"
action = "forward"
set = "sipp"
stateful = true
record_route = true
TOML

"$SIPSHARD" --config "$WORK/sipshard.toml" --stats-file "$WORK/stats.json" \
  >"$WORK/sipshard.log" 2>&1 &
SIPSHARD_PID=$!
PIDS+=("$SIPSHARD_PID")

timeout 60 sipp -sf "$ROOT/bench/sipp/uas_record_route.xml" -i 127.0.0.1 -p "$UAS_PORT" \
  -m "$CALLS" -nostdin -trace_err -error_file "$WORK/uas_errors.log" \
  >"$WORK/uas.out" 2>&1 &
PIDS+=("$!")

# sipshard answers OPTIONS addressed to itself once it is up (bounded wait).
if ! python3 - "$PROXY_PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(0.1)
me = "127.0.0.1:%d" % s.getsockname()[1]
probe = ("OPTIONS sip:127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKready\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:probe@%s>;tag=p\r\nTo: <sip:127.0.0.1:%d>\r\n"
         "Call-ID: ready@sipp-interop\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
         % (port, me, me, port)).encode()
deadline = time.time() + 5
while time.time() < deadline:
    s.sendto(probe, ("127.0.0.1", port))
    try:
        if s.recv(65535).startswith(b"SIP/2.0 200"):
            sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)
PY
then
  echo "FAIL: sipshard did not come up" >&2
  cat "$WORK/sipshard.log" >&2
  exit 1
fi

set +e
timeout 60 sipp -sf "$ROOT/bench/sipp/uac_record_route.xml" 127.0.0.1:"$PROXY_PORT" \
  -i 127.0.0.1 -p "$UAC_PORT" -s service -r "$RATE" -m "$CALLS" -nostdin \
  -trace_stat -stf "$WORK/uac_stat.csv" -trace_err -error_file "$WORK/uac_errors.log" \
  >"$WORK/uac.out" 2>&1
UAC_RC=$?
set -e

# The last -trace_stat line holds the cumulative counts; columns by header.
stat_column() {
  awk -F';' -v name="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
                          { v = $c } END { print (v == "" ? 0 : v) }' "$WORK/uac_stat.csv"
}
SUCCESS=0
FAILED=0
if [[ -f $WORK/uac_stat.csv ]]; then
  SUCCESS=$(stat_column SuccessfulCall\(C\))
  FAILED=$(stat_column FailedCall\(C\))
fi

# Stop sipshard (bounded): it writes its final stats at exit.
kill -TERM "$SIPSHARD_PID" 2>/dev/null || true
for _ in $(seq 1 50); do kill -0 "$SIPSHARD_PID" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$SIPSHARD_PID" 2>/dev/null || true
wait "$SIPSHARD_PID" 2>/dev/null || true
total_counter() {
  python3 - "$WORK/stats.json" "$1" <<'PY'
import json, sys
try:
    print(json.load(open(sys.argv[1]))["totals"].get(sys.argv[2], 0))
except Exception:
    print(0)
PY
}
CREATED=$(total_counter transactions_created)
IN_DIALOG=$(total_counter in_dialog_stateful)

echo "sipp uac exit=$UAC_RC successful=$SUCCESS failed=$FAILED (of $CALLS)"
echo "sipshard transactions_created=$CREATED in_dialog_stateful=$IN_DIALOG"
if [[ $UAC_RC -ne 0 || $SUCCESS -ne $CALLS || $FAILED -ne 0 || $CREATED -lt $((2 * CALLS)) ||
      $IN_DIALOG -lt $CALLS ]]; then
  echo "FAIL" >&2
  tail -n 20 "$WORK/uac_errors.log" "$WORK/uac.out" >&2 2>/dev/null || true
  exit 1
fi
echo "PASS"
