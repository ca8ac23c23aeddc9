#!/bin/bash
# npm run bench:scale: how many idle XMPP-shaped sessions one edge holds, and
# what each costs. Idle TLS sessions through 443 (nginx ssl_preread, ALPN
# xmpp-client -> home 5223) and through 5222 (DNAT + masquerade -> home
# 5222), from many client addresses, at SCALE_POINTS sessions. Per point:
# nginx's memory (master + workers, RSS and PSS) and CPU, the edge's
# conntrack entries, the machine's softirq time, the per-source limits'
# drop counters, nginx's error log, and the first limit hit. Not part of
# test:all or CI (long, noisy). Linux, root, the bench's packages, Go.
#
#   bash bench/scale.sh            measure; write bench/scale.json, REPORT.md's scale section, scale-*.png
#   bash bench/scale.sh --report   only re-render REPORT.md and the charts
#   bash bench/scale.sh --down     tear a kept scale lab down (BENCH_KEEP=1)
#
# Knobs: SCALE_POINTS ("1000 5000 20000 50000"), SCALE_PATHS ("443 5222"),
# SCALE_REPS (2), SCALE_RATE (400 new sessions/s in all), SCALE_PER_SRC (50
# sessions per client address at most: the edge allows 64), SCALE_SRC_RATE
# (10 new sessions/s per address at most: the edge allows 20/s, burst 100),
# SCALE_SIDE (1: also the labelled side measurement, every session from one
# address, which the per-source limit must cap), BENCH_TIMEOUT (2400 s),
# SCALE_VARIANT_POINTS ("VARIANT:N ...", e.g. "proxy_buffer_size=64k:5000":
# idle points through 443 with one nginx setting changed, labelled),
# SCALE_FORWARDS ("1 10 100 1000" extraForwards; "" skips), SCALE_WEBNAMES
# ("1 10 100" web names; "" skips), SCALE_CFG_REPS (3), SCALE_CFG_SECS (2 s
# of connects to the last forward), SCALE_STREAM (the nginx variants
# measured side by side on the 443 path, "base proxy_buffer_size=64k
# proxy_buffer_size=4k reuseport worker_processes=1 tcp_nodelay=off"; ""
# skips), SCALE_STREAM_REPS (3), SCALE_STREAM_SECS (3), BENCH_LAB_PREFIX (xsc-), BENCH_LAB_DIR ($XMPP_EDGE_CACHE/lab/scale),
# BENCH_OUT (bench/), SCALE_RAW_OUT (a directory for the raw results). It asserts nothing about timings or sizes.
set -uo pipefail

if [ -z "${XSC_UNDER_TIMEOUT:-}" ] && [ "${1:-}" != --down ] && [ "${1:-}" != --report ]; then
  export XSC_UNDER_TIMEOUT=1
  exec timeout --signal=TERM --kill-after=30 "${BENCH_TIMEOUT:-2400}" "$BASH" "$0" "$@"
fi

BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
OUT=${BENCH_OUT:-$BENCH}
PY=/usr/bin/python3

if [ "${1:-}" = --report ]; then
  exec "$PY" "$BENCH/report.py" --results "$OUT/results.json" --scale "$OUT/scale.json" --out "$OUT"
fi

# shellcheck source=scripts/lib/cache.sh
source "$REPO/scripts/lib/cache.sh"
LAB=${BENCH_LAB_DIR:-$(cache_dir lab/scale)}
# shellcheck source=test/lab/lib.sh
source "$REPO/test/lab/lib.sh"
LAB_PREFIX=${BENCH_LAB_PREFIX:-xsc-}

POINTS=${SCALE_POINTS-1000 5000 20000 50000}
PATHS=${SCALE_PATHS-443 5222}
REPS=${SCALE_REPS:-2}
RATE=${SCALE_RATE:-400}
PER_SRC=${SCALE_PER_SRC:-50}
SRC_RATE=${SCALE_SRC_RATE:-10}
SIDE=${SCALE_SIDE:-1}
FORWARDS=${SCALE_FORWARDS-1 10 100 1000}
WEBNAMES=${SCALE_WEBNAMES-1 10 100}
CFG_REPS=${SCALE_CFG_REPS:-3}
CFG_SECS=${SCALE_CFG_SECS:-2}
STREAM_VARIANTS=${SCALE_STREAM-base proxy_buffer_size=64k proxy_buffer_size=4k reuseport worker_processes=1 tcp_nodelay=off}
STREAM_REPS=${SCALE_STREAM_REPS:-3}
STREAM_SECS=${SCALE_STREAM_SECS:-3}
# The bench's lib.sh variables that cp_push and write_meta read.
SECS=0 CONNS_C=0
RES=$LAB/results
BIN=$LAB/bin/benchnet
SAMPLER_PID=""

if [ "$(id -u)" != 0 ] || [ "$(uname -s)" != Linux ]; then
  echo "bench/scale.sh: needs Linux and root (network namespaces, mounts)" >&2
  exit 2
