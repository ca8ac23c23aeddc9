#!/bin/bash
# npm run bench:flood: the edge under floods, measured second by second in
# the bench's kind of network lab. Linux, root, the packages of
# scripts/bench/install-deps.sh, node_modules (npm ci), Go. See bench/README.md.
#
#   bash bench/flood.sh            measure; write bench/flood.json, REPORT.md's "Under flood", flood.png
#   bash bench/flood.sh --report   only re-render the section and the chart from bench/flood.json
#   BENCH_KEEP=1 bash bench/flood.sh   keep the namespaces (xbf-*); then bash bench/flood.sh --down
#
# Knobs: FLOOD_SECS (120 s of flood per scenario), FLOOD_BASE_SECS (10 s of
# unloaded baseline before each flood), FLOOD_TAIL_SECS (5 s after it),
# FLOOD_SCENARIOS ("G1 G2 G3 G4 G5"), FLOOD_EDGES ("fixed synproxy weakened today"),
# FLOOD_SYN_RATE (0: as fast as the attacker's raw socket goes), FLOOD_UDP_RATE
# (25000), FLOOD_STUN_RATE (20000), FLOOD_LEGIT_RATE (10 new sessions/s of
# each kind), FLOOD_SESSIONS (20 established XMPP sessions pinging),
# FLOOD_G3_SOURCES (1024) x FLOOD_G3_PER_SRC (64) idle sessions, FLOOD_G3_WORKERS
# (12: nginx workers for G3 where a process may hold fewer files than the edge asks),
# FLOOD_G2_SPRAY (70000 spoofed sources), FLOOD_TODAY_REV (e961d5d^: the
# commit before the flood protections; "today's edge" is rendered by its own
# renderer from a `git archive` of it), BENCH_TIMEOUT (3600 s), BENCH_OUT.
#
# Every flood is bounded in packets and seconds (benchnet spoof -secs
# -count); the spoofed sources are 198.18.0.0/15, which the router
# blackholes (the edge's answers go nowhere). The legitimate clients come
# from 192.0.2.0/24, G3's idle sessions from 10.20.0.0/16. Nothing here
# asserts a timing: flood_report.py states each goal's verdict from the numbers.
set -uo pipefail

if [ -z "${XEB_UNDER_TIMEOUT:-}" ] && [ "${1:-}" != --down ] && [ "${1:-}" != --report ]; then
  export XEB_UNDER_TIMEOUT=1
  exec timeout --signal=TERM --kill-after=20 "${BENCH_TIMEOUT:-3600}" "$BASH" "$0" "$@"
fi

BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
OUT=${BENCH_OUT:-$BENCH}
PY=/usr/bin/python3

if [ "${1:-}" = --report ]; then
  exec "$PY" "$BENCH/flood_report.py" --flood "$OUT/flood.json" --out "$OUT"
fi

# shellcheck source=scripts/lib/cache.sh
source "$REPO/scripts/lib/cache.sh"
LAB=${BENCH_LAB_DIR:-$(cache_dir lab/flood)}
# shellcheck source=test/lab/lib.sh
source "$REPO/test/lab/lib.sh"
LAB_PREFIX=${BENCH_LAB_PREFIX:-xbf-}

FLOOD_SECS=${FLOOD_SECS:-120}
BASE_SECS=${FLOOD_BASE_SECS:-10}
TAIL_SECS=${FLOOD_TAIL_SECS:-5}
SCENARIOS=${FLOOD_SCENARIOS:-G1 G2 G3 G4 G5}
EDGES=${FLOOD_EDGES:-fixed synproxy weakened today}
SYN_RATE=${FLOOD_SYN_RATE:-0}
UDP_RATE=${FLOOD_UDP_RATE:-25000}
STUN_RATE=${FLOOD_STUN_RATE:-20000}
LEGIT_RATE=${FLOOD_LEGIT_RATE:-10}
SESSIONS=${FLOOD_SESSIONS:-20}
G3_SOURCES=${FLOOD_G3_SOURCES:-1024}
G3_PER_SRC=${FLOOD_G3_PER_SRC:-64}
G3_WORKERS=${FLOOD_G3_WORKERS:-12}
G2_SPRAY=${FLOOD_G2_SPRAY:-70000}
TODAY_REV=${FLOOD_TODAY_REV:-e961d5d^}
WEAKEN=floods,synproxy,turn-new-flows,tcp-loose,turn-tcp-limit,icmp-echo,http-rate,udp-budget
RES=$LAB/results
BIN=$LAB/bin/benchnet
SAMPLER_PID=""

if [ "$(id -u)" != 0 ] || [ "$(uname -s)" != Linux ]; then
  echo "bench/flood.sh: needs Linux and root (network namespaces, raw sockets)" >&2
  exit 2
fi
if [ "${1:-}" = --down ]; then
  lab_down
  echo "bench:flood: torn down (files kept in $LAB)"
  exit 0
fi
for f in host_up on bg lab_down link_host setup_vps_etc standin_link standin_ts_rules wait_for listening; do
  declare -F "$f" >/dev/null || { echo "bench/flood.sh: test/lab/lib.sh no longer defines $f" >&2; exit 2; }
done
missing=()
for tool in ip nsenter unshare setsid nft nginx turnserver sshd ssh ssh-keygen openssl conntrack git "$PY"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
GO=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$GO" ] || missing+=(go)
[ -x "$REPO/node_modules/.bin/tsx" ] || missing+=("node_modules (npm ci)")
"$PY" -c 'import matplotlib' 2>/dev/null || missing+=(python3-matplotlib)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench/flood.sh: missing ${missing[*]}; run scripts/bench/install-deps.sh" >&2
  exit 2
fi

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
# shellcheck source=bench/flood-lib.sh
source "$BENCH/flood-lib.sh"
STACK=$BENCH/stacks/Pulumi.flood.yaml
bench_traps bench:flood 3600

T0=$(date +%s)
lab_down
rm -rf -- "$LAB"
mkdir -p "$LAB/logs" "$RES" "$LAB/bin" "$LAB/conf"

log "building bench/benchnet (Go, standard library only)"
(cd "$BENCH/benchnet" && GOFLAGS=-buildvcs=false "$GO" build -trimpath -o "$BIN" .) || { echo "bench:flood: go build failed" >&2; exit 1; }
cp "$BENCH/flood_sample.py" "$LAB/bin/"
log "rendering the edges: $EDGES"
flood_render || { echo "bench:flood: rendering failed; see $LAB/logs" >&2; exit 1; }
log "building the hosts (namespaces ${LAB_PREFIX}*)"
{ build_topology && flood_topology; } || { echo "bench:flood: building the hosts failed; see $LAB/logs" >&2; exit 1; }
flood_meta

for edge in $EDGES; do
  log "edge: $edge"
  flood_push "$edge" || { echo "bench:flood: pushing the $edge edge failed; see $LAB/logs" >&2; exit 1; }
  for sc in $SCENARIOS; do
    "scenario_$sc" "$edge" || log "scenario $sc on the $edge edge did not complete (recorded)"
  done
done

log "analysing"
mkdir -p "$OUT"
"$PY" "$BENCH/flood_report.py" --res "$RES" --write "$OUT/flood.json" --out "$OUT" || exit 1
log "done in $(($(date +%s) - T0)) s: $OUT/flood.json, $OUT/REPORT.md (Under flood), $OUT/flood.png"
