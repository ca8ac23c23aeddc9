#!/usr/bin/env bash
# Builds the lab's real tailnet from the Go module proxy: tailscaled and
# tailscale (tailscale.com) and headscale (github.com/juanfont/headscale), at
# the versions in scripts/lab/tailnet/versions.sh, each from its wrapper
# module (scripts/lab/tailnet/{tailscale,headscale}/go.mod + go.sum, with a
# `tool` line per command). No prebuilt binary is downloaded. Binaries are
# cached in
#   ${XMPP_EDGE_TAILNET_CACHE:-$XMPP_EDGE_CACHE/tailnet}/<name>-v<version>-<hash>/
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
# warm GOCACHE ($XMPP_EDGE_CACHE/go, scripts/lib/cache.sh). Why a wrapper module for headscale: `go install
# github.com/juanfont/headscale/cmd/headscale@vX` fails here because the
# proxy answers 403 to …/@v/list (the deprecation lookup); a module that
# requires it at a fixed version never asks for the list.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tn=$here/tailnet
# shellcheck source=scripts/lab/tailnet/versions.sh
. "$tn/versions.sh"
# shellcheck source=scripts/lib/go-build.sh
. "$here/../lib/go-build.sh"

go_require build-tailnet

cache_root=${XMPP_EDGE_TAILNET_CACHE:-$(cache_dir tailnet)}
ldflags_ts="-s -w -X tailscale.com/version.longStamp=$TAILSCALE_VERSION-xmpp-edge-lab -X tailscale.com/version.shortStamp=$TAILSCALE_VERSION"
ldflags_hs="-s -w"
goversion=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null)

key() { # WRAPPER LDFLAGS: what goes into the binaries
  { printf '%s\n' "$2" "${GO_BUILD_ENV[@]}" "$goversion"; cat "$tn/$1/go.mod" "$tn/$1/go.sum"; } | sha256sum | cut -c1-12
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

go_build_cached build-tailnet "$ts_dir" tailscaled "$tn/tailscale" tailscale.com/cmd/tailscaled "$ldflags_ts"
go_build_cached build-tailnet "$ts_dir" tailscale "$tn/tailscale" tailscale.com/cmd/tailscale "$ldflags_ts"
go_build_cached build-tailnet "$hs_dir" headscale "$tn/headscale" github.com/juanfont/headscale/cmd/headscale "$ldflags_hs"
link_bin
echo "$bin"
