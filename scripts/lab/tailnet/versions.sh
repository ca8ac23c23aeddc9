# shellcheck shell=bash disable=SC2034 # sourced: the variables are used by its callers
# Versions of the lab's tailnet (scripts/lab/build-tailnet.sh builds them from
# the Go module proxy; wrapper modules with committed go.mod/go.sum beside
# this file). Checked 2026-11 with `go list -m -json MOD@VERSION`:
#
# tailscale.com: v1.104.x is the newest tag, but its go.mod says go 1.27.3
#   (this machine has Go 1.26.8, toolchains are not downloaded); v1.102.5 is
#   the newest that builds with Go 1.26 (go 1.26.6).
# github.com/juanfont/headscale: the proxy refuses @v/list (403), so
#   `go install …@vX` fails on its deprecation lookup; single versions are
#   served up to v0.29.3 (v0.29.4, v0.30.0-beta.1, v0.30.0: 403). v0.29.3 is
#   built against tailscale.com v1.101.0-pre and lists clients up to v1.98 as
#   tested; the lab proves v1.102.5 clients join and talk through it.
TAILSCALE_VERSION=1.102.5
HEADSCALE_VERSION=0.29.3
