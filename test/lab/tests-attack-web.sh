# shellcheck shell=bash disable=SC2317,SC2016,SC2034,SC2153
# (SC2317: functions run through `check`/`attack`; SC2016: eval strings expand late;
# SC2034: WHY is read by check/attack; SC2153: the addresses are setup.sh's.)
# The web half of the attacks on the edge (the origin lock, per-source
# limits, spoofed client addresses) and 443's routing of XMPP names without
# ALPN. Sourced by run.sh after tests.sh and
# attack.sh; the groups are listed in run_tests (tests.sh).
#
#   t_routing        #19: XMPP name + no ALPN -> an XMPP stream (slixmpp),
#                    XMPP name + http/1.1 -> the XMPP web front, web name + no
#                    ALPN -> the web server (from the origin)
#   t_attack_web     from the attacker: a port scan, SNI/Host mismatches on
#                    443 and 80, spoofed X-Forwarded-For and PROXY headers,
#                    connection and SYN floods; then each against the
#                    weakened edge ($LAB/push/weak-web), then the good push back
#   t_attack_web_pp  spoofed PROXY headers with clientIp proxy-protocol (after
#                    t_proxy_protocol; weakened: $LAB/push/weak-pp)

SPOOFED=192.0.2.99 # the address the attacker claims to be (TEST-NET-1: no lab host has it)
ATTACKER6B=2001:db8:66::67 # a second address in the attacker's /64

# name_of CLASS: the name an attack uses for a name class ("" for none).
name_of() {
  case $1 in
    xmpp) echo "$DOMAIN" ;;
    web) echo "$WEBNAME" ;;
    unknown) echo "unknown.example.com" ;;
    none) echo "" ;;
  esac
}

# https_get FROM ADDR:PORT SNI-CLASS ALPN HOST-CLASS [HEADER]: one TLS
# connection (openssl s_client: SNI as given or none, ALPN as given or none),
# one HTTP/1.1 request with that Host; prints whatever came back.
https_get() {
  local from=$1 to=$2 sni alpn=$4 host hdr=${6:-} req
  local -a opts=(-connect "$to" -quiet -ign_eof)
  sni=$(name_of "$3") host=$(name_of "$5")
  if [ -n "$sni" ]; then opts+=(-servername "$sni"); else opts+=(-noservername); fi
  [ "$alpn" = none ] || opts+=(-alpn "$alpn")
  req="GET / HTTP/1.1"$'\r\n'
  [ -z "$host" ] || req+="Host: $host"$'\r\n'
  [ -z "$hdr" ] || req+="$hdr"$'\r\n'
  req+="Connection: close"$'\r\n\r\n'
  printf '%s' "$req" | on "$from" timeout 8 openssl s_client "${opts[@]}" 2>&1 | tr -d '\r'
}

# http_get FROM ADDR TARGET HOST-CLASS [HEADER]: one plain HTTP request to
# ADDR:80 (TARGET "/" or "http://NAME/"; no Host header: HTTP/1.0).
http_get() {
  local from=$1 addr=$2 target=$3 host hdr=${5:-} req
  host=$(name_of "$4")
  if [ -n "$host" ]; then req="GET $target HTTP/1.1"$'\r\n'"Host: $host"$'\r\n'; else req="GET $target HTTP/1.0"$'\r\n'; fi
  [ -z "$hdr" ] || req+="$hdr"$'\r\n'
  req+="Connection: close"$'\r\n\r\n'
  printf '%s' "$req" | on "$from" timeout 8 socat -t5 -T5 - "TCP:$addr:80,shut-none" 2>&1 | tr -d '\r'
}

# what_answered OUTPUT: a short account of an answer, for WHY.
what_answered() {
  local line
  line=$(grep -m1 '^home-' <<<"$1" || grep -m1 -E -e '^HTTP/' -e 'stream:error|stream:stream' -e 'errno|error|alert' <<<"$1")
  line=${line:0:110}
  echo "${line:-closed without a byte}"
}

# ---- t_routing ----------------------------------------------------------------

