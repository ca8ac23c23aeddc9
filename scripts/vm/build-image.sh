#!/usr/bin/env bash
# Builds the VM image of one Debian release that stands in for Hetzner's
# image of it (the test:vm suite boots it), and the package mirror its
# cloud-init installs from. VM_RELEASE: trixie (debian-13, the default image)
# or bookworm (debian-12), the releases of model/images.ts.
# Linux, root; needs mmdebstrap, e2fsprogs, dpkg-dev, apt-utils and the lab's
# tailnet binaries (scripts/lab/build-tailnet.sh). Prints the image directory:
#
#   DIR/rootfs.img   raw ext4 root file system (label "root"; no partition table)
#   DIR/vmlinuz, DIR/initrd.img   the image's kernel, booted directly by qemu
#   DIR/mirror/      a flat Debian repository (Packages, Packages.gz, Release, *.deb):
#                    the user-data's `packages:` and everything they pull in, and
#                    what the edge's tools install on demand (certbot: turnTls's
#                    host/xmpp-edge-turn-cert, on its first `obtain`), neither
#                    preinstalled in the image
#   DIR/packages.txt the image's installed packages (dpkg-query), for the record
#   DIR/on-demand.txt the packages the tools install on demand (in the mirror, not the image)
#
# The image: mmdebstrap of scripts/vm/image-packages.txt from Debian's
# VM_RELEASE (+ updates, security), cloud-init with the NoCloud datasource; its
# only apt source is the lab mirror (MIRROR_URL), as a Hetzner image's is
# Hetzner's mirror; root has no password (login by key, which cloud-init
# installs). tailscale is not a Debian package: the lab's own build is
# installed as a .deb laid out like tailscale's (binaries, tailscaled.service
# and /etc/default/tailscaled from the tailscale.com module), so the join
# script finds tailscale present and skips its download branch.
#
# Cached in ${XMPP_EDGE_VM_CACHE:-$XMPP_EDGE_CACHE/vm}/debian<N>-<key>/ (scripts/lib/cache.sh),
# <key> = sha256 of this script, the release, the package list, the
# user-data's package list (render/cloud-init.ts VPS_PACKAGES), the on-demand
# install line of host/xmpp-edge-turn-cert, the mirror URL and the tailscale binaries; rebuilt only when one of them changes (~3-5 min on 2 cores).
#
#   [VM_RELEASE=trixie|bookworm] scripts/vm/build-image.sh           build if missing, print the directory
#   [VM_RELEASE=trixie|bookworm] scripts/vm/build-image.sh --print   print the directory, build nothing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib/cache.sh
. "$repo/scripts/lib/cache.sh"
# The lab's mirror host (ctl in test/vm/run.sh) serves DIR/mirror here.
MIRROR_URL=http://198.51.100.200/debian
SUITE=${VM_RELEASE:-trixie}
case "$SUITE" in
  trixie) VERSION=13 ;;
  bookworm) VERSION=12 ;;
  *) echo "build-image: VM_RELEASE=$SUITE: expected trixie or bookworm (model/images.ts)" >&2; exit 2 ;;
esac
DEBIAN_SOURCES=(
  "deb http://deb.debian.org/debian $SUITE main"
  "deb http://deb.debian.org/debian $SUITE-updates main"
  "deb http://deb.debian.org/debian-security $SUITE-security main"
)

