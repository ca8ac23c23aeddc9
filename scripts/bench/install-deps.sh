#!/usr/bin/env bash
# Installs the Debian packages `npm run bench` (bench/run.sh) needs: the edge's
# own software on the lab-style vps (the same as the network lab's), the
# alternatives it compares against, iperf3 for a cross-check and matplotlib
# for the chart; then tailscaled and headscale for the tailnet phase (built
# from the Go module proxy, cached). Go (for bench/benchnet) must be there
# already. Idempotent; root. scripts/apt-install.sh keeps the packages'
# daemons from starting on this machine: the bench starts its own copies
# inside its namespaces.
set -euo pipefail

PACKAGES=(
  iproute2 procps util-linux coreutils # ip netns, unshare, nsenter, timeout
  openssh-server openssh-client      # the push: sshd on the vps, ssh from the deployer
  nginx libnginx-mod-stream          # the edge
  nftables                           # the edge's table
  coturn                             # TURN on the vps
  openssl python3                    # the bench CA; the helpers
  haproxy            # alternative: SNI/ALPN routing in TCP mode
  sslh               # alternative: ALPN/SNI multiplexer (sslh, a process per connection, and sslh-select)
  rinetd             # alternative: plain TCP forward
  socat              # alternative: plain TCP forward (fork per connection)
  iperf3             # cross-check of the bench's own TCP throughput numbers
  python3-matplotlib # bench/chart.png
  conntrack          # bench:flood: flushing conntrack between scenarios, `conntrack -S`
)

if [ "$(id -u)" != 0 ]; then
  echo "bench install-deps: run as root" >&2
  exit 1
fi
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  echo "bench install-deps: the bench's load generator is Go (stdlib only); no go on PATH or in /usr/local/go" >&2
  exit 1
fi

bash "$(dirname "$0")/../apt-install.sh" "${PACKAGES[@]}"
# The bench's third phase runs the real tailnet (tailscaled, headscale), built
# from the Go module proxy and cached, as for the network lab.
bash "$(dirname "$0")/../lab/build-tailnet.sh" >/dev/null
