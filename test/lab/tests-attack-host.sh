# shellcheck shell=bash disable=SC2317,SC2016
# (SC2317: check functions run through `attack`/`check`; SC2016: eval strings expand late.)
# The host half of the attacks (sourced by test/lab/run.sh; groups attack_host
# and relay_ssh, listed in run_tests): TURN as a way in, SSH from outside
# sshAllowFrom, the metadata service from a local user, the tailnet as a way
# to the edge's own ports; SSH against current guidance (ssh-audit); and a
# TCP relay range over SSH, refused by the plan, with the ruleset it would
# have made shown open to the attacker. Every attack runs
# three times: against a weakened edge, where it must get through (so the
# check can fail); for the TURN attacks against an edge whose coturn has no
# deny list and relays TCP, where the kernel guard alone must stop them; and
# against the edge as rendered, where it must be refused.

TS_IF=tailscale0 # the tailnet interface (model/net.ts TAILNET_INTERFACE)
PROBE_PORT=8099 # an internal service on the vps: listens on every address, the input filter keeps it in
METADATA_LOCAL4=169.254.169.254
PRIVATE4=10.0.0.2     # a Hetzner private network stand-in on the vps
PRIVATE6=fd00:7ab::2  # a ULA on the vps
# The metadata stand-in answers on 8254: nginx holds *:80 on the vps. The
# guard is by address and uid, so the port does not matter.
METADATA_PORT=8254
# A listener on the vps's tailnet address inside the lab stack's relay range
# (turnRelayPorts 50000-50099, test/lab/stacks/Pulumi.lab.yaml): relay to
# relay is let through on these ports, but only to coturn's relay addresses.
RELAY_RANGE_PORT=50090

# ---- stand-ins on the vps --------------------------------------------------------

# The metadata service and private addresses as local addresses of the vps
# (on lo), with responders that name themselves; an internal TCP/UDP service.
# UDP responders are bound to each address: a relay accepts an answer only
# from the address it sent to, and a wildcard socket answers from another.
attack_host_stand_ins() {
  local a
  on vps ip addr add "$METADATA_LOCAL4/32" dev lo &&
    on vps ip addr add "$PRIVATE4/32" dev lo &&
    on vps ip -6 addr add "$PRIVATE6/128" dev lo nodad || return 1
  mkdir -p "$LAB/metadata"
  echo "lab-metadata user-data" >"$LAB/metadata/index.html"
  bg vps "$LAB/logs/vps-metadata.out" /usr/bin/python3 -m http.server --bind "$METADATA_LOCAL4" --directory "$LAB/metadata" $METADATA_PORT
  bg vps "$LAB/logs/vps-internal-tcp.out" socat TCP6-LISTEN:$PROBE_PORT,ipv6only=0,reuseaddr,fork SYSTEM:"echo vps-internal-tcp"
  for a in "$VPS4" "$VPS_TS4" "$PRIVATE4" "$METADATA_LOCAL4"; do
    bg vps "$LAB/logs/vps-internal-udp-$a.out" socat UDP4-RECVFROM:$PROBE_PORT,bind="$a",fork SYSTEM:"echo vps-internal-udp"
  done
  for a in "$VPS6" "$PRIVATE6"; do
    bg vps "$LAB/logs/vps-internal-udp-$a.out" socat UDP6-RECVFROM:$PROBE_PORT,bind="[$a]",fork SYSTEM:"echo vps-internal-udp"
  done
  bg vps "$LAB/logs/vps-relay-range-udp.out" socat UDP4-RECVFROM:$RELAY_RANGE_PORT,bind="$VPS_TS4",fork SYSTEM:"echo vps-relay-range-udp"
  wait_for 10 listening vps tcp $METADATA_PORT && wait_for 10 listening vps tcp $PROBE_PORT && wait_for 10 listening vps udp $PROBE_PORT
}
attack_host_stand_ins_down() {
  on vps pkill -f "socat .*:($PROBE_PORT|$RELAY_RANGE_PORT),|http.server --bind $METADATA_LOCAL4" 2>/dev/null || true
  on vps ip addr del "$METADATA_LOCAL4/32" dev lo 2>/dev/null
  on vps ip addr del "$PRIVATE4/32" dev lo 2>/dev/null
  on vps ip -6 addr del "$PRIVATE6/128" dev lo 2>/dev/null
  return 0
}

