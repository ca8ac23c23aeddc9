# shellcheck shell=bash
# The bench's hosts and phases (sourced by bench/run.sh after
# test/lab/lib.sh, whose host machinery it uses: host_up, link_host, on, bg,
# wait_for, listening). Raw results go to $RES as JSON lines;
# bench/analyse.py turns them into results.json.

# Ports the bench adds on the vps (the alternatives) and the home/peer sinks.
P_HAPROXY=8443 P_SSLH=9443 P_SSLH_SELECT=9444 P_RINETD=7222 P_SOCAT=7223
P_PEER_SINK=3490 P_IPERF=7001
TLS_ARGS=() # set in data_setup (needs $LAB)
SPREAD=()   # new connections from CONNS_SRC client addresses, set in data_setup

log() { printf '# %s %s\n' "$(date +%T)" "$*"; }

# bench_traps NAME TIMEOUT: the bench's and bench:scale's exit and signal
# handlers. On exit the sampler stops and the namespaces come down (unless
# BENCH_KEEP=1); a failed run keeps its logs and raw results (small) in
# $LAB.failed for a look. TIMEOUT is the run's default bound, for the message.
bench_traps() {
  BENCH_TRAP_NAME=$1 BENCH_TRAP_TIMEOUT=$2
  trap bench_cleanup EXIT
  trap 'echo "$BENCH_TRAP_NAME: interrupted (SIGINT)" >&2; exit 130' INT
  trap 'echo "$BENCH_TRAP_NAME: stopped (SIGTERM; BENCH_TIMEOUT=${BENCH_TIMEOUT:-$BENCH_TRAP_TIMEOUT} s bounds the run)" >&2; exit 124' TERM
}
bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -z "${SAMPLER_PID:-}" ] || kill "$SAMPLER_PID" 2>/dev/null
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "# BENCH_KEEP=1: namespaces ${LAB_PREFIX}* and $LAB kept; tear down with: $0 --down"
  else
    lab_down
    if [ "$rc" != 0 ] && [ -d "$LAB/logs" ]; then
      rm -rf -- "$LAB.failed"
      mkdir -p "$LAB.failed"
      cp -a "$LAB/logs" "$LAB/results" "$LAB.failed/" 2>/dev/null
      echo "# $BENCH_TRAP_NAME: failed (exit $rc); logs and raw results kept in $LAB.failed" >&2
    fi
    [ -d "$LAB" ] && rm -rf -- "$LAB"
  fi
  exit "$rc"
}

json_str() { "$PY" -c 'import json, sys; print(json.dumps(sys.stdin.read().strip()))'; }
now_ns() { date +%s%N; }
load1() { cut -d' ' -f1 /proc/loadavg; }

record_load() { # NAME: the load averages at this point, and how many network namespaces are not the bench's (other work)
  printf '{"name":"%s","t":%s,"load":[%s],"other_netns":%s}\n' "$1" "$(now_ns)" "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)" \
    "$(ip netns list 2>/dev/null | grep -vc "^${LAB_PREFIX}")" >>"$RES/load.jsonl"
}

# ---- hosts and pushes ---------------------------------------------------------------

# The network lab's addresses (test/lab/README.md), the tailnet stand-in's too.
VPS4=198.51.100.10 VPS6=2001:db8:10::10
CLIENT4=203.0.113.20 CLIENT6=2001:db8:20::20
PEER4=203.0.113.70 PEER6=2001:db8:70::70
VPS_TS4=100.64.0.1 VPS_TS6=fd7a:115c:a1e0::1
HOME_TS4=100.64.0.2 HOME_TS6=fd7a:115c:a1e0::2
DOMAIN=chat.example.com
# The TURN-over-TLS name of bench/stacks/Pulumi.bench.yaml (turnTlsName).
TURN_TLS_NAME=turn.chat.example.com
# Client addresses for load from many users (new connections, idle
# sessions): 198.18.0.0/15 is the benchmarking range (RFC 2544). From one
# address the edge's per-source limits (render/source-limits.ts) would cap the
# load, as they should: the bench measures the path, so it spreads.
SRC_FIRST=198.18.0.1 SRC_RANGE=198.18.0.0/15
TURN_SECRET=bench-turn-secret-$RANDOM$RANDOM$RANDOM
# The control plane's pushes so far (cp_push numbers its logs).
CPN=0
STACK=$BENCH/stacks/Pulumi.bench.yaml

