# shellcheck shell=bash
# Building pinned Go binaries from wrapper modules (scripts/engine/build.sh:
# the Pulumi CLI and language host; scripts/lab/build-tailnet.sh: tailscaled,
# tailscale, headscale), cached in the caller's directory.
#
# -mod=readonly: the committed go.sum is the whole trust list, so no
# checksum-database lookup happens and nothing is resolved anew. No VCS stamp:
# the wrapper's own git state is not part of the binary. No cgo: static
# binaries that run in any lab host. Callers hash GO_BUILD_ENV into their
# cache key, so a change here rebuilds. Go's module and build caches live
# under the cache root (scripts/lib/cache.sh: GOMODCACHE, GOCACHE), so an
# empty root builds from nothing, as a new machine does.
# shellcheck source=scripts/lib/cache.sh
. "$(dirname "${BASH_SOURCE[0]}")/cache.sh"
GO_BUILD_ENV=(GOTOOLCHAIN=local "GOFLAGS=-mod=readonly -buildvcs=false" CGO_ENABLED=0)

# go_require LABEL: Go on PATH (the machine's /usr/local/go/bin if not there), or exit 1.
go_require() {
  cache_go_env
  command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null || { echo "$1: go not found (expected /usr/local/go/bin/go)" >&2; exit 1; }
}

# go_build_cached LABEL OUT_DIR NAME WRAPPER_DIR PACKAGE LDFLAGS: build PACKAGE
# in WRAPPER_DIR to OUT_DIR/NAME unless it is there; the log goes to
# OUT_DIR/logs/NAME.log, progress to stderr. The binary appears atomically.
go_build_cached() {
  local label=$1 out=$2 name=$3 wrapper=$4 pkg=$5 ldflags=$6
  if [ -x "$out/$name" ]; then
    echo "$label: $name cached: $out/$name" >&2
    return 0
  fi
  mkdir -p "$out/logs"
  local log=$out/logs/$name.log start=$SECONDS
  echo "$label: building $name from $pkg (log: $log) ..." >&2
  if ! (cd "$wrapper" && env "${GO_BUILD_ENV[@]}" \
        nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$out/.$name.tmp" "$pkg") >"$log" 2>&1; then
    echo "$label: building $name FAILED; last lines of $log:" >&2
    tail -n 20 "$log" >&2
    rm -f "$out/.$name.tmp"
    return 1
  fi
  mv -f "$out/.$name.tmp" "$out/$name"
  echo "$label: built $name in $((SECONDS - start))s: $(du -h "$out/$name" | cut -f1) $out/$name" >&2
}
