#!/usr/bin/env bash
# Installs what the network lab (test/lab/run.sh) needs: the Debian packages,
# and (unless LAB_TAILNET=stand-in) tailscaled, tailscale and headscale, built
# from the Go module proxy by scripts/lab/build-tailnet.sh into its cache
# (minutes on a cold cache, nothing once built).
# Idempotent: installs only what is missing. Needs root and an apt source.
# Installing does not start anything that matters here: without systemd the
# packages' services are not started (and the lab never uses the machine's own).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

PACKAGES=(
  iproute2 procps psmisc util-linux coreutils   # ip netns, unshare, nsenter, timeout
  openssh-server openssh-client                 # sshd on the vps, ssh from the deployer
  nginx libnginx-mod-stream                     # the edge (vps) and the home web/PROXY receiver
  nftables                                      # the edge's table
  coturn                                        # TURN on the vps; turnutils_uclient
  prosody lua-unbound                           # home and peer XMPP servers
  nsd                                           # authoritative DNS for the lab zones
  bind9-dnsutils                                # dig
  go-sendxmpp                                   # the XMPP client (STARTTLS, direct TLS with ALPN)
  python3                                       # small helpers (DNS zone, comparisons)
  curl openssl nmap socat ca-certificates
  iptables                                      # tailscaled's iptables firewall mode (iptables-nft)
  iperf3                                        # scripts/lab/tailnet-throughput.sh
)

build_tailnet() {
  [ "${LAB_TAILNET:-headscale}" != stand-in ] || return 0
  bash "$here/build-tailnet.sh" >/dev/null
}

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: run as root" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  [ "$p" = "#" ] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  build_tailnet
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d 101: packages must not start their daemons on this machine.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  made_policy=1
fi
trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
build_tailnet
echo "install-deps: done"