make_keys() {
  local p=$LAB/pki
  mkdir -p "$p" "$LAB/keys"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$p/ca.key" -out "$p/ca.crt" -subj "/CN=xmpp-edge bench CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>>"$LAB/logs/pki.log" || return 1
  # chat: home's XMPP certificate; hs: Headscale's, for the tailnet phase (bench/tailnet.sh).
  local name sans cn
  for name in chat hs; do
    sans="DNS:$DOMAIN,DNS:groups.$DOMAIN,DNS:share.$DOMAIN"
    [ "$name" = hs ] && sans="DNS:hs.example.net" # test/lab/tailnet.sh's HS_NAME
    cn=${sans%%,*}
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$p/$name.key" -out "$p/$name.csr" \
      -subj "/CN=${cn#DNS:}" 2>>"$LAB/logs/pki.log" || return 1
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$sans" >"$p/$name.ext"
    openssl x509 -req -in "$p/$name.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 2 \
      -extfile "$p/$name.ext" -out "$p/$name.crt" 2>>"$LAB/logs/pki.log" || return 1
  done
  ssh-keygen -q -t ed25519 -N '' -C bench-deployer -f "$LAB/keys/deployer" &&
    ssh-keygen -q -t ed25519 -N '' -C bench-vps-host -f "$LAB/keys/vps_host" || return 1
  cp "$LAB/keys/deployer.pub" "$LAB/keys/authorized_keys"
  printf '%s %s\n' "$VPS4" "$(cut -d' ' -f1,2 "$LAB/keys/vps_host.pub")" >"$LAB/keys/known_hosts"
}

# render_pushes: the default stack (masquerade), the one-forward change and
# the proxy-protocol variant, each as the Pulumi program would push it.
render_pushes() {
  local r fw
  r=("$REPO/node_modules/.bin/tsx" "$REPO/test/lab/render.ts" --config "$STACK" --vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6"
    --vps-tailnet-ipv4 "$VPS_TS4" --turn-secret "$TURN_SECRET")
  # shellcheck disable=SC2016
  fw=$(cd "$REPO" && node -e '
    const y = require("yaml"), fs = require("fs");
    const doc = y.parse(fs.readFileSync(process.argv[1], "utf8"));
    const list = (doc.config || {})["xmpp-edge:extraForwards"] || [];
    list.push({ port: 6200, protocol: "tcp", description: "bench: one more forward" });
    process.stdout.write(JSON.stringify(list));' "$STACK") || return 1
  {
    (cd "$REPO" && "${r[@]}" --out "$LAB/push/good") &&
      (cd "$REPO" && "${r[@]}" --out "$LAB/push/change" --set "extraForwards=$fw") &&
      (cd "$REPO" && "${r[@]}" --out "$LAB/push/pp" --set 'clientIp="proxy-protocol"')
  } >"$LAB/logs/render.log" 2>&1 || { cat "$LAB/logs/render.log" >&2; return 1; }
}

# vssh CMD...: ssh from the deployer (client) to the vps, pinned host key.
vssh() {
  on client ssh -F /dev/null -i "$LAB/keys/deployer" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$LAB/keys/known_hosts" -o ConnectTimeout=4 \
    -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR "root@$VPS4" "$@"
}


# ip4_at INDEX: the INDEX-th client address (0: $SRC_FIRST).
ip4_at() { printf '198.18.%d.%d' $((($1 + 1) / 256)) $((($1 + 1) % 256)); }

# client_sources N: N client addresses from SRC_FIRST on the client, routed to it by the router.
client_sources() {
  local batch=$LAB/conf/client-addrs.batch i
  : >"$batch"
  for ((i = 0; i < $1; i++)); do
    printf 'addr add %s/32 dev eth0\n' "$(ip4_at "$i")" >>"$batch"
  done
  ip -n "${LAB_PREFIX}client" -batch "$batch" || return 1
  ip -n "${LAB_PREFIX}inet" route add "$SRC_RANGE" via "$CLIENT4" || return 1
  ip netns exec "${LAB_PREFIX}inet" sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.client.rp_filter=0
}

# host_etc NAME: the host's own hostname and hosts (its etc-lower, before host_up).
host_etc() {
  local e=$LAB/hosts/$1/etc-lower
  mkdir -p "$e"
  echo "$1" >"$e/hostname"
  printf '127.0.0.1 localhost\n::1 localhost\n127.0.1.1 %s\n' "$1" >"$e/hosts"
}

build_topology() {
  local h
  make_keys || return 1
  for h in client vps home peer; do host_etc "$h"; done
  setup_vps_etc
  ip netns add "${LAB_PREFIX}inet" || return 1
  ip -n "${LAB_PREFIX}inet" link set lo up
  for h in client vps home peer; do host_up "$h" || return 1; done
  # The "internet": one router namespace, a /26 per host (the lab's plan).
  link_host vps "$VPS4/26" 198.51.100.1 "$VPS6/64" 2001:db8:10::1 &&
    link_host client "$CLIENT4/26" 203.0.113.1 "$CLIENT6/64" 2001:db8:20::1 &&
    link_host peer "$PEER4/26" 203.0.113.65 "$PEER6/64" 2001:db8:70::1 || return 1
  ip netns exec "${LAB_PREFIX}inet" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  # The tailnet stand-in, as in the lab (test/lab/lib.sh).
  standin_link "$VPS_TS4" "$VPS_TS6" "$HOME_TS4" "$HOME_TS6" || return 1
  { standin_ts_rules ip "ip saddr" 100.64.0.0/10 "$VPS_TS4" && standin_ts_rules ip6 "ip6 saddr" fd7a:115c:a1e0::/48 "$VPS_TS6"; } |
    on vps nft -f - || return 1
  bg vps "$LAB/logs/sshd.out" /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config
  wait_for 20 listening vps tcp 22 || { echo "bench: sshd on the vps is not listening" >&2; return 1; }
}

write_meta() {
  local v
  {
    printf 'date=%s\n' "$(date -u +%FT%TZ)"
    printf 'git=%s\n' "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo +dirty)"
    printf 'kernel=%s\n' "$(uname -r)"
    printf 'cpus=%s\n' "$(nproc)"
    printf 'cpu_model=%s\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    printf 'mem_total_kb=%s\n' "$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
    printf 'nginx=%s\n' "$(nginx -v 2>&1 | sed 's/.*nginx\///')"
    printf 'haproxy=%s\n' "$(haproxy -v | head -n1 | awk '{print $3}')"
    printf 'sslh=%s\n' "$(sslh-select -V 2>&1 | awk '{print $2}')"
    v=$(dpkg-query -W -f='${Version}' rinetd 2>/dev/null)
    printf 'rinetd=%s\n' "$v"
    printf 'socat=%s\n' "$(socat -V | awk '/socat version/ {print $3}')"
    printf 'coturn=%s\n' "$(dpkg-query -W -f='${Version}' coturn 2>/dev/null)"
    printf 'nftables=%s\n' "$(nft -v | awk '{print $2}')"
    printf 'iperf3=%s\n' "$(iperf3 -v | head -n1 | awk '{print $2}')"
    printf 'go=%s\n' "$("$GO" version | awk '{print $3}')"
    printf 'openssh=%s\n' "$(ssh -V 2>&1 | cut -d, -f1)"
    printf 'reps=%s\nsecs=%s\nconns_c=%s\nconns_src=%s\n' "$REPS" "$SECS" "$CONNS_C" "$CONNS_SRC"
    printf 'link=%s\n' "veth pair 'tailscale0' (MTU 1280, tailnet addresses) standing in for the WireGuard tailnet"
  } >"$RES/meta.env"
}

# wait_quiet: wait (at most BENCH_QUIET_MAX s) until the 1-minute load average
# has stayed below 0.5 for 60 s; record how it went either way.
wait_quiet() {
  local max=${BENCH_QUIET_MAX:-180} hold=${BENCH_QUIET_HOLD:-60} start ok_since="" t l reached=false
  start=$(date +%s)
  log "waiting for a quiet machine (1-min load < 0.5 for ${hold} s; at most ${max} s); load now $(load1)"
  while :; do
    t=$(date +%s) l=$(load1)
    if awk -v l="$l" 'BEGIN { exit !(l < 0.5) }'; then
      [ -n "$ok_since" ] || ok_since=$t
      if [ $((t - ok_since)) -ge "$hold" ]; then reached=true; break; fi
    else
      ok_since=""
    fi
    [ $((t - start)) -lt "$max" ] || break
    sleep 5
  done
  printf '{"reached":%s,"waited_s":%s,"hold_s":%s,"max_s":%s,"load":[%s]}\n' "$reached" "$(($(date +%s) - start))" \
    "$hold" "$max" "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)" >"$RES/quiet.json"
  log "quiet: $reached after $(($(date +%s) - start)) s (load $(cut -d' ' -f1-3 /proc/loadavg))"
}

# ---- control plane -------------------------------------------------------------------

accepted() { grep -c 'Accepted publickey' "$LAB/logs/sshd.out" 2>/dev/null || true; }

# Byte counters for SSH on the vps, in a table of the bench's own (the apply
# never touches tables other than inet xmpp_edge).
ssh_counters_up() {
  on vps nft -f - <<'EOF'
table inet bench_acct {
    chain in {
        type filter hook input priority -300; policy accept;
        tcp dport 22 counter
    }
    chain out {
        type filter hook output priority -300; policy accept;
        tcp sport 22 counter
    }
}
EOF
}
ssh_bytes() { # total bytes in + out on port 22 so far
  on vps nft list table inet bench_acct | awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "bytes") s += $(i + 1) } END { print s + 0 }'
}

