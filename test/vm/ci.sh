#!/bin/bash
# npm run test:vm (after scripts/vm/install-deps.sh built both images): the
# VM suite on both releases of model/images.ts, one after the other.
#
#   Debian 13 (trixie, the default image): every group (test/vm/run.sh, VM_GROUPS=all).
#   Debian 12 (bookworm): the short list (first boot and join, push, systemd
#     units, reboot): an edge deployed on it must still boot, join, take the
#     push and come back from a reboot; the rest exercises files that differ
#     between the releases only in the user-data, which both boots run.
#
# Each run keeps its own output (one line per assertion); a "#" line per
# release gives its counts and time, and the closing line counts both:
# "vm: N passed, N failed". Exit 1 if either run failed or said nothing.
# LAB_DIR, if set, is Debian 13's directory; Debian 12's is LAB_DIR-bookworm.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

passed=0 failed=0 rc=0 lines=()
for run in trixie:all bookworm:short; do
  release=${run%%:*} groups=${run#*:}
  out=$(mktemp)
  t0=$SECONDS
  dir=()
  [ -z "${LAB_DIR:-}" ] || dir=("LAB_DIR=$LAB_DIR$([ "$release" = trixie ] || echo "-$release")")
  env VM_RELEASE="$release" VM_GROUPS="$groups" "${dir[@]}" bash "$here/run.sh" 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  counts=$(grep -E '^vm: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
  rm -f "$out"
  if [ -z "$counts" ]; then
    counts="vm: 0 passed, 1 failed"
    lines+=("# $release ($groups groups): no summary line (exit $status), $((SECONDS - t0)) s")
  else
    lines+=("# $release ($groups groups): ${counts#vm: }, $((SECONDS - t0)) s")
  fi
  read -r p f < <(sed -E 's/^vm: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/' <<<"$counts")
  passed=$((passed + p)) failed=$((failed + f))
  [ "$status" -eq 0 ] && [ "$f" -eq 0 ] || rc=1
done
printf '%s\n' "${lines[@]}"
echo "vm: $passed passed, $failed failed"
exit "$rc"