# ---- the attacks (each returns 0 when the edge refused; WHY says what happened) ----

# turn_relay udp|tcp PEER PORT EXPECT [SEND]: the attacker, with TURN
# credentials like any XMPP user's, asks coturn to relay to PEER:PORT and
# sends SEND (backslash escapes read). Returns 0 refused, 1 got through, 2
# the probe itself failed.
turn_relay() {
  local proto=$1 peer=$2 port=$3 expect=$4 send=${5:-} server=$VPS4 rc sent counted=0
  [[ $peer != *:* ]] || server=$VPS6
  # A relay to home sends from the VPS's public address: home's WireGuard
  # (on a real tailnet) or its return route (the stand-in) never lets an
  # answer back. Whether the edge let the packets out is counted on tailscale0.
  if [ "$peer" = "$HOME_TS4" ] || [ "$peer" = "$HOME_TS6" ]; then
    counted=1
    on vps nft -f - <<EOF || return 2
table inet lab_probe_relay {
    chain output { type filter hook output priority filter + 10; policy accept; oifname "$TS_IF" meta skuid "turnserver" counter; }
}
EOF
  fi
  WHY=$(ON_TIMEOUT=30 on attacker /usr/bin/python3 "$LAB/bin/turn-probe.py" --server "$server" --secret "$TURN_SECRET" \
    "--$proto" --peer "$peer" --peer-port "$port" --send "$send" --expect "$expect" --timeout 5 2>&1)
  rc=$?
  if [ "$counted" = 1 ]; then
    sent=$(on vps nft list chain inet lab_probe_relay output | grep -o 'packets [0-9]*' | cut -d' ' -f2)
    on vps nft delete table inet lab_probe_relay
    if [ "$rc" != 0 ] && [ "${sent:-0}" -gt 0 ]; then
      WHY="$WHY; but the edge let ${sent} packet(s) of coturn's out on $TS_IF toward home (no answer comes back: their source is the public address)"
      return 1
    fi
    [ "$rc" = 0 ] || WHY="$WHY; none of coturn's packets left on $TS_IF"
  fi
  case $rc in
    0) return 1 ;;
    1) return 0 ;;
    *) WHY="the probe itself failed: $WHY"; return 2 ;;
  esac
}

# only_through CMD...: for the weakened edge, only "got through" (exit 1)
# counts: a probe that failed (2) must not pass for an attack that succeeded.
only_through() {
  "$@"
  [ $? != 1 ]
}

# banner FROM ADDR PORT EXPECT: a TCP connection from FROM that reads EXPECT refused?
tcp_refused() {
  local from=$1 addr=$2 port=$3 expect=$4 out
  out=$(on "$from" timeout 6 socat -T3 - "TCP:$addr:$port,connect-timeout=3" </dev/null 2>&1)
  if grep -qF -- "$expect" <<<"$out"; then WHY="connected from $from to $addr:$port: $(head -n 1 <<<"$out")"; return 1; fi
  WHY="from $from to $addr:$port: ${out:-no answer within 3 s (dropped)}"
  WHY=$(head -n 1 <<<"$WHY")
}

# metadata_refused: a non-root user on the vps asks the metadata service.
metadata_refused() {
  local out
  out=$(on vps runuser -u nobody -- curl -sS --max-time 4 "http://$METADATA_LOCAL4:$METADATA_PORT/" 2>&1)
  if grep -q lab-metadata <<<"$out"; then WHY="user nobody read it: $out"; return 1; fi
  WHY="user nobody: $out"
}

