#!/usr/bin/env bash
# Debian packages for `npm run test:tools`: the real tools that check the
# rendered files (nginx -t, nft, cloud-init schema, turnserver, sysctl, sshd -T,
# apt-config).
set -euo pipefail
exec "$(dirname "$0")/apt-install.sh" \
  nginx libnginx-mod-stream nftables coturn cloud-init iproute2 procps util-linux python3-yaml \
  openssh-server apt
