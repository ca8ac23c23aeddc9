#!/usr/bin/env bash
# Installs what the network lab (test/lab/run.sh) needs: the Debian packages,
# and (unless LAB_TAILNET=stand-in) tailscaled, tailscale and headscale, built
# from the Go module proxy by scripts/lab/build-tailnet.sh into its cache
# (minutes on a cold cache, nothing once built).
# Idempotent: installs only what is missing (scripts/apt-install.sh, which also
# keeps the packages' daemons from starting on this machine). Needs root.
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
  python3-slixmpp                               # an XMPP client library doing direct TLS without ALPN
  hping3                                        # the SYN flood of the attack group (raw SYNs, a new source port each)
  python3                                       # small helpers (DNS zone, comparisons)
  curl openssl nmap socat ca-certificates
  iptables                                      # tailscaled's iptables firewall mode (iptables-nft)
  iperf3                                        # scripts/lab/tailnet-throughput.sh
  ssh-audit                                     # the vps sshd against current SSH guidance (the attack-host group)
  pebble certbot                                # the lab's ACME server (dns host); the edge's TURN certificate (turnTls)
  python3-aiortc                                # a WebRTC peer pair through turns: (the turn_tls group)
)

bash "$here/../apt-install.sh" "${PACKAGES[@]}"
if [ "${LAB_TAILNET:-headscale}" != stand-in ]; then
  bash "$here/build-tailnet.sh" >/dev/null
fi
echo "install-deps: done"
