# shellcheck shell=bash
# bench:scale's phases (sourced by bench/scale.sh after test/lab/lib.sh and
# bench/lib.sh, whose hosts, pushes and helpers it uses). Raw results go to
# $RES/scale.jsonl, one line per point; bench/scale_analyse.py turns them
# into scale.json.

# The home ends: TLS on 5222 (the DNAT's target) and 5223 (nginx's
# upstream for ALPN xmpp-client on 443), a goroutine per session.
SINK_PORTS=(5222 5223)
# Sessions per client or sink process at most: a process here cannot hold
# more than `ulimit -Hn` files (20,000 on the machine this was written on,
# a container without CAP_SYS_RESOURCE), so big points use several of each.
CHUNK=${SCALE_CHUNK:-15000}
CONNS_SRC=1000

# src_count N: client addresses for N sessions: at most PER_SRC sessions and
# SRC_RATE new sessions per second per address (the edge's limits are 64 and
# 20/s burst 100 per address: legitimate load stays under both).
src_count() {
  local n=$1 a b
  a=$(((n + PER_SRC - 1) / PER_SRC))
  b=$(((RATE + SRC_RATE - 1) / SRC_RATE))
  echo $((a > b ? a : b))
}

scale_meta() {
  {
    printf 'points=%s\npaths=%s\nscale_reps=%s\nrate=%s\nper_src=%s\nsrc_rate=%s\n' "$POINTS" "$PATHS" "$REPS" "$RATE" "$PER_SRC" "$SRC_RATE"
    printf 'forwards=%s\nwebnames=%s\ncfg_reps=%s\ncfg_secs=%s\n' "$FORWARDS" "$WEBNAMES" "$CFG_REPS" "$CFG_SECS"
    printf 'stream_variants=%s\nstream_reps=%s\nstream_secs=%s\n' "$STREAM_VARIANTS" "$STREAM_REPS" "$STREAM_SECS"
    printf 'nofile_hard=%s\n' "$(ulimit -Hn)"
    printf 'host_conntrack_max=%s\nhost_port_range=%s\n' "$(cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null)" "$(tr '\t' ' ' </proc/sys/net/ipv4/ip_local_port_range)"
  } >>"$RES/meta.env"
}

scale_setup() {
  local max=0 n k i
  local maxn=0 sinks
  for n in $POINTS; do
    k=$(src_count "$n")
    [ "$k" -le "$max" ] || max=$k
    [ "$n" -le "$maxn" ] || maxn=$n
  done
  # The configuration phase's connects come from CONNS_SRC addresses (each under 20 new connections/s at up to 20,000/s in all).
  [ "$max" -ge "$CONNS_SRC" ] || max=$CONNS_SRC
  sinks=$((maxn / CHUNK + 1))
  log "the home ends ($sinks idle TLS sink processes on ${SINK_PORTS[*]}, SO_REUSEPORT) and $max client addresses (from $SRC_FIRST)"
  for ((i = 0; i < sinks; i++)); do
    bg home "$LAB/logs/home-idlesink-$i.out" "$BIN" idlesink -reuseport -tls "[::]:${SINK_PORTS[0]},[::]:${SINK_PORTS[1]}" \
      -cert "$LAB/pki/chat.crt" -key "$LAB/pki/chat.key"
  done
  client_sources "$max" || return 1
  for n in "${SINK_PORTS[@]}"; do
    wait_for 15 listening home tcp "$n" || { echo "bench:scale: the home sink does not listen on $n" >&2; return 1; }
  done
  echo "$max" >"$RES/client-addrs"
  # What the edge runs with: its nginx.conf as applied, the kernel's settings in its namespace.
  on vps cat /etc/nginx/nginx.conf >"$RES/nginx.conf" || return 1
  cp "$RES/nginx.conf" "$LAB/conf/nginx.applied.conf"
  # shellcheck disable=SC2016 # expanded by the vps's shell
  on vps sh -c 'for k in net/ipv4/ip_local_port_range net/ipv4/ip_local_reserved_ports net/core/somaxconn net/netfilter/nf_conntrack_max \
    net/netfilter/nf_conntrack_buckets net/netfilter/nf_conntrack_tcp_timeout_established fs/nr_open; do
      printf "%s=%s\n" "$k" "$(tr "\t" " " </proc/sys/$k)"; done; printf "nofile_hard=%s\n" "$(ulimit -Hn)"; printf "nproc=%s\n" "$(nproc)"' >"$RES/edge.env" || return 1
  # The table size the edge asks for (conntrackMax): a container's vps cannot set it, a server's kernel does.
  on vps sed -n 's/^net.netfilter.nf_conntrack_max = /edge_conntrack_max=/p' /etc/sysctl.d/60-xmpp-edge.conf >>"$RES/edge.env"
  # Both paths carry a session end to end before anything is measured.
  for n in $PATHS; do
    local st=$LAB/run/check-$n.json
    ON_TIMEOUT=40 on client "$BIN" idle -addr "$VPS4:$n" -n 4 -src "$SRC_FIRST" -nsrc 2 -rate 20 -maxfail 4 -hold 0s \
      -tls -sni "$DOMAIN" -alpn xmpp-client -ca "$LAB/pki/ca.crt" -status "$st" >"$LAB/logs/check-$n.log" 2>&1
    grep -q '"alive":4' "$st" 2>/dev/null || { echo "bench:scale: path $n does not carry a session: $(cat "$st" 2>/dev/null)" >&2; return 1; }
  done
}