# The TURN attacks: proto|peer|port|expect|send|what
turn_attacks() {
  local u=lab-probe http='GET / HTTP/1.0\r\n\r\n'
  local a=(
    "tcp|$VPS4|22|SSH-2.0||SSH on the VPS's own IPv4 via a TCP relay"
    "tcp|$VPS6|22|SSH-2.0||SSH on the VPS's own IPv6 via a TCP relay"
    "tcp|$VPS_TS4|22|SSH-2.0||SSH on the VPS's own tailnet address via a TCP relay"
    "tcp|$HOME_TS4|7001|home-tcp-7001||home's tailnet address (TCP 7001) via a TCP relay"
    "tcp|$METADATA_LOCAL4|$METADATA_PORT|lab-metadata|$http|the metadata service 169.254.169.254 via a TCP relay"
    "tcp|$PRIVATE4|$PROBE_PORT|vps-internal-tcp||a private address ($PRIVATE4) via a TCP relay"
    "udp|$VPS4|$PROBE_PORT|vps-internal-udp|$u|an internal UDP service on the VPS's own IPv4 via a UDP relay"
    "udp|$VPS6|$PROBE_PORT|vps-internal-udp|$u|an internal UDP service on the VPS's own IPv6 via a UDP relay"
    "udp|$VPS_TS4|$PROBE_PORT|vps-internal-udp|$u|the VPS's own tailnet address via a UDP relay"
    "udp|$VPS_TS4|$RELAY_RANGE_PORT|vps-relay-range-udp|$u|a listener on the VPS's tailnet address inside the relay range via a UDP relay"
    "udp|$HOME_TS4|64738|home-udp-64738|$u|home's tailnet IPv4 (UDP 64738) via a UDP relay"
    "udp|$HOME_TS6|64738|home-udp-64738|$u|home's tailnet IPv6 (UDP 64738) via a UDP relay"
    "udp|$PRIVATE4|$PROBE_PORT|vps-internal-udp|$u|a private address ($PRIVATE4) via a UDP relay"
    "udp|$PRIVATE6|$PROBE_PORT|vps-internal-udp|$u|a ULA ($PRIVATE6) via a UDP relay"
    "udp|$METADATA_LOCAL4|$PROBE_PORT|vps-internal-udp|$u|the metadata address (link-local) via a UDP relay"
  )
  printf '%s\n' "${a[@]}"
}

# run_host_attacks MODE: every attack; MODE weak (must get through), guard
# (coturn weakened: the TURN attacks must still be refused, by the kernel), good.
run_host_attacks() {
  local mode=$1 proto peer port expect send what
  local -a run=(attack) wrap=()
  # attack_on_weakened wants the attack to fail (non-zero): only "got through" is that.
  [ "$mode" != weak ] || run=(attack_on_weakened) wrap=(only_through)
  while IFS='|' read -r proto peer port expect send what; do
    "${run[@]}" "TURN ($mode): $what" "${wrap[@]}" turn_relay "$proto" "$peer" "$port" "$expect" "$send"
  done < <(turn_attacks)
  [ "$mode" != guard ] || return 0
  "${run[@]}" "SSH ($mode): from the attacker (outside sshAllowFrom) to $VPS4:22" "${wrap[@]}" tcp_refused attacker "$VPS4" 22 SSH-2.0
  "${run[@]}" "SSH ($mode): from the attacker to [$VPS6]:22" "${wrap[@]}" tcp_refused attacker "[$VPS6]" 22 SSH-2.0
  "${run[@]}" "metadata ($mode): a non-root user on the vps reads http://$METADATA_LOCAL4:$METADATA_PORT/" "${wrap[@]}" metadata_refused
  "${run[@]}" "tailnet ($mode): from home (a tailnet member, not a deployer) to the edge's SSH ($VPS_TS4:22)" "${wrap[@]}" tcp_refused home "$VPS_TS4" 22 SSH-2.0
  "${run[@]}" "tailnet ($mode): from home to the edge's SSH over IPv6 ([$VPS_TS6]:22)" "${wrap[@]}" tcp_refused home "[$VPS_TS6]" 22 SSH-2.0
  "${run[@]}" "tailnet ($mode): from home to an internal service of the edge ($VPS_TS4:$PROBE_PORT)" "${wrap[@]}" tcp_refused home "$VPS_TS4" $PROBE_PORT vps-internal-tcp
}

# ---- Headscale's policy with Tailscale's default allow-all left in ----------------------

