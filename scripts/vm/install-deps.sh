#!/usr/bin/env bash
# Installs what test:vm (test/vm/run.sh) needs: the network lab's packages and
# tailnet binaries (scripts/lab/install-deps.sh), qemu, and the image
# builder's tools; then builds the VM images (scripts/vm/build-image.sh: minutes
# on a cold cache, nothing once built). Idempotent. Needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

PACKAGES=(
  qemu-system-x86 qemu-utils    # the VM (TCG when KVM does not work) and its copy-on-write disk
  mmdebstrap                    # the image's root file system from Debian's packages
  e2fsprogs                     # mkfs.ext4 -d: the disk image
  dosfstools mtools             # the NoCloud seed: a VFAT image labelled CIDATA
  dpkg-dev apt-utils            # the package mirror: dpkg-scanpackages, apt-ftparchive; dpkg-deb
)

bash "$here/../lab/install-deps.sh"
bash "$here/../apt-install.sh" "${PACKAGES[@]}"
# Both supported releases' images (test:vm boots each, model/images.ts).
VM_RELEASE=trixie bash "$here/build-image.sh" >/dev/null
VM_RELEASE=bookworm bash "$here/build-image.sh" >/dev/null
echo "vm install-deps: done"
