# shellcheck shell=bash
# The flood bench's edges, hosts and scenarios (sourced by bench/flood.sh
# after test/lab/lib.sh and bench/lib.sh, whose hosts it reuses: client,
# inet, vps, home over the tailnet stand-in, plus an attacker). Raw results
# go to $RES as JSON lines; bench/flood_report.py turns them into flood.json.

ATTACKER4=203.0.113.130 ATTACKER6=2001:db8:40::130
SPOOF4=198.18.0.0/15 # blackholed by the router: the edge's answers go nowhere
LEGIT_FIRST=192.0.2.1 LEGIT_NSRC=64 LEGIT_NET=192.0.2.0/24
REAL_SRC=192.0.2.200 # G2's one real source, outside the legitimate clients' addresses
IDLE_NET=10.20.0.0/16 # G3: 10.20.0.1 onwards
IDLE_CHUNK=15000 # sessions per process: `ulimit -Hn` may be 20000 here
TLS_ARGS=()

# flood_render: the edges of the same stack. fixed: as main renders it
# (5222/5269 ended by nginx); synproxy: the same with clientIp masquerade
# (5222 DNAT'd behind the SYN proxy); weakened: test/lab/render.ts --weaken
# (the lab's floods list) with clientIp masquerade; today: the renderer of
# FLOOD_TODAY_REV (the commit before the flood protections) from a `git
# archive` of it, with this checkout's node_modules.
flood_render() {
  local r old=$LAB/today-src
  r=(--vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6" --vps-tailnet-ipv4 "$VPS_TS4" --turn-secret "$TURN_SECRET")
  (cd "$REPO" && node_modules/.bin/tsx test/lab/render.ts --config "$STACK" "${r[@]}" --out "$LAB/push/fixed") >"$LAB/logs/render-fixed.log" 2>&1 || return 1
  (cd "$REPO" && node_modules/.bin/tsx test/lab/render.ts --config "$STACK" "${r[@]}" --set clientIp='"masquerade"' --out "$LAB/push/synproxy") \
    >"$LAB/logs/render-synproxy.log" 2>&1 || return 1
  (cd "$REPO" && node_modules/.bin/tsx test/lab/render.ts --config "$STACK" "${r[@]}" --set clientIp='"masquerade"' --weaken "$WEAKEN" --out "$LAB/push/weakened") \
    >"$LAB/logs/render-weakened.log" 2>&1 || return 1
  case " $EDGES " in *" today "*) ;; *) return 0 ;; esac
  TODAY_COMMIT=$(git -C "$REPO" rev-parse --short "$TODAY_REV") || return 1
  mkdir -p "$old"
  git -C "$REPO" archive "$TODAY_COMMIT" | tar -x -C "$old" || return 1
  ln -s "$REPO/node_modules" "$old/node_modules"
  # Without the settings the flood protections added (its model refuses unknown keys): their defaults then, masquerade and no SYN proxy.
  grep -v -e '^  xmpp-edge:synProxy:' -e '^  xmpp-edge:clientIp:' "$STACK" >"$LAB/conf/today.yaml"
  (cd "$old" && node_modules/.bin/tsx test/lab/render.ts --config "$LAB/conf/today.yaml" "${r[@]}" --out "$LAB/push/today") >"$LAB/logs/render-today.log" 2>&1 || return 1
  # Does the weakened edge reproduce today's? Compared file by file (the manifest aside: it lists the others).
  { (cd "$LAB/push" && diff -rq today/bundle weakened/bundle) 2>&1 | grep -v '/manifest '; } >"$RES/today-vs-weakened.txt" || true
}