# timed_push_script DIR OUT: DIR/push.sh with the on-host apply timed (the
# last line, the staged apply, wrapped in a clock). The bytes reported are
# those of the untouched push.sh.
timed_push_script() {
  local first last body sha
  first=$(head -n 1 "$1/push.sh")
  last=$(grep -v '^$' "$1/push.sh" | tail -n 1)
  # shellcheck disable=SC2016
  if [[ ! $last =~ ^\"\$stage/usr/local/sbin/xmpp-edge-apply\"\ \"\$stage\"\ --confirm-timeout\ [0-9]+$ ]]; then
    echo "bench: the push script's last line is not the staged apply any more: $last" >&2
    return 1
  fi
  # The first line runs the rest only if its SHA-256 is the one it names
  # (render/push.ts): the timed variant names its own.
  [[ $first =~ [0-9a-f]{64} ]] || { echo "bench: the push script's first line names no SHA-256 any more: $first" >&2; return 1; }
  body=$2.body
  {
    tail -n +2 "$1/push.sh" | grep -vxF -- "$last"
    # shellcheck disable=SC2016
    printf '__bench_t0=$(date +%%s%%N)\nif %s; then __bench_rc=0; else __bench_rc=$?; fi\n' "$last"
    # shellcheck disable=SC2016
    printf 'echo "bench: apply_ns=$(( $(date +%%s%%N) - __bench_t0 )) rc=$__bench_rc"\nexit $__bench_rc\n'
  } >"$body"
  sha=$(sha256sum <"$body" | cut -d' ' -f1)
  { printf '%s\n' "${first/${BASH_REMATCH[0]}/$sha}"; cat "$body"; } >"$2"
  rm -f -- "$body"
}
cp_push() {
  local kind=$1 dir=$2 script lg a0 a1 b0 b1 t0 t1 t2 rc crc apply_ns result
  CPN=$((CPN + 1))
  script=$LAB/conf/timed-${dir##*/}.sh lg=$LAB/logs/cp-$CPN-$kind.log
  timed_push_script "$dir" "$script" || return 1
  a0=$(accepted) b0=$(ssh_bytes)
  t0=$(now_ns)
  vssh "$(cat "$dir/push-command")" <"$script" >"$lg" 2>&1
  rc=$?
  t1=$(now_ns)
  vssh "$(cat "$dir/confirm-command")" >>"$lg" 2>&1
  crc=$?
  t2=$(now_ns)
  a1=$(accepted) b1=$(ssh_bytes)
  apply_ns=$(grep -o 'bench: apply_ns=[0-9]*' "$lg" | cut -d= -f2)
  result=$(grep -m1 -oE 'xmpp-edge-apply: (unchanged|revert armed|applied|error)' "$lg" | cut -d' ' -f2-)
  printf '{"kind":"%s","bundle":"%s","rc":%s,"confirm_rc":%s,"stdin_bytes":%s,"ssh_sessions":%s,"ssh_wire_bytes":%s,"push_wall_ns":%s,"confirm_wall_ns":%s,"apply_ns":%s,"result":"%s","load1":%s,"errors":%s}\n' \
    "$kind" "${dir##*/}" "$rc" "$crc" "$(wc -c <"$dir/push.sh")" "$((a1 - a0))" "$((b1 - b0))" \
    "$((t1 - t0))" "$((t2 - t1))" "${apply_ns:-null}" "$result" "$(load1)" \
    "$(grep -E 'error|warning|emerg|alert|crit' "$lg" | tail -n 6 | json_str)" >>"$RES/control.jsonl"
  log "control: $kind (${dir##*/}): rc $rc/$crc, apply $((${apply_ns:-0} / 1000000)) ms, push $(((t1 - t0) / 1000000)) ms, $((a1 - a0)) ssh sessions, ${result:-?}"
  [ "$rc" = 0 ] && [ "$crc" = 0 ]
}

cp_remove() {
  vssh "$(cat "$LAB/push/good/remove-command")" >>"$LAB/logs/cp-remove.log" 2>&1
}

control_plane() {
  local i g=$LAB/push/good c=$LAB/push/change
  log "control plane: first apply x3 (removed between), no-op x5, one-forward change x6 (add/remove alternating)"
  ssh_counters_up || return 1
  start_sampler
  record_load control-start
  for i in 1 2 3; do
    cp_push first "$g" || return 1
    if [ "$i" = 1 ]; then footprint_snapshot idle-edge-only; fi
    if [ "$i" -lt 3 ]; then cp_remove || return 1; fi
  done
  for i in 1 2 3 4 5; do cp_push noop "$g" || return 1; done
  for i in 1 2 3; do
    cp_push change "$c" || return 1
    cp_push change "$g" || return 1
  done
  # Bundle composition: how much of each push is which file (base64 + heredoc framing aside).
  (cd "$g/bundle" && find . -type f -printf '%P %s\n') >"$RES/bundle-files.txt"
  record_load control-end
}

# ---- footprint ------------------------------------------------------------------------

start_sampler() {
  [ -n "$SAMPLER_PID" ] && return 0
  "$BIN" rss -netns "/run/netns/${LAB_PREFIX}vps" -out "$RES/rss.jsonl" -every 250ms 2>"$LAB/logs/sampler.err" &
  SAMPLER_PID=$!
}
footprint_snapshot() { # NAME: a 2 s window with no load
  local t0
  t0=$(now_ns)
  sleep 2
  printf '{"name":"%s","t0":%s,"t1":%s}\n' "$1" "$t0" "$(now_ns)" >>"$RES/windows.jsonl"
}

# ---- data path: setup -------------------------------------------------------------------

bench_nft_rules() {
  # The alternatives need their ports open (as a user running them would open
  # them); the direct path needs the vps to route client <-> home/peer. Both
  # appended to the edge's own chains, after every rule of the edge.
  on vps nft -f - <<EOF
add rule inet xmpp_edge input tcp dport { $P_RINETD, $P_SOCAT, $P_HAPROXY, $P_SSLH, $P_SSLH_SELECT } accept comment "bench: the alternatives"
add rule inet xmpp_edge forward ip saddr { $CLIENT4, $SRC_RANGE } ip daddr { $HOME_TS4, $PEER4 } accept comment "bench: the direct path"
EOF
}

write_alt_configs() {
  local c=$LAB/conf
  cat >"$c/haproxy.cfg" <<EOF
# HAProxy for the same job as the edge's nginx stream on 443: TCP mode, route by ALPN, then by SNI.
global
    maxconn 8000
defaults
    mode tcp
    timeout connect 10s
    timeout client 1h
    timeout server 1h
frontend tls_in
    bind $VPS4:$P_HAPROXY
    tcp-request inspect-delay 10s
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend home_xmpp_client if { req.ssl_alpn xmpp-client }
    use_backend home_xmpp_server if { req.ssl_alpn xmpp-server }
    use_backend home_xmpp_web if { req.ssl_sni -i $DOMAIN groups.$DOMAIN share.$DOMAIN }
    default_backend home_web
backend home_xmpp_client
    server home $HOME_TS4:5223
backend home_xmpp_server
    server home $HOME_TS4:5270
backend home_xmpp_web
    server home $HOME_TS4:5443
backend home_web
    server home $HOME_TS4:443
EOF
  # sslh: Debian's default binary (sslh, a process per connection) and sslh-select (one process).
  local port
  for port in "$P_SSLH" "$P_SSLH_SELECT"; do
    cat >"$c/sslh-$port.cfg" <<EOF
# sslh for the same job: TLS routed by ALPN, then by SNI.
foreground: true;
inetd: false;
numeric: true;
transparent: false;
timeout: 10;
listen: ( { host: "$VPS4"; port: "$port"; } );
protocols: (
    { name: "tls"; host: "$HOME_TS4"; port: "5223"; alpn_protocols: [ "xmpp-client" ]; log_level: 0; },
    { name: "tls"; host: "$HOME_TS4"; port: "5270"; alpn_protocols: [ "xmpp-server" ]; log_level: 0; },
    { name: "tls"; host: "$HOME_TS4"; port: "5443"; sni_hostnames: [ "$DOMAIN", "groups.$DOMAIN", "share.$DOMAIN" ]; log_level: 0; },
    { name: "tls"; host: "$HOME_TS4"; port: "443"; log_level: 0; }
);
EOF
  done
  cat >"$c/rinetd.conf" <<EOF
# rinetd for the same job as the DNAT of 5222: a plain TCP forward to home.
$VPS4 $P_RINETD $HOME_TS4 5222
EOF
}

data_setup() {
  local h what
  log "data path: sinks at home and peer, the alternatives on the vps, the direct route"
  TLS_ARGS=(-tls -sni "$DOMAIN" -alpn xmpp-client -ca "$LAB/pki/ca.crt")
  SPREAD=(-src "$SRC_FIRST" -nsrc "$CONNS_SRC")
  bg home "$LAB/logs/home-sink.out" "$BIN" sink -tcp 0.0.0.0:5222 -pp 0.0.0.0:15222 -tls 0.0.0.0:5223 \
    -udp 0.0.0.0:64738 -cert "$LAB/pki/chat.crt" -key "$LAB/pki/chat.key"
  bg home "$LAB/logs/home-iperf3.out" iperf3 -s -p "$P_IPERF"
  bg peer "$LAB/logs/peer-sink.out" "$BIN" sink -udp "0.0.0.0:$P_PEER_SINK"
  # The vps: the alternatives, configured for the same jobs.
  write_alt_configs
  bg vps "$LAB/logs/haproxy.out" haproxy -db -f "$LAB/conf/haproxy.cfg"
  bg vps "$LAB/logs/sslh.out" sslh "-F$LAB/conf/sslh-$P_SSLH.cfg"
  bg vps "$LAB/logs/sslh-select.out" sslh-select "-F$LAB/conf/sslh-$P_SSLH_SELECT.cfg"
  bg vps "$LAB/logs/rinetd.out" rinetd -f -c "$LAB/conf/rinetd.conf"
  bg vps "$LAB/logs/socat.out" socat "TCP4-LISTEN:$P_SOCAT,bind=$VPS4,fork,reuseaddr,backlog=1024" "TCP4:$HOME_TS4:5222"
  bench_nft_rules || return 1
  # The direct path, same links as the edge's: client -> inet -> vps (plain
  # IP forwarding) -> tailscale0 -> home, and client -> inet -> vps -> inet ->
  # peer for the TURN comparison; both ways.
  ip -n "${LAB_PREFIX}inet" route add 100.64.0.0/10 via "$VPS4" || return 1
  ip -n "${LAB_PREFIX}inet" rule add iif client to "$PEER4/32" lookup 100 prio 100 || return 1
  ip -n "${LAB_PREFIX}inet" rule add iif peer to "$CLIENT4/32" lookup 100 prio 101 || return 1
  ip -n "${LAB_PREFIX}inet" route add default via "$VPS4" dev vps table 100 || return 1
  ip -n "${LAB_PREFIX}home" route add "$CLIENT4/32" via "$VPS_TS4" dev tailscale0 onlink || return 1
  # New connections come from many addresses (lib.sh SRC_FIRST), one more for the one-address measurement.
  client_sources $((CONNS_SRC + 1)) || return 1
  ip -n "${LAB_PREFIX}home" route add "$SRC_RANGE" via "$VPS_TS4" dev tailscale0 onlink || return 1
  ip netns exec "${LAB_PREFIX}vps" sysctl -q -w net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
  # Many short connections: reuse TIME_WAIT ports on the connecting sides
  # (client; vps for the proxies' upstream connections), the same for all paths.
  for h in client vps; do
    ip netns exec "${LAB_PREFIX}$h" sysctl -q -w net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"
  done
  for what in "home tcp 5222" "home tcp 5223" "home tcp 15222" "home udp 64738" "home tcp $P_IPERF" "peer udp $P_PEER_SINK" \
    "vps tcp $P_HAPROXY" "vps tcp $P_SSLH" "vps tcp $P_SSLH_SELECT" "vps tcp $P_RINETD" "vps tcp $P_SOCAT" "vps tcp 443" "vps udp 3478"; do
    # shellcheck disable=SC2086
    wait_for 15 listening $what || { echo "bench: $what is not listening" >&2; return 1; }
  done
  # Every path answers once before anything is measured.
  paths_answer 0 "direct-tcp dnat rinetd socat" "direct-tls nginx-alpn haproxy sslh sslh-select" \
    "direct-udp dnat-udp direct-udp-peer" || return 1
  on client "$BIN" turn -server "$VPS4:3478" -secret "$TURN_SECRET" -peer "$PEER4:$P_PEER_SINK" -secs 0.2 >/dev/null ||
    { echo "bench: path turn does not work" >&2; return 1; }
  footprint_snapshot idle
}

# paths_answer SECS TCP-PATHS TLS-PATHS UDP-PATHS: every path (addr_of)
# carries a short stream (TLS ones with TLS_ARGS) or UDP burst within SECS
# seconds (0: one try).
paths_answer() {
  local within=$1 p
  for p in $2; do
    wait_for "$within" on client "$BIN" tput -addr "$(addr_of "$p")" -secs 0.2 || { echo "bench: path $p does not work" >&2; return 1; }
  done
  for p in $3; do
    wait_for "$within" on client "$BIN" tput -addr "$(addr_of "$p")" -secs 0.2 "${TLS_ARGS[@]}" || { echo "bench: path $p does not work" >&2; return 1; }
  done
  for p in $4; do
    wait_for "$within" on client "$BIN" udp -addr "$(addr_of "$p")" -secs 0.2 || { echo "bench: path $p does not work" >&2; return 1; }
  done
}

addr_of() {
  case $1 in
    direct-tcp) echo "$HOME_TS4:5222" ;;
    dnat | nginx-pp) echo "$VPS4:5222" ;;
    rinetd) echo "$VPS4:$P_RINETD" ;;
    socat) echo "$VPS4:$P_SOCAT" ;;
    direct-tls) echo "$HOME_TS4:5223" ;;
    nginx-alpn) echo "$VPS4:443" ;;
    haproxy) echo "$VPS4:$P_HAPROXY" ;;
    sslh) echo "$VPS4:$P_SSLH" ;;
    sslh-select) echo "$VPS4:$P_SSLH_SELECT" ;;
    direct-udp) echo "$HOME_TS4:64738" ;;
    dnat-udp) echo "$VPS4:64738" ;;
    direct-udp-peer) echo "$PEER4:$P_PEER_SINK" ;;
    *) return 1 ;;
  esac
}

