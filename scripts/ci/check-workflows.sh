#!/usr/bin/env bash
# Lint the GitHub Actions workflows with actionlint, which also runs
# ShellCheck on the shell in `run:` steps. Exits non-zero on any finding.
# Installs the tools first if they are missing (scripts/ci/install-actionlint.sh).
set -euo pipefail

cd "$(dirname "$0")/../.."

find_actionlint() {
  if command -v actionlint >/dev/null 2>&1; then
    command -v actionlint
  elif command -v go >/dev/null 2>&1; then
    local gobin
    gobin="$(go env GOBIN)"
    [ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
    [ -x "$gobin/actionlint" ] && printf '%s\n' "$gobin/actionlint"
  else
    return 1
  fi
}

if ! actionlint_bin="$(find_actionlint)" || ! command -v shellcheck >/dev/null 2>&1; then
  bash scripts/ci/install-actionlint.sh
  actionlint_bin="$(find_actionlint)"
fi

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if [ "${#workflows[@]}" -eq 0 ]; then
  echo "check-workflows: no workflow files under .github/workflows" >&2
  exit 1
fi

echo "check-workflows: $("$actionlint_bin" -version | head -n 1), shellcheck $(shellcheck --version | sed -n 's/^version: //p'); ${#workflows[@]} files" >&2
# -shellcheck with an explicit path: fail loudly rather than skip silently.
"$actionlint_bin" -no-color -shellcheck="$(command -v shellcheck)" "${workflows[@]}"
# Every third-party action pinned by full commit SHA, with its version noted:
#   uses: owner/repo@<40 hex> # vX.Y.Z
unpinned="$(grep -nE '^[[:space:]-]*uses:' "${workflows[@]}" \
  | grep -vE 'uses:[[:space:]]*(\./|docker://)' \
  | grep -vE 'uses:[[:space:]]*[^@[:space:]]+@[0-9a-f]{40}[[:space:]]+#[[:space:]]*v[0-9]+\.[0-9]+\.[0-9]+' || true)"
if [ -n "$unpinned" ]; then
  echo "check-workflows: actions not pinned as 'owner/repo@<40-hex sha> # vX.Y.Z':" >&2
  printf '%s\n' "$unpinned" >&2
  exit 1
fi
echo "check-workflows: ${#workflows[@]} workflow files OK" >&2