# vps_snap: the edge's side, as JSON: nginx's processes (RSS, PSS, CPU ticks,
# open files each), conntrack, TCP sockets, listen drops, the per-source
# limits' drop counters, nginx's error log length.
vps_snap() {
  on vps "$PY" -c '
import json, os, re, subprocess
def kb(path, field):
    try:
        for line in open(path):
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
procs = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read()
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        if comm != "nginx":
            continue
        f = stat[stat.rindex(")") + 2:].split()
        cmd = open(f"/proc/{pid}/cmdline").read().replace("\0", " ")
        role = "master" if "master" in cmd else "old worker" if "shutting down" in cmd else "worker"
        procs.append({"role": role, "rss_kb": kb(f"/proc/{pid}/status", "VmRSS:"),
                      "pss_kb": kb(f"/proc/{pid}/smaps_rollup", "Pss:"), "ticks": int(f[11]) + int(f[12]),
                      "fds": len(os.listdir(f"/proc/{pid}/fd"))})
    except (OSError, ValueError):
        pass
est = 0
try:
    with open("/proc/net/nf_conntrack") as fh:
        for line in fh:
            if " ESTABLISHED " in line:
                est += 1
except OSError:
    est = None
tcp = {}
for line in open("/proc/net/sockstat"):
    if line.startswith("TCP:"):
        p = line.split()[1:]
        tcp = {p[i]: int(p[i + 1]) for i in range(0, len(p) - 1, 2)}
ext = {}
lines = open("/proc/net/netstat").read().splitlines()
for i in range(0, len(lines) - 1, 2):
    if lines[i].startswith("TcpExt:"):
        ext = dict(zip(lines[i].split()[1:], map(int, lines[i + 1].split()[1:])))
drops = {}
out = subprocess.run(["nft", "list", "chain", "inet", "xmpp_edge", "source_limits"], capture_output=True, text=True).stdout
for m in re.finditer(r"counter packets (\d+) bytes \d+ drop comment \"([^\"]*)\"", out):
    drops[m.group(2)] = drops.get(m.group(2), 0) + int(m.group(1))
try:
    errlog = sum(1 for _ in open("/var/log/nginx/error.log", errors="replace"))
except OSError:
    errlog = 0
def rd(p):
    try:
        return int(open(p).read())
    except OSError:
        return None
print(json.dumps({"nginx": procs, "ct_count": rd("/proc/sys/net/netfilter/nf_conntrack_count"), "ct_est": est,
                  "ct_max": rd("/proc/sys/net/netfilter/nf_conntrack_max"), "tcp": tcp,
                  "listen_overflows": ext.get("ListenOverflows"), "listen_drops": ext.get("ListenDrops"),
                  "limit_drops": drops, "errlog_lines": errlog}))'
}

