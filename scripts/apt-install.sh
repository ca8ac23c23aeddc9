#!/usr/bin/env bash
# apt-install.sh PACKAGE...: installs the Debian packages that are missing,
# without letting their maintainer scripts start daemons on this machine
# (policy-rc.d 101) or enable them at boot: tests run their own copies inside
# namespaces. Debian's maintainer scripts enable units (deb-systemd-helper
# makes the symlinks under /etc/systemd/system) whatever policy-rc.d says, so
# every unit link that appears during the install is disabled again
# afterwards; links that were there before (the machine's own sshd, say) are
# left alone. Idempotent; needs root.
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

# Every unit link under /etc/systemd/system (enablements and aliases).
unit_links() { find /etc/systemd/system -type l 2>/dev/null | sort; }

# The unit a link enables: a *.wants/ or *.requires/ link is named after it
# (an instance like getty@tty1.service included); an alias points at it.
unit_of_link() {
  case "$(dirname "$1")" in
    *.wants | *.requires | *.upholds) basename "$1" ;;
    *) basename "$(readlink "$1")" ;;
  esac
}

# Disables (and, under a running systemd, stops) what the install enabled.
disable_new_units() {
  local unit units=()
  while IFS= read -r unit; do [ -n "$unit" ] && units+=("$unit"); done < <(
    comm -13 "$links_before" <(unit_links) | while IFS= read -r link; do unit_of_link "$link"; done | sort -u)
  rm -f "$links_before"
  [ "${#units[@]}" -gt 0 ] || return 0
  local now=()
  [ -d /run/systemd/system ] && now=(--now)
  echo "apt-install: disabling what the packages enabled at boot: ${units[*]}"
  for unit in "${units[@]}"; do
    systemctl disable "${now[@]}" --quiet "$unit" || echo "apt-install: could not disable $unit" >&2
  done
}

# test:all runs a build beside a suite, and both may install: one install at
# a time (this lock for ours, dpkg's lock timeout for anyone else's).
exec 8>/var/lock/xmpp-edge-apt-install.lock
flock -w 1200 8 || { echo "apt-install: another install held /var/lock/xmpp-edge-apt-install.lock for 20 min" >&2; exit 1; }
echo "apt-install: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  made_policy=1
fi
links_before=$(mktemp)
unit_links > "$links_before"
# Also after a failed install: what did get installed must not start at boot.
trap 'disable_new_units; [ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
# An old or empty package list is the usual reason for a miss: refresh once.
if ! apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"; then
  apt-get -o DPkg::Lock::Timeout=600 update
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
fi
