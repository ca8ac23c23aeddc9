#!/bin/bash
# npm run bench: the edge's data path against the direct path and the
# alternatives, and its control plane, measured in the network lab. Linux,
# root, the packages of scripts/bench/install-deps.sh, node_modules (npm ci),
# Go for bench/benchnet. See bench/README.md.
#
#   bash bench/run.sh             measure; write bench/results.json, REPORT.md, chart.png
#   BENCH_KEEP=1 bash bench/run.sh   keep the namespaces (xeb-*) and the bench's files afterwards
#   bash bench/run.sh --down      tear a kept bench lab down
#   bash bench/run.sh --report    only re-render REPORT.md and chart.png from bench/results.json
#   bash bench/run.sh --turn-tls  only TURN over TLS on 443 vs TURN over UDP (bench/turn-tls.json;
#                                 the bench stack has turnTls on, the edge serves its placeholder certificate)
#
# Knobs: BENCH_REPS (5), BENCH_SECS (3 s per measurement), BENCH_CONNS_C (8
# connections in flight for the rate), BENCH_CONNS_SRC (256 client addresses
# the new connections come from: under the edge's per-source limits), BENCH_QUIET_MAX (180 s of waiting for
# load < 0.5 held 60 s), BENCH_TIMEOUT (1200 s for the whole run), BENCH_OUT
# (bench/), BENCH_LAB_PREFIX (xeb-), BENCH_LAB_DIR. The run is bounded by BENCH_TIMEOUT and cleans up after itself
# (traps; namespaces down) unless BENCH_KEEP=1.
#
# The hosts are the network lab's kind (test/lab/lib.sh: host_up, link_host,
# on, bg): client, inet (router), vps, home and peer, with the lab's addresses
# and its veth stand-in for the tailnet (the third phase swaps in the real
# one: Headscale on a ctl host, tailscaled on vps and home; bench/tailnet.sh),
# under the bench's own namespace prefix (xeb-) and directory
# ($XMPP_EDGE_CACHE/lab/bench), so a lab run (xel-*) and a bench run never
# tear each other down. It asserts nothing about timings.
set -uo pipefail

if [ -z "${XEB_UNDER_TIMEOUT:-}" ] && [ "${1:-}" != --down ] && [ "${1:-}" != --report ]; then
  export XEB_UNDER_TIMEOUT=1
  exec timeout --signal=TERM --kill-after=20 "${BENCH_TIMEOUT:-1200}" "$BASH" "$0" "$@"
fi

BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
OUT=${BENCH_OUT:-$BENCH}
MODE=all
[ "${1:-}" != --turn-tls ] || MODE=turn-tls
PY=/usr/bin/python3

if [ "${1:-}" = --report ]; then
  exec "$PY" "$BENCH/report.py" --results "$OUT/results.json" --out "$OUT"
fi

# Not under the repository: each host mounts fresh tmpfs on /tmp, /var/tmp,
# /root and /run, which would hide a checkout there (as the lab's own files).
# shellcheck source=scripts/lib/cache.sh
source "$REPO/scripts/lib/cache.sh"
LAB=${BENCH_LAB_DIR:-$(cache_dir lab/bench)}
# shellcheck source=test/lab/lib.sh
source "$REPO/test/lab/lib.sh"
# The bench's own namespaces (after sourcing: lib.sh sets xel-); a knob so
# that bench/scale.sh (xsc-) or a second bench never tear each other down.
LAB_PREFIX=${BENCH_LAB_PREFIX:-xeb-}

REPS=${BENCH_REPS:-5}
SECS=${BENCH_SECS:-3}
CONNS_C=${BENCH_CONNS_C:-8}
CONNS_SRC=${BENCH_CONNS_SRC:-256}
RES=$LAB/results
BIN=$LAB/bin/benchnet
SAMPLER_PID=""

if [ "$(id -u)" != 0 ] || [ "$(uname -s)" != Linux ]; then
  echo "bench/run.sh: needs Linux and root (network namespaces, mounts)" >&2
  exit 2
fi
if [ "${1:-}" = --down ]; then
  lab_down
  echo "bench: torn down (files kept in $LAB)"
  exit 0
fi
for f in host_up on bg lab_down link_host setup_vps_etc standin_link standin_ts_rules wait_for listening; do
  declare -F "$f" >/dev/null || { echo "bench/run.sh: test/lab/lib.sh no longer defines $f (the bench builds its hosts with it)" >&2; exit 2; }