# host_snap: the machine's side (every host shares it): CPU jiffies by kind,
# memory, conntrack's slab object size.
host_snap() {
  "$PY" -c '
import json
cpu = open("/proc/stat").readline().split()[1:9]
mem = {l.split(":")[0]: int(l.split()[1]) for l in open("/proc/meminfo") if l.split(":")[0] in ("MemAvailable", "Slab", "SUnreclaim")}
obj = None
try:
    for l in open("/proc/slabinfo"):
        if l.startswith("nf_conntrack "):
            obj = int(l.split()[3])
except OSError:
    pass
print(json.dumps({"cpu": dict(zip(["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"], map(int, cpu))),
                  "mem_kb": mem, "ct_obj_bytes": obj, "load": list(map(float, open("/proc/loadavg").read().split()[:3]))}))'
}

# nginx_errors_since LINE: the error log's lines after LINE, classified.
nginx_errors_since() {
  on vps "$PY" -c '
import json, re, sys
start = int(sys.argv[1])
try:
    lines = open("/var/log/nginx/error.log", errors="replace").read().splitlines()[start:]
except OSError:
    lines = []
kinds = {}
examples = {}
for l in lines:
    m = re.search(r"\[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*?)(?:, client:|$)", l)
    msg = m.group(2) if m else l
    k = re.sub(r"\d+", "N", msg)[:120]
    kinds[k] = kinds.get(k, 0) + 1
    examples.setdefault(k, l[:300])
print(json.dumps({"lines": len(lines), "kinds": kinds, "examples": list(examples.values())[:5]}))' "$1"
}

# fresh_edge: new nginx workers (a reload: the memory a point measures is
# its own), and the vps's TIME_WAIT sockets from the last point gone (nginx
# closes its upstream side first: its TIME_WAITs hold source ports toward home).
fresh_edge() {
  local i
  on vps nginx -s reload >>"$LAB/logs/nginx-reload.log" 2>&1 || return 1
  # The signal only asks: the master starts new workers and tells the old
  # ones to finish a moment later.
  sleep 2
  for ((i = 0; i < 90; i++)); do
    on vps "$PY" -c '
import os, sys
n = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        # (not this script: its own command line holds the words)
        if open(f"/proc/{pid}/comm").read().strip() == "nginx" and "shutting down" in open(f"/proc/{pid}/cmdline").read():
            n += 1
    except OSError:
        pass
tw = 0
for line in open("/proc/net/sockstat"):
    if line.startswith("TCP:"):
        p = line.split()
        tw = int(p[p.index("tw") + 1])
sys.exit(0 if n == 0 and tw < 200 else 1)' && return 0
    sleep 1
  done
  log "  (the edge still had old workers or TIME_WAIT sockets after 90 s; measuring anyway, the point records it)"
}