# flood_topology: the attacker, the routes of the three kinds of source, home's ends.
flood_topology() {
  local batch=$LAB/conf/client-addrs.batch i n
  host_etc attacker
  host_up attacker || return 1
  link_host attacker "$ATTACKER4/26" 203.0.113.129 "$ATTACKER6/64" 2001:db8:40::1 || return 1
  ip netns exec "${LAB_PREFIX}inet" sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.attacker.rp_filter=0 net.ipv4.conf.client.rp_filter=0
  ip -n "${LAB_PREFIX}inet" route add blackhole "$SPOOF4" || return 1
  ip -n "${LAB_PREFIX}inet" route add "$LEGIT_NET" via "$CLIENT4" || return 1
  ip -n "${LAB_PREFIX}inet" route add "$IDLE_NET" via "$CLIENT4" || return 1
  : >"$batch"
  for ((i = 0; i < LEGIT_NSRC; i++)); do printf 'addr add 192.0.2.%d/32 dev eth0\n' $((i + 1)) >>"$batch"; done
  printf 'addr add %s/32 dev eth0\n' "$REAL_SRC" >>"$batch"
  n=$G3_SOURCES
  for ((i = 0; i < n; i++)); do printf 'addr add 10.20.%d.%d/32 dev eth0\n' $(((i + 1) / 256)) $(((i + 1) % 256)) >>"$batch"; done
  ip -n "${LAB_PREFIX}client" -batch "$batch" || return 1
  ip netns exec "${LAB_PREFIX}client" sysctl -q -w net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"
  TLS_ARGS=(-tls -sni "$DOMAIN" -alpn xmpp-client -ca "$LAB/pki/ca.crt")
  # Home: XMPP on 5222 (nginx's relay or DNAT), TLS on 5223 (nginx's ALPN route; several
  # sinks on one port when G3's sessions need more files than one process may hold). Both
  # families ([::] takes IPv4 too): nginx's connections go over IPv6 once IPv4's ports are held.
  bg home "$LAB/logs/home-xmpp.out" "$BIN" xmppsink -addr "[::]:5222"
  n=$(((G3_SOURCES * G3_PER_SRC + IDLE_CHUNK - 1) / IDLE_CHUNK + 1))
  for ((i = 0; i < n; i++)); do
    bg home "$LAB/logs/home-tls-$i.out" "$BIN" idlesink -tls "[::]:5223" -reuseport -cert "$LAB/pki/chat.crt" -key "$LAB/pki/chat.key"
  done
  # Home counts what the tailnet brings it, and drops the UDP flood (no port
  # unreachable back for every packet).
  on home nft -f - <<'EOF' || return 1
table inet xbf_acct {
    counter syn5222 {}
    counter udp64738 {}
    counter tcp_all {}
    chain acct_prerouting {
        type filter hook prerouting priority -400; policy accept;
        iifname "tailscale0" tcp dport 5222 tcp flags & (syn | ack) == syn counter name "syn5222"
        iifname "tailscale0" meta l4proto tcp counter name "tcp_all"
        iifname "tailscale0" udp dport 64738 counter name "udp64738" drop
    }
}
EOF
  wait_for 15 listening home tcp 5222 && wait_for 15 listening home tcp 5223
}

# vps_acct: the bench's own counters on the vps, per attack class, before
# the edge (offered) and after its filter chains (accepted). Its own table:
# the apply never touches tables other than inet xmpp_edge.
vps_acct() {
  on vps nft delete table inet xbf_acct 2>/dev/null
  on vps nft -f - <<'EOF'
table inet xbf_acct {
    counter off_syn443 {}
    counter off_syn5222 {}
    counter off_udp64738 {}
    counter off_udp3478 {}
    counter off_udp41641 {}
    counter acc_syn443 {}
    counter acc_syn5222 {}
    counter acc_udp64738 {}
    counter acc_udp3478 {}
    counter acc_udp41641 {}
    chain acct_prerouting {
        type filter hook prerouting priority -400; policy accept;
        iifname "eth0" tcp dport 443 tcp flags & (syn | ack) == syn counter name "off_syn443"
        iifname "eth0" tcp dport 5222 tcp flags & (syn | ack) == syn counter name "off_syn5222"
        iifname "eth0" udp dport 64738 counter name "off_udp64738"
        iifname "eth0" udp dport 3478 counter name "off_udp3478"
        iifname "eth0" udp dport 41641 counter name "off_udp41641"
    }
    chain acct_input {
        type filter hook input priority 100; policy accept;
        iifname "eth0" tcp dport 443 tcp flags & (syn | ack) == syn counter name "acc_syn443"
        iifname "eth0" tcp dport 5222 tcp flags & (syn | ack) == syn counter name "acc_syn5222" comment "nginx's 5222 (clientIp nginx)"
        iifname "eth0" udp dport 3478 counter name "acc_udp3478"
        iifname "eth0" udp dport 41641 counter name "acc_udp41641"
    }
    chain acct_forward {
        type filter hook forward priority 100; policy accept;
        iifname "eth0" tcp dport 5222 tcp flags & (syn | ack) == syn counter name "acc_syn5222" comment "DNAT'd 5222 (clientIp masquerade)"
        iifname "eth0" udp dport 64738 counter name "acc_udp64738"
    }
}
EOF
}