die() { echo "build-image: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap, mkfs.ext4 -d with root-owned files)"

mapfile -t image_pkgs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/image-packages.txt" | grep .)
tsx=$repo/node_modules/.bin/tsx
[ -x "$tsx" ] || die "$tsx missing (npm ci)"
# The user-data's packages, from the renderer itself (one source of truth).
mirror_pkgs=$(cd "$repo" && "$tsx" -e 'import { VPS_PACKAGES } from "./render/cloud-init"; console.log(VPS_PACKAGES.join(" "))')
[ -n "$mirror_pkgs" ] || die "render/cloud-init.ts gave no VPS_PACKAGES"
# What host/xmpp-edge-turn-cert installs on demand (certbot, on turnTls's first
# obtain), from the tool's own `apt-get install` line (its options and
# packages; one source of truth): the mirror must serve exactly that.
ondemand_tool=$repo/host/xmpp-edge-turn-cert
ondemand_args=$(sed -nE '/^[^#]*apt-get install /{s/.*apt-get install //; s/[<>|&;].*//; s/[[:space:]]+$//; p}' "$ondemand_tool" | sort -u)
if [ "$(grep -c . <<<"$ondemand_args")" != 1 ] || ! grep -qE '(^| )[a-z0-9][a-z0-9.+-]*( |$)' <<<"$ondemand_args"; then
  die "$ondemand_tool: expected one apt-get install line naming packages, got: ${ondemand_args:-none}"
fi
tsbin=$(bash "$repo/scripts/lab/build-tailnet.sh" --print)
for b in tailscaled tailscale; do
  [ -x "$tsbin/$b" ] || die "$tsbin/$b missing (scripts/lab/build-tailnet.sh builds it)"
done

cache=${XMPP_EDGE_VM_CACHE:-$(cache_dir vm)}
key=$({
  cat "$0" "$here/image-packages.txt"
  printf '%s\n' "$SUITE" "$mirror_pkgs" "$ondemand_args" "$MIRROR_URL"
  readlink -f "$tsbin/tailscaled" "$tsbin/tailscale"
} | sha256sum | cut -c1-12)
dir=$cache/debian$VERSION-$key

case "${1:-}" in
  --print) echo "$dir"; exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--print]" >&2; exit 2 ;;
esac
if [ -e "$dir/done" ]; then echo "$dir"; exit 0; fi

for t in mmdebstrap mkfs.ext4 dpkg-deb dpkg-scanpackages apt-ftparchive; do
  command -v "$t" >/dev/null || die "$t missing (scripts/vm/install-deps.sh)"
done
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -e "$dir/done" ]; then echo "$dir"; exit 0; fi

start=$SECONDS
work=$cache/.build-$key
rm -rf "$work"
mkdir -p "$work/mirror" "$work/deb"
log=$work/build.log
echo "build-image: building $dir (log: $log) ..." >&2

# ---- tailscale as a .deb, laid out like tailscale's own package ------------------
# shellcheck source=scripts/lab/tailnet/versions.sh
ts_version=$(. "$repo/scripts/lab/tailnet/versions.sh" && echo "$TAILSCALE_VERSION")
# The module cache build-tailnet.sh filled (scripts/lib/cache.sh); `go list -m`
# prints an empty Dir, not an error, for a module missing from the cache.
cache_go_env
ts_src=$(cd "$repo/scripts/lab/tailnet/tailscale" && GOFLAGS=-mod=readonly go list -m -f '{{.Dir}}' tailscale.com 2>>"$log") || ts_src=""
[ -n "$ts_src" ] || die "cannot locate the tailscale.com module source in GOMODCACHE=$GOMODCACHE (scripts/lab/build-tailnet.sh fills it; see $log)"
p=$work/deb/tailscale
install -D -m 0755 "$tsbin/tailscale" "$p/usr/bin/tailscale"
install -D -m 0755 "$tsbin/tailscaled" "$p/usr/sbin/tailscaled"
install -D -m 0644 "$ts_src/cmd/tailscaled/tailscaled.service" "$p/lib/systemd/system/tailscaled.service"
# tailscale's defaults file, plus no log upload (the lab has no internet).
sed 's/^FLAGS=""$/FLAGS="--no-logs-no-support"/' "$ts_src/cmd/tailscaled/tailscaled.defaults" |
  install -D -m 0644 /dev/stdin "$p/etc/default/tailscaled"
grep -q '^FLAGS="--no-logs-no-support"$' "$p/etc/default/tailscaled" || die "tailscaled.defaults has no FLAGS=\"\" line to set"
mkdir -p "$p/DEBIAN"
echo /etc/default/tailscaled >"$p/DEBIAN/conffiles"
cat >"$p/DEBIAN/control" <<EOF
Package: tailscale
Version: $ts_version
Architecture: amd64
Maintainer: xmpp-edge lab <lab@example.net>
Depends: iproute2
Description: The lab's tailscale $ts_version build (scripts/lab/build-tailnet.sh)
 tailscaled and tailscale, laid out as tailscale's own Debian package.
EOF
dpkg-deb --root-owner-group --build "$p" "$work/deb/tailscale.deb" >>"$log"

