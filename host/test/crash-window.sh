# shellcheck shell=bash
# Crash windows of host/xmpp-edge-apply, sourced by host/test/run.sh (its lab,
# helpers and bundles; XEA_ONLY=crash runs only this part, XEA_CRASH_SCENARIOS
# picks among "confirmed pending first"). At each named step
# of an apply (crash_point in the script) the apply is killed by SIGKILL
# (XMPP_EDGE_APPLY_TEST_CRASH_AT), like a power loss or an OOM kill; then
# --confirm must not confirm anything, and a simulated reboot (timers and
# daemons gone, table gone, --boot) must leave the last confirmed
# configuration, or for a first apply the host as found. The same for a
# crash while a revert, --boot or --confirm runs.
# Prints one "# crash-window" line per case: what --boot left.
# shellcheck disable=SC2016,SC2034 # assertions are eval'd strings, like run.sh's

CRASH_VAR=XMPP_EDGE_APPLY_TEST_CRASH_AT
BOOT_UNIT=/etc/systemd/system/xmpp-edge-nftables.service

# Bundle E, staged like a push stages it, with one more line in its sysctl
# file so that every activation step has something to do.
rm -rf "$LAB/stage-e"
cp -a "$R/E/bundle" "$LAB/stage-e"
printf '# changed: sysctl -p runs\n' >>"$LAB/stage-e/etc/sysctl.d/60-xmpp-edge.conf"
apply_e() { # NAME STEP|- TIMEOUT: apply bundle E, killed at STEP
  local name=$1 step=$2 t=$3
  if [ "$step" = - ]; then
    run "$name" "$LAB/stage-e$APPLY" "$LAB/stage-e" --confirm-timeout "$t"
  else
    run "$name" env "$CRASH_VAR=$step" "$LAB/stage-e$APPLY" "$LAB/stage-e" --confirm-timeout "$t"
  fi
}
killed() { [ "$RC" = 137 ] || { WHY="not killed at that step (exit $RC): $(both "$1" | tail -n 5)"; return 1; }; }

# reboot: what a power loss takes away (revert timers, daemons, our table),
# then the boot unit's command if the boot unit is installed (a first apply
# may not have got that far).
reboot() { # NAME [STEP]: --boot, killed at STEP if given
  local cmd
  # shellcheck disable=SC2046 # a list of pids
  kill_and_wait $(lab_pids_matching '--revert-timer|--revert-locked') $(lab_pids_matching '^nginx|^turnserver')
  lab nft delete table inet xmpp_edge 2>/dev/null
  if ! cmd=$(lab sed -n 's/^ExecStart=//p' "$BOOT_UNIT" 2>/dev/null) || [ -z "$cmd" ]; then
    RC=0
    echo "no boot unit" >"$OUT/$1.out"
    : >"$OUT/$1.err"
    return
  fi
  # shellcheck disable=SC2086 # the unit's command line, split like systemd does for plain words
  if [ -n "${2:-}" ]; then run "$1" env "$CRASH_VAR=$2" $cmd; else run "$1" $cmd; fi
}
not_confirmed() { # NAME: a --confirm that confirmed nothing
  lacks "$1" "^xmpp-edge-apply: confirmed"
}

# What is live, by name: the files and our table as one of the known states.
# A first apply killed before its boot unit is in place leaves the apply
# script and unit files (nothing runs them: no unit is enabled yet) and its
# journal, which the next apply takes over.
INERT="$APPLY|/etc/systemd/system/[^ ]*"
label_files() {
  local d
  d=$(digest)
  case $d in
    "$DIGEST_A") echo A ;; "$DIGEST_B") echo B ;; "$DIGEST_E") echo E ;; "$ORIG_DIGEST") echo "as found" ;;
    *)
      if [ "$(grep -vE "^($INERT) " <<<"$d")" = "$(grep -vE "^($INERT) " <<<"$ORIG_DIGEST")" ]; then
        echo "as found but $(grep -E "^($INERT) " <<<"$d" | grep -v absent | cut -d' ' -f1 | tr '\n' ' ' | sed 's/ $//') (inert)"
      else
        echo mixed
      fi
      ;;
  esac
}
label_table() {
  local t
  t=$(our_table) || { echo none; return; }
  case $t in
    "$TABLE_A") echo A ;; "$TABLE_B") echo B ;; "$TABLE_E") echo E ;;
    *) if grep -q 203.0.113.7 <<<"$t"; then echo "other (E's ssh_allow)"; else echo other; fi ;;
  esac
}
left() { echo "files $(label_files), table $(label_table)"; }

# confirmed_a NAME [CASE]: bundle A applied and confirmed, daemons running (the
# starting point). When that push fails, CASE's checks cannot run: said and
# counted as skipped.
confirmed_a() {
  push "ca-$1" A 0
  [ "$RC" = 0 ] || {
    echo "# crash-window: push of A failed: $(both "ca-$1")"
    # Seen once under load (CI, 2026-12-07): nginx's ports held by an nginx the pid file does not name.
    echo "# crash-window: /run/nginx.pid: $(lab cat /run/nginx.pid 2>&1); listeners: $(lab ss -Htlnp 2>&1 | paste -sd';')"
    [ -z "${2:-}" ] || skip "$2" "the push of A (the starting point) failed, see above"
    return 1
  }
}