# ---- data path: measurements ----------------------------------------------------------------

# measure METRIC PATH PHASE REP CMD...: run CMD in the client, keep its JSON line.
measure() {
  local metric=$1 path=$2 phase=$3 rep=$4 t0 t1 out l res
  shift 4
  l=$(load1)
  t0=$(now_ns)
  if out=$(ON_TIMEOUT=$((SECS * 4 + 30)) on client "$@" 2>"$LAB/logs/measure.err") && [ "${out:0:1}" = "{" ]; then
    res=$out
  else
    res="{\"error\":$( (printf '%s\n' "$out"; cat "$LAB/logs/measure.err") | tail -n 3 | json_str)}"
  fi
  t1=$(now_ns)
  printf '{"metric":"%s","path":"%s","phase":"%s","rep":%s,"t0":%s,"t1":%s,"load1":%s,"res":%s}\n' \
    "$metric" "$path" "$phase" "$rep" "$t0" "$t1" "$l" "$res" >>"$RES/runs.jsonl"
  printf '#   %-9s %-16s rep %s: %s\n' "$metric" "$path" "$rep" "$(summary_of "$metric" "$res")"
}
summary_of() {
  "$PY" -c '
import json, sys
m, r = sys.argv[1], json.loads(sys.argv[2])
if "error" in r:
    print("ERROR", r["error"][:200])
elif m in ("tput", "tput-tls", "iperf3"):
    print("%.0f Mbit/s" % r["mbit_s"])
elif m.startswith("conns"):
    print("%.0f/s p50 %.2f ms p99 %.2f ms (%d errors)" % (r["per_s"], r["p50_ms"], r["p99_ms"], r["errors"]))
elif m == "udp":
    print("%.0f pps received of %.0f sent (loss %.1f %%)" % (r["recv_pps"], r["sent_pps"], 100 * r["loss"]))
else:
    print(r)' "$1" "$2" 2>/dev/null || echo "$2"
}

