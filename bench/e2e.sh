#!/usr/bin/env bash
# bench/e2e.sh: end-to-end benchmark of sipshard, optionally side by side
# with Kamailio, on loopback.
#
# What it does, in one run:
#   1. builds build/sipshard and build/sipshard-load if needed;
#   2. starts a UAS farm of 3 endpoints (sipshard-load uas) on 127.0.0.1;
#   3. for each proxy: starts it, warms it up, runs the UAC (sipshard-load
#      uac, INVITE/100/180/200/ACK/BYE/200 through Record-Route) at each
#      fixed rate, then (with --ramp) searches for the highest rate with
#      >= 99.9% success, then stops it;
#   4. prints a table and writes JSON: CPU microseconds per completed call
#      of the proxy (utime+stime of all its processes from /proc over the
#      point, drain included, divided by completed calls), max calls/s,
#      INVITE latency percentiles, and the generator's own CPU (UAC and farm).
#
# With --compare kamailio the same farm and generator, in the same run and
# at the same rates, drive Kamailio (Debian package, installed if missing)
# twice: with the package defaults (qm allocator, tm wt_timer 5 s) and
# tuned (-x fm, tm wt_timer 1 s). Configs: bench/kamailio/{stateless,
# stateful}.cfg; children = sipshard's receive threads + shards. Ratios are
# quoted against the tuned Kamailio (and the defaults for reference).
# Kamailio is only a comparison target, never a dependency of sipshard.
#
# Usage: bench/e2e.sh [options]
#   --mode stateless|stateful  forwarding mode of both proxies (default
#                              stateless). A sipshard build that refuses
#                              stateful routes is reported as "sipshard:
#                              stateful not available in this build".
#   --compare kamailio         also run Kamailio (default and tuned)
#   --rates R1,R2,...          fixed offered rates in calls/s (default 1000,2000)
#   --ramp                     also find the max rate with >= --min-success
#   --duration S               seconds of load per fixed point, 1..20 (default 10)
#   --ramp-duration S          seconds per ramp step, 1..20 (default 5)
#   --ramp-max CPS             highest rate the ramp tries (default 64000)
#   --min-success PCT          success threshold of the ramp (default 99.9)
#   --shards N                 sipshard shards (default 1)
#   --receive-threads M        sipshard receive threads (default 1)
#   --config FILE              run sipshard on FILE instead of a generated
#                              config; listen address, threads and the farm
#                              (destinations of the first forward route) are
#                              read from it and must be on 127.0.0.0/8
#   --gen-threads T            UAC threads (default: the generator's)
#   --drain S                  seconds after the load that still count, so
#                              that lingering transactions are freed inside
#                              the window (default 1 stateless, 6 stateful:
#                              Kamailio's default wt_timer is 5 s); load +
#                              drain must fit the 30 s point limit
#   --warmup S                 unmeasured seconds before each proxy's
#                              first point (default 2, 0 = none)
#   --base-port P              sipshard P, Kamailio P+20, farm P+11..P+13
#                              (default 25060)
#   --json FILE                write the results as JSON to FILE
#   --build-dir DIR            build directory (default build)
#   --no-build                 use the binaries as they are
#   --keep                     keep the work directory (logs, configs)
#   --failing-backend          the last farm endpoint answers every INVITE
#                              503: a failover-heavy run (about a third of
#                              the calls fail over), to set beside a clean one
# Environment: SIPSHARD_LOAD=PATH uses another sipshard-load binary.
# Needs: python3 >= 3.11, ss (iproute2), setsid and timeout (util-linux,
# coreutils); root only to install Kamailio.
#
# Examples:
#   bench/e2e.sh --rates 1000,2000,4000 --ramp --compare kamailio --json e2e.json
#   bench/e2e.sh --mode stateful --compare kamailio --rates 1000
#
# Bounds: each point runs at most 30 s (load + drain; the UAC is stopped
# with SIGINT at the limit), the whole run at most 10 minutes (points that
# would not fit are skipped and reported as skipped). Everything listens on
# 127.0.0.1. Every process started here runs in its own process group and is
# killed on exit, error, Ctrl-C or SIGTERM.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# ---------------------------------------------------------------- options
MODE=stateless
COMPARE=""
RATES="1000,2000"
RAMP=0
DURATION=10
RAMP_DURATION=5
RAMP_MAX=64000
MIN_SUCCESS=99.9
SHARDS=1
RECV_THREADS=1
CONFIG=""
GEN_THREADS=""
WARMUP=2
BASE_PORT=25060
JSON_OUT=""
BUILD_DIR=build
NO_BUILD=0
KEEP=0
FAILING_BACKEND=0
DRAIN_S=""
T1_MS=500
KAM_SHM_MB=256
KAM_PKG_MB=16
POINT_LIMIT_S=30
RUN_LIMIT_S=590

die() { echo "e2e: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
need_value() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"; }
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

SHARDS_SET=0
RECV_SET=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mode) need_value "$@"; MODE=$2; shift 2 ;;
    --compare) need_value "$@"; COMPARE=$2; shift 2 ;;
    --rates) need_value "$@"; RATES=$2; shift 2 ;;
    --ramp) RAMP=1; shift ;;
    --duration) need_value "$@"; DURATION=$2; shift 2 ;;
    --ramp-duration) need_value "$@"; RAMP_DURATION=$2; shift 2 ;;
    --ramp-max) need_value "$@"; RAMP_MAX=$2; shift 2 ;;
    --min-success) need_value "$@"; MIN_SUCCESS=$2; shift 2 ;;
    --shards) need_value "$@"; SHARDS=$2; SHARDS_SET=1; shift 2 ;;
    --receive-threads) need_value "$@"; RECV_THREADS=$2; RECV_SET=1; shift 2 ;;
    --config) need_value "$@"; CONFIG=$2; shift 2 ;;
    --gen-threads) need_value "$@"; GEN_THREADS=$2; shift 2 ;;
    --warmup) need_value "$@"; WARMUP=$2; shift 2 ;;
    --drain) need_value "$@"; DRAIN_S=$2; shift 2 ;;
    --base-port) need_value "$@"; BASE_PORT=$2; shift 2 ;;
    --json) need_value "$@"; JSON_OUT=$2; shift 2 ;;
    --build-dir) need_value "$@"; BUILD_DIR=$2; shift 2 ;;
    --no-build) NO_BUILD=1; shift ;;
    --keep) KEEP=1; shift ;;
    --failing-backend) FAILING_BACKEND=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