t_routing() {
  section "routing: 443 by ALPN and name (#19: an XMPP name without ALPN is an XMPP client)"
  cp "$HERE/bin/slixmpp-direct-tls.py" "$LAB/bin/"
  listen carolr client "carol@$DOMAIN" "$VPS4:5222"
  # slixmpp sends the host it connects to as SNI (none for an address): it connects to $DOMAIN.
  no_alpn_xmpp() { # 4|6
    local t out
    t=$(token no-alpn)
    out=$(ON_TIMEOUT=30 on client timeout 25 /usr/bin/python3 "$LAB/bin/slixmpp-direct-tls.py" "bob@$DOMAIN" "$PW" "$DOMAIN" 443 "$1" "carol@$DOMAIN" "$t" 2>&1)
    printf '%s\n' "$out" >>"$LAB/logs/slixmpp.log"
    grep -q "ALPN none" <<<"$out" || { WHY="slixmpp: $out"; return 1; }
    received carolr "$t" && WHY=$(head -n 1 <<<"$out")
  }
  check "routing: slixmpp (use_ssl: direct TLS, no ALPN, SNI $DOMAIN) logs in on $DOMAIN:443 over IPv4 and bob -> carol arrives" no_alpn_xmpp 4
  check "routing: the vps sent it to home 5223 (stream log: alpn=\"\")" stream_log_has "^$CLIENT4 .* 443 sni=\"$DOMAIN\" alpn=\"\" -> $HOME_TS4:5223 200"
  check "routing: the same over IPv6" no_alpn_xmpp 6
  check "routing: the vps sent that to home 5223 too" stream_log_has "^$CLIENT6 .* 443 sni=\"$DOMAIN\" alpn=\"\" -> $HOME_TS4:5223 200"
  stop_listen client carolr
  routed() { # FROM ADDR SNI ALPN HOST EXPECT LOG-REGEX
    local out
    out=$(https_get "$1" "$2" "$3" "$4" "$5")
    grep -q "^$6" <<<"$out" || { WHY="expected \"$6\": $(what_answered "$out")"; return 1; }
    stream_log_has "$7" && WHY=$(what_answered "$out")
  }
  check "routing: XMPP name + ALPN http/1.1 (browser-like, openssl) -> the XMPP web front (home 5443)" \
    routed client "$VPS4:443" xmpp http/1.1 xmpp "home-xmpp-web https host=$DOMAIN" "^$CLIENT4 .* sni=\"$DOMAIN\" alpn=\"http/1.1\" -> $HOME_TS4:5443 200"
  curl_h1() {
    local out
    out=$(on client curl -sS --http1.1 --max-time 6 "https://$DOMAIN/" 2>&1)
    grep -q "^home-xmpp-web https host=$DOMAIN" <<<"$out" || { WHY=$out; return 1; }
    stream_log_has "^$CLIENT4 .* sni=\"$DOMAIN\" alpn=\"http/1.1\" -> $HOME_TS4:5443 200"
  }
  check "routing: curl --http1.1 https://$DOMAIN/ -> the XMPP web front (home 5443)" curl_h1
  check "routing: web name + no ALPN from cf -> the home web server (443), unchanged" \
    routed cf "$VPS4:443" web none web "home-web https host=$WEBNAME" "^$CF4 .* sni=\"$WEBNAME\" alpn=\"\" -> $HOME_TS4:443 200"
  not_routed() { # FROM ADDR SNI ALPN HOST: nothing from home
    local out
    out=$(https_get "$@")
    WHY=$(what_answered "$out")
    ! grep -q "^home-" <<<"$out"
  }
  check "routing: web name + no ALPN from client (not an origin) is closed" not_routed client "$VPS4:443" web none web
}

# ---- t_attack_web --------------------------------------------------------------

# The attacks, each a function returning 0 when the edge refused.

# mismatch_443 ADDR SNI ALPN HOST: refused unless the home web server answered.
mismatch_443() {
  local out
  out=$(https_get attacker "$1" "$2" "$3" "$4")
  WHY=$(what_answered "$out")
  ! grep -q "^home-web " <<<"$out"
}

# mismatch_80 ADDR TARGET HOST: refused unless the home web server answered,
# and a name other than an XMPP name got no HTTP answer at all (444).
mismatch_80() {
  local out effective=$3
  out=$(http_get attacker "$1" "$2" "$3")
  WHY=$(what_answered "$out")
  # An absolute request target names the server (RFC 9112 3.2.2): it wins over Host.
  case $2 in "http://$DOMAIN/") effective=xmpp ;; "http://$WEBNAME/") effective=web ;; http://unknown.*) effective=unknown ;; esac
  grep -q "^home-web " <<<"$out" && return 1
  [ "$effective" = xmpp ] || ! grep -q "^HTTP/" <<<"$out"
}

