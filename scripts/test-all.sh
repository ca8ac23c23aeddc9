#!/usr/bin/env bash
# npm run test:all: every test of the project, on Debian 12 as root, from a
# fresh clone: installs the Debian packages, the npm modules and the Go tools
# the suites need, then runs every suite in order, cheapest first. A failing
# suite does not stop the others (one CI run shows every failure); the summary
# at the end names each suite's result, its build time (installing and
# building what it needs: packages, Go binaries, images) and its test time,
# and the total wall time; the exit code is 1 if any failed. A suite that
# skipped checks is not just "ok": the summary says how many (from its
# closing "N passed, N failed, N skipped" line or jest's "Tests:" line) and
# why (its "# skipped: REASON" line).
#
# Two cores, two lanes: after the shared setup, a background lane builds
# what the long suites need (BUILD_SUITES: the lab's tailnet, then the VM
# images) and then runs test:vm itself (BACKGROUND_TESTS), while the
# foreground runs every other suite in order (test:engine builds its Pulumi
# CLI in its own turn). The VM suite is mostly an emulated CPU waiting on
# itself; run after the lab it made the run 66 minutes, beside it the run
# stays within the hour (docs/testing.md). A suite waits for its own build,
# and a failed build fails its suite with the build's log; test:vm's output
# is printed whole when it ends, after the foreground's. Each suite's npm
# script runs its build and its test itself (`npm run test:lab`): PREP and
# TEST below are the two halves of that script (test/test-all.test.ts keeps
# them equal).
#
# Cold, as a new machine: XMPP_EDGE_CACHE=$(mktemp -d -p /var/cache) npm run test:all
# (every cache and lab directory derives from it: scripts/lib/cache.sh).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=scripts/lib/cache.sh
source scripts/lib/cache.sh
cache_lab_visible XMPP_EDGE_CACHE "$XMPP_EDGE_CACHE"

suites=(test lint:shell lint:workflows test:tools test:apply test:lab test:engine test:vm)
# The suites whose build runs in the background lane, in the order they need it.
BUILD_SUITES=(test:lab test:vm)
# The suites whose test runs in the background lane too, right after its build.
BACKGROUND_TESTS=(test:vm)
# in_list WORD LIST...: whether WORD is one of LIST.
in_list() {
  local w=$1
  shift
  [[ " $* " == *" $w "* ]]
}
declare -A PREP=(
  [test:lab]="bash scripts/lab/install-deps.sh"
  [test:vm]="bash scripts/vm/install-deps.sh"
  [test:engine]="bash scripts/engine/build.sh"
)
declare -A TEST=(
  [test:lab]="bash test/lab/run.sh"
  [test:vm]="bash test/vm/ci.sh"
  [test:engine]="bash test/engine/lifecycle.sh"
)
# A background build that outlives this is stuck (cold, each takes minutes).
BUILD_TIMEOUT=${XMPP_EDGE_BUILD_TIMEOUT:-3600}

T0=$SECONDS
rows=() failed=0 build_total=0 test_total=0
# row NAME RESULT BUILD-S TEST-S WALL-S [NOTE]: one line of the summary; WALL-S
# is what it added to the wall time (a background build only what was waited).
row() {
  rows+=("$1|$2|$3|$4|$5|${6:-}")
  build_total=$((build_total + $3)) test_total=$((test_total + $4))
}

# ---- shared setup: Debian packages and tools roots, npm modules -------------
for step in "bash scripts/install-test-deps.sh" "npm ci --no-audit --no-fund"; do
  start=$SECONDS
  if ! bash -c "$step"; then
    echo "test:all: '$step' failed" >&2
    exit 1
  fi
  row setup ok $((SECONDS - start)) 0 $((SECONDS - start)) "$step"
done

# ---- background builds --------------------------------------------------------
bgdir=$(mktemp -d)
log=$(mktemp)
bg_pid=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  # The builds are a process group of their own (set -m below).
  [ -z "$bg_pid" ] || kill -- "-$bg_pid" 2>/dev/null
  rm -rf "$bgdir" "$log"
}
trap cleanup EXIT
# build_file SUITE EXT: where the background build of SUITE keeps EXT (log, rc, secs).
build_file() { echo "$bgdir/${1//:/-}.$2"; }
set -m
# done_file SUITE PART RC SECS: record a background step's end (rc last: its
# appearance is what the foreground waits for).
done_file() {
  echo "$4" >"$(build_file "$1" "$2.secs")"
  echo "$3" >"$(build_file "$1" "$2.rc.tmp")"
  mv "$(build_file "$1" "$2.rc.tmp")" "$(build_file "$1" "$2.rc")"
}
(
  for s in "${BUILD_SUITES[@]}"; do
    start=$SECONDS
    timeout --kill-after=30 "$BUILD_TIMEOUT" bash -c "${PREP[$s]}" >"$(build_file "$s" log)" 2>&1
    rc=$?
    done_file "$s" build "$rc" $((SECONDS - start))
    in_list "$s" "${BACKGROUND_TESTS[@]}" || continue
    # The suite's own bounds (LAB_TIMEOUT) end a stuck run.
    start=$SECONDS
    if [ "$rc" = 0 ]; then
      echo "test:all: $s: testing in the background lane (its output follows the foreground's)"
      bash -c "${TEST[$s]}" >"$(build_file "$s" test.log)" 2>&1
      rc=$?
    fi
    done_file "$s" test "$rc" $((SECONDS - start))
  done
) &
bg_pid=$!
set +m

