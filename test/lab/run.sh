#!/bin/bash
# The network lab (npm run test:lab): Linux, root. Builds a topology of
# network namespaces (client, cf, dns, vps, home, peer, ctl around an
# "internet" router; vps–home over a real tailnet: Headscale on ctl,
# tailscaled on vps and home), pushes the rendered bundle to the vps over real
# SSH with the real push script, and tests the edge with real clients. See
# test/lab/README.md.
#
#   test/lab/run.sh            build, test, tear down (Headscale: once per
#                              tailscaled firewall mode, nftables then iptables)
#   LAB_TAILNET=stand-in ...   vps–home over a veth pair named tailscale0 instead
#   LAB_TS_FIREWALL=nftables|iptables ...   one firewall mode only
#   LAB_KEEP=1 test/lab/run.sh keep the namespaces and files after the run
#   test/lab/run.sh --down     tear down a kept lab
#   LAB_ONLY="xmpp web" ...    run only these test groups (after the setup)
#   LAB_ONLY=all-groups ...    every group, in iptables mode too (see FW_MODE)
#
# tailscaled's iptables mode runs only the groups whose outcome depends on the
# firewall mode (FW_MODE below; the nftables run runs every group).
# Prints one line per assertion and closes with "LINK: N passed, N failed"
# (LINK: headscale-nftables, headscale-iptables, veth-standin; both modes:
# headscale-nftables+iptables); exits 1 if any failed, 2 if tools are missing.
# Every wait is bounded; each run is bounded by LAB_TIMEOUT (default
# LAB_RUN_BOUND: twice what a run takes beside the VM suite).
set -uo pipefail

TAILNET=${LAB_TAILNET:-headscale}
case $TAILNET in
  headscale | stand-in) ;;
  *) echo "test/lab/run.sh: LAB_TAILNET=$TAILNET: expected headscale or stand-in" >&2; exit 2 ;;
esac
TS_FW=${LAB_TS_FIREWALL:-both}
case $TS_FW in
  nftables | iptables | both) ;;
  *) echo "test/lab/run.sh: LAB_TS_FIREWALL=$TS_FW: expected nftables, iptables or both" >&2; exit 2 ;;
esac
# A kept or setup-only lab is one run: nftables unless told otherwise.
if [ "$TS_FW" = both ] && { [ "${LAB_KEEP:-0}" = 1 ] || [ "${LAB_SETUP_ONLY:-0}" = 1 ]; }; then TS_FW=nftables; fi

