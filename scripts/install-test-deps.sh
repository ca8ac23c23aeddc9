#!/usr/bin/env bash
# Debian packages for `npm run test:tools`: the real tools that check the
# rendered files (nginx -t, nft, cloud-init schema, turnserver, sysctl, sshd -T,
# apt-config), TURN over TLS end to end (openssl, curl, certbot against
# pebble as the ACME CA), and, per Debian release an edge may run
# (model/images.ts), a root holding that release's own tools
# (scripts/tools/build-release-root.sh: 1-5 minutes each on a cold cache,
# nothing once built).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/apt-install.sh" \
  nginx libnginx-mod-stream nftables coturn cloud-init iproute2 procps util-linux python3-yaml \
  openssh-server apt openssl curl certbot pebble mmdebstrap
# The releases as model/images.ts lists them (this runs before npm ci: no tsx).
mapfile -t releases < <(grep -oE '^  \{ image: "[^"]+", version: [0-9]+, codename: "[a-z]+"' "$here/../model/images.ts" | cut -d'"' -f4)
[ "${#releases[@]}" -gt 0 ] || { echo "install-test-deps: no release found in model/images.ts" >&2; exit 1; }
for r in "${releases[@]}"; do
  bash "$here/tools/build-release-root.sh" "$r" >/dev/null
done
echo "install-test-deps: tools roots for ${releases[*]} ready"