# lane_wait SUITE PART: wait for SUITE's background PART (build or test); 0
# if it succeeded. Sets STEP_S (its time) and WAITED_S (how long this waited).
lane_wait() {
  local start=$SECONDS rc f
  f=$(build_file "$1" "$2.rc")
  while [ ! -e "$f" ]; do
    if ! kill -0 "$bg_pid" 2>/dev/null && [ ! -e "$f" ]; then
      echo "test:all: the background lane ended before $1's $2" >&2
      STEP_S=0 WAITED_S=$((SECONDS - start))
      return 1
    fi
    sleep 1
  done
  WAITED_S=$((SECONDS - start))
  STEP_S=$(cat "$(build_file "$1" "$2.secs")")
  rc=$(cat "$f")
  [ "$rc" = 0 ]
}

# skipped_of LOG: the number of skipped checks a suite's output reports (0 if none).
skipped_of() {
  local n
  n=$(grep -E '^(Tests: .*|([[:alnum:]+-]+: )?[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped)$' "$1" | tail -n 1 | grep -oE '[0-9]+ skipped' | cut -d' ' -f1)
  echo "${n:-0}"
}

for s in "${suites[@]}"; do
  build=0 waited=0 note=""
  if in_list "$s" "${BUILD_SUITES[@]}"; then
    if ! lane_wait "$s" build; then
      echo "test:all: $s: its build (${PREP[$s]}) FAILED; its log:"
      sed 's/^/    /' "$(build_file "$s" log)" 2>/dev/null | tail -n 60
      failed=1
      row "$s" "FAILED (build)" "$STEP_S" 0 "$WAITED_S" "background build, waited $WAITED_S s"
      continue
    fi
    build=$STEP_S waited=$WAITED_S note="background build, waited $WAITED_S s"
    echo "test:all: $s: built in the background in $STEP_S s (waited $WAITED_S s; log below)"
    sed 's/^/    /' "$(build_file "$s" log)" | tail -n 15
  elif [ -n "${PREP[$s]:-}" ]; then
    start=$SECONDS
    bash -c "${PREP[$s]}" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    build=$((SECONDS - start)) waited=$build
    if [ "$rc" != 0 ]; then
      failed=1
      row "$s" "FAILED (build, exit $rc)" "$build" 0 "$waited"
      continue
    fi
  fi
  start=$SECONDS
  if in_list "$s" "${BACKGROUND_TESTS[@]}"; then
    if lane_wait "$s" test; then rc=0; else rc=$(cat "$(build_file "$s" test.rc)" 2>/dev/null || echo 1); fi
    echo "test:all: $s: tested in the background lane in $STEP_S s (waited $WAITED_S s for its end; its output:)"
    cp "$(build_file "$s" test.log)" "$log" 2>/dev/null || : >"$log"
    cat "$log"
    test_s=$STEP_S waited=$((waited + WAITED_S)) note="background build and test, waited $WAITED_S s for the test"
  else
    if [ -n "${TEST[$s]:-}" ]; then
      bash -c "${TEST[$s]}" 2>&1 | tee "$log"
    else
      npm run "$s" 2>&1 | tee "$log"
    fi
    rc=${PIPESTATUS[0]}
    test_s=$((SECONDS - start)) waited=$((waited + test_s))
  fi
  if [ "$rc" = 0 ]; then result=ok; else result="FAILED (exit $rc)"; failed=1; fi
  skipped=$(skipped_of "$log")
  if [ "$skipped" -gt 0 ]; then
    why=$(grep -m 1 '^# skipped: ' "$log" | cut -c 12-)
    result+=", $skipped skipped${why:+: $why}"
  fi
  row "$s" "$result" "$build" "$test_s" "$waited" "$note"
done
wait "$bg_pid" 2>/dev/null
bg_pid=""

wall=$((SECONDS - T0))
echo
echo "test:all summary (cache root $XMPP_EDGE_CACHE; build: installing and building what a suite needs, test: running it; share: of the wall time)"
for r in "${rows[@]}"; do
  IFS='|' read -r name result b t w note <<<"$r"
  printf '  %-14s %-24s build %5d s  test %5d s  share %3d%%%s\n' "$name" "$result" "$b" "$t" $((100 * w / (wall > 0 ? wall : 1))) "${note:+  ($note)}"
done
# Background builds overlap the tests: build + test exceeds the wall time by what ran side by side.
summed=$((build_total + test_total))
den=$((summed > 0 ? summed : 1))
printf '  total: %d s wall (%d min); build %d s (%d%%), test %d s (%d%%) of %d s summed\n' \
  "$wall" $(((wall + 59) / 60)) "$build_total" $((100 * build_total / den)) "$test_total" $((100 * test_total / den)) "$summed"
exit "$failed"