# Headscale in both firewall modes: the whole suite once per mode, one closing line.
if [ "$TAILNET" = headscale ] && [ "$TS_FW" = both ] && [ "${1:-}" != --down ]; then
  total_p=0 total_f=0 rc=0 summary=()
  for mode in nftables iptables; do
    out=$(mktemp)
    groups=
    t0=$(date +%s)
    LAB_TS_FIREWALL=$mode "$BASH" "$0" "$@" | tee "$out"
    r=${PIPESTATUS[0]}
    [ "$r" -le "$rc" ] || rc=$r
    last=$(tail -n 1 "$out")
    groups=$(sed -n 's/^# groups run: //p' "$out" | tail -n 1)
    rm -f "$out"
    if [[ "$last" =~ ^headscale-$mode:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
      total_p=$((total_p + BASH_REMATCH[1])) total_f=$((total_f + BASH_REMATCH[2]))
      summary+=("$mode ${BASH_REMATCH[1]}/$((BASH_REMATCH[1] + BASH_REMATCH[2])) in $(($(date +%s) - t0)) s${groups:+, groups $groups}")
    else
      total_f=$((total_f + 1))
      summary+=("$mode: no closing line (exit $r)")
    fi
    [ "$r" -ne 2 ] || break # tools missing: the second run would say the same
  done
  joined=$(IFS=';'; echo "${summary[*]}")
  echo "# headscale, tailscaled's firewall in both modes: ${joined//;/; }"
  echo "headscale-nftables+iptables: $total_p passed, $total_f failed"
  exit "$rc"
fi

# The whole nftables run took 896 s beside test:vm (2026-12-07, as test:all runs
# them): 900 s cut CI's run at its last group.
LAB_RUN_BOUND=1800
if [ -z "${XEL_UNDER_TIMEOUT:-}" ] && [ "${1:-}" != --down ]; then
  export XEL_UNDER_TIMEOUT=1
  exec timeout --signal=TERM --kill-after=20 "${LAB_TIMEOUT:-$LAB_RUN_BOUND}" "$BASH" "$0" "$@"
fi

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# Not under the repository: each lab host mounts fresh tmpfs on /tmp, /var/tmp,
# /root and /run, which would hide a checkout there (CI clones anywhere).
# shellcheck source=scripts/lib/cache.sh
source "$REPO/scripts/lib/cache.sh"
LAB=${LAB_DIR:-$(cache_dir lab/net)}
if [ -n "${LAB_DIR:-}" ]; then cache_lab_visible LAB_DIR "$LAB"; else cache_lab_visible XMPP_EDGE_CACHE "$XMPP_EDGE_CACHE"; fi
# shellcheck source=test/lab/lib.sh
source "$HERE/lib.sh"
# shellcheck source=test/lab/setup.sh
source "$HERE/setup.sh"
# shellcheck source=test/lab/tailnet.sh
source "$HERE/tailnet.sh"
# shellcheck source=test/lab/tests.sh
source "$HERE/tests.sh"
# shellcheck source=test/lab/tests-check.sh
source "$HERE/tests-check.sh"
# shellcheck source=test/lab/tests-turn-tls.sh
source "$HERE/tests-turn-tls.sh"
# shellcheck source=test/lab/attack.sh
source "$HERE/attack.sh"
# shellcheck source=test/lab/tests-attack-host.sh
source "$HERE/tests-attack-host.sh"
# shellcheck source=test/lab/tests-attack-web.sh
source "$HERE/tests-attack-web.sh"
# shellcheck source=test/lab/tests-attack-origin.sh
source "$HERE/tests-attack-origin.sh"
# shellcheck source=test/lab/tests-floods.sh
source "$HERE/tests-floods.sh"
# shellcheck source=test/lab/tests-edges.sh
source "$HERE/tests-edges.sh"
WORD=$(tailnet_word)

# Whether a group's outcome depends on tailscaled's firewall mode. tailscaled
# in iptables mode writes its own chains through iptables-nft (ts-input,
# ts-forward, ts-postrouting in the ip/ip6 filter and nat tables) instead of
# native nftables ones; they see what comes in from, goes out to or is
# forwarded through tailscale0, and the apply must leave them alone. "yes":
# the iptables run reruns the group; "no": the nftables run's result holds
# for both modes. A group of LAB_GROUPS missing here runs in both modes (and
# the run says so): a new group adds its line. docs/testing.md has the table.
declare -A FW_MODE=(
  [dns]="no: nsd on the dns host answers the client; no packet crosses the vps"
  [push]="yes: the apply must leave tailscaled's iptables-nft tables as they were (ts_intact)"
  [xmpp]="no: 443 is nginx on the vps (its own connections to home, replies through ts-input's tailscale0 accept: the tailnet group's restart checks); 5222's DNAT is the forwards group's path"
  [web]="no: nginx on the vps proxies to home over its own connections, as xmpp's 443"
  [routing]="no: nginx's ALPN/SNI decision, before any packet reaches tailscale0"
  [turn]="no: coturn relays between client and peer on the public side; tailscale0 is not on the path"
  [forwards]="yes: DNAT to home through ts-forward (mark, accept) and the masquerade through ts-postrouting, IPv4 and IPv6"
  [tailnet]="yes: the mode itself (tailscaled's log, ts-input in iptables-save), 41641/udp past the edge's input beside ts-input, tailscaled restarting its chains under the edge's table"
  [derp]="no: the relay changes how tailscaled carries WireGuard (TCP to ctl), not the chains the forwarded packets cross (forwards, tailnet)"
  [scan]="no: the public addresses from the internet; ts-input only accepts 41641 (tailnet group) and drops tailnet-range sources off tailscale0"
  [attack_web]="no: floods and name mismatches on the public side, limited by the edge's table before tailscaled's chains"
  [attack_origin]="no: the plan's refusals; the weakened forward's path is the forwards group's DNAT and masquerade"
  [check]="no: the check CLI's verdicts, over paths xmpp, web and forwards prove"
  [attack_host]="yes: the relay guard toward tailnet addresses and the tailnet as a way to the edge's own ports: what comes in on tailscale0 meets ts-input's accept"
  [turn_tls]="no: the 443-only client relays to the peer on the public side (nginx's terminator hands the stream to coturn over loopback); its denied tailnet peers are refused by coturn's 403, and the guard toward the tailnet is attack_host's"
  [relay_ssh]="no: SSH from the internet through a relay range's accept rule, the public side only"
  [floods]="yes: the UDP budget to home is forwarded through ts-forward and ts-postrouting under the flood"
  [fault_validation]="no: nginx -t refuses the bundle before the apply touches a firewall"
  [fault_lockout]="yes: the revert reloads the previous table beside tailscaled's and must leave them (ts_intact)"
  [proxy_protocol]="no: an in-place re-push (push proves the apply) and nginx's own connections to home; Headscale's ACL is tailscaled's userspace filter, the same in both modes"
  [attack_web_pp]="no: PROXY headers between nginx and home, decided in nginx"
  [remove]="yes: REMOVE_COMMAND deletes the edge's table and sysctls and must leave tailscaled's tables and listener"
  [edges]="no: runs in the nftables run only (t_edges); vps2's forwards cross the same chains as vps1's"
)
# fw_mode_groups: the groups the iptables run reruns, in LAB_GROUPS order.
fw_mode_groups() {
  local g out=()
  for g in "${LAB_GROUPS[@]}"; do
    case ${FW_MODE[$g]:-} in
      no:*) ;;
      yes:*) out+=("$g") ;;
      *) echo "# $g: not in test/lab/run.sh's FW_MODE, so it runs in both firewall modes" >&2; out+=("$g") ;;
    esac
  done
  echo "${out[*]}"
}
if [ "${LAB_ONLY:-}" = all-groups ]; then
  LAB_ONLY=""
