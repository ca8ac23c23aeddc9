#!/usr/bin/env bash
# apt-install.sh PACKAGE...: installs the Debian packages that are missing,
# without letting their maintainer scripts start daemons on this machine
# (policy-rc.d 101): tests run their own copies inside namespaces.
# Idempotent; needs root.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "apt-install: run as root" >&2
  exit 1
fi

missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "apt-install: all $# packages present"
  exit 0
fi

echo "apt-install: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  made_policy=1
fi
trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
# An old or empty package list is the usual reason for a miss: refresh once.
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