# hs_allow_all SNIPPET OUT [keep-tests]: the snippet plus {"src":["*"],"dst":["*:*"]}.
hs_allow_all_policy() {
  /usr/bin/python3 - "$1" "$EDGE_TAG" "$HS_USER@" "${3:-}" >"$2" <<'PY'
import json, sys
policy = json.load(open(sys.argv[1]))
policy["tagOwners"] = {sys.argv[2]: [sys.argv[3]]}
policy["acls"].append({"action": "accept", "src": ["*"], "dst": ["*:*"]})
if sys.argv[4] != "keep-tests":
    policy.pop("tests", None)
print(json.dumps(policy, indent=2))
PY
}
hs_refuses_allow_all() {
  local p=$LAB/hs-policy-allow-all-tests.json out
  hs_allow_all_policy "$GOOD/tailnet-acl.json" "$p" keep-tests || return 1
  if out=$(hs policy check -f "$p" 2>&1); then WHY="Headscale accepted it: $out"; return 1; fi
  grep -q "expected DENIED, got ALLOWED" <<<"$out" || { WHY=$out; return 1; }
  WHY=$(grep -m 1 "expected DENIED, got ALLOWED" <<<"$out")
  lab_log "headscale policy check: $WHY"
}
hs_set_allow_all() {
  local p=$LAB/hs-policy-allow-all.json
  hs_allow_all_policy "$GOOD/tailnet-acl.json" "$p" && hs policy set -f "$p" >>"$LAB/logs/hs-policy.log" 2>&1
}

# ---- ssh-audit ----------------------------------------------------------------------

# audit_ok FROM ADDR PORT: ssh-audit finds no failure (warnings are listed in WHY).
audit_ok() {
  local out fails warns
  out=$(ON_TIMEOUT=40 on "$1" ssh-audit -n -t 10 -p "$3" "$2" 2>&1)
  printf '%s\n' "$out" >>"$LAB/logs/ssh-audit.log"
  grep -q "^(kex) " <<<"$out" || { WHY="ssh-audit did not get the algorithms: $(tail -n 3 <<<"$out")"; return 1; }
  fails=$(grep -c -- "-- \[fail\]" <<<"$out")
  warns=$(grep -- "-- \[warn\]" <<<"$out" | awk '{print $2}' | paste -sd, -)
  if [ "$fails" -gt 0 ]; then WHY="$fails failure(s): $(grep -- "-- \[fail\]" <<<"$out" | awk '{print $2}' | paste -sd, -)"; return 1; fi
  WHY="0 failures; warnings: ${warns:-none}"
  lab_log "ssh-audit $2:$3: $WHY"
}

# A second sshd on the vps (loopback, port 2222) with a weakened copy of the
# plan's drop-in: ssh-audit must find failures there.
weak_sshd_up() {
  local d=$LAB/weak-sshd
  mkdir -p "$d"
  sed -e 's/^Ciphers .*/&,3des-cbc/' -e 's/^MACs .*/&,hmac-sha1/' -e 's/^KexAlgorithms .*/&,diffie-hellman-group14-sha1/' \
    "$LAB/sshd-dropin.conf" >"$d/dropin.conf"
  printf 'Include %s\nPort 2222\nListenAddress 127.0.0.1\nHostKey /etc/ssh/ssh_host_ed25519_key\nPidFile /run/sshd-weak.pid\nUsePAM no\n' \
    "$d/dropin.conf" >"$d/sshd_config"
  on vps /usr/sbin/sshd -f "$d/sshd_config" && wait_for 10 listening vps tcp 2222
}

# ---- the group -----------------------------------------------------------------------

push_confirmed() { push "$1" && confirm; }