flood_meta() {
  {
    printf 'date=%s\n' "$(date -u +%FT%TZ)"
    printf 'git=%s\n' "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo +dirty)"
    printf 'kernel=%s\ncpus=%s\n' "$(uname -r)" "$(nproc)"
    printf 'cpu_model=%s\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    printf 'mem_total_kb=%s\n' "$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
    printf 'nginx=%s\n' "$(nginx -v 2>&1 | sed 's/.*nginx\///')"
    printf 'coturn=%s\n' "$(dpkg-query -W -f='${Version}' coturn 2>/dev/null)"
    printf 'nftables=%s\n' "$(nft -v | awk '{print $2}')"
    printf 'go=%s\n' "$("$GO" version | awk '{print $3}')"
    printf 'link=%s\n' "veth pair 'tailscale0' (MTU 1280, tailnet addresses) standing in for the WireGuard tailnet"
    printf 'load_at_start=%s\nother_netns=%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(ip netns list 2>/dev/null | grep -vc "^${LAB_PREFIX}")"
    printf 'flood_secs=%s\nbase_secs=%s\ntail_secs=%s\nsyn_rate=%s\nudp_rate=%s\nstun_rate=%s\n' \
      "$FLOOD_SECS" "$BASE_SECS" "$TAIL_SECS" "$SYN_RATE" "$UDP_RATE" "$STUN_RATE"
    printf 'legit_rate=%s\nsessions=%s\ng3_sources=%s\ng3_per_src=%s\ng2_spray=%s\n' \
      "$LEGIT_RATE" "$SESSIONS" "$G3_SOURCES" "$G3_PER_SRC" "$G2_SPRAY"
    printf 'scenarios=%s\nedges=%s\nweaken=%s\ntoday_rev=%s\ntoday_commit=%s\nconntrack=%s\n' \
      "$SCENARIOS" "$EDGES" "$WEAKEN" "$TODAY_REV" "${TODAY_COMMIT:-}" "$(conntrack --version 2>&1 | head -n1)"
  } >>"$RES/meta.env"
}

# flood_push EDGE: push and confirm that edge's bundle, as the Pulumi program does.
flood_push() {
  local d=$LAB/push/$1
  vssh "$(cat "$d/push-command")" <"$d/push.sh" >"$LAB/logs/push-$1.log" 2>&1 || return 1
  vssh "$(cat "$d/confirm-command")" >>"$LAB/logs/push-$1.log" 2>&1 || return 1
  vps_acct || return 1
  wait_for 15 listening vps tcp 443 && wait_for 15 listening vps udp 3478 || return 1
  # What the limits are on this edge (for G2's verdict).
  on vps nft list table inet xmpp_edge >"$RES/ruleset-$1.nft"
  # The files an nginx worker may hold here (its worker_rlimit_nofile, or less
  # where the machine refuses it: G3's ceiling; docs/security.md).
  # shellcheck disable=SC2016 # expands on the vps (its own /proc)
  grep -q '^nginx_worker_nofile=' "$RES/meta.env" 2>/dev/null ||
    printf 'nginx_worker_nofile=%s\nnginx_worker_rlimit=%s\nnginx_worker_connections=%s\n' \
      "$(on vps sh -c 'awk "/^Max open files/ {print \$4}" /proc/$(pgrep -f "nginx: worker" | head -n 1)/limits')" \
      "$(grep -oP '^worker_rlimit_nofile \K[0-9]+' "$d/bundle/etc/nginx/nginx.conf")" \
      "$(grep -oP '^\s*worker_connections \K[0-9]+' "$d/bundle/etc/nginx/nginx.conf")" >>"$RES/meta.env"
}

