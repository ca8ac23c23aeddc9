#!/usr/bin/env bash
# Install the workflow linter used by scripts/ci/check-workflows.sh:
#   - actionlint, built from source with `go install` at a pinned release
#     (the Go module proxy is the only source needed; no prebuilt download);
#   - shellcheck, from the distribution's packages, so actionlint also checks
#     the shell in `run:` steps.
# Each tool is installed only when it is missing (or, for actionlint, when the
# installed one is not the pinned version). Idempotent; safe to run in CI.
set -euo pipefail

ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"

log() { printf 'install-actionlint: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    log "need root (or sudo) to run: $*"
    return 1
  fi
}

# Where `go install` puts binaries: GOBIN, else GOPATH/bin.
go_bin_dir() {
  local gobin
  gobin="$(go env GOBIN)"
  if [ -n "$gobin" ]; then
    printf '%s\n' "$gobin"
  else
    printf '%s/bin\n' "$(go env GOPATH)"
  fi
}

find_actionlint() {
  if command -v actionlint >/dev/null 2>&1; then
    command -v actionlint
  elif command -v go >/dev/null 2>&1 && [ -x "$(go_bin_dir)/actionlint" ]; then
    printf '%s\n' "$(go_bin_dir)/actionlint"
  else
    return 1
  fi
}

# --- actionlint -------------------------------------------------------------
if existing="$(find_actionlint)" && [ "$("$existing" -version 2>/dev/null | head -n 1)" = "$ACTIONLINT_VERSION" ]; then
  log "actionlint $ACTIONLINT_VERSION already installed at $existing"
else
  if ! command -v go >/dev/null 2>&1; then
    log "go is not installed; it is needed to build actionlint $ACTIONLINT_VERSION"
    exit 1
  fi
  log "building actionlint $ACTIONLINT_VERSION with $(go version)"
  go install "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}"
  existing="$(go_bin_dir)/actionlint"
  log "installed $("$existing" -version | head -n 1) at $existing"
fi

# --- shellcheck -------------------------------------------------------------
if command -v shellcheck >/dev/null 2>&1; then
  log "shellcheck already installed: $(shellcheck --version | sed -n 's/^version: //p')"
elif command -v apt-get >/dev/null 2>&1; then
  log "installing shellcheck with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y --no-install-recommends shellcheck >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root apt-get install -y --no-install-recommends shellcheck >/dev/null
  fi
  log "installed shellcheck $(shellcheck --version | sed -n 's/^version: //p')"
else
  log "shellcheck is missing and apt-get is not available; install shellcheck with your package manager"
  exit 1
fi
