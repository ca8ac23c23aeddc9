# shellcheck shell=bash disable=SC2317,SC2015,SC2016
# (SC2317: check functions run through `check`; SC2015: A && B || C is meant; SC2016: eval strings expand late.)
# TURN over TLS on 443 (turnTls) in the lab (sourced by test/lab/run.sh after
# tests.sh and tests-check.sh): the edge's certificate from the lab's ACME
# server (pebble on the dns host) over HTTP-01 on the edge's own 80 (checked
# after the first push, in t_push), and the "turn_tls" group: a client whose
# egress passes only TCP 443 and DNS relays through turns: and nothing else,
# denied peers stay refused over TLS, a renewal under a flowing stream loses
# nothing, and npm run check's TURN-over-TLS rows fail against a placeholder,
# a certificate for another name and an edge without the guard's exception.
# See test/lab/README.md.

TLS_EGRESS_TABLE=lab_443_only

# turn_cert_verified: 443 with SNI TURN_NAME serves a certificate that chains
# to pebble's root and names TURN_NAME (as a browser checks it).
turn_cert_verified() {
  local out
  out=$(on client timeout 10 openssl s_client -connect "$VPS4:443" -servername "$TURN_NAME" -verify_hostname "$TURN_NAME" \
    -verify_return_error -CAfile "$LAB/pki/trust.pem" </dev/null 2>&1)
  grep -q "^Verify return code: 0 (ok)" <<<"$out" || { WHY=$(grep -E "^(depth|verify|Verify)" <<<"$out" | head -n 4); return 1; }
}

# served_turn_cert: "serial=… issuer=…" of what 443 serves for TURN_NAME.
served_turn_cert() {
  on client sh -c "timeout 10 openssl s_client -connect '$VPS4:443' -servername '$TURN_NAME' </dev/null 2>/dev/null |
    openssl x509 -noout -serial -issuer" | tr '\n' ' '
}

# acme_tokens: the HTTP-01 tokens pebble fetched for TURN_NAME (its log).
acme_tokens() {
  grep -oE "Attempting to validate w/ HTTP: http://${TURN_NAME//./\\.}:80/\.well-known/acme-challenge/[A-Za-z0-9_-]+" "$LAB/logs/pebble.out" |
    sed 's|.*/||' | sort -u
}
# edge_answered_tokens: every token pebble fetched got a 200 from the edge's own nginx on 80.
edge_answered_tokens() {
  local t tokens
  tokens=$(acme_tokens)
  [ -n "$tokens" ] || { WHY="pebble fetched no challenge for $TURN_NAME"; return 1; }
  for t in $tokens; do
    vps_log nginx/access.log | grep -qF "\"GET /.well-known/acme-challenge/$t HTTP/1.1\" 200 " || { WHY="the edge's access log lacks a 200 for $t"; return 1; }
  done
}

# turn_cert_obtained: within TURN_CERT_WAIT s (default 90) of the first push,
# the edge's certbot (started by the apply in the background) installed
# pebble's certificate. (test/vm allows more: the first run installs certbot
# from the mirror under an emulated CPU; its log is the unit's journal.)
turn_cert_obtained() {
  wait_for "${TURN_CERT_WAIT:-90}" turn_cert_verified || { turn_cert_verified; WHY="$WHY; the tool's log: $(turn_cert_log | tail -n 5)"; return 1; }
  edge_answered_tokens || return 1
  lab_log "TURN certificate: $(served_turn_cert)"
}

# turn_cert_log: what the tool said: its log file on the netns vps, the unit's journal under systemd (test/vm).
turn_cert_log() {
  if [ "${LAB_VPS:-ns}" = vm ]; then on vps journalctl -u xmpp-edge-turn-cert -o cat --no-pager; else vps_log xmpp-edge-turn-cert.log; fi
}

# home_never_saw_challenge: none of the tokens the edge answered reached home's web server.
home_never_saw_challenge() {
  local t tokens
  tokens=$(acme_tokens)
  [ -n "$tokens" ] || { WHY="no tokens to look for"; return 1; }
  for t in $tokens; do
    if grep -qF -- "$t" "$LAB/hosts/home/var_log-up/nginx/access.log" 2>/dev/null; then WHY="home's access log has $t"; return 1; fi
  done
}

