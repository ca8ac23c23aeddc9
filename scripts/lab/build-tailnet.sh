#!/usr/bin/env bash
# Builds the lab's real tailnet from the Go module proxy: tailscaled and
# tailscale (tailscale.com) and headscale (github.com/juanfont/headscale), at
# the versions in scripts/lab/tailnet/versions.sh, each from its wrapper
# module (scripts/lab/tailnet/{tailscale,headscale}/go.mod + go.sum, with a
# `tool` line per command). No prebuilt binary is downloaded. Binaries are
# cached in
#   ${XMPP_EDGE_TAILNET_CACHE:-/var/cache/xmpp-edge/tailnet}/<name>-v<version>-<hash>/
# where <hash> covers the wrapper module, the build flags and the Go version;
# a binary is rebuilt only when it is missing there. Prints the directory
# holding all three (symlinks) on stdout; progress goes to stderr:
#   bin=$(scripts/lab/build-tailnet.sh)
#
#   scripts/lab/build-tailnet.sh           build what is missing, print the bin dir
#   scripts/lab/build-tailnet.sh --print   print the bin dir, build nothing
#   scripts/lab/build-tailnet.sh --check   exit 0 if all three are cached
#
# Builds run under nice (another job may be using the CPUs). Cold, on 2
# cores: tailscaled+tailscale ~4-6 min, headscale ~5-8 min; seconds with a
# warm GOCACHE. Why a wrapper module for headscale: `go install
# github.com/juanfont/headscale/cmd/headscale@vX` fails here because the
# proxy answers 403 to …/@v/list (the deprecation lookup); a module that
# requires it at a fixed version never asks for the list.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tn=$here/tailnet
# shellcheck source=scripts/lab/tailnet/versions.sh
. "$tn/versions.sh"

command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "build-tailnet: go not found (expected /usr/local/go/bin/go)" >&2; exit 1; }

cache_root=${XMPP_EDGE_TAILNET_CACHE:-/var/cache/xmpp-edge/tailnet}
# -mod=readonly: the committed go.sum is the whole trust list; nothing is
# resolved anew. No VCS stamp (the wrapper's git state is not in the binary).
build_env=(GOTOOLCHAIN=local "GOFLAGS=-mod=readonly -buildvcs=false" CGO_ENABLED=0)
ldflags_ts="-s -w -X tailscale.com/version.longStamp=$TAILSCALE_VERSION-xmpp-edge-lab -X tailscale.com/version.shortStamp=$TAILSCALE_VERSION"
ldflags_hs="-s -w"
goversion=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null)

key() { # WRAPPER LDFLAGS: what goes into the binaries
  { printf '%s\n' "$2" "${build_env[@]}" "$goversion"; cat "$tn/$1/go.mod" "$tn/$1/go.sum"; } | sha256sum | cut -c1-12
}
ts_dir=$cache_root/tailscale-v$TAILSCALE_VERSION-$(key tailscale "$ldflags_ts")
hs_dir=$cache_root/headscale-v$HEADSCALE_VERSION-$(key headscale "$ldflags_hs")
bin=$cache_root/bin-ts$TAILSCALE_VERSION-hs$HEADSCALE_VERSION-$(printf '%s %s' "$ts_dir" "$hs_dir" | sha256sum | cut -c1-8)

link_bin() {
  mkdir -p "$bin"
  ln -sfn "$ts_dir/tailscaled" "$bin/tailscaled"
  ln -sfn "$ts_dir/tailscale" "$bin/tailscale"
  ln -sfn "$hs_dir/headscale" "$bin/headscale"
}

case "${1:-}" in
  --print) echo "$bin"; exit 0 ;;
  --check) [ -x "$ts_dir/tailscaled" ] && [ -x "$ts_dir/tailscale" ] && [ -x "$hs_dir/headscale" ]; exit ;;
  "") ;;
  *) echo "usage: $0 [--print|--check]" >&2; exit 2 ;;
esac

mkdir -p "$cache_root"
# One builder at a time; a second caller waits, then finds the binaries.
exec 9>"$cache_root/.lock"
flock 9

# build DIR NAME WRAPPER PACKAGE LDFLAGS
build() {
  local dir=$1 name=$2 wrapper=$3 pkg=$4 ldflags=$5
  if [ -x "$dir/$name" ]; then
    echo "build-tailnet: $name cached: $dir/$name" >&2
    return 0
  fi
  mkdir -p "$dir/logs"
  local log=$dir/logs/$name.log start=$SECONDS
  echo "build-tailnet: building $name from $pkg (log: $log) ..." >&2
  if ! (cd "$tn/$wrapper" && env "${build_env[@]}" \
        nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$dir/.$name.tmp" "$pkg") >"$log" 2>&1; then
    echo "build-tailnet: building $name FAILED; last lines of $log:" >&2
    tail -n 20 "$log" >&2
    rm -f "$dir/.$name.tmp"
    return 1
  fi
  mv -f "$dir/.$name.tmp" "$dir/$name"
  echo "build-tailnet: built $name in $((SECONDS - start))s: $(du -h "$dir/$name" | cut -f1) $dir/$name" >&2
}

build "$ts_dir" tailscaled tailscale tailscale.com/cmd/tailscaled "$ldflags_ts"
build "$ts_dir" tailscale tailscale tailscale.com/cmd/tailscale "$ldflags_ts"
build "$hs_dir" headscale headscale github.com/juanfont/headscale/cmd/headscale "$ldflags_hs"
link_bin
echo "$bin"