elif [ -z "${LAB_ONLY:-}" ] && [ "$TAILNET:$TS_FW" = headscale:iptables ] && [ "${1:-}" != --down ]; then
  LAB_ONLY=$(fw_mode_groups)
  echo "# iptables mode: only the groups whose outcome depends on tailscaled's firewall mode (test/lab/run.sh FW_MODE; LAB_ONLY=all-groups runs all): $LAB_ONLY"
fi

if [ "$(id -u)" != 0 ] || [ "$(uname -s)" != Linux ]; then
  echo "test/lab/run.sh: needs Linux and root (network namespaces, mounts)" >&2
  exit 2
fi
if [ "${1:-}" = --down ]; then
  lab_down
  echo "lab: torn down (files kept in $LAB)"
  exit 0
fi
missing=()
for tool in ip nsenter unshare setsid nft nginx turnserver turnutils_uclient turnutils_peer sshd ssh ssh-keygen \
  prosody prosodyctl nsd dig go-sendxmpp openssl curl nmap socat ss /usr/bin/python3 ssh-audit runuser hping3 pebble certbot; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=(libnginx-mod-stream)
/usr/bin/python3 -c 'import slixmpp' 2>/dev/null || missing+=(python3-slixmpp)
/usr/bin/python3 -c 'import aiortc' 2>/dev/null || missing+=(python3-aiortc)
# tailscaled's iptables mode runs iptables/ip6tables (Debian: iptables-nft); nftables mode needs no tool.
[ "$TAILNET:$TS_FW" != headscale:iptables ] || command -v ip6tables >/dev/null 2>&1 || missing+=(iptables)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test/lab/run.sh: missing ${missing[*]}; run scripts/lab/install-deps.sh" >&2
  exit 2
fi
if [ "$TAILNET" = headscale ] && ! tailnet_bins; then exit 2; fi

T0=$(date +%s)
lab_traps "$WORD" "$LAB_RUN_BOUND"

# A kept or crashed earlier run: its namespaces are ours by name.
lab_down
rm -rf -- "$LAB"
mkdir -p "$LAB/logs"

section "setup"
if ! make_pki || ! render_dns_plan || ! build_lab; then
  not_ok "lab setup" "see $LAB/logs (LAB_KEEP=1 keeps them)"
  echo "$WORD: $PASS passed, $FAIL failed"
  exit 1
fi
if [ "$TAILNET" = headscale ]; then
  ok "lab setup: 8 hosts, Headscale, vps and home in the tailnet ($VPS_TS4, $HOME_TS4), the DNS, home and peer services up ($(($(date +%s) - T0)) s)"
else
  ok "lab setup: 7 hosts, the DNS, home and peer services up ($(($(date +%s) - T0)) s)"
fi
if [ "${LAB_SETUP_ONLY:-0}" = 1 ]; then
  echo "# LAB_SETUP_ONLY=1: stopping after the setup"
  LAB_KEEP=1
  exit 0
fi

run_tests

T1=$(date +%s)
if [ "$TAILNET" = headscale ]; then
  echo "# total $((T1 - T0)) s; link vps–home: tailscale0 of tailscaled $(on vps tailscale version 2>/dev/null | head -n 1) (firewall mode $TS_FW), Headscale $HS_URL"
else
  echo "# total $((T1 - T0)) s; link vps–home: veth pair 'tailscale0' (MTU 1280, tailnet addresses) standing in for the WireGuard tailnet"
fi
[ "$FAIL" -eq 0 ] || printf '# failed: %s\n' "${FAILED[@]}"
echo "# groups run: ${#LAB_RAN[@]} of ${#LAB_GROUPS[@]} (${LAB_RAN[*]})"
attack_summary
echo "$WORD: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