# egress_443_only / egress_open: the client's own egress filter: TCP 443 and
# DNS to the lab's resolver pass, everything else it sends is dropped (and
# counted). The pushes (SSH) happen with it open.
egress_443_only() {
  on client nft -f - <<EOF
table inet $TLS_EGRESS_TABLE {
    chain output {
        type filter hook output priority filter; policy drop;
        oifname "lo" accept
        ct state established,related accept
        tcp dport 443 accept
        ip daddr $DNS4 meta l4proto { tcp, udp } th dport 53 accept
        ip6 daddr $DNS6 meta l4proto { tcp, udp } th dport 53 accept
        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept
        counter comment "dropped: neither TCP 443 nor DNS"
    }
}
EOF
}
egress_open() { on client nft delete table inet "$TLS_EGRESS_TABLE" 2>/dev/null || true; }
egress_dropped() { on client nft list chain inet "$TLS_EGRESS_TABLE" output | grep -oE 'packets [0-9]+' | cut -d' ' -f2; }

# tprobe ARGS...: turn-probe.py from client with the shared secret (output in WHY; its exit code).
tprobe() {
  WHY=$(ON_TIMEOUT=60 on client /usr/bin/python3 "$LAB/bin/turn-probe.py" --secret "$TURN_SECRET" "$@" 2>&1)
}
# through ARGS...: the relay reached the peer and its answer came back (exit 0).
through() {
  local rc=0
  tprobe "$@" || rc=$?
  lab_log "turn_tls: $WHY"
  [ "$rc" = 0 ]
}
# refused ARGS...: refused or unanswered (exit 1); a probe that failed itself (2) is no verdict.
refused() {
  local rc=0
  tprobe "$@" || rc=$?
  lab_log "turn_tls: $WHY"
  [ "$rc" = 1 ]
}
# blocked ARGS...: the probe got nowhere at all (1: refused by the kernel, 2: no TURN answer) and the client's filter dropped packets meanwhile.
blocked() {
  local rc=0 before after
  before=$(egress_dropped)
  tprobe "$@" || rc=$?
  after=$(egress_dropped)
  lab_log "turn_tls: $WHY (client's filter dropped $((after - before)) packets)"
  [ "$rc" != 0 ] && [ "$after" -gt "$before" ] || { WHY="exit $rc, $((after - before)) dropped: $WHY"; return 1; }
}
# tls_relay SERVER PEER TEXT [ARGS...]: a UDP relay asked for over TLS on 443 with SNI TURN_NAME, the certificate verified against pebble's root.
tls_relay() {
  local server=$1 peer=$2 text=$3
  shift 3
  through --server "$server" --port 443 --tls "$TURN_NAME" --ca "$LAB/bin/trust.pem" --udp --peer "$peer" --peer-port 3480 \
    --send "$text" --expect "$text" --timeout 5 "$@"
}

# webrtc_pair: two aiortc peers exchange a data-channel message, the offerer
# on client (443-only while it runs) relay-only with turns:TURN_NAME:443 as
# its only ICE server, the answerer on peer with the same server; the
# offerer's selected pair must be its relay (test/lab/bin/aiortc-peer.py).
webrtc_pair() {
  local d=$LAB/webrtc rc=0 pid url="turns:$TURN_NAME:443?transport=tcp"
  rm -rf "$d" && mkdir -p "$d"
  ON_TIMEOUT=70 on peer env SSL_CERT_FILE="$LAB/bin/trust.pem" /usr/bin/python3 "$LAB/bin/aiortc-peer.py" answer \
    --dir "$d" --turn "$url" --secret "$TURN_SECRET" --timeout 45 >"$LAB/logs/webrtc-answer.out" 2>&1 &
  pid=$!
  WHY=$(ON_TIMEOUT=70 on client env SSL_CERT_FILE="$LAB/bin/trust.pem" /usr/bin/python3 "$LAB/bin/aiortc-peer.py" offer \
    --relay-only --dir "$d" --turn "$url" --secret "$TURN_SECRET" --timeout 45 2>&1) || rc=$?
  wait "$pid"
  WHY="$(grep -v '^aiortc ' <<<"$WHY") | $(grep -v '^aiortc ' "$LAB/logs/webrtc-answer.out")"
  lab_log "turn_tls: webrtc: $WHY"
  [ "$rc" = 0 ] && grep -q "offerer: sent .* local relay " <<<"$WHY"
}

