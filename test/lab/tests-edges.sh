# shellcheck shell=bash disable=SC2317,SC2015,SC2016,SC2153,SC2034
# (SC2317: check functions run through `check`; SC2015: A && B || C is meant; SC2016: eval strings expand late; SC2153: VPS_TS4 and the other lab globals come from setup.sh and tailnet.sh; SC2034: WHY is read by lib.sh's check.)
# The edges group (sourced by test/lab/run.sh after tests.sh):
# two edges in front of one home, both existing hosts: vps1 is the lab's vps,
# vps2 a second host made here (192.0.2.20, 2001:db8:11::20) and joined to
# Headscale as an existing host is (tailscale up with a tagged key). The lab
# DNS serves the two-edge plan's records (failover: vps1 first). With both up,
# clients and the peer's Prosody reach home; vps1 is drained (its sessions
# continue, new ones go to vps2) and removed (reconnects timed); then vps1 goes down three ways
# (nginx stopped, its ruleset flushed, its link down) and new client and
# federated sessions, found by SRV, still reach home, TURN still relays
# through vps2, no record points at home. The failover is timed, and shown
# to need vps2 in the SRV records (the single-edge zone fails with vps1 down).
# It runs last (after remove: vps1 gets the two-edge stack's first bundle),
# with Headscale only, in one tailscaled firewall mode (nftables): the
# firewall mode is what other groups cover, SRV failover does not depend on it.

VPS2_4=192.0.2.20 VPS2_6=2001:db8:11::20
EDGES=$LAB/edges
# How often each failover is timed (median and spread).
EDGE_TRIES=${LAB_EDGE_TRIES:-5}

# v2ssh -- CMD: ssh from the deployer (client) to vps2, pinned host key.
v2ssh() {
  local -a base
  mapfile -t base < <(ssh_opts)
  shift
  on client ssh "${base[@]}" "root@$VPS2_4" "$@"
}

# edges_host: vps2 as an existing host: sshd with its own host key and the
# deployer's key, a link to the lab internet, tailscaled joined with a tagged key.
edges_host() {
  local e=$LAB/hosts/vps2/etc-lower key
  etc_common vps2
  cp -a "$LAB/hosts/vps/etc-lower/ssh" "$e/" || return 1
  ssh-keygen -q -t ed25519 -N '' -C lab-vps2-host -f "$EDGES/vps2_host" || return 1
  install -m 0600 "$EDGES/vps2_host" "$e/ssh/ssh_host_ed25519_key"
  install -m 0644 "$EDGES/vps2_host.pub" "$e/ssh/ssh_host_ed25519_key.pub"
  printf '%s %s\n%s %s\n' "$VPS2_4" "$(cut -d' ' -f1,2 "$EDGES/vps2_host.pub")" \
    "$VPS2_6" "$(cut -d' ' -f1,2 "$EDGES/vps2_host.pub")" >>"$LAB/keys/known_hosts"
  if [ -e /var/lib/xmpp-edge ]; then
    mkdir -p "$LAB/hosts/vps2/var_lib-up"
    mknod "$LAB/hosts/vps2/var_lib-up/xmpp-edge" c 0 0
  fi
  host_up vps2 || return 1
  link_host vps2 "$VPS2_4/26" 192.0.2.1 "$VPS2_6/64" 2001:db8:11::1
  bg vps2 "$LAB/logs/sshd-vps2.out" /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config
  wait_for 20 listening vps2 tcp 22 || return 1
  key=$(hs preauthkeys create --tags "$EDGE_TAG" --expiration 1h -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])') || return 1
  tailnet_install vps2 && ts_start vps2 "$LAB/logs/tailscaled-vps2.log" || return 1
  ON_TIMEOUT=60 on vps2 tailscale up --login-server="$HS_URL" --auth-key="$key" --hostname=xmpp-edge-vps2 \
    >"$LAB/logs/join-vps2.log" 2>&1 || { WHY=$(cat "$LAB/logs/join-vps2.log"); return 1; }
  VPS2_TS4=$(on vps2 tailscale ip -4)
  [ -n "$VPS2_TS4" ] || { WHY="vps2 has no tailnet address"; return 1; }
}

