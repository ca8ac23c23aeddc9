# shellcheck shell=bash
# Attacks against the edge (the attack groups of test/lab/tests-*.sh): each
# attack is run from a host the plan does not trust and must fail. A check of
# a protection is only worth something if it can fail, so each attack is also
# run once against a deliberately weakened edge, where it must succeed.
#
#   attack DESC CMD...    CMD runs the attack and returns 0 when the edge
#                         REFUSED it; CMD sets WHY to what it saw (the reason
#                         the attack failed, or what got through).
#   attack_on_weakened DESC CMD...
#                         the same attack against the weakened variant: it
#                         must get through (CMD returns non-zero).
# run.sh prints "# attacks: N tried, N succeeded" before the closing line.

ATTACKS_TRIED=0
ATTACKS_SUCCEEDED=0

attack() {
  local desc=$1
  shift
  ATTACKS_TRIED=$((ATTACKS_TRIED + 1))
  WHY=""
  if "$@"; then
    ok "attack refused: $desc${WHY:+ — $WHY}"
  else
    ATTACKS_SUCCEEDED=$((ATTACKS_SUCCEEDED + 1))
    not_ok "attack refused: $desc" "the attack got through: ${WHY:-no detail}"
  fi
  WHY=""
}

attack_on_weakened() {
  local desc=$1
  shift
  WHY=""
  if "$@"; then
    not_ok "the check can fail: $desc gets through a weakened edge" "it was refused even there: ${WHY:-no detail}"
  else
    ok "the check can fail: $desc gets through a weakened edge${WHY:+ — $WHY}"
  fi
  WHY=""
}

attack_summary() {
  [ "$ATTACKS_TRIED" -eq 0 ] || echo "# attacks: $ATTACKS_TRIED tried, $ATTACKS_SUCCEEDED succeeded"
}
