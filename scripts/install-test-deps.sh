#!/usr/bin/env bash
# Debian packages for `npm run test:tools`: the real tools that check the
# rendered files (nginx -t, nft, cloud-init schema, turnserver, sysctl, sshd -T,
# apt-config), and TURN over TLS end to end (openssl, curl, certbot against
# pebble as the ACME CA).
set -euo pipefail
exec "$(dirname "$0")/apt-install.sh" \
  nginx libnginx-mod-stream nftables coturn cloud-init iproute2 procps util-linux python3-yaml \
  openssh-server apt openssl curl certbot pebble
