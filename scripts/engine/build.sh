#!/usr/bin/env bash
# Builds the Pulumi engine from the Go module proxy (no prebuilt binary is
# downloaded): the CLI and the Node.js language host, each from its wrapper
# module here (go.mod/go.sum committed). The binaries are cached in
#   ${XMPP_EDGE_ENGINE_CACHE:-$XMPP_EDGE_CACHE/engine}/v<cli version>-<hash>/bin
# where <hash> covers the wrapper modules and this script's build flags; a
# binary is rebuilt only when it is missing there. Prints the bin directory
# on stdout (progress goes to stderr), so: bin=$(scripts/engine/build.sh).
#
#   scripts/engine/build.sh            build what is missing, print the bin dir
#   scripts/engine/build.sh --print    print the bin dir, build nothing
#
# Builds run under nice; on 2 cores the CLI takes ~10 minutes cold (the
# language host ~1 minute), seconds once GOCACHE is warm. Go's module and
# build caches are under the cache root (scripts/lib/cache.sh), shared with
# the tailnet build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/engine/versions.sh
. "$here/versions.sh"
# shellcheck source=scripts/lib/go-build.sh
. "$here/../lib/go-build.sh"

go_require build.sh

cache_root=${XMPP_EDGE_ENGINE_CACHE:-$(cache_dir engine)}
ldflags_cli="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_CLI_VERSION"
ldflags_host="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$NODEJS_HOST_SDK_VERSION"
# The cache key: what goes into the binaries (versions, wrapper modules, flags, Go).
build_id=$( { printf '%s\n' "$PULUMI_CLI_VERSION" "$NODEJS_HOST_SDK_VERSION" "$ldflags_cli" "$ldflags_host" "${GO_BUILD_ENV[@]}" "$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null)"
  cat "$here"/cli/go.mod "$here"/cli/go.sum "$here"/langhost-nodejs/go.mod "$here"/langhost-nodejs/go.sum; } | sha256sum | cut -c1-12)
dir="$cache_root/v$PULUMI_CLI_VERSION-$build_id"
bin="$dir/bin"

if [ "${1:-}" = "--print" ]; then echo "$bin"; exit 0; fi
[ $# -eq 0 ] || { echo "usage: $0 [--print]" >&2; exit 2; }

mkdir -p "$bin"
# One builder at a time per cache entry; a second caller waits, then finds the binaries.
exec 9>"$dir/.lock"
flock 9

go_build_cached build.sh "$bin" pulumi "$here/cli" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$ldflags_cli"
go_build_cached build.sh "$bin" pulumi-language-nodejs "$here/langhost-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs "$ldflags_host"

echo "$bin"