# rotated REP ITEM...: the items, starting at a different one each repetition.
rotated() {
  local rep=$1
  shift
  local n=$# i
  local -a a=("$@")
  for ((i = 0; i < n; i++)); do echo "${a[$(((i + rep) % n))]}"; done
}

phase_masquerade() {
  local rep p
  log "data path, phase 1 (clientIp masquerade, the default): $REPS repetitions x ${SECS} s per measurement, paths interleaved"
  record_load phase1-start
  for ((rep = 1; rep <= REPS; rep++)); do
    log "repetition $rep/$REPS (load $(load1))"
    for p in $(rotated "$rep" direct-tcp dnat rinetd socat); do
      measure tput "$p" masquerade "$rep" "$BIN" tput -addr "$(addr_of "$p")" -secs "$SECS"
    done
    for p in $(rotated "$rep" direct-tls nginx-alpn haproxy sslh sslh-select); do
      measure tput-tls "$p" masquerade "$rep" "$BIN" tput -addr "$(addr_of "$p")" -secs "$SECS" "${TLS_ARGS[@]}"
    done
    for p in $(rotated "$rep" direct-tls nginx-alpn haproxy sslh sslh-select); do
      measure conns-c1 "$p" masquerade "$rep" "$BIN" conns -addr "$(addr_of "$p")" -secs "$SECS" -c 1 "${SPREAD[@]}" "${TLS_ARGS[@]}"
      measure "conns-c$CONNS_C" "$p" masquerade "$rep" "$BIN" conns -addr "$(addr_of "$p")" -secs "$SECS" -c "$CONNS_C" "${SPREAD[@]}" "${TLS_ARGS[@]}"
    done
    # The same load from ONE address (its own, so the others stay under the
    # limit): the per-source limit must hold it at about 20 new connections/s.
    measure "conns-c$CONNS_C" nginx-alpn-onesrc masquerade "$rep" "$BIN" conns -addr "$VPS4:443" -secs "$SECS" -c "$CONNS_C" \
      -src "$(ip4_at "$CONNS_SRC")" -nsrc 1 "${TLS_ARGS[@]}"
    for p in $(rotated "$rep" direct-udp dnat-udp direct-udp-peer turn); do
      if [ "$p" = turn ]; then
        measure udp turn masquerade "$rep" "$BIN" turn -server "$VPS4:3478" -secret "$TURN_SECRET" -peer "$PEER4:$P_PEER_SINK" -secs "$SECS"
      else
        measure udp "$p" masquerade "$rep" "$BIN" udp -addr "$(addr_of "$p")" -secs "$SECS"
      fi
    done
  done
  log "iperf3 cross-check (3 x ${SECS} s): direct and DNAT (extraForwards 7000-7002 -> home $P_IPERF)"
  for ((rep = 1; rep <= 3; rep++)); do
    for p in direct-tcp dnat; do
      local target=$HOME_TS4
      [ "$p" = dnat ] && target=$VPS4
      # shellcheck disable=SC2016 # expanded by the inner bash
      measure iperf3 "$p" masquerade "$rep" bash -c 'iperf3 -c "$1" -p "$2" -t "$3" -J | "$4" -c "$5"' _ "$target" "$P_IPERF" "$SECS" "$PY" \
        'import json, sys
d = json.load(sys.stdin)
if "error" in d: print(json.dumps({"error": d["error"]}))
else:
    s = d["end"]["sum_received"]
    print(json.dumps({"bytes": s["bytes"], "secs": s["seconds"], "mbit_s": s["bits_per_second"] / 1e6, "retransmits": d["end"]["sum_sent"].get("retransmits")}))'
    done
  done
  record_load phase1-end
}

