#!/usr/bin/env bash
# Installs the Debian packages `npm run bench` (bench/run.sh) needs: the edge's
# own software on the lab-style vps (the same as the network lab's), the
# alternatives it compares against, iperf3 for a cross-check and matplotlib
# for the chart. Go (for bench/benchnet) must be there already. Idempotent;
# root; an apt source. Like the lab's installer it keeps the packages' daemons
# from starting on this machine (policy-rc.d 101): the bench starts its own
# copies inside its namespaces.
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
)

if [ "$(id -u)" != 0 ]; then
  echo "bench install-deps: run as root" >&2
  exit 1
fi
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  echo "bench install-deps: the bench's load generator is Go (stdlib only); no go on PATH or in /usr/local/go" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "bench install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "bench install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi
trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "bench install-deps: done"
