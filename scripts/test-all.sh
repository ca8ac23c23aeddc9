#!/usr/bin/env bash
# npm run test:all: every test of the project, on Debian 12 as root, from a
# fresh clone: installs the Debian packages, the npm modules and the Go tools
# the suites need, then runs every suite in order, cheapest first. A failing
# suite does not stop the others (one CI run shows every failure); the summary
# at the end names each suite's result and time, and the exit code is 1 if
# any failed. A suite that skipped checks is not just "ok": the summary says
# how many (from its closing "N passed, N failed, N skipped" line or jest's
# "Tests:" line) and why (its "# skipped: REASON" line).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

bash scripts/install-test-deps.sh || exit 1
npm ci --no-audit --no-fund || exit 1

suites=(test lint:shell test:tools test:apply test:lab test:vm test:engine lint:workflows)
# skipped_of LOG: the number of skipped checks a suite's output reports (0 if none).
skipped_of() {
  local n
  n=$(grep -E '^(Tests: .*|([[:alnum:]+-]+: )?[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped)$' "$1" | tail -n 1 | grep -oE '[0-9]+ skipped' | cut -d' ' -f1)
  echo "${n:-0}"
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
summary=() failed=0
for s in "${suites[@]}"; do
  start=$SECONDS
  if npm run "$s" 2>&1 | tee "$log"; then result=ok; else result="FAILED (exit ${PIPESTATUS[0]})"; failed=1; fi
  skipped=$(skipped_of "$log")
  if [ "$skipped" -gt 0 ]; then
    why=$(grep -m 1 '^# skipped: ' "$log" | cut -c 12-)
    result+=", $skipped skipped${why:+: $why}"
  fi
  summary+=("$(printf '%-16s %-18s %4d s' "$s" "$result" $((SECONDS - start)))")
done

echo
echo "test:all summary"
printf '  %s\n' "${summary[@]}"
exit "$failed"