phase_proxy_protocol() {
  local rep p
  log "data path, phase 2: the proxy-protocol stack pushed in place (nginx on 5222 with PROXY v1 to home 15222)"
  if ! cp_push clientip-change "$LAB/push/pp"; then
    # Not hidden: the failed push stays in control.jsonl (with the apply's
    # errors) and the report lists it. One retry, so the PROXY path still gets measured.
    log "the clientIp change failed (exit 5 = activation failed, reverted); retrying once in 5 s"
    sleep 5
    cp_push clientip-change "$LAB/push/pp" || return 1
  fi
  bench_nft_rules || return 1
  wait_for 10 eval 'on vps ss -Hltnp "( sport = :5222 )" | grep -q nginx' || { echo "bench: nginx does not listen on 5222" >&2; return 1; }
  on client "$BIN" tput -addr "$VPS4:5222" -secs 0.2 >/dev/null || { echo "bench: the PROXY-protocol path does not work" >&2; return 1; }
  record_load phase2-start
  for ((rep = 1; rep <= REPS; rep++)); do
    for p in $(rotated "$rep" direct-tcp nginx-pp); do
      measure tput "$p" proxy-protocol "$rep" "$BIN" tput -addr "$(addr_of "$p")" -secs "$SECS"
    done
  done
  record_load phase2-end
}