section "13. crash windows: kill -9 at each step of an apply, then --confirm and a reboot"
run cw-r "$APPLY" --remove
# The known states: A, B, E (E applied once fully, then A again).
apply_e cw-e - 0
DIGEST_E=$(digest)
TABLE_E=$(our_table)
check "bundle E applies (the reference for what E looks like)" eval 'rc_is 0 cw-e && table_exists && our_table | grep 203.0.113.7 >/dev/null'
push cw-b B 0
DIGEST_B=$(bundle_digest B)
TABLE_B=$(our_table)
confirmed_a ref
DIGEST_A=$(bundle_digest A)
TABLE_A=$(our_table)
check "bundle A is the confirmed starting point" eval 'same files "$DIGEST_A" "$(digest)" && pending_none'

# The steps of an apply, in order (crash_point names in host/xmpp-edge-apply);
# install-N: after the N-th file E changes is installed.
E_CHANGES=$(diff <(printf '%s\n' "$DIGEST_A") <(printf '%s\n' "$DIGEST_E") | grep -c '^>')
check "bundle E changes some of bundle A's files ($E_CHANGES)" test "$E_CHANGES" -ge 4
mapfile -t INSTALL_STEPS < <(seq -f 'install-%g' "$E_CHANGES")
CRASH_STEPS=(validated originals snapshot timer journal "${INSTALL_STEPS[@]}" installed
  act-units act-nft act-sysctl act-nginx act-coturn activated committed)

# crash_case SCENARIO STEP: from SCENARIO's starting point, apply E killed at STEP.
crash_case() {
  local scn=$1 step=$2 n="$1-$2" want_files want_table
  case $scn in
    first)
      run "cr-$n" "$APPLY" --remove
      want_files="as found" want_table=none
      ;;
    confirmed)
      confirmed_a "$n" "$scn/$step" || return 1
      want_files=A want_table=A
      ;;
    pending)
      # B unconfirmed: a second apply while it is pending; the target stays A.
      confirmed_a "$n" "$scn/$step" || return 1
      push "pb-$n" B 120
      want_files=A want_table=A
      ;;
  esac
  apply_e "ce-$n" "$step" 120
  check "$scn/$step: the apply was killed at that step" killed "ce-$n"
  if [ "$step" != committed ]; then
    run "cc-$n" "$APPLY" --confirm
    check "$scn/$step: --confirm right after the crash confirms nothing" not_confirmed "cc-$n"
  fi
  reboot "cb-$n"
  local got
  got=$(left)
  echo "# crash-window $scn $step: --boot exit $RC, left $got (want files $want_files, table $want_table)"
  if [ "$scn" = first ] && has "cb-$n" "^no boot unit"; then
    # Nothing ran at boot: the journal stays for the next apply.
    check "$scn/$step: no boot unit yet: the host as found (but the inert files named above), no table" \
      eval '[[ $got == "files as found"*", table none" ]]'
  else
    check "$scn/$step: after --boot, the last confirmed configuration (files $want_files, table $want_table)" \
      eval 'rc_is 0 "cb-$n" && same state "files $want_files, table $want_table" "$got" && pending_none'
  fi
  run "cc2-$n" "$APPLY" --confirm
  check "$scn/$step: --confirm after the reboot confirms nothing" not_confirmed "cc2-$n"
}

for scn in ${XEA_CRASH_SCENARIOS-confirmed pending first}; do
  for step in "${CRASH_STEPS[@]}"; do crash_case "$scn" "$step"; done
done

section "13b. a crash while the revert timer, --boot or --confirm runs"
# The timer's revert killed after its first restored file, or after all of them.
for step in restore-1 revert-restored; do
  confirmed_a "t-$step" "timer revert at $step" || break
  # The variable reaches the timer only (the apply never reverts here).
  run "ct-$step" env "$CRASH_VAR=$step" "$LAB/stage-e$APPLY" "$LAB/stage-e" --confirm-timeout 3
  poll 150 eval '[ -z "$(lab_pids_matching --revert-timer)" ]'
  reboot "ctb-$step"
  got=$(left)
  echo "# crash-window timer-revert $step: --boot exit $RC, left $got"
  check "timer revert killed at $step: after --boot, A (files and table)" eval 'rc_is 0 "ctb-$step" && same state "files A, table A" "$got" && pending_none'
done
# --boot itself killed after its first restored file, or after all of them: the next --boot finishes the revert.
for step in restore-1 boot-restored; do
  confirmed_a "b-$step" "--boot killed at $step" || break
  apply_e "cbe-$step" - 120
  reboot "cbk-$step" "$step"
  check "--boot killed at $step" killed "cbk-$step"
  reboot "cbb-$step"
  got=$(left)
  echo "# crash-window boot $step: second --boot exit $RC, left $got"
  check "--boot killed at $step, then --boot again: A (files and table)" eval 'rc_is 0 "cbb-$step" && same state "files A, table A" "$got" && pending_none'
  run "cbc-$step" "$APPLY" --confirm
  check "--boot killed at $step: --confirm afterwards confirms nothing" not_confirmed "cbc-$step"
done
# --confirm killed once it has committed: E stays confirmed, nothing reverts it.
confirmed_a k
apply_e cke - 120
run ckc env "$CRASH_VAR=confirm-committed" "$APPLY" --confirm
check "--confirm killed at confirm-committed" killed ckc
reboot ckb
got=$(left)
echo "# crash-window confirm confirm-committed: --boot exit $RC, left $got"
check "--confirm killed after it committed: after --boot, E stays (confirmed)" eval 'rc_is 0 ckb && lacks ckb reverted && same state "files E, table E" "$got" && pending_none'
run ckc2 "$APPLY" --confirm
check "--confirm again: nothing to confirm" eval 'rc_is 0 ckc2 && has ckc2 "nothing to confirm"'
confirmed_a end
run cw-end "$APPLY" --remove
check "the crash windows end with the host as found" eval 'rc_is 0 cw-end && same files "$ORIG_DIGEST" "$(digest)" && no_table'
