#!/bin/bash
# The network lab (npm run test:lab): Linux, root. Builds a topology of
# network namespaces (client, cf, dns, vps, home, peer around an "internet"
# router; vps–home over a veth pair named tailscale0 standing in for the
# tailnet), pushes the rendered bundle to the vps over real SSH with the real
# push script, and tests the edge with real clients. See test/lab/README.md.
#
#   test/lab/run.sh            build, test, tear down
#   LAB_KEEP=1 test/lab/run.sh keep the namespaces and files after the run
#   test/lab/run.sh --down     tear down a kept lab
#   LAB_ONLY="xmpp web" ...    run only these test groups (after the setup)
#
# Prints one line per assertion and closes with "LINK: N passed, N failed";
# exits 1 if any failed. Every wait is bounded; the whole run is bounded by
# LAB_TIMEOUT (default 900 s).
set -uo pipefail

if [ -z "${XEL_UNDER_TIMEOUT:-}" ] && [ "${1:-}" != --down ]; then
  export XEL_UNDER_TIMEOUT=1
  exec timeout --signal=TERM --kill-after=20 "${LAB_TIMEOUT:-900}" "$BASH" "$0" "$@"
fi

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB=${LAB_DIR:-$REPO/.lab/net}
# shellcheck source=test/lab/lib.sh
source "$HERE/lib.sh"
# shellcheck source=test/lab/setup.sh
source "$HERE/setup.sh"
# shellcheck source=test/lab/tests.sh
source "$HERE/tests.sh"

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
  prosody prosodyctl nsd dig go-sendxmpp openssl curl nmap socat ss /usr/bin/python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=(libnginx-mod-stream)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test/lab/run.sh: missing ${missing[*]}; run scripts/lab/install-deps.sh" >&2
  exit 2
fi

T0=$(date +%s)
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "${LAB_KEEP:-0}" = 1 ]; then
    echo "# LAB_KEEP=1: namespaces ${LAB_PREFIX}* and $LAB kept; tear down with: $0 --down"
  else
    lab_down
    [ -d "$LAB" ] && rm -rf -- "$LAB"
  fi
  exit "$rc"
}
trap cleanup EXIT
interrupted() {
  not_ok "the lab run finished (interrupted by $1; LAB_TIMEOUT=${LAB_TIMEOUT:-900} s bounds the whole run)"
  echo "veth-standin: $PASS passed, $FAIL failed"
  exit 130
}
trap 'interrupted SIGINT' INT
trap 'interrupted SIGTERM' TERM

# A kept or crashed earlier run: its namespaces are ours by name.
lab_down
rm -rf -- "$LAB"
mkdir -p "$LAB/logs"

section "setup"
if ! make_pki || ! render_all || ! build_lab; then
  not_ok "lab setup" "see $LAB/logs (LAB_KEEP=1 keeps them)"
  echo "veth-standin: $PASS passed, $FAIL failed"
  exit 1
fi
ok "lab setup: 6 hosts, the DNS, home and peer services up ($(($(date +%s) - T0)) s)"
if [ "${LAB_SETUP_ONLY:-0}" = 1 ]; then
  echo "# LAB_SETUP_ONLY=1: stopping after the setup"
  LAB_KEEP=1
  exit 0
fi

run_tests

T1=$(date +%s)
echo "# total $((T1 - T0)) s; link vps–home: veth pair 'tailscale0' (MTU 1280, tailnet addresses) standing in for the WireGuard tailnet"
[ "$FAIL" -eq 0 ] || printf '# failed: %s\n' "${FAILED[@]}"
echo "veth-standin: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