# renew_by_tool: the operator's forced renewal (xmpp-edge-turn-cert renew over SSH).
renew_by_tool() { ON_TIMEOUT=90 on vps /usr/local/sbin/xmpp-edge-turn-cert renew; }

# stream_across_renewal [SECONDS [RENEW]]: datagrams over one TLS allocation
# for SECONDS (default 20: 400 of them, one each 50 ms) while RENEW (a
# function; default renew_by_tool) forces a renewal: every one answered, the
# stream still flowing when the renewal (with its reload) was done, the
# served serial changed. RENEW's output goes to LAB/logs/turn-cert-renew.log.
stream_across_renewal() {
  local secs=${1:-20} renew=${2:-renew_by_tool} before after pid rc=0 flowing=1 out=$LAB/logs/turn-tls-stream.out
  before=$(served_turn_cert)
  ON_TIMEOUT=$((secs + 70)) on client /usr/bin/python3 "$LAB/bin/turn-probe.py" --secret "$TURN_SECRET" --server "$VPS4" --port 443 \
    --tls "$TURN_NAME" --ca "$LAB/bin/trust.pem" --udp --peer "$PEER4" --peer-port 3480 --send lab-renew --expect lab-renew \
    --count $((secs * 20)) --interval 0.05 --timeout 10 >"$out" 2>&1 &
  pid=$!
  sleep 3
  if ! "$renew" >"$LAB/logs/turn-cert-renew.log" 2>&1; then
    wait "$pid"
    WHY="the renewal failed: $(tail -n 5 "$LAB/logs/turn-cert-renew.log")"
    return 1
  fi
  kill -0 "$pid" 2>/dev/null || flowing=0
  sleep 1
  after=$(served_turn_cert)
  wait "$pid" || rc=$?
  lab_log "turn_tls: renewal: before $before; after $after; the stream: $(cat "$out")"
  [ "$rc" = 0 ] || { WHY="the stream: exit $rc: $(cat "$out")"; return 1; }
  [ "$flowing" = 1 ] || { WHY="the stream ($secs s) had ended before the renewal was done: it proves nothing; the renewal: $(tail -n 3 "$LAB/logs/turn-cert-renew.log")"; return 1; }
  grep -q "installed the certificate" "$LAB/logs/turn-cert-renew.log" || { WHY="the tool did not deploy: $(tail -n 5 "$LAB/logs/turn-cert-renew.log")"; return 1; }
  [ -n "$before" ] && [ "${before%% *}" != "${after%% *}" ] || { WHY="serial before: $before; after: $after"; return 1; }
}

# turn_cert_broken HOW: the edge serves a certificate other than its own
# until turn_cert_restored: "placeholder" (the tool's, as before the first
# ACME certificate) or "other-name" (a lab-CA certificate for peer.example.net).
turn_cert_broken() {
  case $1 in
    placeholder) on vps sh -c 'rm -rf /etc/xmpp-edge/turn-tls && /usr/local/sbin/xmpp-edge-turn-cert placeholder && nginx -s reload' ;;
    other-name) on vps sh -c "install -m 0600 '$LAB/pki/peer.key' /etc/xmpp-edge/turn-tls/privkey.pem &&
      install -m 0644 '$LAB/pki/peer.crt' /etc/xmpp-edge/turn-tls/fullchain.pem && nginx -s reload" ;;
  esac >>"$LAB/logs/turn-tls-break.log" 2>&1 || { WHY=$(tail -n 3 "$LAB/logs/turn-tls-break.log"); return 1; }
  sleep 1
}
# turn_cert_restored: the tool installs certbot's lineage again (its deploy hook); 443 serves it.
turn_cert_restored() {
  on vps /usr/local/sbin/xmpp-edge-turn-cert deploy >>"$LAB/logs/turn-tls-break.log" 2>&1 || { WHY=$(tail -n 3 "$LAB/logs/turn-tls-break.log"); return 1; }
  wait_for 10 turn_cert_verified
}