[[ "$MODE" == stateless || "$MODE" == stateful ]] || die "--mode must be stateless or stateful"
[[ -z "$COMPARE" || "$COMPARE" == kamailio ]] || die "--compare supports only 'kamailio'"
[[ "$RATES" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--rates must be a comma-separated list of integers"
IFS=, read -r -a RATE_LIST <<<"$RATES"
for r in "${RATE_LIST[@]}"; do (( r >= 1 )) || die "rates must be >= 1"; done
for v in DURATION RAMP_DURATION; do
  opt=${v,,}
  is_uint "${!v}" && (( ${!v} >= 1 && ${!v} <= 20 )) || die "--${opt//_/-} must be 1..20 seconds"
done
is_uint "$WARMUP" && (( WARMUP <= 10 )) || die "--warmup must be 0..10 seconds"
is_uint "$RAMP_MAX" && (( RAMP_MAX >= 10 )) || die "--ramp-max must be an integer >= 10"
is_uint "$SHARDS" && (( SHARDS >= 1 && SHARDS <= 256 )) || die "--shards must be 1..256"
is_uint "$RECV_THREADS" && (( RECV_THREADS >= 0 && RECV_THREADS <= 64 )) || die "--receive-threads must be 0..64"
is_uint "$BASE_PORT" && (( BASE_PORT >= 1024 && BASE_PORT <= 65000 )) || die "--base-port must be 1024..65000"
[[ -z "$GEN_THREADS" ]] || is_uint "$GEN_THREADS" || die "--gen-threads must be an integer"
[[ "$MIN_SUCCESS" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--min-success must be a number"
[[ -z "$CONFIG" || -f "$CONFIG" ]] || die "--config: no such file: $CONFIG"
if [[ -n "$CONFIG" ]] && (( SHARDS_SET || RECV_SET )); then
  die "--shards/--receive-threads cannot be combined with --config (set them in the file)"
fi
# shellcheck disable=SC2015 # (A && B || die) is meant: die unless both hold
# The system python first: a version-manager shim costs ~0.4 s per call.
if [[ -x /usr/bin/python3 ]]; then PY=/usr/bin/python3; else PY=$(command -v python3 || true); fi
[[ -n "$PY" ]] || die "python3 is required"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "python3 >= 3.11 is required (tomllib)"
command -v ss >/dev/null || die "ss (iproute2) is required"

# Stateful: transactions linger (Kamailio's tm keeps them wt_timer = 5 s by
# default after completion); the drain after each point lets that work land
# inside the measured window. Both proxies get the same drain.
if [[ -z "$DRAIN_S" ]]; then
  if [[ "$MODE" == stateful ]]; then DRAIN_S=6; else DRAIN_S=1; fi
fi
is_uint "$DRAIN_S" || die "--drain must be an integer number of seconds"
(( DURATION + DRAIN_S <= POINT_LIMIT_S - 2 && RAMP_DURATION + DRAIN_S <= POINT_LIMIT_S - 2 )) \
  || die "--duration/--ramp-duration + --drain must stay within $(( POINT_LIMIT_S - 2 )) s"

# The run limit counts from the farm's start (build and install excluded).
RUN_START=$SECONDS
deadline_left() { echo $(( RUN_LIMIT_S - (SECONDS - RUN_START) )); }

# ------------------------------------------------ work dir, process cleanup
WORK=$(mktemp -d /tmp/sipshard-e2e.XXXXXX)
declare -A GROUPS_STARTED=()   # pgid -> name

# start_group NAME LOG CMD...: runs CMD in a new session (so its process
# group is its pid), records the group. Sets STARTED_PID.
start_group() {
  local name=$1 log=$2
  shift 2
  setsid "$@" >"$log" 2>&1 </dev/null &
  STARTED_PID=$!
  GROUPS_STARTED[$STARTED_PID]=$name
  # Wait until the child has made its own group (or has already exited).
  local i
  for (( i = 0; i < 100; i++ )); do
    kill -0 -- "-$STARTED_PID" 2>/dev/null && break
    kill -0 "$STARTED_PID" 2>/dev/null || break
    sleep 0.01
  done
}

group_alive() { kill -0 -- "-$1" 2>/dev/null; }

# stop_group PGID [GRACE_S]: SIGTERM to the group, SIGKILL after GRACE_S.
stop_group() {
  local pgid=$1 grace=${2:-5} i
  if group_alive "$pgid"; then
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for (( i = 0; i < grace * 10; i++ )); do
      group_alive "$pgid" || break
      sleep 0.1
    done
    if group_alive "$pgid"; then
      echo "e2e: ${GROUPS_STARTED[$pgid]:-group $pgid} ignored SIGTERM, killing" >&2
      kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
  fi
  wait "$pgid" 2>/dev/null || true
  unset "GROUPS_STARTED[$pgid]"
}

CLEANED=0
POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_OURS=0
cleanup() {
  local rc=$?
  (( CLEANED )) && return
  CLEANED=1
  trap '' INT TERM
  local pgid
  if (( POLICY_RC_OURS )); then rm -f "$POLICY_RC"; fi
  for pgid in "${!GROUPS_STARTED[@]}"; do kill -TERM -- "-$pgid" 2>/dev/null || true; done
  for pgid in "${!GROUPS_STARTED[@]}"; do stop_group "$pgid" 3; done
  if (( KEEP || rc != 0 )); then
    echo "e2e: logs and configs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  return "$rc"
}
trap cleanup EXIT
trap 'echo "e2e: interrupted" >&2; exit 130' INT
trap 'echo "e2e: terminated" >&2; exit 143' TERM

# ----------------------------------------------------------- python helper
HELPER=$WORK/e2e_helper.py
cat >"$HELPER" <<'PYEOF'
import json, math, os, sys, time

def group_ticks(pgids):
    ticks = 0
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/stat') as f:
                s = f.read()
            rest = s[s.rfind(')') + 2:].split()
            if int(rest[2]) in pgids:
                ticks += int(rest[11]) + int(rest[12])
        except (OSError, ValueError, IndexError):
            continue
    return ticks

def quiet(pgids, max_s):
    """Waits until the groups use < 5% of a CPU over 0.5 s (a backlog left
    by an overloaded point is worked off), at most max_s seconds."""
    clk = os.sysconf('SC_CLK_TCK')
    end = time.monotonic() + max_s
    before = group_ticks(pgids)
    while time.monotonic() < end:
        time.sleep(0.5)
        now = group_ticks(pgids)
        if (now - before) / clk < 0.025:
            return
        before = now
    sys.stderr.write(f'e2e: still busy after {max_s} s of settling, going on\n')

def cpu(pgid):
    """utime+stime ticks and on-CPU ns of every process in group pgid."""
    ticks = 0; ns = 0; procs = 0
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/stat') as f:
                s = f.read()
            rest = s[s.rfind(')') + 2:].split()
            if int(rest[2]) != pgid:
                continue
            ticks += int(rest[11]) + int(rest[12])
            procs += 1
            for tid in os.listdir(f'/proc/{pid}/task'):
                with open(f'/proc/{pid}/task/{tid}/schedstat') as f:
                    ns += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    print(ticks, ns, procs)

def inspect_config(path):
    """Prints shell assignments describing a sipshard config."""
    import tomllib
    with open(path, 'rb') as f:
        cfg = tomllib.load(f)
    server = cfg.get('server', {})
    listen = server.get('listen', ['udp:127.0.0.1:5060'])[0]
    if not listen.startswith('udp:'):
        sys.exit(f'{path}: first listen address is not udp: {listen}')
    hostport = listen[4:]
    host, _, port = hostport.rpartition(':')
    route = next((r for r in cfg.get('routes', []) if r.get('action') == 'forward'), None)
    if route is None:
        sys.exit(f'{path}: no forward route')
    dset = next((s for s in cfg.get('sets', []) if s.get('name') == route.get('set')), None)
    dests = []
    for d in (dset or {}).get('destinations', []):
        uri = d['uri'].split(';')[0]
        hp = uri.split('@')[-1][4:] if uri.startswith('sip:') else uri
        if ':' not in hp:
            hp += ':5060'
        dests.append(hp)
    print(f"CFG_HOST={host}")
    print(f"CFG_PORT={port}")
    print(f"CFG_RECV={int(server.get('receive_threads', 1))}")
    print(f"CFG_SHARDS={int(server.get('shards', 2))}")
    print(f"CFG_DESTS='{' '.join(dests)}'")
    print(f"CFG_STATEFUL={1 if route.get('stateful', False) else 0}")

def load_uac(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    try:
        obj = json.loads(text)
        if isinstance(obj, dict):
            return obj
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith('{'):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None

def num(x, default=None):
    try:
        v = float(x)
        return v if math.isfinite(v) else default
    except (TypeError, ValueError):
        return default

def point(a):
    """Turns one UAC run plus /proc snapshots into a record; prints pass/fail."""
    clk = os.sysconf('SC_CLK_TCK')
    t0, ns0, _ = map(int, a['cpu0'].split())
    t1, ns1, nprocs = map(int, a['cpu1'].split())
    f0, fns0, _ = map(int, a['farm0'].split())
    f1, fns1, _ = map(int, a['farm1'].split())
    uac = load_uac(a['uac_json'])
    rec = {
        'proxy': a['proxy'], 'kind': a['kind'], 'offered_cps': int(a['offered']),
        'duration_s': int(a['duration']), 'drain_s': int(a['drain']),
        'uac_exit_code': int(a['uac_rc']),
        'window_s': round(float(a['t1']) - float(a['t0']), 3),
        'proxy_processes': nprocs,
        'proxy_cpu_s': round((t1 - t0) / clk, 3),
        'proxy_cpu_s_schedstat': round((ns1 - ns0) / 1e9, 6),
        'farm_cpu_s': round((f1 - f0) / clk, 3),
    }
    ok = False
    if uac is None:
        rec['error'] = 'no JSON from the UAC (see its log)'
    else:
        att = int(num(uac.get('attempted'), 0)); succ = int(num(uac.get('succeeded'), 0))
        rec.update({
            'attempted': att, 'succeeded': succ,
            'failed': int(num(uac.get('failed'), 0)),
            'success_pct': round(100.0 * succ / att, 4) if att else 0.0,
            'achieved_cps': num(uac.get('achieved_cps')),
            'timeouts': uac.get('timeouts'), 'retransmissions': uac.get('retransmissions'),
            'unexpected': uac.get('unexpected'), 'final_codes': uac.get('final_codes'),
            'latency_ms': uac.get('latency_ms'),
            'uac_cpu_s': num(uac.get('cpu_seconds')),
        })
        if succ:
            rec['cpu_us_per_call'] = round((t1 - t0) / clk * 1e6 / succ, 2)
            rec['cpu_us_per_call_schedstat'] = round((ns1 - ns0) / 1e3 / succ, 2)
            rec['farm_cpu_us_per_call'] = round((f1 - f0) / clk * 1e6 / succ, 2)
            if rec['uac_cpu_s'] is not None:
                rec['uac_cpu_us_per_call'] = round(rec['uac_cpu_s'] * 1e6 / succ, 2)
        ach = rec['achieved_cps'] or 0.0
        ok = (att > 0 and rec['success_pct'] >= float(a['min_success'])
              and ach >= 0.95 * int(a['offered']))
    rec['pass'] = ok
    if uac is not None and rec.get('attempted') == 0:
        # Not a result: the generator offered nothing (bad build or setup).
        print('broken')
        return
    with open(a['out'], 'a') as f:
        f.write(json.dumps(rec) + '\n')
    lat = ((rec.get('latency_ms') or {}).get('invite_final') or {})
    sys.stderr.write(
        f"  {a['proxy']:<17} {a['kind']:<6} {int(a['offered']):>6} cps: "
        f"achieved {fmt(rec.get('achieved_cps'), 1)} cps, "
        f"success {fmt(rec.get('success_pct'), 3)}%, "
        f"{fmt(rec.get('cpu_us_per_call'), 1)} us/call, "
        f"p99 {fmt(lat.get('p99'), 2)} ms{'' if ok else '  [below threshold]'}\n")
    print('pass' if ok else 'fail')

def attempted(path):
    uac = load_uac(path)
    print('none' if uac is None else int(num(uac.get('attempted'), 0)))

def fmt(v, digits):
    v = num(v)
    return '-' if v is None else f'{v:.{digits}f}'

def report(a):
    with open(a['meta']) as f:
        meta = json.load(f)
    points = []
    if os.path.exists(a['points']):
        with open(a['points']) as f:
            points = [json.loads(l) for l in f if l.strip()]
    proxies = []
    for p in meta['proxies']:
        pts = [x for x in points if x['proxy'] == p['name']]
        fixed = [x for x in pts if x['kind'] == 'fixed']
        ramp = [x for x in pts if x['kind'] in ('fixed', 'ramp') and x['pass']]
        best = max(ramp, key=lambda x: x['offered_cps'], default=None)
        p = dict(p)
        p['points'] = fixed
        p['ramp_points'] = [x for x in pts if x['kind'] == 'ramp']
        if meta['ramp'] and p.get('available', True):
            p['max_cps'] = None if best is None else {
                'offered_cps': best['offered_cps'], 'achieved_cps': best.get('achieved_cps'),
                'success_pct': best.get('success_pct'), 'from': best['kind']}
        proxies.append(p)
    byname = {p['name']: p for p in proxies}

    def at(name, rate):
        for x in byname.get(name, {}).get('points', []):
            if x['offered_cps'] == rate and x.get('succeeded'):
                return x
        return None

    def p99(x):
        return num((((x or {}).get('latency_ms') or {}).get('invite_final') or {}).get('p99'))

    ratios = []
    sip = byname.get('sipshard')
    for ref in ('kamailio-tuned', 'kamailio-default'):
        if ref not in byname:
            continue
        entry = {'against': ref, 'per_rate': [], 'max_cps': None}
        for rate in meta['rates']:
            s, k = at('sipshard', rate), at(ref, rate)
            r = {'offered_cps': rate}
            if s is None or not sip.get('available', True):
                r['note'] = sip.get('note') or 'no sipshard result at this rate'
            elif k is None:
                r['note'] = f'no {ref} result at this rate'
            else:
                if s.get('cpu_us_per_call') and k.get('cpu_us_per_call'):
                    r['cpu_per_call'] = round(k['cpu_us_per_call'] / s['cpu_us_per_call'], 2)
                if p99(s) and p99(k):
                    r['p99_latency'] = round(p99(k) / p99(s), 2)
            entry['per_rate'].append(r)
        ms, mk = (sip or {}).get('max_cps'), byname[ref].get('max_cps')
        if ms and mk:
            entry['max_cps'] = round(ms['offered_cps'] / mk['offered_cps'], 2)
        ratios.append(entry)

    result = dict(meta)
    result['proxies'] = proxies
    result['ratios'] = ratios
    result['ratio_definitions'] = {
        'cpu_per_call': "kamailio CPU per call / sipshard CPU per call (x times less CPU)",
        'p99_latency': "kamailio p99 / sipshard p99 (INVITE to final response)",
        'max_cps': "sipshard max calls/s / kamailio max calls/s"}
    if a.get('json'):
        with open(a['json'], 'w') as f:
            json.dump(result, f, indent=2)
            f.write('\n')

    out = sys.stdout
    out.write(f"\nsipshard e2e benchmark: mode {meta['mode']}, {meta['duration_s']} s per point, "
              f"sipshard {meta['receive_threads']} receive thread(s) + {meta['shards']} shard(s)"
              + (f", Kamailio children {meta['kamailio_children']}" if meta.get('kamailio_children') else '')
              + f", {meta['host']['cpus']} CPUs"
              + f" (load average {meta['host']['loadavg_at_start']} at start)\n")
    out.write("CPU = utime+stime of all the proxy's processes over load + drain, per completed call.\n"
              "Latency = INVITE sent to final response at the UAC, ms. UAC/farm = generator CPU per call.\n\n")
    hdr = (f"{'proxy':<17} {'offered':>7} {'achieved':>9} {'success%':>9} {'calls':>7} "
           f"{'CPU us/call':>11} {'p50':>7} {'p90':>7} {'p99':>7} {'p99.9':>7} "
           f"{'UAC us/call':>11} {'farm us/call':>12}")
    out.write(hdr + '\n' + '-' * len(hdr) + '\n')
    for p in proxies:
        if not p.get('available', True):
            out.write(f"{p['name']:<17} {p.get('note', 'not available')}\n")
            continue
        if not p['points']:
            out.write(f"{p['name']:<17} no results ({p.get('note', 'see logs')})\n")
        for x in p['points']:
            lat = ((x.get('latency_ms') or {}).get('invite_final') or {})
            if 'error' in x:
                out.write(f"{p['name']:<17} {x['offered_cps']:>7} {x['error']}\n")
                continue
            out.write(
                f"{p['name']:<17} {x['offered_cps']:>7} {fmt(x.get('achieved_cps'), 1):>9} "
                f"{fmt(x.get('success_pct'), 3):>9} {x.get('succeeded', 0):>7} "
                f"{fmt(x.get('cpu_us_per_call'), 1):>11} {fmt(lat.get('p50'), 2):>7} "
                f"{fmt(lat.get('p90'), 2):>7} {fmt(lat.get('p99'), 2):>7} {fmt(lat.get('p999'), 2):>7} "
                f"{fmt(x.get('uac_cpu_us_per_call'), 1):>11} {fmt(x.get('farm_cpu_us_per_call'), 1):>12}"
                + ('' if x['pass'] else '  *') + '\n')
    out.write(f"(* below {meta['min_success']}% success or under 95% of the offered rate)\n")
    for p in proxies:
        out.write(f"{p['name']}: {p.get('settings', '')}\n")
    notes = list(meta.get('notes', []))
    for p in proxies:
        totals = ((p.get('stats_at_exit') or {}).get('totals') or {})
        if totals.get('transactions_overflow'):
            notes.append(f"{p['name']}: transaction table full {totals['transactions_overflow']} times "
                         "(requests answered 503); see stats_at_exit in the JSON")
        if totals.get('rx_pool_exhausted') or totals.get('rx_inbox_full'):
            notes.append(f"{p['name']}: dropped datagrams on receive (pool exhausted "
                         f"{totals.get('rx_pool_exhausted', 0)}, inbox full {totals.get('rx_inbox_full', 0)})")
    for note in notes:
        out.write(f"note: {note}\n")
    if meta['ramp']:
        out.write(f"\nMax calls/s with >= {meta['min_success']}% success "
                  f"(ramp, {meta['ramp_duration_s']} s per step):\n")
        for p in proxies:
            if not p.get('available', True):
                out.write(f"  {p['name']:<17} n/a ({p.get('note')})\n")
                continue
            m = p.get('max_cps')
            steps = ', '.join(f"{x['offered_cps']}{'' if x['pass'] else 'x'}" for x in p['ramp_points'])
            out.write(f"  {p['name']:<17} "
                      + ('none passed' if not m else
                         f"{m['offered_cps']} offered, {fmt(m['achieved_cps'], 1)} achieved")
                      + (f"   (steps: {steps}; x = failed)" if steps else '') + '\n')
    if ratios:
        out.write("\nRatios (kamailio / sipshard for CPU per call and p99; "
                  "sipshard / kamailio for max calls/s):\n")
        for e in ratios:
            for r in e['per_rate']:
                if 'note' in r:
                    out.write(f"  vs {e['against']:<17} at {r['offered_cps']:>6} cps: {r['note']}\n")
                else:
                    out.write(f"  vs {e['against']:<17} at {r['offered_cps']:>6} cps: "
                              f"CPU per call x{fmt(r.get('cpu_per_call'), 2)}, "
                              f"p99 latency x{fmt(r.get('p99_latency'), 2)}\n")
            if meta['ramp']:
                out.write(f"  vs {e['against']:<17} max calls/s: "
                          + (f"x{e['max_cps']:.2f}" if e['max_cps'] else 'n/a') + '\n')
    if a.get('json'):
        out.write(f"\nJSON: {a['json']}\n")

def main():
    cmd = sys.argv[1]
    if cmd == 'cpu':
        cpu(int(sys.argv[2]))
    elif cmd == 'quiet':
        quiet({int(x) for x in sys.argv[2].split(',')}, float(sys.argv[3]))
    elif cmd == 'attempted':
        attempted(sys.argv[2])
    elif cmd == 'inspect-config':
        inspect_config(sys.argv[2])
    else:
        args = {}
        it = iter(sys.argv[2:])
        for k in it:
            args[k.lstrip('-').replace('-', '_')] = next(it)
        {'point': point, 'report': report}[cmd](args)

main()
PYEOF
helper() { "$PY" "$HELPER" "$@"; }

# ------------------------------------------------------------------ build
BUILD_PATH=$BUILD_DIR
[[ "$BUILD_PATH" == /* ]] || BUILD_PATH=$ROOT/$BUILD_DIR
LOAD_BIN=${SIPSHARD_LOAD:-$BUILD_PATH/sipshard-load}
SIPSHARD_BIN=$BUILD_PATH/sipshard
if (( ! NO_BUILD )); then
  echo "e2e: building sipshard and sipshard-load in $BUILD_DIR (log: $WORK/build.log)" >&2
  targets=(sipshard)
  {
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
    if [[ -z "${SIPSHARD_LOAD:-}" ]] && grep -q 'sipshard-load' "$BUILD_DIR/build.ninja"; then
      targets+=(sipshard-load)
    fi
    cmake --build "$BUILD_DIR" --target "${targets[@]}"
  } >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log" >&2; die "build failed"; }
fi
[[ -x "$SIPSHARD_BIN" ]] || die "no sipshard binary at $SIPSHARD_BIN"
[[ -x "$LOAD_BIN" ]] || die "no load generator at $LOAD_BIN (target sipshard-load; or set SIPSHARD_LOAD)"

# ------------------------------------------------------------ addresses
HOST=127.0.0.1
if [[ -n "$CONFIG" ]]; then
  CONFIG=$(realpath "$CONFIG")
  eval "$(helper inspect-config "$CONFIG")" || die "cannot read $CONFIG"
  [[ "$CFG_HOST" == 127.* ]] || die "$CONFIG: sipshard must listen on 127.0.0.0/8, not $CFG_HOST"
  SIP_TARGET=$CFG_HOST:$CFG_PORT
  SHARDS=$CFG_SHARDS
  RECV_THREADS=$CFG_RECV
  read -r -a FARM <<<"$CFG_DESTS"
  for d in "${FARM[@]}"; do [[ "$d" == 127.* ]] || die "$CONFIG: destination $d is not on loopback"; done
  if [[ "$CFG_STATEFUL" == 1 && "$MODE" == stateless ]] || [[ "$CFG_STATEFUL" == 0 && "$MODE" == stateful ]]; then
    echo "e2e: warning: $CONFIG forwards $([[ $CFG_STATEFUL == 1 ]] && echo statefully || echo statelessly)" \
         "but --mode is $MODE (Kamailio follows --mode)" >&2
  fi
else
  SIP_TARGET=$HOST:$BASE_PORT
  FARM=("$HOST:$((BASE_PORT + 11))" "$HOST:$((BASE_PORT + 12))" "$HOST:$((BASE_PORT + 13))")
fi
(( ${#FARM[@]} >= 1 )) || die "no farm destinations"
KAM_TARGET=$HOST:$((BASE_PORT + 20))
KAM_CHILDREN=$(( SHARDS + RECV_THREADS ))

port_busy() { [[ -n "$(ss -Hlun "sport = :${1##*:}" 2>/dev/null)" ]]; }
for a in "$SIP_TARGET" "${FARM[@]}"; do port_busy "$a" && die "UDP port of $a is already in use"; done
if [[ -n "$COMPARE" ]]; then port_busy "$KAM_TARGET" && die "UDP port of $KAM_TARGET is already in use"; fi

# wait_listening ADDR PGID TIMEOUT_S: 0 once ADDR's UDP port is bound,
# 1 when the group died or the time ran out.
wait_listening() {
  local i
  for (( i = 0; i < $3 * 10; i++ )); do
    group_alive "$2" || return 1
    port_busy "$1" && return 0
    sleep 0.1
  done
  return 1
}

# ----------------------------------------------------------------- kamailio
# The package's own system service is neither used nor started: while
# installing, a temporary policy-rc.d (the Debian mechanism for this) keeps
# the postinst from starting it.
if [[ -n "$COMPARE" ]] && ! command -v kamailio >/dev/null; then
  echo "e2e: installing Debian's kamailio package (comparison target only)" >&2
  (( EUID == 0 )) || die "kamailio is not installed and installing it needs root (apt-get install kamailio)"
  if [[ ! -e "$POLICY_RC" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC" && chmod 755 "$POLICY_RC" && POLICY_RC_OURS=1
  fi
  apt_ok=1
  { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kamailio \
    || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kamailio; }; } \
    >"$WORK/apt.log" 2>&1 || apt_ok=0
  if (( POLICY_RC_OURS )); then rm -f "$POLICY_RC"; POLICY_RC_OURS=0; fi
  if (( ! apt_ok )); then
    tail -20 "$WORK/apt.log" >&2
    die "cannot install kamailio"
  fi
fi

# -------------------------------------------------------------- the farm
RUN_START=$SECONDS
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
NOTES_FILE=$WORK/notes.txt
: >"$NOTES_FILE"
note() { echo "e2e: note: $*" >&2; echo "$*" >>"$NOTES_FILE"; }
FARM_STATS=$WORK/farm-stats.json
farm_args=()
for i in "${!FARM[@]}"; do
  behavior=answer
  if [[ $FAILING_BACKEND == 1 && $i == $((${#FARM[@]} - 1)) ]]; then behavior=fail; fi
  farm_args+=(--endpoint "${FARM[$i]},behavior=$behavior")
done
# --duration: the farm outlives the whole run; it is stopped with SIGTERM.
start_group farm "$WORK/farm.log" "$LOAD_BIN" uas "${farm_args[@]}" --duration 3600 \
  --stats-file "$FARM_STATS" --json
FARM_PGID=$STARTED_PID
for d in "${FARM[@]}"; do
  wait_listening "$d" "$FARM_PGID" 10 || { tail -20 "$WORK/farm.log" >&2; die "UAS farm did not come up on $d"; }
done
echo "e2e: UAS farm on ${FARM[*]} (pgid $FARM_PGID)" >&2

# ------------------------------------------------------------- the points
POINTS=$WORK/points.jsonl
: >"$POINTS"
POINT_SEQ=0

# run_point PROXY PGID TARGET RATE DURATION KIND: one UAC run between two
# /proc snapshots. Sets VERDICT to pass, fail or skip. (Not run in a $(...)
# subshell, so that the UAC's group is known to cleanup.)
VERDICT=""
run_point() {
  local proxy=$1 pgid=$2 target=$3 rate=$4 dur=$5 kind=$6
  local limit=$(( POINT_LIMIT_S - DRAIN_S - 1 )) left
  # Let a backlog from an overloaded point die down first (proxy and farm).
  helper quiet "$pgid,$FARM_PGID" 15
  left=$(deadline_left)
  if (( left < dur + DRAIN_S + 10 )); then
    VERDICT=skip
    return
  fi
  (( limit > left - DRAIN_S - 3 )) && limit=$(( left - DRAIN_S - 3 ))
  POINT_SEQ=$(( POINT_SEQ + 1 ))
  local base=$WORK/point-$POINT_SEQ-$proxy-$kind-$rate
  local uac_args=(uac --target "$target" --scenario call --rate "$rate" --duration "$dur"
                  --t1-ms "$T1_MS" --json)
  [[ -n "$GEN_THREADS" ]] && uac_args+=(--threads "$GEN_THREADS")
  local c0 f0 c1 f1 t0 t1 rc=0
  c0=$(helper cpu "$pgid"); f0=$(helper cpu "$FARM_PGID"); t0=$EPOCHREALTIME
  start_group "uac" "$base.uac.log" timeout --signal=INT --kill-after=2 "$limit" \
    "$LOAD_BIN" "${uac_args[@]}"
  local uac_pid=$STARTED_PID
  # The UAC's stdout and stderr go to one log; the JSON is its last object.
  wait "$uac_pid" || rc=$?
  unset "GROUPS_STARTED[$uac_pid]"
  if group_alive "$uac_pid"; then kill -KILL -- "-$uac_pid" 2>/dev/null || true; fi
  sleep "$DRAIN_S"
  c1=$(helper cpu "$pgid"); f1=$(helper cpu "$FARM_PGID"); t1=$EPOCHREALTIME
  if (( rc == 124 )); then
    echo "e2e: $proxy at $rate cps: the UAC hit the ${limit}s point limit (stopped with SIGINT)" >&2
  fi
  if [[ "$kind" == warmup ]]; then
    VERDICT=pass
    [[ "$(helper attempted "$base.uac.log")" == 0 ]] && VERDICT=broken
  else
    VERDICT=$(helper point --out "$POINTS" --proxy "$proxy" --kind "$kind" --offered "$rate" \
    --duration "$dur" --drain "$DRAIN_S" --uac-json "$base.uac.log" --uac-rc "$rc" \
    --cpu0 "$c0" --cpu1 "$c1" --farm0 "$f0" --farm1 "$f1" --t0 "$t0" --t1 "$t1" \
    --min-success "$MIN_SUCCESS") || VERDICT=fail
  fi
  if [[ "$VERDICT" == broken ]]; then
    tail -5 "$base.uac.log" >&2
    die "the UAC offered no calls at all ($LOAD_BIN ${uac_args[*]}); not a measurement, stopping"
  fi
}

# run_ramp PROXY PGID TARGET: finds the highest offered rate that passes,
# starting from the fixed points, doubling up and bisecting down; at most
# 8 steps, stops when the pass/fail bracket is within 10%.
run_ramp() {
  local proxy=$1 pgid=$2 target=$3
  local lo=0 hi=0 r steps=0
  # Seed the bracket with the fixed points of this proxy.
  local seeds
  seeds=$("$PY" -c '
import json, sys
lo = hi = 0
for l in open(sys.argv[1]):
    x = json.loads(l)
    if x["proxy"] != sys.argv[2] or x["kind"] != "fixed": continue
    if x["pass"]: lo = max(lo, x["offered_cps"])
    elif "error" not in x: hi = x["offered_cps"] if hi == 0 else min(hi, x["offered_cps"])
print(lo, hi)' "$POINTS" "$proxy")
  read -r lo hi <<<"$seeds"
  (( hi > 0 && lo >= hi )) && hi=0
  while (( steps < 8 )); do
    if (( lo > 0 && hi > 0 )); then
      (( (hi - lo) * 10 <= lo )) && break
      r=$(( (lo + hi) / 2 ))
    elif (( lo > 0 )); then
      r=$(( lo * 2 ))
      (( r > RAMP_MAX )) && r=$RAMP_MAX
      (( r <= lo )) && break
    elif (( hi > 0 )); then
      r=$(( hi / 2 ))
    else
      r=${RATE_LIST[0]}
    fi
    (( r >= 10 )) || break
    r=$(( r >= 1000 ? (r + 25) / 50 * 50 : (r + 5) / 10 * 10 ))
    (( r == lo || r == hi )) && break
    run_point "$proxy" "$pgid" "$target" "$r" "$RAMP_DURATION" ramp
    if [[ "$VERDICT" == skip ]]; then
      note "$proxy ramp cut short by the ${RUN_LIMIT_S}s run limit"
      break
    fi
    if [[ "$VERDICT" == pass ]]; then lo=$r; else hi=$r; fi
    steps=$(( steps + 1 ))
    if ! group_alive "$pgid"; then
      note "$proxy died during the ramp at $r cps (see its log)"
      break
    fi
  done
}

# run_proxy NAME PGID TARGET: warm-up, fixed rates, ramp.
run_proxy() {
  local name=$1 pgid=$2 target=$3 r
  if (( WARMUP > 0 )); then
    echo "e2e: $name: warm-up ${WARMUP}s at ${RATE_LIST[0]} cps" >&2
    run_point "$name" "$pgid" "$target" "${RATE_LIST[0]}" "$WARMUP" warmup
  fi
  for r in "${RATE_LIST[@]}"; do
    run_point "$name" "$pgid" "$target" "$r" "$DURATION" fixed
    if [[ "$VERDICT" == skip ]]; then
      note "$name at $r cps skipped: the run would exceed ${RUN_LIMIT_S}s"
      continue
    fi
    if ! group_alive "$pgid"; then
      note "$name died during the run (see its log)"
      return 0
    fi
  done
  (( RAMP )) && run_ramp "$name" "$pgid" "$target"
  return 0
}

PROXIES_JSON=$WORK/proxies.jsonl
: >"$PROXIES_JSON"
add_proxy() {  # NAME AVAILABLE(true|false) NOTE SETTINGS COMMAND...
  "$PY" -c 'import json, sys; print(json.dumps({"name": sys.argv[1], "available": sys.argv[2] == "true",
    **({"note": sys.argv[3]} if sys.argv[3] else {}), "settings": sys.argv[4],
    "command": " ".join(sys.argv[5:])}))' "$@" >>"$PROXIES_JSON"
}

# --------------------------------------------------------------- sipshard
if [[ -z "$CONFIG" ]]; then
  SIP_CONFIG=$WORK/sipshard.toml
  stateful=false; [[ "$MODE" == stateful ]] && stateful=true
  {
    cat <<EOF
# Generated by bench/e2e.sh: one forward route over a 3-endpoint farm.
[server]
listen = ["udp:$SIP_TARGET"]
receive_threads = $RECV_THREADS
shards = $SHARDS
log_level = "warning"

[timers]
t1_ms = $T1_MS
fr_timeout_ms = 5000

[[sets]]
name = "farm"
algorithm = "hash-callid"
mode = "serial"
max_attempts = 3
failover_codes = ["5xx", 408]
EOF
    for d in "${FARM[@]}"; do printf '\n  [[sets.destinations]]\n  uri = "sip:%s"\n' "$d"; done
    cat <<EOF

[[routes]]
name = "all"
action = "forward"
set = "farm"
stateful = $stateful
record_route = true
EOF
  } >"$SIP_CONFIG"
else
  SIP_CONFIG=$CONFIG
fi
SIP_STATS=$WORK/sipshard-stats.json
SIP_SETTINGS="$RECV_THREADS receive thread(s), $SHARDS shard(s), $MODE, config $SIP_CONFIG"
sip_cmd=("$SIPSHARD_BIN" --config "$SIP_CONFIG" --stats-file "$SIP_STATS")
echo "e2e: sipshard: ${sip_cmd[*]}" >&2
start_group sipshard "$WORK/sipshard.log" "${sip_cmd[@]}"
SIP_PGID=$STARTED_PID
# The sockets are bound before the shards start (and refuse a config they
# cannot run), so wait for the port, then make sure it is still alive.
sip_up=0
if wait_listening "$SIP_TARGET" "$SIP_PGID" 10; then
  sleep 1
  group_alive "$SIP_PGID" && sip_up=1
fi
if (( sip_up )); then
  add_proxy sipshard true "" "$SIP_SETTINGS" "${sip_cmd[@]}"
  run_proxy sipshard "$SIP_PGID" "$SIP_TARGET"
  stop_group "$SIP_PGID" 10
else
  stop_group "$SIP_PGID" 2
  refusal='stateful.*not available|not available.*stateful'
  if grep -qiE "$refusal" "$WORK/sipshard.log"; then
    note="sipshard: stateful not available in this build"
    echo "e2e: $note ($(grep -iE -m1 "$refusal" "$WORK/sipshard.log"))" >&2
    add_proxy sipshard false "$note" "$SIP_SETTINGS" "${sip_cmd[@]}"
  else
    tail -20 "$WORK/sipshard.log" >&2
    die "sipshard did not start (log above)"
  fi
fi

# --------------------------------------------------------------- kamailio
if [[ -n "$COMPARE" ]]; then
  KAM_CFG=$ROOT/bench/kamailio/$MODE.cfg
  [[ -f "$KAM_CFG" ]] || die "missing $KAM_CFG"
  DS_LIST=$WORK/dispatcher.list
  # The template's destination line is repeated once per farm endpoint.
  {
    echo "# Generated by bench/e2e.sh from bench/kamailio/dispatcher.list.in"
    for d in "${FARM[@]}"; do
      grep '@DESTINATION@' "$ROOT/bench/kamailio/dispatcher.list.in" | sed "s/@DESTINATION@/$d/"
    done
  } >"$DS_LIST"
  (( $(grep -c '^[0-9]' "$DS_LIST") == ${#FARM[@]} )) || die "cannot fill the dispatcher list from the template"
  KAM_VERSION=$(kamailio -v 2>/dev/null | head -1 || true)
  for variant in default tuned; do
    name=kamailio-$variant
    rundir=$WORK/$name
    mkdir -p "$rundir"
    kam_cmd=(kamailio -DD -E -f "$KAM_CFG" -l "udp:$KAM_TARGET" -n "$KAM_CHILDREN"
             -A "DS_LIST=\"$DS_LIST\"" -Y "$rundir" -P "$rundir/kamailio.pid"
             -m "$KAM_SHM_MB" -M "$KAM_PKG_MB")
    settings="$KAM_CHILDREN children, -m $KAM_SHM_MB -M $KAM_PKG_MB"
    if [[ "$variant" == tuned ]]; then
      kam_cmd+=(-x fm)
      settings+=", -x fm (f_malloc)"
      if [[ "$MODE" == stateful ]]; then
        kam_cmd+=(-A WT_TIMER=1000)
        settings+=", tm wt_timer 1000 ms"
      fi
    else
      settings+=", package default allocator (q_malloc)"
      [[ "$MODE" == stateful ]] && settings+=", tm wt_timer 5000 ms (default)"
    fi
    if (( $(deadline_left) < DURATION + 20 )); then
      note "$name skipped: the run would exceed ${RUN_LIMIT_S}s"
      add_proxy "$name" false "skipped: run time limit" "$settings" "${kam_cmd[@]}"
      continue
    fi
    "${kam_cmd[@]}" -c >"$rundir/check.log" 2>&1 || { tail -20 "$rundir/check.log" >&2; die "$KAM_CFG does not parse"; }
    echo "e2e: $name: ${kam_cmd[*]}" >&2
    start_group "$name" "$rundir/kamailio.log" "${kam_cmd[@]}"
    kam_pgid=$STARTED_PID
    if ! wait_listening "$KAM_TARGET" "$kam_pgid" 15; then
      tail -20 "$rundir/kamailio.log" >&2
      stop_group "$kam_pgid" 2
      note "$name did not start (log: $rundir/kamailio.log)"
      add_proxy "$name" false "did not start" "$settings" "${kam_cmd[@]}"
      KEEP=1
      continue
    fi
    sleep 1   # workers finish their child_init after the socket is bound
    add_proxy "$name" true "" "$settings" "${kam_cmd[@]}"
    run_proxy "$name" "$kam_pgid" "$KAM_TARGET"
    stop_group "$kam_pgid" 10
  done
fi

# --------------------------------------------------------------- the farm
stop_group "$FARM_PGID" 5

# ----------------------------------------------------------------- report
META=$WORK/meta.json
farm_list="${FARM[*]}"
E2E_MODE=$MODE E2E_COMPARE=$COMPARE E2E_RATES=$RATES E2E_DURATION=$DURATION \
E2E_DRAIN=$DRAIN_S E2E_RAMP=$RAMP E2E_RAMP_DURATION=$RAMP_DURATION E2E_RAMP_MAX=$RAMP_MAX \
E2E_MIN_SUCCESS=$MIN_SUCCESS E2E_SHARDS=$SHARDS E2E_RECV=$RECV_THREADS \
E2E_KAM_CHILDREN=$KAM_CHILDREN E2E_KAM_VERSION=${KAM_VERSION:-} E2E_KAM_SHM=$KAM_SHM_MB \
E2E_KAM_PKG=$KAM_PKG_MB E2E_SIP_TARGET=$SIP_TARGET E2E_KAM_TARGET=$KAM_TARGET \
E2E_FARM=$farm_list E2E_LOAD_BIN=$LOAD_BIN E2E_T1_MS=$T1_MS \
E2E_ELAPSED=$(( SECONDS - RUN_START )) E2E_LOAD_START=$LOAD_AT_START \
"$PY" - "$META" "$PROXIES_JSON" "$SIP_STATS" "$FARM_STATS" "$NOTES_FILE" <<'PYEOF'
import json, os, platform, sys
meta_path, proxies_path, sip_stats, farm_stats, notes_path = sys.argv[1:6]
e = os.environ
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
proxies = [json.loads(l) for l in open(proxies_path) if l.strip()]
for p in proxies:
    if p['name'] == 'sipshard' and p['available']:
        p['stats_at_exit'] = load(sip_stats)
model = ''
try:
    for line in open('/proc/cpuinfo'):
        if line.startswith('model name'):
            model = line.split(':', 1)[1].strip()
            break
except OSError:
    pass
kam = bool(e['E2E_COMPARE'])
meta = {
    'schema': 'sipshard-e2e/1',
    'mode': e['E2E_MODE'], 'compare': e['E2E_COMPARE'] or None,
    'rates': [int(r) for r in e['E2E_RATES'].split(',')],
    'duration_s': int(e['E2E_DURATION']), 'drain_s': int(e['E2E_DRAIN']),
    'ramp': e['E2E_RAMP'] == '1', 'ramp_duration_s': int(e['E2E_RAMP_DURATION']),
    'ramp_max_cps': int(e['E2E_RAMP_MAX']), 'min_success': float(e['E2E_MIN_SUCCESS']),
    'shards': int(e['E2E_SHARDS']), 'receive_threads': int(e['E2E_RECV']),
    'kamailio_children': int(e['E2E_KAM_CHILDREN']) if kam else None,
    'kamailio_version': (e['E2E_KAM_VERSION'] or None) if kam else None,
    'kamailio_memory_mb': {'shm': int(e['E2E_KAM_SHM']), 'pkg': int(e['E2E_KAM_PKG'])} if kam else None,
    'sipshard_target': e['E2E_SIP_TARGET'],
    'kamailio_target': e['E2E_KAM_TARGET'] if kam else None,
    'farm': e['E2E_FARM'].split(),
    'generator': {'binary': e['E2E_LOAD_BIN'], 't1_ms': int(e['E2E_T1_MS']), 'scenario': 'call',
                  'farm_stats_at_exit': load(farm_stats)},
    'host': {'cpus': os.cpu_count(), 'cpu_model': model, 'kernel': platform.release(),
             'loadavg_at_start': e['E2E_LOAD_START'],
             'loadavg_at_end': ' '.join(f'{x:.2f}' for x in os.getloadavg())},
    'elapsed_s': int(e['E2E_ELAPSED']),
    'notes': [l.rstrip('\n') for l in open(notes_path) if l.strip()],
    'proxies': proxies,
}
with open(meta_path, 'w') as f:
    json.dump(meta, f)
PYEOF
report_args=(--meta "$META" --points "$POINTS")
[[ -n "$JSON_OUT" ]] && report_args+=(--json "$JSON_OUT")
helper report "${report_args[@]}"
