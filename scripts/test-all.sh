#!/usr/bin/env bash
# npm run test:all: every test of the project, on Debian 12 as root, from a
# fresh clone: installs the Debian packages, the npm modules and the Go tools
# the suites need, then runs every suite in order, cheapest first. A failing
# suite does not stop the others (one CI run shows every failure); the summary
# at the end names each suite's result and time, and the exit code is 1 if
# any failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

bash scripts/install-test-deps.sh || exit 1
npm ci --no-audit --no-fund || exit 1

suites=(test lint:shell test:tools test:apply test:lab test:engine lint:workflows)
summary=() failed=0
for s in "${suites[@]}"; do
  start=$SECONDS
  if npm run "$s"; then result=ok; else result="FAILED (exit $?)"; failed=1; fi
  summary+=("$(printf '%-16s %-18s %4d s' "$s" "$result" $((SECONDS - start)))")
done

echo
echo "test:all summary"
printf '  %s\n' "${summary[@]}"
exit "$failed"