# check_tls_rows_pass: npm run check's TURN-over-TLS rows (4 per edge) all pass.
check_tls_rows_pass() {
  local bad n
  run_check || true
  n=$(check_rows pass | grep -c "^TURN over TLS")
  bad=$( (check_rows fail; check_rows skip) | grep "^TURN over TLS")
  [ -z "$bad" ] && [ "$n" -ge 4 ] || { WHY="$n passed; not passed: $bad $(head -c 500 "$CHECK_OUT.err")"; return 1; }
}

aiortc_version() { dpkg-query -W -f '${Version}' python3-aiortc 2>/dev/null; }

render_weak_tls_guard() {
  "$REPO/node_modules/.bin/tsx" "$HERE/render.ts" --config "$LAB/stacks/Pulumi.lab.yaml" --out "$LAB/push/weak-tls-guard" \
    --vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6" --vps-tailnet-ipv4 "$VPS_TS4" --turn-secret "$TURN_SECRET" \
    --weaken turn-tls-guard >"$LAB/logs/render-weak-tls-guard.log" 2>&1 || { WHY=$(tail -n 3 "$LAB/logs/render-weak-tls-guard.log"); return 1; }
}

t_turn_tls() {
  section "turn_tls: TURN over TLS on 443 ($TURN_NAME) from a client whose egress passes only TCP 443 and DNS"
  mkdir -p "$LAB/bin"
  cp "$HERE/turn-probe.py" "$LAB/bin/turn-probe.py"
  cp "$LAB/pki/trust.pem" "$LAB/bin/trust.pem"
  cp "$HERE/bin/aiortc-peer.py" "$LAB/bin/aiortc-peer.py"
  check "turn_tls: 443 serves $TURN_NAME a certificate from the lab's ACME server (verified against pebble's root)" turn_cert_verified
  check "turn_tls: control, egress open: a UDP relay asked for on UDP 3478 reaches peer's echo and back" \
    through --server "$VPS4" --udp --peer "$PEER4" --peer-port 3480 --send lab-udp --expect lab-udp --timeout 5
  check "turn_tls: control, egress open: the same over TCP 3478" \
    through --server "$VPS4" --stream --udp --peer "$PEER4" --peer-port 3480 --send lab-tcp --expect lab-tcp --timeout 5

  check "turn_tls: the client's egress is TCP 443 and DNS only (nftables in its namespace)" egress_443_only
  check "turn_tls: 443-only: TURN on UDP 3478 gets nowhere" \
    blocked --server "$VPS4" --udp --peer "$PEER4" --peer-port 3480 --send lab-udp --expect lab-udp --timeout 3
  check "turn_tls: 443-only: TURN on TCP 3478 gets nowhere" \
    blocked --server "$VPS4" --stream --udp --peer "$PEER4" --peer-port 3480 --send lab-tcp --expect lab-tcp --timeout 3
  check "turn_tls: 443-only: turns:$TURN_NAME:443 (resolved by the lab DNS) allocates and relays to peer's echo and back (IPv4)" \
    tls_relay "$TURN_NAME" "$PEER4" lab-tls4
  check "turn_tls: 443-only: the same over IPv6 (relay to $PEER6)" tls_relay "$VPS6" "$PEER6" lab-tls6
  check "turn_tls: the vps routed it by SNI to its TLS terminator (stream log)" \
    stream_log_has "^$CLIENT4 .* 443 sni=\"$TURN_NAME\" alpn=\"\" -> unix:/run/nginx-xmpp-edge-turn-tls.sock 200"
  check "turn_tls: 443-only: 50 datagrams over one TLS allocation, every one answered" \
    tls_relay "$VPS4" "$PEER4" lab-count --count 50 --interval 0.02
  local peer port
  for peer in "$VPS4 22" "$VPS6 22" "127.0.0.1 3478" "::1 3478" "169.254.169.254 80" "10.0.0.2 8099" "$HOME_TS4 64738" "$HOME_TS6 64738" "$VPS_TS4 50090"; do
    port=${peer#* } peer=${peer% *}
    local srv=$VPS4
    [[ $peer != *:* ]] || srv=$VPS6
    check "turn_tls: 443-only: a relay over TLS to $peer port $port is refused" \
      refused --server "$srv" --port 443 --tls "$TURN_NAME" --udp --peer "$peer" --peer-port "$port" --send x --expect x --timeout 3
  done
  check "turn_tls: 443-only: two WebRTC peers (aiortc $(aiortc_version)) exchange a data-channel message, the one on client relay-only through turns: on 443" webrtc_pair
  check "turn_tls: renewal (xmpp-edge-turn-cert renew: certbot --force-renewal, deploy hook, nginx reload) under a flowing stream: 400 of 400 answered, the serial changed" \
    stream_across_renewal
  check "turn_tls: 443 serves the renewed certificate, verified" turn_cert_verified
  check "turn_tls: home's web server never saw a challenge the edge answered" home_never_saw_challenge
  check "turn_tls: the client's egress is open again" egress_open

  section "turn_tls: npm run check's TURN-over-TLS rows against broken variants"
  check "check: the TURN-over-TLS rows pass against the edge as it is (the lab CA and pebble's root trusted)" check_tls_rows_pass
  check "turn_tls: the edge serves the tool's placeholder (certificate moved away, placeholder, reload)" turn_cert_broken placeholder
  check "check: fails on the placeholder (\"TURN over TLS: certificate\" row)" check_fails "TURN over TLS: certificate of $TURN_NAME" "O=xmpp-edge placeholder"
  check "turn_tls: the tool's deploy installs certbot's certificate again" turn_cert_restored
  check "turn_tls: the edge serves a lab-CA certificate for $PEER_DOMAIN as the TURN name's" turn_cert_broken other-name
  check "check: fails on the certificate for another name" check_fails "TURN over TLS: certificate of $TURN_NAME" "CN=$PEER_DOMAIN"
  check "turn_tls: restored again" turn_cert_restored

  check "turn_tls: the edge without the guard's exception for the TLS terminator renders (render.ts --weaken turn-tls-guard)" render_weak_tls_guard
  check "turn_tls: it is pushed and confirmed" push_confirmed "$LAB/push/weak-tls-guard"
  check "check: fails on TURN over TLS (no allocation answered through the terminator)" check_fails "TURN over TLS: (two allocations|STUN binding|Allocate)" "."
  egress_443_only
  weak_tls_fails() {
    local rc=0
    tprobe --server "$VPS4" --port 443 --tls "$TURN_NAME" --ca "$LAB/bin/trust.pem" --udp --peer "$PEER4" --peer-port 3480 --send x --expect x --timeout 3 || rc=$?
    lab_log "turn_tls: weak guard: $WHY"
    [ "$rc" != 0 ] || { WHY="got through: $WHY"; return 1; }
  }
  check "turn_tls: 443-only: without the exception TURN over TLS allocates nothing (coturn's answers to the terminator dropped)" weak_tls_fails
  webrtc_no_relay() {
    ! webrtc_pair && grep -q "offerer: gathering failed" <<<"$WHY" || { WHY="expected the relay-only offerer to gather nothing: $WHY"; return 1; }
  }
  check "turn_tls: 443-only: and the relay-only WebRTC peer gathers no candidate (its allocation unanswered)" webrtc_no_relay
  egress_open
  check "turn_tls: the edge as rendered is pushed back and confirmed" push_confirmed "$GOOD"
  check "turn_tls: the table is the good one again" test "$(edge_table)" = "$(cat "$LAB/edge-table.good")"
  egress_443_only
  check "turn_tls: 443-only: TURN over TLS relays again" tls_relay "$VPS4" "$PEER4" lab-again
  egress_open
}
