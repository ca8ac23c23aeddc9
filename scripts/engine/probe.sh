#!/usr/bin/env bash
# Asks the Go module proxy, one module version at a time, whether the engine
# pieces can be built from it: `go mod download -json MOD@VERSION` (its .info,
# .mod and .zip, and the checksum-database entry) for each line below.
# Prints one line per module version: OK, or the proxy's exact answer.
# Read-only apart from Go's module cache; takes a minute or two.
#
#   scripts/engine/probe.sh            the pinned versions and the ones we build
#   scripts/engine/probe.sh MOD@VER…   just these
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/engine/versions.sh
. "$here/versions.sh"
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"

if [ $# -gt 0 ]; then
  list=("$@")
else
  list=(
    # The CLI: package.json pins @pulumi/pulumi; the proxy's newest pkg/v3 zip is v3.259.0.
    "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_CLI_VERSION"
    "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_CLI_VERSION"
    github.com/pulumi/pulumi/pkg/v3@v3.259.0
    github.com/pulumi/pulumi/pkg/v3@v3.260.0
    github.com/pulumi/pulumi/pkg/v3@v3.270.0
    # The Node.js language host: its own module, and sdk/v3 where it was still a package.
    "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@v$PULUMI_CLI_VERSION"
    github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@v3.270.0
    "github.com/pulumi/pulumi/sdk/v3@v$NODEJS_HOST_SDK_VERSION"
    # Providers, at the package.json pins.
    "github.com/pulumi/pulumi-command/provider@v$COMMAND_PROVIDER_VERSION"
    github.com/pulumi/pulumi-command/provider@v1.2.0
    github.com/pulumi/pulumi-command/provider@v1.1.0
    github.com/pulumi/pulumi-tls/provider/v5@v5.6.1
    github.com/pulumi/pulumi-random/provider/v4@v4.21.2
    github.com/pulumi/pulumi-hcloud/provider@v1.41.0
    github.com/pulumi/pulumi-tailscale/provider@v0.29.1
    github.com/pulumi/pulumi-cloudflare/provider/v6@v6.22.1
  )
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ok=0 bad=0
# download MOD@VER [GONOSUMDB]: go mod download through the proxy alone (no
# fallback to the origin repository, which is unreachable here anyway).
download() {
  (cd "$work" && GOPROXY=https://proxy.golang.org GONOSUMDB=${2:-} GOTOOLCHAIN=local GOFLAGS=-mod=mod \
    timeout 300 go mod download -json "$1" 2>&1)
}
error_of() { printf '%s\n' "$1" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | head -1; }
for mv in "${list[@]}"; do
  out=$(download "$mv")
  err=$(error_of "$out")
  if [ -z "$err" ] && printf '%s\n' "$out" | grep -q '"Zip"'; then
    echo "OK    $mv"
    ok=$((ok + 1))
  elif [[ "$err" == *"sumdb/sum.golang.org/lookup"*"404 Not Found"* ]] &&
       out2=$(download "$mv" "${mv%@*}") && [ -z "$(error_of "$out2")" ]; then
    echo "OK    $mv (zip served, but the checksum database has no entry: go.sum records the proxy's hash)"
    ok=$((ok + 1))
  else
    [ -n "$err" ] || err=$(printf '%s\n' "$out" | tail -1)
    echo "NO    $mv: $(printf '%b' "$err" | tr '\n\t' '  ')"
    bad=$((bad + 1))
  fi
done
echo "probe: $ok servable, $bad not"