done
missing=()
for tool in ip nsenter unshare setsid nft nginx turnserver sshd ssh ssh-keygen openssl socat haproxy sslh-select rinetd iperf3 "$PY"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
GO=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$GO" ] || missing+=(go)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=(libnginx-mod-stream)
[ -x "$REPO/node_modules/.bin/tsx" ] || missing+=("node_modules (npm ci)")
bash "$REPO/scripts/lab/build-tailnet.sh" --check 2>/dev/null || missing+=("tailscaled, tailscale, headscale (scripts/lab/build-tailnet.sh)")
"$PY" -c 'import matplotlib' 2>/dev/null || missing+=(python3-matplotlib)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench/run.sh: missing ${missing[*]}; run scripts/bench/install-deps.sh" >&2
  exit 2
fi

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
# shellcheck source=test/lab/tailnet.sh
source "$REPO/test/lab/tailnet.sh" # Headscale's configuration, tailscaled's start, the policy
# shellcheck source=bench/tailnet.sh
source "$BENCH/tailnet.sh"
bench_traps bench 1200

T0=$(date +%s)
lab_down
rm -rf -- "$LAB"
mkdir -p "$LAB/logs" "$RES" "$LAB/bin" "$LAB/conf"

log "building bench/benchnet (Go, standard library only)"
(cd "$BENCH/benchnet" && GOFLAGS=-buildvcs=false "$GO" build -trimpath -o "$BIN" .) || { echo "bench: go build failed" >&2; exit 1; }

log "rendering the pushes (test/lab/render.ts: the repository's renderers and renderPushScript)"
render_pushes || { echo "bench: rendering failed; see $LAB/logs" >&2; exit 1; }
log "building the hosts (test/lab/lib.sh host_up, link_host; namespaces ${LAB_PREFIX}*)"
build_topology || { echo "bench: building the hosts failed; see $LAB/logs (BENCH_KEEP=1 keeps them)" >&2; exit 1; }
log "hosts up ($(($(date +%s) - T0)) s)"
[ "${BENCH_STOP_AFTER:-}" = setup ] && { BENCH_KEEP=1; exit 0; }

write_meta
wait_quiet
if [ "$MODE" = all ]; then
  control_plane || { echo "bench: the control-plane phase failed; see $LAB/logs" >&2; exit 1; }
else
  # --turn-tls: the edge as pushed, without the control plane's timings.
  { ssh_counters_up && start_sampler && cp_push first "$LAB/push/good"; } || { echo "bench: the push failed; see $LAB/logs" >&2; exit 1; }
fi
[ "${BENCH_STOP_AFTER:-}" = control ] && { BENCH_KEEP=1; exit 0; }

data_setup || { echo "bench: setting up the data-path measurements failed; see $LAB/logs" >&2; exit 1; }
[ "${BENCH_STOP_AFTER:-}" = data-setup ] && { BENCH_KEEP=1; exit 0; }
if [ "$MODE" = turn-tls ]; then
  phase_turn_tls || { echo "bench: the TURN-over-TLS phase failed; see $LAB/logs" >&2; exit 1; }
  mkdir -p "$OUT"
  "$PY" "$BENCH/turn_tls.py" --res "$RES" --out "$OUT/turn-tls.json" || exit 1
  log "done in $(($(date +%s) - T0)) s: $OUT/turn-tls.json"
  exit 0
fi
phase_masquerade
phase_proxy_protocol || { echo "bench: the proxy-protocol phase failed; see $LAB/logs" >&2; exit 1; }
log "swapping the tailnet stand-in for the real tailnet (Headscale, tailscaled on vps and home)"
tailnet_swap || { echo "bench: the real tailnet did not come up; see $LAB/logs" >&2; exit 1; }
phase_tailnet
footprint_snapshot after
record_load end

log "analysing"
mkdir -p "$OUT"
"$PY" "$BENCH/analyse.py" --res "$RES" --push "$LAB/push" --out "$OUT/results.json" || exit 1
"$PY" "$BENCH/report.py" --results "$OUT/results.json" --out "$OUT" || exit 1
log "done in $(($(date +%s) - T0)) s: $OUT/results.json, $OUT/REPORT.md, $OUT/chart.png"
