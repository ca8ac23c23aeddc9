#!/usr/bin/env bash
# shellcheck disable=SC2016 # "$1" (mmdebstrap's root) and ${Package} (dpkg-query's field) are theirs to expand
# Builds (once) a Debian release's root file system holding the tools that
# check the rendered files, so `npm run test:tools` checks them with the
# binaries of every release an edge can run (model/images.ts), not only with
# this machine's: nginx (+ stream module), nft, sshd, turnserver, cloud-init's
# schema, apt-config. The tests run them by chroot (test/tools/helpers.ts).
#
#   scripts/tools/build-release-root.sh RELEASE           build if missing (1-5 min cold), print the directory
#   scripts/tools/build-release-root.sh RELEASE --print   print the directory, build nothing
#
# Cached in ${XMPP_EDGE_TOOLS_CACHE:-$XMPP_EDGE_CACHE/tools}/RELEASE-<key>/ (scripts/lib/cache.sh),
# <key> = sha256 of this script's lines other than comments; rebuilt when
# they change. Root; mmdebstrap. About 210 MB (trixie), 260 MB (bookworm).
# Packages come from Debian's archive (RELEASE, -updates, -security): the
# versions a freshly installed edge gets.
set -euo pipefail
# shellcheck source=scripts/lib/cache.sh
. "$(dirname "$0")/../lib/cache.sh"

die() { echo "build-release-root: $*" >&2; exit 1; }
release=${1:-}
case "$release" in
  bookworm | trixie) ;;
  *) echo "usage: $0 bookworm|trixie [--print]" >&2; exit 2 ;;
esac

# What the tools tests run (test/tools/releases.test.ts): nginx -t, nft -c,
# sshd -T, turnserver, cloud-init schema, apt-config, systemd-analyze verify;
# python3-yaml to take files out of the user-data, iproute2 (ss) to see what
# turnserver listens on.
PACKAGES=(
  nginx libnginx-mod-stream nftables openssh-server openssh-client coturn cloud-init
  apt unattended-upgrades systemd python3-yaml iproute2 procps
)

cache=${XMPP_EDGE_TOOLS_CACHE:-$(cache_dir tools)}
key=$(grep -v '^ *#' "$0" | sha256sum | cut -c1-12)
dir=$cache/$release-$key
case "${2:-}" in
  --print) echo "$dir"; exit 0 ;;
  "") ;;
  *) echo "usage: $0 bookworm|trixie [--print]" >&2; exit 2 ;;
esac
if [ -e "$dir/done" ]; then echo "$dir"; exit 0; fi

[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap in root mode)"
command -v mmdebstrap >/dev/null || die "mmdebstrap missing (scripts/install-test-deps.sh installs it)"
mkdir -p "$cache"
exec 9>"$cache/.lock-$release"
flock 9
if [ -e "$dir/done" ]; then echo "$dir"; exit 0; fi

start=$SECONDS
work=$cache/.build-$release-$key
rm -rf "$work"
log=$cache/build-$release-$key.log
echo "build-release-root: building $dir (log: $log) ..." >&2
incl=$(IFS=,; echo "${PACKAGES[*]}")
# timeout: a stuck download must fail the install step, not hang CI.
timeout 1200 nice -n 10 mmdebstrap --variant=apt --include="$incl" \
  --aptopt='Acquire::Languages "none"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='chroot "$1" apt-get clean' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/*' \
  "$release" "$work" \
  "deb http://deb.debian.org/debian $release main" \
  "deb http://deb.debian.org/debian $release-updates main" \
  "deb http://deb.debian.org/debian-security $release-security main" >"$log" 2>&1 ||
  { tail -n 30 "$log" >&2; die "mmdebstrap $release failed (see $log)"; }
chroot "$work" dpkg-query -W -f='${Package} ${Version}\n' >"$work/.packages.txt"
rm -rf "$dir"
mv "$work" "$dir"
touch "$dir/done"
echo "build-release-root: $release built in $((SECONDS - start)) s, $(du -sh "$dir" | cut -f1)" >&2
echo "$dir"