# render_weak: the scratch copies (render.ts --weaken) the weakened pushes use.
render_weak() {
  local tsx=$REPO/node_modules/.bin/tsx st=$LAB/stacks log=$LAB/logs/render-weak.log
  local common=(--config "$st/Pulumi.lab.yaml" --vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6" --vps-tailnet-ipv4 "$VPS_TS4" --turn-secret "$TURN_SECRET")
  if ! { "$tsx" "$HERE/render.ts" "${common[@]}" --out "$LAB/push/weak-host" --weaken turn-coturn,turn-guard,tailnet,metadata \
    --set 'sshAllowFrom=["203.0.113.0/26","2001:db8:20::/64","203.0.113.192/26","2001:db8:66::/64"]' >"$log" 2>&1 &&
    "$tsx" "$HERE/render.ts" "${common[@]}" --out "$LAB/push/weak-coturn" --weaken turn-coturn >>"$log" 2>&1; }; then
    WHY=$(tail -n 5 "$log")
    return 1
  fi
}

t_attack_host() {
  section "attack_host: TURN, SSH, the metadata service and the tailnet against the edge (attacker $ATTACKER4, $ATTACKER6)"
  mkdir -p "$LAB/bin"
  cp "$HERE/turn-probe.py" "$LAB/bin/turn-probe.py"
  check "attack_host: the weakened variants render (coturn without deny list and with TCP relays, no kernel guard, the tailnet trusted, the metadata open, the attacker in sshAllowFrom)" render_weak
  check "attack_host: stand-ins on the vps: $METADATA_LOCAL4 (metadata) and $PRIVATE4, $PRIVATE6 on lo, an internal service on $PROBE_PORT/tcp+udp" attack_host_stand_ins
  if [ "$TAILNET" = headscale ]; then
    check "tailnet: Headscale refuses the snippet beside Tailscale's default allow-all: its tests block fails" hs_refuses_allow_all
    check "tailnet: the allow-all rule without the tests (an operator who left it in): Headscale takes it" hs_set_allow_all
  fi

  check "attack_host: the weakened edge is pushed and confirmed" push_confirmed "$LAB/push/weak-host"
  run_host_attacks weak
  check "attack_host: the edge with coturn weakened only (no deny list, TCP relays) is pushed and confirmed" push_confirmed "$LAB/push/weak-coturn"
  run_host_attacks guard
  check "attack_host: the edge as rendered is pushed back and confirmed" push_confirmed "$GOOD"
  check "attack_host: the table is the good one again" test "$(edge_table)" = "$(cat "$LAB/edge-table.good")"
  run_host_attacks good
  root_reads() {
    local out
    out=$(on vps curl -sS --max-time 4 "http://$METADATA_LOCAL4:$METADATA_PORT/" 2>&1)
    grep -q lab-metadata <<<"$out" || { WHY="root: $out"; return 1; }
  }
  check "metadata: root on the vps still reads it (the rule is by uid)" root_reads
  check "turn: with the fixes in place a relay to a real peer still works (IPv4, UDP)" eval 'turn_relay udp "$PEER4" 3480 lab-relay lab-relay; [ $? = 1 ]'

  [ "$TAILNET" != headscale ] || check "tailnet: Headscale's policy is the stack's snippet again" headscale_policy

  section "attack_host: SSH against current guidance (ssh-audit $(ssh-audit -h 2>&1 | grep -o 'v[0-9.]*' | head -n 1))"
  check "ssh: ssh-audit from the deployer finds no failure in the vps sshd (the plan's drop-in)" audit_ok client "$VPS4" 22
  weak_ssh_found() { if audit_ok vps 127.0.0.1 2222; then WHY="no failure found: $WHY"; return 1; fi; }
  check "ssh: the check can fail: a second sshd with weak algorithms added gets failures" eval 'weak_sshd_up && weak_ssh_found'
  on vps sh -c 'kill "$(cat /run/sshd-weak.pid)"' 2>/dev/null || true
  upgrades_on() {
    local out
    out=$(on vps apt-config dump 2>&1)
    if ! grep -qx 'APT::Periodic::Unattended-Upgrade "1";' <<<"$out" || ! grep -q '^Unattended-Upgrade::Origins-Pattern:: "origin=Tailscale";' <<<"$out"; then
      WHY="apt-config dump on the vps: $(grep -e Periodic -e Origins <<<"$out" | head -n 6)"
      return 1
    fi
  }
  check "host: apt on the vps reads the pushed unattended-upgrades file: daily upgrades on, tailscale's origin allowed" upgrades_on
  attack_host_stand_ins_down
}

# ---- a TCP relay range over SSH (the relay_ssh group) -----------------------------------

# plan_refuses KEY ARGS...: render.ts of the lab stack with ARGS (--set …) fails, naming KEY.
plan_refuses() {
  local key=$1 out
  shift
  if out=$("$REPO/node_modules/.bin/tsx" "$HERE/render.ts" --config "$LAB/stacks/Pulumi.lab.yaml" --out "$LAB/push/refused" \
    --vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6" --vps-tailnet-ipv4 "$VPS_TS4" --turn-secret "$TURN_SECRET" "$@" 2>&1); then
    WHY="it rendered: $(tail -n 1 <<<"$out")"
    return 1
  fi
  WHY=$(grep -m 1 -F -- "- xmpp-edge:$key: " <<<"$out") || { WHY="it failed without naming $key: $(tail -n 5 <<<"$out")"; return 1; }
  WHY=${WHY#*- }
}

# A later edge (an existing host) whose SSH port lies in the TCP relay range.
later_edge_in_relay_range() {
  /usr/bin/python3 - "$LAB/keys/vps_host.pub" <<'PY'
import json, sys
key = " ".join(open(sys.argv[1]).read().split()[:2])
print(json.dumps([{"name": "a"}, {"name": "b", "existingHost": {"address": "198.51.100.11", "port": 50022, "hostKey": key}}]))
PY
}

render_relay_over_ssh() {
  "$REPO/node_modules/.bin/tsx" "$HERE/render.ts" --config "$LAB/stacks/Pulumi.lab.yaml" --out "$LAB/push/relay-over-ssh" \
    --vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6" --vps-tailnet-ipv4 "$VPS_TS4" --turn-secret "$TURN_SECRET" --weaken relay-over-ssh >"$LAB/logs/render-relay-over-ssh.log" 2>&1 ||
    { WHY=$(tail -n 5 "$LAB/logs/render-relay-over-ssh.log"); return 1; }
  out_has "$LAB/push/relay-over-ssh/bundle/etc/xmpp-edge/xmpp-edge.nft" "tcp dport { 3478, 10-3000 } accept"
}

t_relay_ssh() {
  section "relay_ssh: TCP relays on a range over SSH: the plan refuses it; the ruleset the unchecked model renders lets the attacker ($ATTACKER4, $ATTACKER6) reach SSH"
  local later pub
  if ! later=$(later_edge_in_relay_range) || ! pub=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read().strip()))' "$LAB/keys/deployer.pub"); then
    not_ok "relay_ssh: the later edge's config" "python3 failed"
    return
  fi
  check "relay_ssh: the plan refuses turnTcpRelay with turnRelayPorts 10-3000 (SSH's 22 inside it), naming turnRelayPorts" \
    plan_refuses turnRelayPorts --set turnTcpRelay=true --set 'turnRelayPorts="10-3000"'
  check "relay_ssh: the plan refuses a later edge whose SSH port 50022 lies in the TCP relay range 50000-50999, naming edges[1].existingHost.port" \
    plan_refuses 'edges[1].existingHost.port' --set turnTcpRelay=true --set 'turnRelayPorts="50000-50999"' --set "edges=$later" \
    --set "sshPublicKey=$pub" --set 'sshPrivateKey="a stand-in: the plan only needs it set"'
  check "relay_ssh: the unchecked model's ruleset renders (render.ts --weaken relay-over-ssh: tcp dport { 3478, 10-3000 } accept)" render_relay_over_ssh
  check "relay_ssh: that ruleset is pushed and confirmed" push_confirmed "$LAB/push/relay-over-ssh"
  attack_on_weakened "SSH from the attacker (outside sshAllowFrom) to $VPS4:22 through the TCP relay range's accept rule" only_through tcp_refused attacker "$VPS4" 22 SSH-2.0
  attack_on_weakened "SSH from the attacker to [$VPS6]:22 through the TCP relay range's accept rule" only_through tcp_refused attacker "[$VPS6]" 22 SSH-2.0
  check "relay_ssh: the edge as rendered is pushed back and confirmed" push_confirmed "$GOOD"
  check "relay_ssh: the table is the good one again" test "$(edge_table)" = "$(cat "$LAB/edge-table.good")"
  attack "SSH (good): from the attacker to $VPS4:22" tcp_refused attacker "$VPS4" 22 SSH-2.0
  attack "SSH (good): from the attacker to [$VPS6]:22" tcp_refused attacker "[$VPS6]" 22 SSH-2.0
}
