#!/usr/bin/env bash
# Throughput of the edge's forwarded path in the network lab, over the real
# tailnet and over the veth stand-in, in one run: client -> VPS public address
# port 7002 (an extraForwards TCP port: nftables DNAT + masquerade onto
# tailscale0) -> home 7002, where iperf3 serves. For each link: the lab is
# built and the edge pushed (test/lab/run.sh with LAB_ONLY=push, LAB_KEEP=1),
# then REPS iperf3 runs of SECS seconds each way (upload client->home,
# download home->client with -R). Prints every run and, per link and
# direction, the median, min and max in Mbit/s. No assertion: numbers only.
#
#   scripts/lab/tailnet-throughput.sh               stand-in, headscale (nftables), headscale-derp
#   REPS=7 SECS=10 LINKS="headscale" scripts/lab/tailnet-throughput.sh
#
# headscale-derp: the same tailnet with no UDP path between home and the vps
# (test/lab/lib.sh cgnat_stand_in: a home behind a carrier NAT), so WireGuard
# runs through Headscale's DERP relay on ctl.
#   LAB_TS_FIREWALL=iptables scripts/lab/tailnet-throughput.sh
#
# Needs what test/lab/run.sh needs (scripts/lab/install-deps.sh) and iperf3.
# Linux, root. The numbers depend on the machine and on what else runs there:
# the tailnet's WireGuard is tailscaled's userspace wireguard-go, so it takes
# CPU the veth pair does not; the script prints the load average beside them.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
REPS=${REPS:-5}
SECS=${SECS:-5}
LINKS=${LINKS:-stand-in headscale headscale-derp}
export LAB_TS_FIREWALL=${LAB_TS_FIREWALL:-nftables}
# shellcheck source=scripts/lib/cache.sh
source "$repo/scripts/lib/cache.sh"
LAB=${LAB_DIR:-$(cache_dir lab/net)}
VPS4=198.51.100.10
PORT=7002

[ "$(id -u)" = 0 ] || { echo "tailnet-throughput: run as root" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "tailnet-throughput: iperf3 missing (scripts/lab/install-deps.sh)" >&2; exit 2; }

# shellcheck source=test/lab/lib.sh
source "$repo/test/lab/lib.sh" # cgnat_stand_in (and LAB_PREFIX)

in_host() { # NAME CMD...
  local name=$1
  shift
  timeout --kill-after=5 $((SECS + 30)) nsenter -t "$(cat "$LAB/hosts/$name/holder.pid")" -n -m -p -u --wd=/ -- "$@"
}

results=$(mktemp)
trap 'bash "$repo/test/lab/run.sh" --down >/dev/null 2>&1; rm -f "$results"' EXIT

for link in $LINKS; do
  tailnet=${link%-derp}
  case $tailnet in stand-in | headscale) ;; *) echo "tailnet-throughput: LINKS: $link: expected stand-in, headscale or headscale-derp" >&2; exit 2 ;; esac
  echo "# $link: building the lab and pushing the edge ..."
  if ! LAB_TAILNET=$tailnet LAB_KEEP=1 LAB_ONLY=push bash "$repo/test/lab/run.sh" >"/tmp/xmpp-edge-throughput-$link.log" 2>&1; then
    echo "tailnet-throughput: the lab ($link) did not come up; see /tmp/xmpp-edge-throughput-$link.log" >&2
    tail -n 5 "/tmp/xmpp-edge-throughput-$link.log" >&2
    exit 1
  fi
  word=$(tail -n 2 "/tmp/xmpp-edge-throughput-$link.log" | head -n 1 | cut -d: -f1)
  if [ "$link" = headscale-derp ]; then
    word=$word+derp
    cgnat_stand_in on
    relayed=""
    for _ in $(seq 20); do
      # Read it whole: grep -q would close the pipe early, and pipefail would count ping's SIGPIPE.
      out=$(in_host vps tailscale ping -c 2 --timeout 2s "$(in_host home tailscale ip -4)" 2>&1)
      grep -q "via DERP(" <<<"$out" && { relayed=1; break; }
      sleep 1
    done
    [ -n "$relayed" ] || { echo "tailnet-throughput: the path did not move to DERP with UDP dropped" >&2; exit 1; }
  fi
  if [ "$tailnet" = headscale ]; then
    # Direct or through the DERP relay: tailscale ping says which.
    echo "# $word: $(in_host vps tailscale ping -c 5 "$(in_host home tailscale ip -4)" 2>&1 | tail -n 1)"
  fi
  # iperf3 in place of the socat greeter on home's 7002.
  in_host home pkill -f "TCP6-LISTEN:$PORT" || true
  in_host home iperf3 -s -D -p "$PORT" --logfile /tmp/iperf3.log || exit 1
  for _ in $(seq 50); do in_host home ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.1; done
  for dir in upload download; do
    flag=""
    [ "$dir" = download ] && flag=-R
    for i in $(seq "$REPS"); do
      # shellcheck disable=SC2086 # flag is empty or one word
      out=$(in_host client iperf3 -c "$VPS4" -p "$PORT" -t "$SECS" -O 1 $flag -J 2>&1)
      mbps=$(/usr/bin/python3 -c 'import json, sys
d = json.loads(sys.stdin.read())
print(round(d["end"]["sum_received"]["bits_per_second"] / 1e6, 1))' <<<"$out" 2>/dev/null) || mbps=""
      if [ -z "$mbps" ]; then
        echo "tailnet-throughput: iperf3 failed ($word $dir #$i): $(tail -n 3 <<<"$out")" >&2
        continue
      fi
      echo "$word $dir $i $mbps Mbit/s (load $(cut -d' ' -f1 /proc/loadavg))"
      echo "$word $dir $mbps" >>"$results"
    done
  done
  cgnat_stand_in off
  bash "$repo/test/lab/run.sh" --down >/dev/null 2>&1
done

echo "# client -> VPS $VPS4:$PORT (DNAT + masquerade) -> home:$PORT, TCP, iperf3 ${SECS}s x $REPS per direction; $(nproc) CPUs"
/usr/bin/python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    word, d, v = line.split()
    rows.setdefault((word, d), []).append(float(v))
print(f'{"link":28} {"direction":9} {"median":>9} {"min":>9} {"max":>9}  Mbit/s')
for (word, d), vs in rows.items():
    print(f"{word:28} {d:9} {statistics.median(vs):9.1f} {min(vs):9.1f} {max(vs):9.1f}")
PY
