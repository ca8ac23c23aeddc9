#!/usr/bin/env bash
# npm run lint:shell: ShellCheck on every shell script the repository tracks
# (the workflows' `run:` steps are checked by check-workflows.sh). A script is
# a tracked file ending in .sh or .bash, or starting with a sh/bash shebang,
# or carrying a `# shellcheck shell=` directive (sourced libraries). Follows
# `source` (-x) from the repository root, where the `source=` directives are
# rooted. Exits non-zero on any finding; installs shellcheck if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v shellcheck >/dev/null 2>&1; then
  bash scripts/apt-install.sh shellcheck
fi

is_shell() {
  case "$1" in
    *.sh | *.bash) return 0 ;;
  esac
  local first
  first=$(head -n 2 -- "$1" 2>/dev/null | tr -d '\0') || return 1
  [[ $first =~ ^\#!\ *(/usr)?/bin/(env\ +)?(ba)?sh([[:space:]]|$) ]] || [[ $first == *"# shellcheck shell="* ]]
}

scripts=()
while IFS= read -r -d '' f; do
  [ -f "$f" ] && is_shell "$f" && scripts+=("$f")
done < <(git ls-files -z)

if [ "${#scripts[@]}" -eq 0 ]; then
  echo "check-shell: found no shell scripts (git ls-files empty?)" >&2
  exit 1
fi
echo "check-shell: shellcheck $(shellcheck --version | sed -n 's/^version: //p'); ${#scripts[@]} files" >&2
shellcheck -x "${scripts[@]}"
echo "check-shell: ${#scripts[@]} files OK" >&2