fi
if [ "${1:-}" = --down ]; then
  lab_down
  echo "bench:scale: torn down (files kept in $LAB)"
  exit 0
fi
for v in "$RATE" "$PER_SRC" "$SRC_RATE" "$REPS" "$CFG_REPS" "$CFG_SECS" "$STREAM_REPS" "$STREAM_SECS" $POINTS $FORWARDS $WEBNAMES; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "bench/scale.sh: SCALE_POINTS/FORWARDS/WEBNAMES/RATE/PER_SRC/SRC_RATE/REPS/CFG_REPS/CFG_SECS take positive integers, not '$v'" >&2; exit 2; }
done
for p in $PATHS; do
  case $p in 443 | 5222) ;; *) echo "bench/scale.sh: SCALE_PATHS takes 443 and/or 5222, not '$p'" >&2; exit 2 ;; esac
done
GO=$(command -v go || echo /usr/local/go/bin/go)
missing=()
for tool in ip nsenter nft nginx sshd ssh openssl "$PY"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -x "$GO" ] || missing+=(go)
[ -x "$REPO/node_modules/.bin/tsx" ] || missing+=("node_modules (npm ci)")
"$PY" -c 'import matplotlib' 2>/dev/null || missing+=(python3-matplotlib)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench/scale.sh: missing ${missing[*]}; run scripts/bench/install-deps.sh" >&2
  exit 2
fi

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
bench_traps bench:scale 2400
# shellcheck source=bench/scale-lib.sh
source "$BENCH/scale-lib.sh"

# Tens of thousands of sockets: the hosts inherit this shell's open-files
# limit. Raise it as far as the machine lets us (a container without
# CAP_SYS_RESOURCE keeps its hard limit: the client and the sink then split
# into processes of SCALE_CHUNK sessions; nginx's workers stay capped, which
# the report says).
ulimit -Hn 1048576 2>/dev/null
ulimit -Sn "$(ulimit -Hn)"

T0=$(date +%s)
lab_down
rm -rf -- "$LAB"
mkdir -p "$LAB/logs" "$RES" "$LAB/bin" "$LAB/conf" "$LAB/run"

log "building bench/benchnet (Go, standard library only)"
(cd "$BENCH/benchnet" && GOFLAGS=-buildvcs=false "$GO" build -trimpath -o "$BIN" .) || { echo "bench:scale: go build failed" >&2; exit 1; }
log "rendering the pushes (test/lab/render.ts)"
render_pushes || { echo "bench:scale: rendering failed; see $LAB/logs" >&2; exit 1; }
log "building the hosts (namespaces ${LAB_PREFIX}*)"
build_topology || { echo "bench:scale: building the hosts failed; see $LAB/logs" >&2; exit 1; }
write_meta
scale_meta
ssh_counters_up || exit 1
cp_push first "$LAB/push/good" || { echo "bench:scale: the edge's first apply failed; see $LAB/logs" >&2; exit 1; }
scale_setup || { echo "bench:scale: setting up the sessions' ends failed; see $LAB/logs" >&2; exit 1; }
log "hosts up, edge applied ($(($(date +%s) - T0)) s)"

record_load scale-start
for ((rep = 1; rep <= REPS; rep++)); do
  for n in $POINTS; do
    # shellcheck disable=SC2086 # one path per word
    for p in $(rotated "$((rep + n))" $PATHS); do
      scale_point "$p" "$n" "$rep" "$(src_count "$n")" legit || exit 1
    done
  done
done
if [ -n "${SCALE_VARIANT_POINTS:-}" ]; then
  scale_variant_points "$SCALE_VARIANT_POINTS" || exit 1
fi
if [ "$SIDE" = 1 ]; then
  log "side measurement (labelled in the report): 500 sessions through 443 from ONE address; the per-source limit (64) must cap it"
  scale_point 443 500 1 1 side-one-source || exit 1
fi
record_load scale-end
if [ -n "$FORWARDS$WEBNAMES" ]; then
  scale_config || { echo "bench:scale: the configuration-scaling phase failed; see $LAB/logs" >&2; exit 1; }
fi
if [ -n "$STREAM_VARIANTS" ]; then
  scale_stream || { echo "bench:scale: the 443 stream phase failed; see $LAB/logs" >&2; exit 1; }
fi

log "analysing"
mkdir -p "$OUT"
# SCALE_RAW_OUT: keep the raw JSON lines (re-analyse later with scale_analyse.py --res).
if [ -n "${SCALE_RAW_OUT:-}" ]; then rm -rf -- "$SCALE_RAW_OUT" && cp -a "$RES" "$SCALE_RAW_OUT"; fi
"$PY" "$BENCH/scale_analyse.py" --res "$RES" --out "$OUT/scale.json" || exit 1
"$PY" "$BENCH/report.py" --results "$OUT/results.json" --scale "$OUT/scale.json" --out "$OUT" || exit 1
log "done in $(($(date +%s) - T0)) s: $OUT/scale.json, $OUT/REPORT.md, $OUT/scale-*.png"
