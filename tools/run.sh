#!/usr/bin/env bash
# The main job, for real, on loopback:
#   1. installs what is missing and builds sipshard and sipshard-load;
#   2. starts the bundled UAS farm on 127.0.0.1:5071..5073 (the backends of
#      deploy/sipshard.toml); 5073 answers every INVITE 503, so calls that
#      hash to it fail over to the next backend;
#   3. starts sipshard on the bundled config (UDP 127.0.0.1:5060, stateful
#      serial failover) and drives a short load burst through it
#      (--calls 2000 at --rate 500 calls/s: about 4 s);
#   4. prints a summary: calls attempted/succeeded, failovers (sipshard's
#      counters, SIGUSR1 + --stats-file), the per-backend split (the
#      farm's --stats-file) and calls/s;
#   5. keeps sipshard running in the foreground (the farm behind it) until
#      Ctrl-C, or with --exit-after-burst stops it and exits: 0 when at
#      least 99% of the calls succeeded, 1 otherwise.
#
# Options: --exit-after-burst, --no-build (use an existing build),
#          --calls N, --rate CPS. SIPSHARD_BUILD_DIR picks the build
#          directory (default: build), SIPSHARD_CONFIG the config (default:
#          deploy/sipshard.toml; it must keep the farm ports). Other
#          arguments go to sipshard.
set -euo pipefail
cd "$(dirname "$0")/.."

exit_after_burst=0
build=1
calls=2000
rate=500
sipshard_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --exit-after-burst) exit_after_burst=1 ;;
    --no-build) build=0 ;;
    --calls) calls="$2"; shift ;;
    --rate) rate="$2"; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) sipshard_args+=("$1") ;;
  esac
  shift
done

build_dir="${SIPSHARD_BUILD_DIR:-build}"
config="${SIPSHARD_CONFIG:-deploy/sipshard.toml}"
target=127.0.0.1:5060
farm_endpoints=(--endpoint 127.0.0.1:5071 --endpoint 127.0.0.1:5072
                --endpoint 127.0.0.1:5073,behavior=fail)

if [[ "$build" == 1 ]]; then
  tools/install-deps.sh
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" -j"$(nproc)" --target sipshard sipshard-load
fi
sipshard="$build_dir/sipshard"
load="$build_dir/sipshard-load"
for binary in "$sipshard" "$load"; do
  [[ -x "$binary" ]] || { echo "run.sh: $binary is missing (build first)" >&2; exit 2; }
done

work=$(mktemp -d)
farm_pid=""
sipshard_pid=""
cleanup() {
  if [[ -n "$sipshard_pid" ]] && kill -0 "$sipshard_pid" 2>/dev/null; then
    kill -INT "$sipshard_pid" 2>/dev/null || true
    wait "$sipshard_pid" 2>/dev/null || true
  fi
  if [[ -n "$farm_pid" ]] && kill -0 "$farm_pid" 2>/dev/null; then
    kill -TERM "$farm_pid" 2>/dev/null || true
    wait "$farm_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

start_farm() {  # $1: stats file
  "$load" uas "${farm_endpoints[@]}" --duration 3600 --stats-file "$1" >/dev/null &
  farm_pid=$!
}
stop_farm() {
  kill -TERM "$farm_pid" 2>/dev/null || true
  wait "$farm_pid" 2>/dev/null || true
  farm_pid=""
}

echo "== starting the UAS farm: 127.0.0.1:5071 (answer), :5072 (answer), :5073 (503)"
start_farm "$work/farm.json"
echo "== starting sipshard on $config ($target)"
"$sipshard" --config "$config" --stats-file "$work/sipshard.json" "${sipshard_args[@]}" &
sipshard_pid=$!
sleep 1
kill -0 "$farm_pid" 2>/dev/null || { echo "run.sh: the UAS farm did not start (ports 5071..5073 busy?)" >&2; exit 2; }
kill -0 "$sipshard_pid" 2>/dev/null || { echo "run.sh: sipshard did not start (port 5060 busy?)" >&2; exit 2; }

echo "== load burst: $calls calls at $rate calls/s"
uac_rc=0
"$load" uac --target "$target" --rate "$rate" --calls "$calls" --duration 30 --json \
  >"$work/uac.json" 2>"$work/uac.err" || uac_rc=$?
kill -USR1 "$sipshard_pid"
stop_farm  # writes the farm's per-backend counters
for _ in $(seq 50); do [[ -s "$work/sipshard.json" ]] && break; sleep 0.1; done

success=$(python3 - "$work/uac.json" "$work/sipshard.json" "$work/farm.json" "$work/summary.txt" <<'EOF'
import json, sys

def load(path):
    try:
        with open(path) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None

uac, stats, farm = (load(p) for p in sys.argv[1:4])
if uac is None:
    print("run.sh: the load generator produced no result", file=sys.stderr)
    print("0")
    sys.exit(0)
attempted, succeeded = uac["attempted"], uac["succeeded"]
percent = 100.0 * succeeded / attempted if attempted else 0.0
out = open(sys.argv[4], "w")
print("", file=out)
print("== summary", file=out)
print(f"  calls       {attempted} attempted, {succeeded} succeeded ({percent:.2f}%), "
      f"{uac['failed']} failed, {uac['timeouts']} timed out", file=out)
print(f"  final codes {', '.join(f'{k}: {v}' for k, v in uac['final_codes'].items())}", file=out)
if stats is not None:
    t = stats["totals"]
    print(f"  failovers   {t['failovers']} (branches started {t['branches_started']}, "
          f"transactions {t['transactions_created']})", file=out)
if farm is not None:
    print("  per destination (INVITEs received → final sent):", file=out)
    total = sum(e["invites"] for e in farm["endpoints"]) or 1
    for e in farm["endpoints"]:
        finals = ", ".join(f"{k}: {v}" for k, v in e["invite_finals"].items()) or "-"
        print(f"    sip:{e['address']:<16} {e['behavior']:<7} {e['invites']:>6} INVITEs "
              f"({100.0 * e['invites'] / total:5.1f}%)  finals {finals}", file=out)
lat = uac.get("latency_ms", {}).get("invite_final", {})
print(f"  calls/s     {uac['achieved_cps']:.1f} achieved ({uac['offered_cps']:.1f} offered) "
      f"in {uac['duration_s']:.2f} s; INVITE→final p50 {lat.get('p50', 0):.2f} ms, "
      f"p99 {lat.get('p99', 0):.2f} ms", file=out)
out.close()
print(f"{percent:.4f}")
EOF
)
[[ -f "$work/summary.txt" ]] && cat "$work/summary.txt"
ok=$(python3 -c "print(1 if float('$success') >= 99.0 else 0)")

if [[ "$exit_after_burst" == 1 ]]; then
  kill -INT "$sipshard_pid" 2>/dev/null || true
  wait "$sipshard_pid" 2>/dev/null || true
  sipshard_pid=""
  if [[ "$ok" == 1 && "$uac_rc" == 0 ]]; then
    echo "== done: success >= 99%"
    exit 0
  fi
  echo "== FAILED: success ${success}% < 99% (uac exit $uac_rc; $(tail -1 "$work/uac.err" 2>/dev/null))" >&2
  exit 1
fi

[[ "$ok" == 1 ]] || echo "== warning: only ${success}% of the calls succeeded" >&2
echo "== sipshard keeps running on $target in front of the farm; Ctrl-C stops both"
start_farm "$work/farm-interactive.json"
trap 'kill -INT "$sipshard_pid" 2>/dev/null || true' INT TERM
wait "$sipshard_pid" || true
wait "$sipshard_pid" 2>/dev/null || true
sipshard_pid=""