# edges_render: the two-edge stack (both edges existing hosts), its plan and each edge's push.
edges_render() {
  local tsx=$REPO/node_modules/.bin/tsx st=$EDGES/Pulumi.lab-edges.yaml edges r
  edges=$(/usr/bin/python3 - "$VPS4" "$VPS6" "$LAB/keys/vps_host.pub" "$VPS2_4" "$VPS2_6" "$EDGES/vps2_host.pub" <<'PY'
import json, sys
def key(f): return " ".join(open(f).read().split()[:2])
a4, a6, k, b4, b6, l = sys.argv[1:7]
print(json.dumps([
    {"name": "vps1", "existingHost": {"address": a4, "hostKey": key(k), "ipv4": a4, "ipv6": a6}},
    {"name": "vps2", "existingHost": {"address": b4, "hostKey": key(l), "ipv4": b4, "ipv6": b6}},
]))
PY
) || return 1
  printf '%s\n' "$edges" >"$EDGES/edges.json"
  # TURN over TLS off: each edge's own TURN name would need its own
  # certificate from the lab's ACME server before the check (the turn_tls
  # group proves TURN over TLS; SRV failover does not involve it).
  (cd "$REPO" && "$tsx" "$HERE/stack.ts" derive --in "$LAB/stacks/Pulumi.lab.yaml" --out "$st" --set "edges=$edges" --set turnTls=false \
    --set "sshPublicKey=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read().strip()))' "$LAB/keys/deployer.pub")" \
    --set "sshPrivateKey=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$LAB/keys/deployer")") || return 1
  (cd "$REPO" && "$tsx" scripts/plan.ts --config "$st" --out "$EDGES/plan" --home-ipv4 "$HOME_TS4") >"$LAB/logs/plan-edges.log" 2>&1 || { WHY=$(cat "$LAB/logs/plan-edges.log"); return 1; }
  r=("$tsx" "$HERE/render.ts" --config "$st" --vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6" --turn-secret "$TURN_SECRET")
  "${r[@]}" --out "$EDGES/push-vps1" --edge 0 --vps-tailnet-ipv4 "$VPS_TS4" &&
    "${r[@]}" --out "$EDGES/push-vps2" --edge 1 --vps-tailnet-ipv4 "$VPS2_TS4"
}

# edges_render_drain N: the same stack with edge N (0: vps1, 1: vps2)
# draining, its plan in $EDGES/plan-drain-N. The hosts keep their pushes:
# draining changes only dns.json and PLAN.md (test/render/dns-drain.test.ts).
edges_render_drain() {
  local tsx=$REPO/node_modules/.bin/tsx st=$EDGES/Pulumi.lab-edges-drain-$1.yaml edges name=vps$(($1 + 1))
  edges=$(/usr/bin/python3 -c 'import json, sys; e = json.load(open(sys.argv[1])); e[int(sys.argv[2])]["drain"] = True; print(json.dumps(e))' "$EDGES/edges.json" "$1") || return 1
  (cd "$REPO" && "$tsx" "$HERE/stack.ts" derive --in "$EDGES/Pulumi.lab-edges.yaml" --out "$st" --set "edges=$edges") || return 1
  (cd "$REPO" && "$tsx" scripts/plan.ts --config "$st" --out "$EDGES/plan-drain-$1" --home-ipv4 "$HOME_TS4") >"$LAB/logs/plan-edges-drain-$1.log" 2>&1 ||
    { WHY=$(cat "$LAB/logs/plan-edges-drain-$1.log"); return 1; }
  grep -q "| $name (draining) |" "$EDGES/plan-drain-$1/PLAN.md" || { WHY="PLAN.md does not mark $name draining"; return 1; }
}

# srv_only ADDR EDGE: _xmpps-client and the XMPP name answer with that edge only; vps1 and vps2 keep their own names.
srv_only() {
  local a want
  a=$(on client dig +short SRV "_xmpps-client._tcp.$DOMAIN")
  want="$([ "$2" = vps1 ] && echo 5 || echo 15) 5 443 $2.$DOMAIN."
  [ "$a" = "$want" ] || { WHY="_xmpps-client: $a (expected $want)"; return 1; }
  a=$(on client dig +short A "$DOMAIN")
  [ "$a" = "$1" ] || { WHY="$DOMAIN A: $a (expected $1)"; return 1; }
  [ "$(on client dig +short A "vps1.$DOMAIN")" = "$VPS4" ] && [ "$(on client dig +short A "vps2.$DOMAIN")" = "$VPS2_4" ] ||
    { WHY="an edge lost its own name"; return 1; }
}

# edges_push N SSH-FN: push edge N's bundle and confirm it over a second connection.
edges_push() {
  local d=$EDGES/push-$1 fn=$2
  "$fn" -- "$(cat "$d/push-command")" <"$d/push.sh" >"$LAB/logs/push-edges-$1.log" 2>&1 &&
    "$fn" -- "$(cat "$d/confirm-command")" >>"$LAB/logs/push-edges-$1.log" 2>&1 ||
    { WHY=$(tail -n 5 "$LAB/logs/push-edges-$1.log"); return 1; }
}

# edges_zone DNS.JSON [PROXY4 PROXY6]: nsd serves exactly these records (the
# proxied name too, unless the Cloudflare stand-in's addresses are given).
edges_zone() {
  local z=$LAB/dns/example.com.zone pid
  zone_from_plan "$1" example.com "${@:2}" >"$z.new" && mv "$z.new" "$z" && chmod a+r "$z"
  pid=$(on dns cat /run/nsd.pid 2>/dev/null) && on dns kill "$pid"
  wait_for 10 bash -c "! ip netns exec ${LAB_PREFIX}dns ss -H -lun 'sport = :53' | grep -q ." || return 1
  bg dns "$LAB/logs/nsd.out" nsd -d -c "$LAB/dns/nsd.conf"
  wait_for 20 listening dns udp 53
}

# edges_check [DNS.JSON]: `npm run check` with the two-edge stack, the edges'
# addresses from their existingHost (no --vps-ipv4): every row passes, on both
# edges. As in the check group, cf proxies 443/80 to vps1 and the proxied name
# answers with cf's addresses; both are undone afterwards. DNS.JSON: serve
# these records instead of the two-edge plan's (the broken variant).
edges_check() {
  local rc=0 out=$LAB/logs/check-edges-$((++EDGES_CHECK_N)).json rows
  cf_proxy_down
  cf_proxy_up && edges_zone "${1:-$EDGES/plan/dns.json}" "$CF4" "$CF6" || { WHY="cf proxy or zone: $(tail -n 3 "$LAB/logs/cf-nginx.log" 2>/dev/null)"; return 1; }
  ON_TIMEOUT=90 on_client_net env XEC_TURN_SECRET="$TURN_SECRET" XEC_PASSWORD="$PW" \
    "$REPO/node_modules/.bin/tsx" "$REPO/scripts/check.ts" --config "$EDGES/Pulumi.lab-edges.yaml" \
    --resolver "$DNS4" --ca "$LAB/pki/ca.crt" --turn-secret-env XEC_TURN_SECRET --account "bob@$DOMAIN" \
    --password-env XEC_PASSWORD --allow-documentation-addresses --json >"$out" 2>"$out.err" || rc=$?
  cf_proxy_down
  edges_zone "$EDGES/plan/dns.json" || { WHY="the two-edge zone did not come back"; return 1; }
  rows=$(/usr/bin/python3 - "$out" "$VPS4" "$VPS2_4" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
bad = [f'{r["status"]} {r["name"]} | {r["seen"]}' for r in d["results"] if r["status"] == "fail" or (r["status"] == "skip" and not r["name"].startswith("SSH on "))]
for a in sys.argv[2:]:
    if not any(a in r["name"] for r in d["results"]):
        bad.append(f"no row checks {a}")
print(f'{len(d["results"])} rows in {d["totalMs"] / 1000:.1f} s' if not bad else "\n".join(bad))
PY
) || { WHY="exit $rc: $(head -c 1500 "$out.err")"; return 1; }
  CHECK_ROWS=$rows
  [ "$rc" -eq 0 ] && [[ "$rows" == *" rows in "* ]] || { WHY="exit $rc: $rows"; return 1; }
  lab_log "edges: npm run check: $rows, both edges (log: $out)"
}
EDGES_CHECK_N=0
# With only vps1 in the records the same check must fail, on vps2's records.
edges_check_misses_vps2() {
  if edges_check "$LAB/plan/dns.json"; then WHY="the check passed with vps2 missing from DNS"; return 1; fi
  grep -q "vps2\.$DOMAIN" <<<"$CHECK_ROWS" || { WHY="no failed row names vps2.$DOMAIN: $CHECK_ROWS"; return 1; }
  WHY=""
  printf '%s\n' "$CHECK_ROWS" | grep "vps2\.$DOMAIN" | head -n 4 | sed 's/^/#   /'
}

# The zone as nsd serves it equals the plan's dns.json; no answer is home's or a tailnet address.
edges_zone_exact() { zone_is_plan "$1" "$LAB/logs/axfr-edges.txt"; }
no_record_home() {
  local bad
  bad=$(grep -E -i -e " ($HOMEUP4|$HOMEUP6|$HOME_TS4|$HOME_TS6)\$" -e " 100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\." -e " fd7a:115c:a1e0:" "$LAB/logs/axfr-edges.txt")
  [ -z "$bad" ] || { WHY=$bad; return 1; }
}

# Lab-only counters of new connections per port, beside our table (a table of their own).
edges_counters() { # HOST
  on "$1" nft -f - <<'EOF'
table inet lab_edges {
    counter c443 { }
    counter c5222 { }
    counter c5269 { }
    chain pre {
        type filter hook prerouting priority -150; policy accept;
        ct state new tcp dport 443 counter name c443
        ct state new tcp dport 5222 counter name c5222
        ct state new tcp dport 5269 counter name c5269
    }
}
EOF
}
new_conns() { # HOST PORT
  on "$1" nft list counter inet lab_edges "c$2" 2>/dev/null | grep -o 'packets [0-9]*' | cut -d' ' -f2
}

# srv_send WHERE [go-sendxmpp flags]: bob -> carol, the server found by SRV only
# (a new session); sets SENT_MS. WHERE names the try in the log.
srv_send() {
  local where=$1 t t0 out
  shift
  t=$(token "edges-$where")
  t0=$(date +%s%N)
  out=$(printf '%s\n' "$t" | ON_TIMEOUT=70 on client timeout 60 go-sendxmpp -u "bob@$DOMAIN" -p "$PW" "$@" "carol@$DOMAIN" 2>&1) ||
    { printf '%s: %s\n' "$where" "$out" >>"$LAB/logs/edges-send.log"; WHY="go-sendxmpp via SRV $* failed: $(tail -n 3 <<<"$out")"; return 1; }
  received carol "$t" 15 || return 1
  SENT_MS=$((($(date +%s%N) - t0) / 1000000))
}

# peer_restart: a fresh Prosody on peer (no s2s session, no DNS cache): the next message opens a new federated session.
peer_restart() {
  local pid
  pid=$(on peer cat /run/prosody/prosody.pid 2>/dev/null) && on peer kill "$pid"
  wait_for 15 bash -c "! ip netns exec ${LAB_PREFIX}peer ss -H -ltn 'sport = :5269' | grep -q ." || return 1
  bg peer "$LAB/logs/peer-prosody-edges.out" runuser -u prosody -- prosody -F
  wait_for 20 listening peer tcp 5269 && wait_for 20 listening peer tcp 5222
}
# s2s_send WHERE: alice@peer -> bob@home over a new federated session; sets SENT_MS (from the send to bob's receipt).
s2s_send() {
  local t t0
  peer_restart || { WHY="peer's Prosody did not restart"; return 1; }
  t=$(token "edges-s2s-$1")
  t0=$(date +%s%N)
  send peer "alice@$PEER_DOMAIN" "$PEER_DOMAIN:5222" "bob@$DOMAIN" "$t" && received bob "$t" "${2:-40}" || return 1
  SENT_MS=$((($(date +%s%N) - t0) / 1000000))
}

# timed NAME N FN ARGS...: FN N times; prints median and spread of SENT_MS, fails if any try fails.
timed() {
  local name=$1 n=$2 i ms=()
  shift 2
  for ((i = 1; i <= n; i++)); do
    "$@" || return 1
    ms+=("$SENT_MS")
  done
  /usr/bin/python3 - "$name" "${ms[@]}" >>"$LAB/logs/edges-times.txt" <<'PY'
import statistics, sys
name, ms = sys.argv[1], sorted(int(x) for x in sys.argv[2:])
print(f"{name}: median {statistics.median(ms):.0f} ms, min {ms[0]} max {ms[-1]} ms, n={len(ms)} ({', '.join(map(str, ms))})")
PY
}

# grew HOST PORT BEFORE: more new connections on HOST:PORT than BEFORE.
grew() {
  local now
  now=$(new_conns "$1" "$2")
  [ "${now:-0}" -gt "$3" ] || { WHY="$1:$2 new connections $3 -> ${now:-0}"; return 1; }
}

turn_via() { # ADDR: an allocation on that edge with the shared secret relays 10/10
  local out
  out=$(ON_TIMEOUT=40 on client timeout 30 turnutils_uclient -W "$TURN_SECRET" -u labuser -e "$PEER4" -r 3480 -n 10 -m 1 -c "$1" 2>&1)
  grep -q "tot_send_msgs=10, tot_recv_msgs=10" <<<"$out" || { WHY=$(tail -n 4 <<<"$out"); return 1; }
}

# Each way of taking vps1 down, and back.
vps1_link() { # down|up
  if [ "$1" = down ]; then
    on vps ip link set eth0 down
  else
    # The default routes went with the link, and so did its IPv6 address (keep_addr_on_down is 0).
    on vps ip link set eth0 up && on vps ip -6 addr replace "$VPS6/64" dev eth0 nodad &&
      wait_for 10 on vps ip route replace default via 198.51.100.1 &&
      wait_for 10 on vps ip -6 route replace default via 2001:db8:10::1
  fi
}
vps1_nginx() { # down|up
  if [ "$1" = down ]; then on vps nginx -s stop 2>/dev/null && wait_for 10 bash -c "! ip netns exec ${LAB_PREFIX}vps ss -H -ltn 'sport = :443' | grep -q ."; else on vps nginx; fi
}
vps1_ruleset() { # down|up: flushed (every table: ours, tailscaled's, the lab's counters), then ours and the counters back
  if [ "$1" = down ]; then on vps nft flush ruleset; else on vps nft -f /etc/xmpp-edge/xmpp-edge.nft && edges_counters vps; fi
}

t_edges() {
  section "edges: two edges (vps1, vps2) in front of one home, SRV failover"
  if [ "$TAILNET" != headscale ] || [ "$TS_FW" != nftables ]; then
    echo "# edges: runs in the Headscale run with tailscaled's nftables mode only (this is $(tailnet_word))"
    return 0
  fi
  local t_start=$SECONDS
  mkdir -p "$EDGES"
  VPS2_TS4=""
  check "edges: vps2 is up as an existing host (sshd, its own host key) and joined the tailnet with a tagged key" edges_host
  [ -n "$VPS2_TS4" ] || return 0
  check "edges: the two-edge stack (both existingHost) renders its plan and a push per edge" edges_render
  [ -s "$EDGES/push-vps2/push.sh" ] || return 0
  check "edges: Headscale's policy is the two-edge stack's tailscaleAclSnippet" headscale_policy "$EDGES/push-vps1/tailnet-acl.json"
  check "edges: vps1 takes the stack's first bundle (push + confirm)" edges_push vps1 vssh
  check "edges: vps2 takes its own bundle (push + confirm)" edges_push vps2 v2ssh
  edges_counters vps && edges_counters vps2
  check "edges: the lab DNS serves the two-edge plan's records" edges_zone "$EDGES/plan/dns.json"
  check "edges: the zone holds exactly the plan's dns.json (AXFR), both edges in SRV" edges_zone_exact "$EDGES/plan/dns.json"
  check "edges: no record points at home (its uplink, its tailnet address) or into the tailnet" no_record_home
  srv_both() {
    local a
    a=$(on client dig +short SRV "_xmpps-client._tcp.$DOMAIN" | sort)
    [ "$a" = "$(printf '15 5 443 vps2.%s.\n5 5 443 vps1.%s.' "$DOMAIN" "$DOMAIN" | sort)" ] || { WHY=$a; return 1; }
  }
  check "edges: _xmpps-client lists vps1 (priority 5) and vps2 (15): failover mode" srv_both
  check "edges: npm run check with the two-edge stack passes every row on both edges (addresses from their existingHost)" edges_check
  check "edges [broken: only vps1 in DNS]: the same check fails, on vps2's records" edges_check_misses_vps2

  section "edges: both up"
  listen carol client "carol@$DOMAIN" "$VPS2_4:5222"
  listen bob client "bob@$DOMAIN" "$VPS2_4:5222"
  local before
  before=$(new_conns vps 443)
  check "edges: a client session found by SRV (direct TLS) reaches home" srv_send up-tls -t
  check "edges: ... through vps1, the first edge (its 443 took a new connection)" grew vps 443 "$before"
  check "edges: bob -> carol through vps2 directly (443 direct TLS, explicit server)" c2s_roundtrip carol "$VPS2_4:443" -t
  check "edges: bob -> carol through vps2 directly (5222 STARTTLS over IPv6)" c2s_roundtrip carol "[$VPS2_6]:5222"
  before=$(new_conns vps 443)
  check "edges: a new federated session (peer's Prosody by SRV) reaches home" s2s_send up
  check "edges: ... through vps1 (its 443 took the s2s connection)" grew vps 443 "$before"
  check "edges: TURN relays through vps1 with the shared secret" turn_via "$VPS4"
  check "edges: TURN relays through vps2 with the same secret" turn_via "$VPS2_4"
  check "edges: timed $EDGE_TRIES client sessions by SRV, both up" timed "client by SRV, both edges up (go-sendxmpp -t, new session to delivery)" "$EDGE_TRIES" srv_send up-tls -t
  check "edges: timed 3 federated sessions by SRV, both up" timed "federated by SRV, both edges up (fresh peer Prosody, send to delivery)" 3 s2s_send up

  # Which edge took a session: vps2's counters of new connections (443, 5222, 5269) before and after.
  vps2_snap() { local p; for p in 443 5222 5269; do printf '%s:%s ' "$p" "$(new_conns vps2 "$p")"; done; }

  via_vps2() { local now; now=$(vps2_snap); [ "$now" != "$SNAP" ] || { WHY="vps2 took no new connection on 443, 5222 or 5269 ($SNAP)"; return 1; }; }
  # through HOW WHAT MUST: assert vps2 took it (MUST=yes), or say where it went (vps1 still serves another port).
  through() {
    if [ "$3" = yes ]; then
      check "edges [$1 down]: ... $2 went through vps2 (new connections on vps2: $SNAP-> $(vps2_snap))" via_vps2
    else
      echo "# edges [$1 down]: $2 went through $(via_vps2 && echo vps2 || echo "vps1, which still serves another port")"
    fi
  }
  local how fn SNAP
  for how in nginx ruleset link; do
    fn=vps1_$how
    section "edges: vps1 down: $how"
    check "edges: vps1 $how taken down" "$fn" down
    # nginx stopped: vps1's 443 refuses, its 5222/5269 (kernel DNAT) still serve. Ruleset flushed:
    # its DNAT ports refuse, its nginx still serves 443 (nothing filters any more). Link down: nothing.
    SNAP=$(vps2_snap)
    check "edges [$how down]: a NEW client session by SRV (direct TLS) reaches home" srv_send "$how-tls" -t
    through "$how" "the direct TLS session" "$([ "$how" = ruleset ] && echo no || echo yes)"
    if [ "$how" != nginx ]; then
      SNAP=$(vps2_snap)
      check "edges [$how down]: a NEW client session by SRV (go-sendxmpp without -t: STARTTLS, XEP-0368 records too) reaches home" srv_send "$how-starttls"
      through "$how" "the session without -t" "$([ "$how" = link ] && echo yes || echo no)"
    fi
    SNAP=$(vps2_snap)
    check "edges [$how down]: a NEW federated session (peer's Prosody by SRV) reaches home" s2s_send "$how"
    through "$how" "the federated session" "$([ "$how" = link ] && echo yes || echo no)"
    check "edges [$how down]: TURN still relays through vps2" turn_via "$VPS2_4"
    check "edges [$how down]: still no record points at home" no_record_home
    [ "$how" = link ] || check "edges: vps1 $how back" "$fn" up
  done

  section "edges: failover times (vps1's link down), and the same without vps2 in the zone"
  check "edges: timed $EDGE_TRIES client sessions by SRV, vps1's link down" timed "client by SRV, vps1's link down (go-sendxmpp -t, new session to delivery)" "$EDGE_TRIES" srv_send down-tls -t
  check "edges: timed 3 federated sessions by SRV, vps1's link down" timed "federated by SRV, vps1's link down (fresh peer Prosody, send to delivery)" 3 s2s_send down
  # The broken variant: one edge in the records (the single-edge lab plan). The same client must fail now.
  check "edges [broken: only vps1 in DNS]: the lab DNS serves the single-edge records" edges_zone "$LAB/plan/dns.json"
  fails() { if "$@"; then WHY="succeeded with only vps1 in the records: the assertion above could not fail"; return 1; fi; WHY=""; }
  check "edges [broken: only vps1 in DNS]: the client by SRV fails with vps1 down" fails srv_send broken-tls -t
  check "edges [broken: only vps1 in DNS]: the federated session fails with vps1 down" fails s2s_send broken 20
  check "edges: the two-edge records back" edges_zone "$EDGES/plan/dns.json"
  check "edges: vps1's link back" vps1_link up
  section "edges: replacing vps1 without an outage (docs/operating.md): vps2 carries everything while vps1 drains, is replaced and comes back"
  check "edges: the stack with vps1 draining renders (PLAN.md marks it)" edges_render_drain 0
  # Sessions on vps1 from before the drain: carol's second resource (direct
  # TLS to vps1's 443), and a federated session (peer's Prosody by SRV: vps1).
  listen carol_vps1 client "carol@$DOMAIN" "$VPS4:443" -t
  check "edges: a client session on vps1 (carol, direct TLS to vps1) is up before the drain" c2s_roundtrip carol_vps1 "$VPS2_4:443" -t
  local before
  before=$(new_conns vps 443)
  check "edges: a federated session from the peer is up before the drain" s2s_send pre-drain
  check "edges: ... on vps1 (its 443 took it)" grew vps 443 "$before"
  check "edges [vps1 draining]: the lab DNS serves the drained plan's records" edges_zone "$EDGES/plan-drain-0/dns.json"
  check "edges [vps1 draining]: the zone holds exactly the drained plan's dns.json (AXFR)" edges_zone_exact "$EDGES/plan-drain-0/dns.json"
  check "edges [vps1 draining]: SRV and $DOMAIN answer with vps2 only; both edges keep their own names" srv_only "$VPS2_4" vps2
  check "edges [vps1 draining]: the client session on vps1 from before the drain continues (a message reaches it)" c2s_roundtrip carol_vps1 "$VPS2_4:443" -t
  SNAP=$(vps2_snap)
  existing_s2s() { local t; t=$(token edges-s2s-kept); send peer "alice@$PEER_DOMAIN" "$PEER_DOMAIN:5222" "bob@$DOMAIN" "$t" && received bob "$t" 20; }
  check "edges [vps1 draining]: the federated session from before the drain continues (alice@peer -> bob, no new connection to vps2)" existing_s2s
  kept() { [ "$(vps2_snap)" = "$SNAP" ] || { WHY="vps2 took a new connection: $SNAP-> $(vps2_snap)"; return 1; }; }
  check "edges [vps1 draining]: ... over the old session (vps2 took no new connection)" kept
  before=$(new_conns vps 443)
  SNAP=$(vps2_snap)
  check "edges [vps1 draining]: a NEW client session by SRV (direct TLS) reaches home" srv_send drain-tls -t
  check "edges [vps1 draining]: ... through vps2" via_vps2
  not_vps1() { local now; now=$(new_conns vps 443); [ "${now:-0}" = "$before" ] || { WHY="vps1's 443 took $((now - before)) new connections"; return 1; }; }
  check "edges [vps1 draining]: ... and none through vps1 (its 443 took no new connection)" not_vps1
  SNAP=$(vps2_snap)
  check "edges [vps1 draining]: a NEW federated session (peer's Prosody by SRV) reaches home" s2s_send drain
  check "edges [vps1 draining]: ... through vps2" via_vps2
  check "edges: timed $EDGE_TRIES client sessions by SRV, vps1 draining" timed "client by SRV, vps1 draining (go-sendxmpp -t, new session to delivery)" "$EDGE_TRIES" srv_send drain-tls -t
  # vps1 replaced (its image changed): the old server is gone (link down);
  # the sessions still on it drop (a client notices by its pings; here at
  # once) and reconnect by SRV straight to vps2, with no dead first target
  # to time out on (compare "vps1's link down" above).
  check "edges: vps1's server deleted (link down), drained" vps1_link down
  stop_listen client carol_vps1
  check "edges: timed $EDGE_TRIES reconnects by SRV, vps1 drained and gone" timed "client by SRV, vps1 drained and gone (go-sendxmpp -t, new session to delivery)" "$EDGE_TRIES" srv_send drained-gone-tls -t
  check "edges: timed 3 federated sessions by SRV, vps1 drained and gone" timed "federated by SRV, vps1 drained and gone (fresh peer Prosody, send to delivery)" 3 s2s_send drained-gone
  # The new server: up, its push taken (push + confirm), still drained.
  check "edges: vps1's new server is up" vps1_link up
  check "edges: ... and takes its push (push + confirm)" edges_push vps1 vssh
  check "edges: vps1 undrained: the lab DNS serves the two-edge records again" edges_zone "$EDGES/plan/dns.json"
  check "edges [vps1 back]: SRV lists both, vps1 first" srv_both
  check "edges [broken: vps1 not drained]: the drain's DNS assertion fails on the two-edge records" fails srv_only "$VPS2_4" vps2
  before=$(new_conns vps 443)
  check "edges [vps1 back]: a NEW client session by SRV reaches home" srv_send undrained-tls -t
  check "edges [vps1 back]: ... through vps1 again (its 443 took it)" grew vps 443 "$before"
  # Then the stand-in goes: vps2 drained (and removed, which takes only its own records).
  check "edges: the stack with vps2 draining renders" edges_render_drain 1
  check "edges [vps2 draining]: the lab DNS serves its records" edges_zone "$EDGES/plan-drain-1/dns.json"
  check "edges [vps2 draining]: SRV and $DOMAIN answer with vps1 only" srv_only "$VPS4" vps1
  check "edges [vps2 draining]: carol's session on vps2 continues" c2s_roundtrip carol "$VPS4:443" -t
  SNAP=$(vps2_snap)
  check "edges [vps2 draining]: a NEW client session by SRV reaches home" srv_send drain2-tls -t
  check "edges [vps2 draining]: ... none through vps2" kept
  check "edges: the two-edge records back" edges_zone "$EDGES/plan/dns.json"
  stop_listen client carol
  stop_listen client bob
  echo "# edges: the group took $((SECONDS - t_start)) s"
  sed 's/^/# edges time: /' "$LAB/logs/edges-times.txt" 2>/dev/null || true
}