# phase_turn_tls: `bench/run.sh --turn-tls`. The one relay a client behind a
# 443-only network has (TURN over TLS: nginx ends TLS for the TURN name and
# hands the stream to coturn) beside the UDP relay, interleaved, REPS x SECS
# each, from the same client to the same peer sink; bench/turn_tls.py writes
# turn-tls.json (medians, spread, the per-repetition ratio to the UDP relay).
phase_turn_tls() {
  local rep p
  log "TURN over TLS on 443 vs TURN over UDP: $REPS repetitions x ${SECS} s, interleaved"
  on client "$BIN" turn -server "$VPS4:443" -tls-name "$TURN_TLS_NAME" -secret "$TURN_SECRET" -peer "$PEER4:$P_PEER_SINK" -secs 0.2 >/dev/null ||
    { echo "bench: path turn-tls does not work (TLS to $VPS4:443, SNI $TURN_TLS_NAME)" >&2; return 1; }
  record_load turn-tls-start
  for ((rep = 1; rep <= REPS; rep++)); do
    for p in $(rotated "$rep" turn turn-tls); do
      if [ "$p" = turn ]; then
        measure udp turn turn-tls "$rep" "$BIN" turn -server "$VPS4:3478" -secret "$TURN_SECRET" -peer "$PEER4:$P_PEER_SINK" -secs "$SECS"
      else
        measure udp turn-tls turn-tls "$rep" "$BIN" turn -server "$VPS4:443" -tls-name "$TURN_TLS_NAME" -secret "$TURN_SECRET" -peer "$PEER4:$P_PEER_SINK" -secs "$SECS"
      fi
    done
  done
  record_load turn-tls-end
}
