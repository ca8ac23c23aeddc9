# shellcheck shell=bash disable=SC2317,SC2016,SC2034
# (SC2317: functions run through `check`/`attack`; SC2016: eval strings expand late;
# SC2034: WHY is read by check/attack.)
# What would undo the origin lock (docs/design.md, decision 6). Sourced by
# run.sh after tests-attack-web.sh, whose https_get, what_answered and
# SPOOFED it uses; the group is listed in run_tests (tests.sh).
#
#   t_attack_origin  the plan refuses a forward onto home 443 and a world-wide
#                    extra origin; against the good edge the attacker (outside
#                    every origin) gets nothing from the home web server on
#                    8443 or on 443 with the web name and a forged
#                    X-Forwarded-For; against $LAB/push/weak-origin (render.ts
#                    --weaken origin: both configs built into the model past
#                    the checks that refuse them) it gets the home web server, which
#                    takes the forged address for the client's; then the good
#                    push back.

ORIGIN_FORWARD_PORT=8443

# plan_refuses_hostile KEY=JSON PROBLEM: the lab stack with KEY set is refused by the
# plan (scripts/plan.ts) with PROBLEM among its lines.
plan_refuses_hostile() {
  local tsx=$REPO/node_modules/.bin/tsx st=$LAB/stacks/Pulumi.lab-hostile.yaml out
  out=$(cd "$REPO" && "$tsx" "$HERE/stack.ts" derive --in "$LAB/stacks/Pulumi.lab.yaml" --out "$st" --set "$1" 2>&1) || { WHY="derive: $out"; return 1; }
  if out=$(cd "$REPO" && "$tsx" scripts/plan.ts --config "$st" --out "$LAB/plan-hostile" --vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6" --home-ipv4 "$HOME_TS4" 2>&1); then
    WHY="the plan accepted it"
    return 1
  fi
  WHY=$(grep -m1 -F -- "$2" <<<"$out") || { WHY="refused, but not for that: ${out:0:300}"; return 1; }
}

# web_through ADDR:PORT: TLS with the web name as SNI and Host and a forged
# X-Forwarded-For, from the attacker; refused unless the home web server answered.
web_through() {
  local out
  out=$(https_get attacker "$1" web http/1.1 web "X-Forwarded-For: $SPOOFED")
  WHY=$(what_answered "$out")
  ! grep -q "^home-web " <<<"$out"
}

# forged_believed ADDR:PORT: the home web server names SPOOFED as the client.
forged_believed() {
  local out
  out=$(https_get attacker "$1" web http/1.1 web "X-Forwarded-For: $SPOOFED")
  WHY=$(what_answered "$out")
  grep -q "^home-web https host=$WEBNAME from=$SPOOFED$" <<<"$out"
}

render_weak_origin() {
  local log=$LAB/logs/render-weak-origin.log
  "$REPO/node_modules/.bin/tsx" "$HERE/render.ts" --config "$LAB/stacks/Pulumi.lab.yaml" --out "$LAB/push/weak-origin" --weaken origin \
    --vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6" --vps-tailnet-ipv4 "$VPS_TS4" --turn-secret "$TURN_SECRET" >"$log" 2>&1 || { WHY=$(tail -n 5 "$log"); return 1; }
}

t_attack_origin() {
  section "attack (origin lock): a forward onto home 443 and a world-wide extra origin — from the attacker ($ATTACKER4, $ATTACKER6)"
  check "plan: extraForwards $ORIGIN_FORWARD_PORT -> home 443 is refused, naming the key, the home port and the route" \
    plan_refuses_hostile "extraForwards=[{\"port\":$ORIGIN_FORWARD_PORT,\"protocol\":\"tcp\",\"toPort\":443}]" \
    "xmpp-edge:extraForwards[0].toPort: forwards to home port 443, where the home web server (HTTPS) serves the web names only to the web origins"
  check "plan: webOriginExtraAllow 0.0.0.0/0 is refused" plan_refuses_hostile 'webOriginExtraAllow=["0.0.0.0/0"]' 'xmpp-edge:webOriginExtraAllow[0]: "0.0.0.0/0" is wider than /16'
  check "plan: webOriginExtraAllow ::/0 is refused" plan_refuses_hostile 'webOriginExtraAllow=["::/0"]' 'xmpp-edge:webOriginExtraAllow[0]: "::/0" is wider than /32'
  local a
  origin_attacks() { # RUN
    for a in "$VPS4" "[$VPS6]"; do
      "$1" "$a:$ORIGIN_FORWARD_PORT (web name, forged X-Forwarded-For): nothing from the home web server" web_through "$a:$ORIGIN_FORWARD_PORT"
      "$1" "$a:443 (web name, forged X-Forwarded-For, the attacker outside every origin): nothing from the home web server" web_through "$a:443"
    done
  }
  origin_attacks attack
  check "weakened: the edge as the model built it without its origin-lock checks renders ($ORIGIN_FORWARD_PORT -> home 443; 0.0.0.0/0, ::/0 as extra origins)" render_weak_origin
  check "weakened: push it" eval 'push "$LAB/push/weak-origin" && confirm'
  origin_attacks attack_on_weakened
  check "weakened: through $ORIGIN_FORWARD_PORT the home web server takes the forged X-Forwarded-For ($SPOOFED) for the client (masqueraded: it came from the edge)" forged_believed "$VPS4:$ORIGIN_FORWARD_PORT"
  check "weakened: the good bundle is back (push, confirm, same nft table as after the first push)" \
    eval 'push "$GOOD" && confirm && [ "$(edge_table)" = "$(cat "$LAB/edge-table.good")" ]'
}