# flood_reset: a clean slate between scenarios: coturn restarted (it keeps
# what a flood made it allocate, and the push leaves an unchanged coturn
# running), conntrack flushed, the edge's sets the packet path fills (not
# interval ones) emptied, a moment for the sinks.
flood_reset() {
  local s
  coturn_restart >>"$LAB/logs/coturn-restart.log" 2>&1 || log "restarting coturn failed (see $LAB/logs/coturn-restart.log)"
  wait_for 15 listening vps udp 3478 || log "coturn does not listen on 3478 after its restart"
  on vps conntrack -F >/dev/null 2>&1
  for s in $(on vps nft -j list sets table inet xmpp_edge | "$PY" -c 'import json, sys
for o in json.load(sys.stdin)["nftables"]:
    if "set" in o and "interval" not in o["set"].get("flags", []): print(o["set"]["name"])'); do
    on vps nft flush set inet xmpp_edge "$s"
  done
  sleep 2
}

# coturn_restart: as host/xmpp-edge-apply restarts it on a host without
# systemd (the lab's vps): TERM to its pidfile's process, then the same command line.
coturn_restart() {
  # shellcheck disable=SC2016 # expanded by the vps's shell
  on vps sh -c 'p=$(cat /run/xmpp-edge-turnserver.pid) && kill "$p" || exit 1
    for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    exec turnserver -c /etc/turnserver.conf -o --pidfile /run/xmpp-edge-turnserver.pid --proc-user turnserver --proc-group turnserver'
}

# spoof TAG ARGS...: one bounded flood from the attacker, its result to $RES/attack-TAG.json.
spoof() {
  local tag=$1
  shift
  ON_TIMEOUT=$((FLOOD_SECS + 60)) on attacker "$BIN" spoof -src "$SPOOF4" -dst "$VPS4" "$@" >"$RES/attack-$tag.json" 2>>"$LAB/logs/attack.err"
}

# run_scenario SC EDGE FN [EXTRA_SECS]: the samplers and the legitimate
# clients for BASE_SECS unloaded, then FN (the flood, in the foreground,
# bounded), then TAIL_SECS; one line to scenarios.jsonl with the times.
run_scenario() {
  local sc=$1 edge=$2 fn=$3 tag=$1-$2 stop max lp t_start t_on t_off extra
  stop=$LAB/conf/stop-$tag
  max=$((BASE_SECS + FLOOD_SECS + TAIL_SECS + ${4:-0} + 30))
  log "$sc on the $edge edge: ${BASE_SECS} s unloaded, then the flood (${FLOOD_SECS} s), then ${TAIL_SECS} s"
  flood_reset
  rm -f "$stop"
  bg vps "$LAB/logs/sample-vps-$tag.out" "$PY" "$LAB/bin/flood_sample.py" vps "$max" "$RES/sample-vps-$tag.jsonl" "$stop"
  bg home "$LAB/logs/sample-home-$tag.out" "$PY" "$LAB/bin/flood_sample.py" home "$max" "$RES/sample-home-$tag.jsonl" "$stop"
  t_start=$(now_ns)
  ON_TIMEOUT=$((max + 10)) on client "$BIN" legit -tls-addr "$VPS4:443" -xmpp "$VPS4:5222" -turn "$VPS4:3478" -secret "$TURN_SECRET" \
    -rate "$LEGIT_RATE" -secs "$max" -src "$LEGIT_FIRST" -nsrc "$LEGIT_NSRC" -sessions "$SESSIONS" \
    -out "$RES/legit-$tag.jsonl" -stop "$stop" "${TLS_ARGS[@]}" >"$LAB/logs/legit-$tag.out" 2>&1 &
  lp=$!
  sleep "$BASE_SECS"
  t_on=$(now_ns)
  EXTRA="{}"
  "$fn" "$tag"
  t_off=$(now_ns)
  sleep "$TAIL_SECS"
  touch "$stop"
  wait "$lp"
  sleep 1.5
  extra=$EXTRA
  printf '{"scenario":"%s","edge":"%s","t_start":%s,"t_on":%s,"t_off":%s,"t_end":%s,"extra":%s,"attacks":{%s}}\n' \
    "$sc" "$edge" "$t_start" "$t_on" "$t_off" "$(now_ns)" "$extra" \
    "$(for f in "$RES"/attack-"$tag"-*.json; do [ -s "$f" ] && printf '"%s":%s,' "$(basename "$f" .json | sed "s/^attack-$tag-//")" "$(cat "$f")"; done | sed 's/,$//')" \
    >>"$RES/scenarios.jsonl"
}

# ---- the scenarios -----------------------------------------------------------------------

# G1: a spoofed SYN flood at the attacker's full rate, split between 443 and
# 5222, and a UDP flood to the forwarded 64738, at once.
flood_g1() {
  spoof "$1-syn" -mode syn -ports 443,5222 -nsrc 131000 -rate "$SYN_RATE" -secs "$FLOOD_SECS" &
  local p=$!
  spoof "$1-udp" -mode udp -ports 64738 -nsrc 131000 -rate "$UDP_RATE" -secs "$FLOOD_SECS"
  wait "$p"
}
scenario_G1() { run_scenario G1 "$1" flood_g1; }

# G2: a spray of more spoofed sources than the per-source sets hold, all
# along; once every spoofed source has sent twice (so the set is full: the
# spray has more sources than it holds), one real source (REAL_SRC) opens
# 200 connections to 443 at once and holds them: how many got through
# against the connection limit. A fixed wait let the real source in before
# the set was full at a slower attacker (the run of 2026-12-07 at 3f0f818).
flood_g2() {
  spoof "$1-spray" -mode syn -ports 443 -nsrc "$G2_SPRAY" -rate "$SYN_RATE" -secs "$FLOOD_SECS" &
  local p=$! out limit elems i sent=0
  for ((i = 0; i < 120; i++)); do
    sent=$(on vps nft -j list counter inet xbf_acct off_syn443 | "$PY" -c 'import json, sys
print(next(o["counter"]["packets"] for o in json.load(sys.stdin)["nftables"] if "counter" in o))')
    [ "${sent:-0}" -ge $((2 * G2_SPRAY)) ] && break
    sleep 0.5
  done
  out=$(ON_TIMEOUT=30 on client "$PY" "$LAB/bin/conn-flood.py" "$VPS4" 443 200 3 "$REAL_SRC")
  out=${out%%$'\n'*}
  limit=$(grep -oP 'ip saddr ct count over \K[0-9]+' "$RES/ruleset-${1#G2-}.nft" | head -n 1)
  # The set's fill at that moment (the sampler lists the sets only every few seconds).
  elems=$(on vps nft -j list set inet xmpp_edge conn_v4 | "$PY" -c 'import json, sys
print(sum(len(o["set"].get("elem", [])) for o in json.load(sys.stdin)["nftables"] if "set" in o))')
  EXTRA=$(printf '{"real_source":%s,"limit":%s,"conn_v4_elements":%s,"spray_sent_before":%s,"established":%s}' "$(printf '%s' "$out" | json_str)" "${limit:-null}" "${elems:-null}" "${sent:-null}" \
    "$(sed -n 's/^established \([0-9]*\) of.*/\1/p' <<<"$out" | grep . || echo null)")
  wait "$p"
}
scenario_G2() { cp "$REPO/test/lab/bin/conn-flood.py" "$LAB/bin/"; run_scenario G2 "$1" flood_g2; }

# G3: G3_SOURCES x G3_PER_SRC idle TLS sessions through 443 (in processes of
# IDLE_CHUNK), held for FLOOD_SECS once open; the legitimate clients beside them.
flood_g3() {
  local total=$((G3_SOURCES * G3_PER_SRC)) per_src_chunk nsrc first=0 i=0 pids=() rel=$LAB/conf/release-$1 n st t_held
  per_src_chunk=$((IDLE_CHUNK / G3_PER_SRC))
  rm -f "$rel"
  while [ "$first" -lt "$G3_SOURCES" ]; do
    nsrc=$((G3_SOURCES - first < per_src_chunk ? G3_SOURCES - first : per_src_chunk))
    ON_TIMEOUT=$((FLOOD_SECS + 400)) on client "$BIN" idle -addr "$VPS4:443" -n $((nsrc * G3_PER_SRC)) \
      -src "10.20.$(((first + 1) / 256)).$(((first + 1) % 256))" -nsrc "$nsrc" -rate $((nsrc * 4)) -maxfail 2000 \
      -status "$RES/idle-$1-$i.json" -release "$rel" -hold $((FLOOD_SECS + 360))s "${TLS_ARGS[@]}" >"$LAB/logs/idle-$1-$i.out" 2>&1 &
    pids+=($!)
    first=$((first + nsrc)) i=$((i + 1))
  done
  # Open: all chunks report (at most 5 minutes), then the held phase.
  for ((n = 0; n < 300; n++)); do
    st=$(find "$RES" -name "idle-$1-*.json" | wc -l)
    [ "$st" -ge "$i" ] && break
    sleep 1
  done
  t_held=$(now_ns)
  sleep "$FLOOD_SECS"
  # The held phase ends here (the goal's window); the release after it is context.
  EXTRA=$(printf '{"sessions_wanted":%s,"opened_s":%s,"t_held":%s,"t_release":%s,"chunks":[%s]}' "$total" "$n" "$t_held" "$(now_ns)" \
    "$(cat "$RES"/idle-"$1"-*.json 2>/dev/null | paste -sd, -)")
  touch "$rel"
  wait "${pids[@]}"
}
# Where a process may hold fewer files than the edge's worker_rlimit_nofile
# (this machine: `ulimit -Hn` 20,000, and raising it needs a privilege the
# bench lacks), G3 runs with G3_WORKERS nginx workers, so that together they
# hold what the edge's two would; the edge's own file (auto) before and after.
# A worker that reaches the machine's limit fails the sessions it accepts.
nginx_workers() {
  on vps sed -i "s/^worker_processes .*;/worker_processes $1;/" /etc/nginx/nginx.conf && on vps nginx -s reload && sleep 3
}
scenario_G3() {
  local nofile
  nofile=$(sed -n 's/^nginx_worker_nofile=//p' "$RES/meta.env")
  if [ "${nofile:-0}" -lt "$(sed -n 's/^nginx_worker_rlimit=//p' "$RES/meta.env")" ]; then
    nginx_workers "$G3_WORKERS" || return 1
    printf 'g3_nginx_workers=%s\n' "$G3_WORKERS" >>"$RES/meta.env"
  fi
  run_scenario G3 "$1" flood_g3 300
  nginx_workers auto
}

# G4: spoofed STUN Allocate requests (without credentials) to 3478.
flood_g4() { spoof "$1-stun" -mode stun -ports 3478 -nsrc 131000 -rate "$STUN_RATE" -secs "$FLOOD_SECS"; }
scenario_G4() { run_scenario G4 "$1" flood_g4; }

# G5 needs the real tailnet (tailscaled on vps and home): junk to
# tailscaled's port against the tunnel's ping loss. This harness runs the
# tailnet stand-in (a veth pair), where there is no tailscaled to flood, so
# G5 is recorded as not measured rather than measured against the stand-in.
scenario_G5() {
  printf '{"scenario":"G5","edge":"%s","skipped":"needs the real tailnet (tailscaled on vps and home); this harness runs the veth stand-in"}\n' \
    "$1" >>"$RES/scenarios.jsonl"
}