# xff_spoof: X-Forwarded-For: SPOOFED on every way to home over 80 and 443;
# refused unless a home server reports SPOOFED as the client.
xff_spoof() {
  local out="" sni host
  for sni in xmpp web unknown none; do
    for host in xmpp web; do
      out+=$(https_get attacker "$VPS4:443" "$sni" http/1.1 "$host" "X-Forwarded-For: $SPOOFED")$'\n'
    done
  done
  for host in xmpp web; do out+=$(http_get attacker "$VPS4" / "$host" "X-Forwarded-For: $SPOOFED")$'\n'; done
  if grep -q "from=$SPOOFED" <<<"$out"; then WHY="home saw: $(grep -m1 "from=$SPOOFED" <<<"$out")"; return 1; fi
  WHY="home answered $(grep -c '^home-' <<<"$out") of 10 requests, none from=$SPOOFED: $(grep '^home-' <<<"$out" | sort -u | paste -sd';' | cut -c1-160)"
}

# proxy_spoof PORT...: a PROXY v1 header claiming SPOOFED, then an XMPP stream
# header, on each PORT; refused unless home's PROXY receiver logged SPOOFED.
PP_LOG=$LAB/hosts/home/var_log-up/nginx/proxy-protocol.log
proxy_spoof() {
  local p before new
  before=$(grep -c . "$PP_LOG" 2>/dev/null)
  for p in "$@"; do
    printf 'PROXY TCP4 %s %s 4444 %s\r\n<?xml version="1.0"?><stream:stream to="%s" xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" version="1.0">' \
      "$SPOOFED" "$VPS4" "$p" "$DOMAIN" | on attacker timeout 6 socat -t3 -T3 - "TCP:$VPS4:$p,shut-none" >/dev/null 2>&1
  done
  # nginx logs a stream session when it ends: one line per connection.
  wait_for 10 eval '[ "$(grep -c . "$PP_LOG")" -ge $((${before:-0} + $#)) ]'
  new=$(tail -n "+$((${before:-0} + 1))" "$PP_LOG" 2>/dev/null)
  WHY="home's PROXY receiver logged: $(cut -d' ' -f2,3 <<<"$new" | paste -sd';')"
  ! grep -q "client=$SPOOFED" <<<"$new"
}

# conn_flood ADDR PORT N SOURCES...: N connections at once from the attacker;
# refused when no more than the per-source limit got through.
FLOOD_LOG=""
conn_flood_start() { # ADDR PORT N HOLD SOURCE...
  FLOOD_LOG=$LAB/logs/conn-flood-$((++FLOOD_N)).out
  bg attacker "$FLOOD_LOG" /usr/bin/python3 "$LAB/bin/conn-flood.py" "$@"
  wait_for 15 grep -q "^established" "$FLOOD_LOG"
}
FLOOD_N=0
flood_established() { sed -n 's/^established \([0-9]*\) of .*/\1/p' "$FLOOD_LOG"; }
conn_flood() { # ADDR PORT N SOURCE...
  local addr=$1 port=$2 n=$3 e
  shift 3
  conn_flood_start "$addr" "$port" "$n" 3 "$@" || { WHY="no result: $(cat "$FLOOD_LOG")"; return 1; }
  e=$(flood_established)
  WHY=$(head -n 1 "$FLOOD_LOG")
  wait_for 15 grep -q "^done" "$FLOOD_LOG"
  [ "$e" -le "$FLOOD_LIMIT" ]
}

# home_count syn|ack PORT CMD...: run CMD and count the TCP packets to PORT
# with SYN (or a bare ACK) that arrive at home on tailscale0 meanwhile
# (HOME_COUNT): what crossed the tunnel. Returns CMD's status, 2 if the
# counter could not be set. With the SYN proxy (synProxy) a forwarded
# port's handshake is the edge's: a client's connect() succeeds there, and
# only the connections under the limits are opened to home; counted at
# home, a check holds with it on or off.
home_count() {
  local flags=$1 port=$2 rc
  shift 2
  on home nft -f - <<EOF || return 2
table inet lab_home_count {
    chain in { type filter hook prerouting priority raw; policy accept; iifname "tailscale0" tcp dport $port tcp flags & (syn | ack) == $flags counter; }
}
EOF
  "$@"
  rc=$?
  sleep 0.5
  HOME_COUNT=$(on home nft list chain inet lab_home_count in | grep -o 'packets [0-9]*' | cut -d' ' -f2)
  on home nft delete table inet lab_home_count
  return "$rc"
}
# conn_flood_home ADDR PORT N: conn_flood to a forwarded port; refused when at most the per-source limit reached home.
conn_flood_home() {
  home_count syn "$2" conn_flood "$@" # judged at home, not by conn_flood's own count
  WHY="$WHY; home got ${HOME_COUNT:-?} SYNs (limit $FLOOD_LIMIT)"
  [ -n "$HOME_COUNT" ] && [ "$HOME_COUNT" -le "$FLOOD_LIMIT" ]
}