# scale_point PATH N REP NSRC KIND: N idle sessions through PATH from NSRC
# addresses; the edge before, held, and what went wrong. One JSON line.
scale_point() {
  local path=$1 n=$2 rep=$3 nsrc=$4 kind=$5 tag st before hbefore held hheld errs client t0 bound
  local chunks i ni si rate_i
  tag=$kind-$path-$n-$rep st=$LAB/run/$kind-$path-$n-$rep
  # A point's files must be its own: a status or release file left by an
  # earlier point of the same name would end this one before it starts.
  rm -f -- "$st"-*.json "$st"-*.json.closed "$st.release"
  fresh_edge || return 1
  before=$(vps_snap) && hbefore=$(host_snap) || return 1
  # Several client processes for big points, each its own share of the
  # sessions, of the addresses and of the rate (so each address still opens
  # at most SRC_RATE per second).
  chunks=$(((n + CHUNK - 1) / CHUNK))
  [ "$chunks" -le "$nsrc" ] || chunks=$nsrc
  log "point: $n sessions through $path from $nsrc addresses, $chunks client process(es) ($kind, rep $rep; load $(load1))"
  t0=$(now_ns)
  for ((i = 0; i < chunks; i++)); do
    ni=$((n / chunks + (i < n % chunks ? 1 : 0)))
    si=$((nsrc / chunks))
    rate_i=$((RATE / chunks))
    [ "$rate_i" -ge 1 ] || rate_i=1
    bg client "$LAB/logs/idle-$tag-$i.log" "$BIN" idle -addr "$VPS4:$path" -n "$ni" -src "$(ip4_at $((i * si)))" -nsrc "$si" \
      -rate "$rate_i" -tls -sni "$DOMAIN" -alpn xmpp-client -ca "$LAB/pki/ca.crt" -status "$st-$i.json" -release "$st.release" -hold 30m
  done
  bound=$((n * 3 / RATE + 180))
  for ((i = 0; i < chunks; i++)); do
    if ! wait_for "$bound" test -s "$st-$i.json"; then
      echo "bench:scale: client process $i did not report within $bound s ($tag); see $LAB/logs/idle-$tag-$i.log" >&2
      touch "$st.release"
      return 1
    fi
  done
  held=$(vps_snap) && hheld=$(host_snap) || return 1
  errs=$(nginx_errors_since "$("$PY" -c 'import json, sys; print(json.loads(sys.argv[1])["errlog_lines"])' "$before")")
  client=$(cat "$st"-*.json | "$PY" -c '
import json, sys
parts = [json.loads(l) for l in sys.stdin if l.strip()]
out = {k: sum(p[k] for p in parts) for k in ("target", "attempted", "open", "alive", "failed", "nsrc")}
out["rate"] = sum(p["rate"] for p in parts)
out["open_secs"] = max(p["open_secs"] for p in parts)
out["gave_up"] = any(p["gave_up"] for p in parts)
out["open_per_s"] = out["open"] / out["open_secs"] if out["open_secs"] else 0
out["p50_ms"] = sorted(p["p50_ms"] for p in parts)[len(parts) // 2]
out["p99_ms"] = max(p["p99_ms"] for p in parts)
out["max_ms"] = max(p["max_ms"] for p in parts)
for k in ("errors", "ping_errors", "first_errors"):
    out[k] = {}
    for p in parts:
        for e, v in p[k].items():
            out[k][e] = out[k].get(e, 0) + v if k != "first_errors" else out[k].get(e, v)
out["processes"] = len(parts)
print(json.dumps(out))')
  touch "$st.release"
  for ((i = 0; i < chunks; i++)); do
    wait_for 120 test -e "$st-$i.json.closed" || log "  (client process $i did not close within 120 s)"
  done
  printf '{"kind":"%s","path":"%s","n":%s,"rep":%s,"nsrc":%s,"t0":%s,"t1":%s,"client":%s,"before":%s,"held":%s,"host_before":%s,"host_held":%s,"nginx_errors":%s}\n' \
    "$kind" "$path" "$n" "$rep" "$nsrc" "$t0" "$(now_ns)" "$client" "$before" "$held" "$hbefore" "$hheld" "$errs" >>"$RES/scale.jsonl"
  "$PY" -c '
import json, sys
c, b, h, e = (json.loads(a) for a in sys.argv[1:5])
rss = lambda s: sum(p["rss_kb"] for p in s["nginx"])
print("#   open %d/%d alive %d in %.0f s; nginx RSS %.1f -> %.1f MiB; conntrack est %s -> %s; limit drops %s; nginx errors %s %s" % (
    c["open"], c["target"], c["alive"], c["open_secs"], rss(b) / 1024, rss(h) / 1024, b["ct_est"], h["ct_est"],
    sum(h["limit_drops"].values()) - sum(b["limit_drops"].values()), e["lines"], list(e["kinds"])[:2]))
if c["errors"]:
    print("#   client errors:", c["errors"])' "$client" "$before" "$held" "$errs"
  record_load "point-$tag"
}

# ---- configuration scaling: extraForwards and web names ---------------------------------

# The forward measured is always the LAST one: tcp FWD_LAST, kept port to home.
FWD_LAST=29999

# forwards_json F: F extraForwards: F-1 below FWD_LAST (single ports and
# ranges, tcp and udp, one remapped), then tcp FWD_LAST.
forwards_json() {
  "$PY" -c '
import json, sys
f = int(sys.argv[1]); last = int(sys.argv[2])
out = []
for i in range(f - 1):
    p = 20000 + 3 * i
    if i % 4 == 3:
        out.append({"port": f"{p}-{p + 2}", "protocol": "tcp", "description": f"bench range {i}"})
    elif i % 4 == 1:
        out.append({"port": p, "protocol": "udp", "description": f"bench udp {i}"})
    elif i % 4 == 2:
        out.append({"port": p, "protocol": "tcp", "toPort": p + 1, "description": f"bench remap {i}"})
    else:
        out.append({"port": p, "protocol": "tcp", "description": f"bench {i}"})
out.append({"port": last, "protocol": "tcp", "description": "bench: the forward measured"})
print(json.dumps(out))' "$1" "$FWD_LAST"
}

names_json() { # W: W web names under the zone
  "$PY" -c 'import json, sys; print(json.dumps([f"w{i}.example.com" for i in range(int(sys.argv[1]))]))' "$1"
}

# render_variant NAME KEY=JSON: the bench stack with one key changed; prints the render's wall time (ms).
render_variant() {
  local t0 t1
  t0=$(now_ns)
  (cd "$REPO" && "$REPO/node_modules/.bin/tsx" "$REPO/test/lab/render.ts" --config "$STACK" --vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6" \
    --vps-tailnet-ipv4 "$VPS_TS4" --turn-secret "$TURN_SECRET" --out "$LAB/push/$1" --set "$2") >"$LAB/logs/render-$1.log" 2>&1 || {
    cat "$LAB/logs/render-$1.log" >&2
    return 1
  }
  t1=$(now_ns)
  echo $(((t1 - t0) / 1000000))
}

# nft_times FILE: nft -c and nft -f of FILE in a scratch namespace, 5 each (ms, JSON lists).
nft_times() {
  local ns=${LAB_PREFIX}nft i t0 c=() f=()
  ip netns add "$ns" 2>/dev/null
  for ((i = 0; i < 5; i++)); do
    t0=$(now_ns)
    ip netns exec "$ns" nft -c -f "$1" || return 1
    c+=($((($(now_ns) - t0) / 1000)))
    t0=$(now_ns)
    ip netns exec "$ns" nft -f "$1" || return 1
    f+=($((($(now_ns) - t0) / 1000)))
  done
  ip netns del "$ns"
  printf '{"check_us":[%s],"load_us":[%s]}' "$(IFS=,; echo "${c[*]}")" "$(IFS=,; echo "${f[*]}")"
}

# scale_config: per size, render (plan) time, bundle size, nft -c/-f times,
# the real apply; for forwards also the TCP connect rate to the last forward.
scale_config() {
  local rep f w ms dir nft times out
  log "configuration scaling: extraForwards ${FORWARDS:-} and web names ${WEBNAMES:-}, $CFG_REPS repetitions"
  bg home "$LAB/logs/home-fwd-sink.out" "$BIN" sink -tcp "0.0.0.0:$FWD_LAST"
  wait_for 15 listening home tcp "$FWD_LAST" || { echo "bench:scale: the sink on $FWD_LAST does not listen" >&2; return 1; }
  ip netns exec "${LAB_PREFIX}client" sysctl -q -w net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"
  record_load config-start
  for ((rep = 1; rep <= CFG_REPS; rep++)); do
    for f in $FORWARDS; do
      dir=fwd-$f
      ms=$(render_variant "$dir" "extraForwards=$(forwards_json "$f")") || return 1
      nft=$(find "$LAB/push/$dir/bundle" -name '*.nft' | head -n 1)
      times=$(nft_times "$nft") || { echo "bench:scale: nft rejected $nft" >&2; return 1; }
      cp_push "forwards-$f" "$LAB/push/$dir" || return 1
      out=$(ON_TIMEOUT=60 on client "$BIN" conns -addr "$VPS4:$FWD_LAST" -secs "$CFG_SECS" -c 4 -src "$SRC_FIRST" -nsrc "$CONNS_SRC" 2>>"$LAB/logs/conns.err") ||
        out="{\"error\":$(tail -n 2 "$LAB/logs/conns.err" | json_str)}"
      printf '{"what":"forwards","size":%s,"rep":%s,"render_ms":%s,"stdin_bytes":%s,"nft_bytes":%s,"nft_rules":%s,"nft":%s,"conns":%s,"load1":%s}\n' \
        "$f" "$rep" "$ms" "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["stdinBytes"])' "$LAB/push/$dir/sizes.json")" \
        "$(wc -c <"$nft")" "$(grep -c 'dnat' "$nft")" "$times" "$out" "$(load1)" >>"$RES/config.jsonl"
      log "  forwards $f (rep $rep): render $ms ms, $(grep -c dnat "$nft") dnat rules, connect rate to the last: $(summary_of conns "$out")"
    done
    for w in $WEBNAMES; do
      dir=web-$w
      ms=$(render_variant "$dir" "webHostnames=$(names_json "$w")") || return 1
      nft=$(find "$LAB/push/$dir/bundle" -name '*.nft' | head -n 1)
      times=$(nft_times "$nft") || return 1
      cp_push "webnames-$w" "$LAB/push/$dir" || return 1
      printf '{"what":"webnames","size":%s,"rep":%s,"render_ms":%s,"stdin_bytes":%s,"nft_bytes":%s,"nginx_bytes":%s,"nft":%s,"load1":%s}\n' \
        "$w" "$rep" "$ms" "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["stdinBytes"])' "$LAB/push/$dir/sizes.json")" \
        "$(wc -c <"$nft")" "$(find "$LAB/push/$dir/bundle" -name nginx.conf -exec wc -c {} + | awk '{print $1; exit}')" "$times" "$(load1)" >>"$RES/config.jsonl"
      log "  web names $w (rep $rep): render $ms ms"
    done
  done
  # Back to the bench stack.
  cp_push back "$LAB/push/good" || return 1
  record_load config-end
}

# ---- the 443 path: nginx stream settings side by side ---------------------------------

# nginx_variant NAME: the applied nginx.conf with one setting changed (a lab
# variant for this measurement only; the renderer is not involved).
nginx_variant() {
  "$PY" - "$1" "$LAB/conf/nginx.applied.conf" <<'PYEOF'
import re, sys
name, conf = sys.argv[1], open(sys.argv[2]).read()
srv = re.compile(r"(    server \{\n        listen 443[^\n]*\n)")
def in443(extra):
    return srv.sub(lambda m: m.group(1) + "        " + extra + "\n", conf, count=1)
if name == "base":
    out = conf
elif name.startswith("proxy_buffer_size="):
    out = in443("proxy_buffer_size %s;" % name.split("=")[1])
elif name == "tcp_nodelay=off":
    out = in443("tcp_nodelay off;")
elif name == "reuseport":
    out = re.sub(r"listen (443|\[::\]:443)( so_keepalive=on)?;", lambda m: "listen %s reuseport%s;" % (m.group(1), m.group(2) or ""), conf)
elif name.startswith("worker_processes="):
    out = re.sub(r"^worker_processes \S+;", "worker_processes %s;" % name.split("=")[1], conf, flags=re.M)
else:
    sys.exit("unknown variant " + name)
if out == conf and name != "base":
    sys.exit("variant %s changed nothing (the renderer's output moved?)" % name)
sys.stdout.write(out)
PYEOF
}

nginx_ticks() { vps_snap | "$PY" -c 'import json, sys; print(sum(p["ticks"] for p in json.load(sys.stdin)["nginx"] if p["role"] != "old worker"))'; }

# scale_stream: one TLS stream direct to home and through 443, per variant, interleaved.
scale_stream() {
  local rep v pid out direct edge t0 t1 h0 h1 conf
  log "the 443 path: nginx stream settings ($STREAM_VARIANTS), $STREAM_REPS repetitions x ${STREAM_SECS} s, direct and through 443"
  # The idle sinks make way for the bench's stream sink on 5223 (processes of this bench's home host, by PID).
  for pid in $(on home pgrep -x benchnet); do on home kill "$pid"; done
  wait_for 10 eval '! listening home tcp 5223' || { echo "bench:scale: 5223 still taken at home" >&2; return 1; }
  bg home "$LAB/logs/home-tput-sink.out" "$BIN" sink -tls 0.0.0.0:5223 -cert "$LAB/pki/chat.crt" -key "$LAB/pki/chat.key"
  wait_for 15 listening home tcp 5223 || return 1
  # The direct path: client -> inet -> vps (forwarding) -> tailscale0 -> home, as bench/lib.sh data_setup routes it.
  on vps nft add rule inet xmpp_edge forward ip saddr "$CLIENT4" ip daddr "$HOME_TS4" accept comment '"bench: the direct path"' || return 1
  ip -n "${LAB_PREFIX}inet" route add 100.64.0.0/10 via "$VPS4" || return 1
  ip -n "${LAB_PREFIX}home" route add "$CLIENT4/32" via "$VPS_TS4" dev tailscale0 onlink || return 1
  TLS_ARGS=(-tls -sni "$DOMAIN" -alpn xmpp-client -ca "$LAB/pki/ca.crt")
  record_load stream-start
  for ((rep = 1; rep <= STREAM_REPS; rep++)); do
    # shellcheck disable=SC2086 # one variant per word
    for v in $(rotated "$rep" $STREAM_VARIANTS); do
      conf=$LAB/conf/nginx.$v.conf
      nginx_variant "$v" >"$conf" || return 1
      on vps sh -c "cat >/etc/nginx/nginx.conf && nginx -t -q && nginx -s reload" <"$conf" 2>>"$LAB/logs/nginx-reload.log" ||
        { echo "bench:scale: variant $v rejected (see $LAB/logs/nginx-reload.log)" >&2; return 1; }
      sleep 2
      direct=$(ON_TIMEOUT=60 on client "$BIN" tput -addr "$HOME_TS4:5223" -secs "$STREAM_SECS" "${TLS_ARGS[@]}" 2>>"$LAB/logs/tput.err") || direct='{"error":"direct"}'
      t0=$(nginx_ticks) h0=$(host_snap)
      edge=$(ON_TIMEOUT=60 on client "$BIN" tput -addr "$VPS4:443" -secs "$STREAM_SECS" "${TLS_ARGS[@]}" 2>>"$LAB/logs/tput.err") || edge='{"error":"edge"}'
      t1=$(nginx_ticks) h1=$(host_snap)
      printf '{"variant":"%s","rep":%s,"direct":%s,"edge":%s,"nginx_ticks":%s,"host_before":%s,"host_after":%s,"load1":%s}\n' \
        "$v" "$rep" "$direct" "$edge" "$((t1 - t0))" "$h0" "$h1" "$(load1)" >>"$RES/stream.jsonl"
      log "  $v (rep $rep): direct $(summary_of tput "$direct"), 443 $(summary_of tput "$edge")"
    done
  done
  on vps sh -c "cat >/etc/nginx/nginx.conf && nginx -s reload" <"$LAB/conf/nginx.applied.conf" 2>>"$LAB/logs/nginx-reload.log" || return 1
  record_load stream-end
}

# scale_variant_points "VARIANT:N ...": N idle sessions through 443 with one
# nginx setting changed (nginx_variant), e.g. the memory an idle session holds
# with a bigger proxy_buffer_size. Labelled in the report as a variant.
scale_variant_points() {
  local item v n k=0
  for item in $1; do
    k=$((k + 1))
    v=${item%%:*} n=${item##*:}
    log "variant point (labelled): $n sessions through 443 with nginx $v"
    nginx_variant "$v" >"$LAB/conf/nginx.$v.conf" || return 1
    on vps sh -c "cat >/etc/nginx/nginx.conf && nginx -t -q" <"$LAB/conf/nginx.$v.conf" 2>>"$LAB/logs/nginx-reload.log" || return 1
    scale_point 443 "$n" "$k" "$(src_count "$n")" "variant-$v" || return 1
    on vps sh -c "cat >/etc/nginx/nginx.conf && nginx -t -q" <"$LAB/conf/nginx.applied.conf" 2>>"$LAB/logs/nginx-reload.log" || return 1
  done
}