# ---- the root file system ---------------------------------------------------------
incl=$(IFS=,; echo "${image_pkgs[*]}")
# shellcheck disable=SC2016 # $1 is mmdebstrap's root directory, expanded by its hook shell
hooks=(
  --customize-hook="copy-in $work/deb/tailscale.deb /tmp"
  --customize-hook='chroot "$1" dpkg -i /tmp/tailscale.deb && rm -f "$1/tmp/tailscale.deb"'
  # The mirror: exactly what `apt-get install` of the user-data's packages
  # fetches on this image (with recommends, as cloud-init installs).
  --customize-hook="chroot \"\$1\" apt-get clean && chroot \"\$1\" apt-get install --download-only -y $mirror_pkgs"
  # And what the tool installs on demand, with the tool's own options (no
  # recommends): fetched beside them, installed by nobody here.
  --customize-hook="chroot \"\$1\" apt-get install --download-only $ondemand_args"
  --customize-hook="printf '%s\n' $ondemand_args | grep -v '^-' >$work/on-demand.txt"
  --customize-hook="cp \"\$1\"/var/cache/apt/archives/*.deb $work/mirror/ && chroot \"\$1\" apt-get clean"
  --customize-hook="printf '%s\n' '# The lab mirror (scripts/vm/build-image.sh); the VM reaches nothing else.' 'deb [trusted=yes] $MIRROR_URL ./' >\"\$1/etc/apt/sources.list\""
  --customize-hook='rm -f "$1"/etc/apt/sources.list.d/*'
  # Like a provider image: its own apt sources stay; cloud-init must not
  # replace them with deb.debian.org (unreachable here).
  --customize-hook='printf "%s\n" "# xmpp-edge VM image: keep the image apt sources (the lab mirror)." "apt:" "  preserve_sources_list: true" "datasource_list: [ NoCloud, None ]" >"$1/etc/cloud/cloud.cfg.d/01-xmpp-edge-image.cfg"'
  --customize-hook='echo "LABEL=root / ext4 defaults,errors=remount-ro 0 1" >"$1/etc/fstab"'
  # cloud-init's locale module sets en_US.UTF-8, which must exist (Debian's
  # locale-gen ignores the name it is given): generated, as on Hetzner's image.
  --customize-hook='sed -i "s/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/" "$1/etc/locale.gen" && chroot "$1" locale-gen'
  --customize-hook='chroot "$1" passwd -l root'
  --customize-hook='rm -f "$1/etc/hostname"; : >"$1/etc/machine-id"'
  --customize-hook="chroot \"\$1\" dpkg-query -W -f='\${Package} \${Version}\n' >$work/packages.txt"
  # The newest kernel under /boot (not the /vmlinuz link, which a release's
  # kernel-img.conf may not make).
  --customize-hook="k=\$(ls \"\$1\"/boot/vmlinuz-* | sort -V | tail -n 1) && cp \"\$k\" $work/vmlinuz && cp \"\$1/boot/initrd.img-\${k##*/vmlinuz-}\" $work/initrd.img"
)
nice -n 10 mmdebstrap --variant=apt --include="$incl" \
  --aptopt='Acquire::Languages "none"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  "${hooks[@]}" "$SUITE" "$work/rootfs" "${DEBIAN_SOURCES[@]}" >>"$log" 2>&1 ||
  { tail -n 30 "$log" >&2; die "mmdebstrap failed (see $log)"; }

# ---- the disk and the mirror's index ---------------------------------------------
truncate -s 4G "$work/rootfs.img"
mkfs.ext4 -q -L root -d "$work/rootfs" "$work/rootfs.img" >>"$log" 2>&1 || die "mkfs.ext4 -d failed (see $log)"
rm -rf "$work/rootfs"
# apt takes a flat repository's index only if Release lists "Packages" itself
# (not just Packages.gz): "does not seem to provide it" otherwise.
(cd "$work/mirror" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>>"$log" && gzip -9nk Packages &&
  apt-ftparchive -o APT::FTPArchive::Release::Suite=lab release . >"$work/Release" && mv "$work/Release" Release) ||
  die "indexing the mirror failed (see $log)"
ndebs=$(find "$work/mirror" -name '*.deb' | wc -l)
[ "$ndebs" -gt 0 ] || die "the mirror holds no .deb"

rm -rf "$dir"
mv "$work" "$dir"
echo "build-image: built in $((SECONDS - start)) s: $(du -sh --apparent-size "$dir/rootfs.img" | cut -f1) image ($(du -sh "$dir/rootfs.img" | cut -f1) used), $ndebs packages in the mirror" >&2
touch "$dir/done"
echo "$dir"