# syn_flood PORT N: N raw SYNs (hping3, a new source port each, 1 ms apart);
# refused when fewer than half are answered.
syn_flood() {
  local out sent rcvd
  out=$(ON_TIMEOUT=40 on attacker timeout 30 hping3 -q -S -p "$1" -i u1000 -c "$2" "$VPS4" 2>&1)
  printf '%s\n' "$out" >>"$LAB/logs/hping3.log"
  read -r sent rcvd < <(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) packets received.*/\1 \2/p' <<<"$out")
  [ -n "$sent" ] || { WHY="hping3: $out"; return 1; }
  WHY="$rcvd of $sent SYNs answered"
  [ "$((rcvd * 2))" -lt "$sent" ]
}

# A normal client while the attacker floods: TLS on 443, an XMPP stream on 5222.
client_443() {
  local out
  out=$(https_get client "$VPS4:443" xmpp http/1.1 xmpp)
  grep -q "^home-xmpp-web https" <<<"$out" || { WHY=$(what_answered "$out"); return 1; }
}
client_5222() {
  local out
  out=$(printf '<?xml version="1.0"?><stream:stream to="%s" xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" version="1.0">' "$DOMAIN" |
    on client timeout 8 socat -t4 -T4 - "TCP:$VPS4:5222,shut-none" 2>&1)
  grep -q "<stream:features" <<<"$out" || { WHY="no stream features: ${out:0:200}"; return 1; }
}

limit_drops() { # the packets the source_limits rules dropped so far (all four)
  on vps nft list chain inet xmpp_edge source_limits 2>/dev/null |
    awk '{ for (i = 1; i < NF; i++) if ($i == "counter" && $(i + 1) == "packets") n += $(i + 2) } END { print n + 0 }'
}

# The matrices: every SNI class x Host class x (ALPN http/1.1 or none) on 443,
# every request target x Host class on 80.
mismatch_attacks() { # RUN (attack or attack_on_weakened)
  local run=$1 addr sni alpn host target
  for addr in "$VPS4" "[$VPS6]"; do
    for sni in xmpp web unknown none; do
      for alpn in http/1.1 none; do
        for host in xmpp web unknown; do
          "$run" "443 $addr: SNI $sni, ALPN $alpn, Host $host" mismatch_443 "$addr:443" "$sni" "$alpn" "$host"
        done
      done
    done
  done
  for target in / "http://$DOMAIN/" "http://$WEBNAME/" "http://unknown.example.com/"; do
    for host in xmpp web unknown none; do
      "$run" "80 $VPS4: GET $target, Host $host" mismatch_80 "$VPS4" "$target" "$host"
    done
  done
}

flood_attacks() { # RUN
  local run=$1
  "$run" "connection flood: 200 at once to $VPS4:443 from one address (limit $FLOOD_LIMIT)" conn_flood "$VPS4" 443 200
  "$run" "connection flood: 200 at once to $VPS4:5222 (DNAT) from one address: at most the limit reaches home" conn_flood_home "$VPS4" 5222 200
  "$run" "connection flood: 200 to [$VPS6]:443 from two addresses of one /64" conn_flood "$VPS6" 443 200 "$ATTACKER6" "$ATTACKER6B"
  "$run" "SYN flood: 1000 SYNs to $VPS4:443" syn_flood 443 1000
  "$run" "SYN flood: 1000 SYNs to $VPS4:5222 (DNAT)" syn_flood 5222 1000
}

t_attack_web() {
  section "attack (web): scan, SNI/Host mismatches, spoofed client addresses, floods — from the attacker ($ATTACKER4, $ATTACKER6)"
  cp "$HERE/bin/conn-flood.py" "$LAB/bin/"
  on attacker ip -6 addr add "$ATTACKER6B/64" dev eth0 nodad 2>/dev/null || true
  FLOOD_LIMIT=$(good_limits 'ct count over (\d+)')
  local tcp drops0
  if [ "$TAILNET" = headscale ]; then
    check "push: the confirm reported the vps's own tailnet address ($VPS_TS4) for the home snippets" out_has "$LAB/logs/confirm.log" "xmpp-edge-apply: tailnet-ipv4 $VPS_TS4"
  else
    check "push: no tailscale on the stand-in vps, so the confirm reports no tailnet address" eval '! grep -q tailnet-ipv4 "$LAB/logs/confirm.log"'
  fi
  tcp=$(planned_ports tcp "" ,)
  attack "scan: TCP 1-65535 on $VPS4 from the attacker: open = exactly the plan's ports ($tcp; no SSH)" scan_tcp attacker "$tcp" "" "$VPS4"
  attack "scan: TCP 1-65535 on $VPS6 from the attacker: the same" scan_tcp attacker "$tcp" -6 "$VPS6"
  mismatch_attacks attack
  attack "X-Forwarded-For: $SPOOFED on 443 (every SNI, Host xmpp/web) and 80: never the client address at home" xff_spoof
  drops0=$(limit_drops)
  conn_flood_start "$VPS4" 443 200 12 || true
  check "flood: while the attacker holds its connections to 443, a normal client completes TLS to 443" client_443
  check "flood: ... and opens an XMPP stream on 5222" client_5222
  wait_for 20 grep -q "^done" "$FLOOD_LOG"
  flood_attacks attack
  bg attacker "$LAB/logs/hping3-bg.out" hping3 -q -S -p 443 -i u1000 -c 3000 "$VPS4"
  check "flood: during a SYN flood on 443 a normal client completes TLS to 443 and opens an XMPP stream on 5222" eval 'client_443 && client_5222'
  wait_for 20 eval '! on attacker pgrep -x hping3 >/dev/null'
  check "flood: the source_limits rules dropped the floods' excess ($(($(limit_drops) - drops0)) packets)" test "$(($(limit_drops) - drops0))" -gt 0

  section "attack (web): the same against a weakened edge ($(paste -sd';' "$LAB/push/weak-web/bundle-notes"))"
  check "weakened: push the weakened bundle" eval 'push "$LAB/push/weak-web" && confirm'
  attack_on_weakened "scan: TCP on $VPS4" scan_tcp attacker "$tcp" "" "$VPS4"
  attack_on_weakened "scan: TCP on $VPS6" scan_tcp attacker "$tcp" -6 "$VPS6"
  mismatch_attacks attack_on_weakened
  attack_on_weakened "X-Forwarded-For: $SPOOFED" xff_spoof
  flood_attacks attack_on_weakened
  check "weakened: the good bundle is back (push, confirm, same nft table as after the first push)" \
    eval 'push "$GOOD" && confirm && [ "$(edge_table)" = "$(cat "$LAB/edge-table.good")" ]'
}

# ---- t_attack_web_pp -------------------------------------------------------------

t_attack_web_pp() {
  section "attack (web): PROXY headers with clientIp proxy-protocol"
  local pp=$LAB/push/pp
  if [ "$(vps_sha /etc/nginx/nginx.conf)" != "$(bundle_sha "$pp" /etc/nginx/nginx.conf)" ]; then
    check "pp: the proxy-protocol bundle applies" eval 'push "$pp" && confirm'
  fi
  attack "PROXY header claiming $SPOOFED on 5222 and 5269: home's receiver logs the attacker, not the claim" proxy_spoof 5222 5269
  check "pp: home's receiver logged the attacker's own address $ATTACKER4" grep -q "client=$ATTACKER4:" "$PP_LOG"
  check "weakened: push the proxy-protocol bundle without nginx's own PROXY header" eval 'push "$LAB/push/weak-pp" && confirm'
  attack_on_weakened "PROXY header claiming $SPOOFED on 5222 and 5269" proxy_spoof 5222 5269
  check "weakened: the proxy-protocol bundle is back" eval 'push "$pp" && confirm && [ "$(vps_sha /etc/nginx/nginx.conf)" = "$(bundle_sha "$pp" /etc/nginx/nginx.conf)" ]'
}
