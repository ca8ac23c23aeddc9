# shellcheck shell=bash
# Builds the lab (sourced by test/lab/run.sh after lib.sh): PKI and keys, the
# rendered plans and pushes, the topology, and the software on every host
# except what the push itself brings to the vps. See test/lab/README.md.

# ---- addresses (documentation ranges; the tailnet ranges on vps–home) -------
VPS4=198.51.100.10 VPS6=2001:db8:10::10
CF4=198.51.100.70 CF6=2001:db8:30::70
DNS4=198.51.100.130 DNS6=2001:db8:53::53
CLIENT4=203.0.113.20 CLIENT6=2001:db8:20::20
PEER4=203.0.113.70 PEER6=2001:db8:70::70
HOMEUP4=203.0.113.130 HOMEUP6=2001:db8:80::80
# An internet host that is neither in sshAllowFrom nor Cloudflare: the attacks' source.
ATTACKER4=203.0.113.200 ATTACKER6=2001:db8:66::66
# The sources the attacker spoofs (test/lab/bin/spoof.py): no lab host has
# them, and the lab router blackholes every packet to them (spoof_blackholes).
SPOOF4=198.18.0.0/15 SPOOF6=2001:db8:f000::/36
# The tailnet addresses: fixed on the stand-in, Headscale's on a real tailnet
# (set by test/lab/tailnet.sh once the hosts have joined).
# shellcheck disable=SC2034 # VPS_TS6 is read by tests.sh
VPS_TS4="" VPS_TS6="" HOME_TS4="" HOME_TS6=""

DOMAIN=chat.example.com
WEBNAME=www.example.com
PEER_DOMAIN=peer.example.net
TURN_SECRET=lab-turn-secret-$RANDOM$RANDOM
PW=lab-password-1
# The lab's ACME server (pebble on the dns host) and the TURN-over-TLS name
# whose certificate the edge gets from it (turnTlsName's default). The lab
# stacks have turnTls on; LAB_TURN_TLS=0 renders them with it off (test/vm
# on Debian 12, whose short run keeps to boot, push, units and reboot).
ACME_NAME=acme.example.net
# shellcheck disable=SC2034 # read by tests.sh and tests-turn-tls.sh
TURN_NAME=turn.$DOMAIN

ssh_opts() {
  printf '%s\n' -F /dev/null -i "$LAB/keys/deployer" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$LAB/keys/known_hosts" \
    -o ConnectTimeout=4 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR
}
# vssh [SSH-OPTION...] -- CMD: ssh from the deployer (client) to the vps, pinned host key.
vssh() {
  local opts=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  local -a base
  mapfile -t base < <(ssh_opts)
  # ssh takes the first value of an option: the caller's come first.
  on client ssh "${opts[@]}" "${base[@]}" "root@$VPS4" "$@"
}

# ---- PKI, keys ----------------------------------------------------------------

make_pki() {
  local p=$LAB/pki name sans cn spec
  mkdir -p "$p" "$LAB/keys"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$p/ca.key" -out "$p/ca.crt" -subj "/CN=xmpp-edge lab CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  for spec in "chat:DNS:$DOMAIN,DNS:groups.$DOMAIN,DNS:share.$DOMAIN" "www:DNS:$WEBNAME" "peer:DNS:$PEER_DOMAIN" "hs:DNS:$HS_NAME" "acme:DNS:$ACME_NAME"; do
    name=${spec%%:*} sans=${spec#*:}
    cn=${sans%%,*}
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$p/$name.key" \
      -out "$p/$name.csr" -subj "/CN=${cn#DNS:}" 2>>"$LAB/logs/pki.log"
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$sans" >"$p/$name.ext"
    openssl x509 -req -in "$p/$name.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
      -days 2 -extfile "$p/$name.ext" -out "$p/$name.crt" 2>>"$LAB/logs/pki.log" || return 1
  done
  # What clients that judge the TURN name's certificate trust; start_acme adds pebble's root.
  cp "$p/ca.crt" "$p/trust.pem"
  ssh-keygen -q -t ed25519 -N '' -C lab-deployer -f "$LAB/keys/deployer"
  ssh-keygen -q -t ed25519 -N '' -C lab-vps-host -f "$LAB/keys/vps_host"
  cp "$LAB/keys/deployer.pub" "$LAB/keys/authorized_keys"
  printf '%s %s\n%s %s\n' "$VPS4" "$(cut -d' ' -f1,2 "$LAB/keys/vps_host.pub")" \
    "$VPS6" "$(cut -d' ' -f1,2 "$LAB/keys/vps_host.pub")" >"$LAB/keys/known_hosts"
}

# ---- plans and pushes (the repository's own renderers) --------------------------

# render_dns_plan: the plan of the stack as committed, for the DNS zone (its
# records do not depend on tailnet addresses; t_dns compares the zone with
# the final plan's dns.json).
render_dns_plan() {
  local tsx=$REPO/node_modules/.bin/tsx stack=$HERE/stacks/Pulumi.lab.yaml
  [ -x "$tsx" ] || { echo "lab: $tsx missing (npm ci)" >&2; return 1; }
  # LAB_TURN_TLS=0 (test/vm on Debian 12): the stacks with turnTls off.
  if [ "${LAB_TURN_TLS:-1}" != 1 ]; then
    mkdir -p "$LAB/stacks"
    (cd "$REPO" && "$tsx" "$HERE/stack.ts" derive --in "$stack" --out "$LAB/stacks/Pulumi.dns.yaml" --set "turnTls=false") || return 1
    stack=$LAB/stacks/Pulumi.dns.yaml
  fi
  (cd "$REPO" && "$tsx" scripts/plan.ts --config "$stack" --out "$LAB/plan" \
    --vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6") >"$LAB/logs/plan.log" 2>&1 || { cat "$LAB/logs/plan.log" >&2; return 1; }
}

# render_plan: the lab stacks with the tailnet as it is (home's real tailnet
# addresses; on Headscale its URL and the vps's pre-auth key), then the plan
# exactly as `npm run plan` writes it (cloud-init.yaml holds the join script).
render_plan() {
  local tsx=$REPO/node_modules/.bin/tsx st name sets
  sets=(--set "homeTailnetIPv4=\"$HOME_TS4\"" --set "homeTailnetIPv6=\"$HOME_TS6\"")
  if [ "$TAILNET" = headscale ]; then
    sets+=(--set "tailscaleLoginServer=\"$HS_URL\"" --set "tailscaleAuthKey=\"$HS_VPS_KEY\"")
  fi
  # test/vm/run.sh: the image of the release the VM boots.
  [ -z "${LAB_IMAGE:-}" ] || sets+=(--set "image=\"$LAB_IMAGE\"")
  [ "${LAB_TURN_TLS:-1}" = 1 ] || sets+=(--set "turnTls=false") # see render_dns_plan
  for name in lab lab-pp; do
    (cd "$REPO" && "$tsx" "$HERE/stack.ts" derive --in "$HERE/stacks/Pulumi.$name.yaml" --out "$LAB/stacks/Pulumi.$name.yaml" "${sets[@]}") || return 1
  done
  (cd "$REPO" && "$tsx" scripts/plan.ts --config "$LAB/stacks/Pulumi.lab.yaml" --out "$LAB/plan" \
    --vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6" --home-ipv4 "$HOME_TS4") >>"$LAB/logs/plan.log" 2>&1 || { cat "$LAB/logs/plan.log" >&2; return 1; }
}

# render_pushes: what the deployer pushes (needs the vps's tailnet address).
render_pushes() {
  local tsx=$REPO/node_modules/.bin/tsx st=$LAB/stacks common
  common=(--vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6" --vps-tailnet-ipv4 "$VPS_TS4" --turn-secret "$TURN_SECRET")
  local r=("$tsx" "$HERE/render.ts")
  "${r[@]}" --config "$st/Pulumi.lab.yaml" --out "$LAB/push/good" "${common[@]}" &&
    "${r[@]}" --config "$st/Pulumi.lab.yaml" --out "$LAB/push/broken" --break nginx "${common[@]}" &&
    "${r[@]}" --config "$st/Pulumi.lab.yaml" --out "$LAB/push/lockout" --confirm-timeout 10 \
      --set 'sshAllowFrom=["198.51.100.64/26"]' "${common[@]}" &&
    "${r[@]}" --config "$st/Pulumi.lab-pp.yaml" --out "$LAB/push/pp" "${common[@]}" &&
    "${r[@]}" --config "$st/Pulumi.lab.yaml" --out "$LAB/push/weak-web" --weaken web "${common[@]}" &&
    "${r[@]}" --config "$st/Pulumi.lab-pp.yaml" --out "$LAB/push/weak-pp" --weaken proxy-protocol "${common[@]}"
}

# ---- per-host files --------------------------------------------------------------

# etc_common NAME: hostname, hosts, resolver (the lab DNS), the lab CA as trusted.
etc_common() {
  local e=$LAB/hosts/$1/etc-lower hash
  mkdir -p "$e/ssl/certs"
  echo "$1" >"$e/hostname"
  printf '127.0.0.1 localhost\n::1 localhost\n127.0.1.1 %s\n' "$1" >"$e/hosts"
  printf 'nameserver %s\nnameserver %s\noptions timeout:2 attempts:2\n' "$DNS4" "$DNS6" >"$e/resolv.conf"
  cp "$LAB/pki/ca.crt" "$e/ssl/certs/xmpp-edge-lab-ca.pem"
  hash=$(openssl x509 -hash -noout -in "$LAB/pki/ca.crt")
  ln -sf xmpp-edge-lab-ca.pem "$e/ssl/certs/$hash.0"
  cat /etc/ssl/certs/ca-certificates.crt "$LAB/pki/ca.crt" >"$e/ssl/certs/ca-certificates.crt"
}

# The plan's home snippet names the modules to enable (it never assigns
# modules_enabled, which would replace the server's list): the lab adds them
# to its own list, except net_proxy, which Debian does not package (home's
# PROXY receiver is nginx, see the README).
snippet_modules() {
  grep '^-- Add to your modules_enabled:' "$1" | grep -o '"[a-z_]*"' | tr -d '"' | grep -vx net_proxy | sort -u
}

prosody_cfg() { # NAME DOMAIN SNIPPET-or-empty
  local name=$1 domain=$2 snippet=$3 mods m
  mods='"roster"; "saslauth"; "tls"; "dialback"; "disco"; "ping"; "offline"; "posix"; "time"; "version";'
  if [ -n "$snippet" ]; then
    for m in $(snippet_modules "$snippet"); do mods+=" \"$m\";"; done
  fi
  cat <<EOF
-- xmpp-edge lab: Prosody on $name
pidfile = "/run/prosody/prosody.pid"
interfaces = { "*", "::" }
admins = { }
authentication = "internal_hashed"
allow_registration = false
c2s_require_encryption = true
-- Certificates are checked on every s2s link (the lab CA is trusted).
s2s_secure_auth = true
certificates = "certs"
log = { debug = "/var/log/prosody/prosody.log"; error = "/var/log/prosody/prosody.err" }
EOF
  if [ -n "$snippet" ]; then
    printf '\n-- The plan'"'"'s home/prosody.cfg.lua, verbatim:\nInclude "/etc/prosody/xmpp-edge.cfg.lua"\n'
  fi
  printf '\nmodules_enabled = { %s }\n\nVirtualHost "%s"\n' "$mods" "$domain"
  if [ "$name" = home ]; then
    # Snikket's file-transfer proxy on 5000 (the plan forwards it).
    printf '\nComponent "share.%s" "proxy65"\n' "$domain"
  fi
}

setup_prosody() { # NAME DOMAIN CERT SNIPPET-or-empty
  local name=$1 domain=$2 cert=$3 snippet=$4 e=$LAB/hosts/$1/etc-add/prosody
  mkdir -p "$e/certs"
  cp "$LAB/pki/$cert.crt" "$e/certs/$domain.crt"
  cp "$LAB/pki/$cert.key" "$e/certs/$domain.key"
  if [ "$name" = home ]; then
    cp "$LAB/pki/$cert.crt" "$e/certs/share.$domain.crt"
    cp "$LAB/pki/$cert.key" "$e/certs/share.$domain.key"
  fi
  chown root:prosody "$e/certs/"*.key
  chmod 0640 "$e/certs/"*.key
  [ -z "$snippet" ] || cp "$snippet" "$e/xmpp-edge.cfg.lua"
  prosody_cfg "$name" "$domain" "$snippet" >"$e/prosody.cfg.lua"
  chmod 0644 "$e/prosody.cfg.lua"
}

home_nginx_conf() {
  local c=/etc/nginx/lab
  cat <<EOF
# xmpp-edge lab: the home web server (80/443 web, 5080/5443 the Snikket-style
# XMPP web front) and the PROXY-protocol receiver on 15222/15269.
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log warn;
events { worker_connections 256; }
http {
    access_log /var/log/nginx/access.log;
    default_type text/plain;
    # The web names' servers take the plan's home/nginx-realip.conf (the
    # visitor's address from X-Forwarded-For); the XMPP web front does not.
    server {
        listen 80; listen [::]:80;
        include /etc/nginx/lab/nginx-realip.conf;
        location / { return 200 "home-web http host=\$host from=\$remote_addr\n"; }
    }
    server {
        listen 443 ssl; listen [::]:443 ssl;
        include /etc/nginx/lab/nginx-realip.conf;
        ssl_certificate $c/www.crt; ssl_certificate_key $c/www.key;
        location / { return 200 "home-web https host=\$host from=\$remote_addr\n"; }
    }
    server {
        listen 5080; listen [::]:5080;
        location /.well-known/acme-challenge/ { return 200 "home-acme host=\$host uri=\$uri\n"; }
        location / { return 200 "home-xmpp-web http host=\$host from=\$remote_addr\n"; }
    }
    server {
        listen 5443 ssl; listen [::]:5443 ssl;
        ssl_certificate $c/chat.crt; ssl_certificate_key $c/chat.key;
        location / { return 200 "home-xmpp-web https host=\$host from=\$remote_addr\n"; }
    }
}
stream {
    log_format pp 'pp client=\$proxy_protocol_addr:\$proxy_protocol_port port=\$server_port via=\$remote_addr';
    access_log /var/log/nginx/proxy-protocol.log pp;
    server {
        listen 15222 proxy_protocol; listen [::]:15222 proxy_protocol;
        proxy_pass 127.0.0.1:5222;
    }
    server {
        listen 15269 proxy_protocol; listen [::]:15269 proxy_protocol;
        proxy_pass 127.0.0.1:5269;
    }
}
EOF
}

# DNS zone file from the plan's dns.json (+ SOA/NS, which every zone needs).
# With PROXY4 PROXY6, proxied records answer with those addresses, as
# Cloudflare answers for a proxied name (the check group's cf stand-in).
zone_from_plan() { # DNS.JSON ORIGIN [PROXY4 PROXY6]
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
records, origin = json.load(open(sys.argv[1])), sys.argv[2]
proxy = {"A": sys.argv[3], "AAAA": sys.argv[4]} if len(sys.argv) > 4 else None
print(f"$ORIGIN {origin}.")
print(f"@ 300 IN SOA ns.example.net. hostmaster.example.net. 1 3600 600 86400 300")
print(f"@ 300 IN NS ns.example.net.")
for r in records:
    name = r["name"] + "."
    if r["type"] == "SRV":
        d = r["data"]
        rdata = f'{d["priority"]} {d["weight"]} {d["port"]} {d["target"]}.'
    elif r["type"] == "CNAME":
        rdata = r["content"] + "."
    elif proxy and r["proxied"]:
        rdata = proxy[r["type"]]
    else:
        rdata = r["content"]
    print(f'{name} {r["ttl"]} IN {r["type"]} {rdata}')
PY
}

setup_dns() {
  local d=$LAB/dns
  mkdir -p "$d"
  zone_from_plan "$LAB/plan/dns.json" example.com >"$d/example.com.zone"
  cat >"$d/example.net.zone" <<EOF
\$ORIGIN example.net.
@ 300 IN SOA ns.example.net. hostmaster.example.net. 1 3600 600 86400 300
@ 300 IN NS ns.example.net.
ns 300 IN A $DNS4
ns 300 IN AAAA $DNS6
peer 300 IN A $PEER4
peer 300 IN AAAA $PEER6
hs 300 IN A $CTL4
hs 300 IN AAAA $CTL6
acme 300 IN A $DNS4
acme 300 IN AAAA $DNS6
EOF
  cat >"$d/nsd.conf" <<EOF
server:
    ip-address: $DNS4
    ip-address: $DNS6
    port: 53
    username: ""
    chroot: ""
    zonesdir: "$d"
    database: ""
    pidfile: "/run/nsd.pid"
    xfrdfile: "/run/nsd-xfrd.state"
    xfrdir: "/run"
    zonelistfile: "/run/nsd-zone.list"
    logfile: "$LAB/logs/nsd.log"
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: example.com
    zonefile: example.com.zone
    provide-xfr: 203.0.113.0/26 NOKEY
    provide-xfr: 2001:db8:20::/64 NOKEY
zone:
    name: example.net
    zonefile: example.net.zone
EOF
  chmod -R a+rX "$d"
}

# build_net: the hosts, the lab internet and the DNS (no vps–home link yet).
build_net() {
  local h hosts=(client cf dns vps home peer attacker)
  [ "$TAILNET" = headscale ] && hosts+=(ctl)
  lab_log "building hosts and links"
  ip netns add "${LAB_PREFIX}inet"
  ip -n "${LAB_PREFIX}inet" link set lo up
  for h in "${hosts[@]}"; do etc_common "$h"; done
  # The vps's sshd runs with the plan's own drop-in (what cloud-init writes).
  (cd "$REPO" && "$REPO/node_modules/.bin/tsx" "$HERE/stack.ts" file --cloud-init "$LAB/plan/cloud-init.yaml" \
    --path /etc/ssh/sshd_config.d/10-xmpp-edge.conf --out "$LAB/sshd-dropin.conf") || return 1
  setup_vps_etc "$LAB/sshd-dropin.conf"
  [ "$TAILNET" != headscale ] || setup_ctl_etc
  # A fresh VPS has no /var/lib/xmpp-edge; the machine may (scripts/engine/env.sh
  # keeps Pulumi's home and state there): hide it from the vps (an overlay whiteout).
  if [ -e /var/lib/xmpp-edge ]; then
    mkdir -p "$LAB/hosts/vps/var_lib-up"
    mknod "$LAB/hosts/vps/var_lib-up/xmpp-edge" c 0 0
  fi
  for h in "${hosts[@]}"; do host_up "$h" || return 1; done

  link_internet "${hosts[@]}" || return 1
  ip netns exec "${LAB_PREFIX}inet" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  home_behind_nat
  spoof_blackholes || return 1
  # No ICMP error rate limit on the vps: the scan's "closed" (port unreachable)
  # answers for planned idle UDP ports must not be dropped by the kernel's limiter.
  ip netns exec "${LAB_PREFIX}vps" sysctl -q -w net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0

  start_dns && start_acme
}

# link_internet HOST...: the "internet": one router namespace, a /26 (and a
# /64) per host, each HOST linked to it (also test/vm, whose vps is a tap).
link_internet() {
  local h
  for h in "$@"; do
    case $h in
      vps) link_host vps "$VPS4/26" 198.51.100.1 "$VPS6/64" 2001:db8:10::1 ;;
      cf) link_host cf "$CF4/26" 198.51.100.65 "$CF6/64" 2001:db8:30::1 ;;
      dns) link_host dns "$DNS4/26" 198.51.100.129 "$DNS6/64" 2001:db8:53::1 ;;
      client) link_host client "$CLIENT4/26" 203.0.113.1 "$CLIENT6/64" 2001:db8:20::1 ;;
      peer) link_host peer "$PEER4/26" 203.0.113.65 "$PEER6/64" 2001:db8:70::1 ;;
      home) link_host home "$HOMEUP4/26" 203.0.113.129 "$HOMEUP6/64" 2001:db8:80::1 ;;
      attacker) link_host attacker "$ATTACKER4/26" 203.0.113.193 "$ATTACKER6/64" 2001:db8:66::1 ;;
      ctl) link_host ctl "$CTL4/26" 198.51.100.193 "$CTL6/64" 2001:db8:90::1 ;;
      *) echo "lab: link_internet: no addresses for host $h" >&2; return 1 ;;
    esac
  done
}

# home_behind_nat: the home uplink is behind NAT like any home: the lab
# router lets nothing from outside in (also test/vm).
home_behind_nat() {
  ip netns exec "${LAB_PREFIX}inet" nft -f - <<EOF
table inet lab_router {
    chain forward {
        type filter hook forward priority filter; policy accept;
        ct state established,related accept
        oifname "home" drop comment "home is behind NAT: no inbound connections"
    }
}
EOF
}

# spoof_blackholes: the replies to spoofed sources (the vps's SYN-ACKs, home's
# answers) end in the lab router, silently: no host gets them, nothing leaves.
spoof_blackholes() {
  ip -n "${LAB_PREFIX}inet" route add blackhole "$SPOOF4" &&
    ip -n "${LAB_PREFIX}inet" -6 route add blackhole "$SPOOF6"
}

# start_dns: the lab zones (setup_dns, from LAB/plan/dns.json) served by nsd
# on the dns host (also test/vm).
start_dns() {
  setup_dns
  bg dns "$LAB/logs/nsd.out" nsd -d -c "$LAB/dns/nsd.conf"
  wait_for 20 listening dns udp 53 || { echo "lab: dns udp 53 is not listening" >&2; return 1; }
}

# start_acme: pebble (Debian's package) on the dns host as the lab's ACME
# server, resolving through the lab's nsd (so the TURN name's HTTP-01
# challenge goes wherever the zone points it: the edge), its HTTPS under the
# lab CA; its root (a new one each start) is written to LAB/pki/acme-root.pem
# and, with the lab CA, to LAB/pki/trust.pem, which clients that judge the
# TURN name's certificate trust (also test/vm).
start_acme() {
  local d=$LAB/acme
  mkdir -p "$d"
  cp "$LAB/pki/acme.crt" "$LAB/pki/acme.key" "$d/"
  cat >"$d/config.json" <<EOF
{"pebble": {"listenAddress": "0.0.0.0:14000", "managementListenAddress": "0.0.0.0:15000",
  "certificate": "$d/acme.crt", "privateKey": "$d/acme.key", "httpPort": 80, "tlsPort": 443,
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
  # No random sleep before a validation, no rejected nonces: certbot's run stays short.
  bg dns "$LAB/logs/pebble.out" env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 pebble -config "$d/config.json" -dnsserver "$DNS4:53"
  wait_for 20 listening dns tcp 15000 || { echo "lab: pebble is not listening" >&2; return 1; }
  if ! on dns curl -sS --fail --max-time 5 --cacert "$LAB/pki/ca.crt" "https://$ACME_NAME:15000/roots/0" >"$LAB/pki/acme-root.pem" ||
    ! grep -q "BEGIN CERTIFICATE" "$LAB/pki/acme-root.pem"; then
    echo "lab: no root from pebble" >&2
    return 1
  fi
  cat "$LAB/pki/ca.crt" "$LAB/pki/acme-root.pem" >"$LAB/pki/trust.pem"
}

# start_forward_targets: home's targets of the plan's extraForwards (also test/vm):
# a UDP echo and TCP greeters that name the port and the source they see.
start_forward_targets() {
  local p
  mkdir -p "$LAB/bin"
  cat >"$LAB/bin/greet" <<'SH'
#!/bin/sh
# socat's responder at home: names the service and the source address it sees.
from=$(/usr/bin/python3 -c 'import ipaddress, sys
a = ipaddress.ip_address(sys.argv[1].strip("[]"))
print(getattr(a, "ipv4_mapped", None) or a)' "$SOCAT_PEERADDR")
printf 'home-%s from=%s' "$1" "$from"
if [ "${2:-}" = echo ]; then printf ' got='; exec cat; fi
echo
SH
  chmod 0755 "$LAB/bin/greet"
  bg home "$LAB/logs/home-udp.out" socat UDP6-RECVFROM:64738,ipv6only=0,fork EXEC:"$LAB/bin/greet udp-64738 echo"
  # 6200 is forwarded by no plan: under the tailnet policy the vps cannot reach it.
  for p in 7000 7001 7002 6100 6200; do
    bg home "$LAB/logs/home-tcp-$p.out" socat TCP6-LISTEN:$p,ipv6only=0,reuseaddr,fork EXEC:"$LAB/bin/greet tcp-$p"
  done
}

# start_turn_peer: the TURN peer on peer, echoing what the relay sends it (also test/vm).
start_turn_peer() {
  bg peer "$LAB/logs/turn-peer.out" turnutils_peer -p 3480 -L "$PEER4" -L "$PEER6"
}

# build_services: home, peer and the vps's sshd (after the plan is rendered:
# home's Prosody and nginx take the plan's home snippets).
build_services() {
  start_home_peer || return 1
  bg vps "$LAB/logs/sshd.out" /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config
  wait_for 20 listening vps tcp 22 || { echo "lab: vps tcp 22 is not listening" >&2; return 1; }
}

# start_home_peer: home's Prosody and nginx (with the good push's home
# snippets), peer's Prosody, the forward targets and the TURN peer (also test/vm).
start_home_peer() {
  # The hosts are up, their /etc overlays mounted: what depends on the plan is
  # staged in etc-add and copied in through the host's own /etc (a change to
  # an overlay's lower dir while it is mounted need not show).
  local h
  setup_prosody home "$DOMAIN" chat "$LAB/push/good/home/prosody.cfg.lua"
  setup_prosody peer "$PEER_DOMAIN" peer ""
  mkdir -p "$LAB/hosts/home/etc-add/nginx/lab"
  cp "$LAB/pki/chat.crt" "$LAB/pki/chat.key" "$LAB/pki/www.crt" "$LAB/pki/www.key" "$LAB/hosts/home/etc-add/nginx/lab/"
  cp "$LAB/push/good/home/nginx-realip.conf" "$LAB/hosts/home/etc-add/nginx/lab/"
  home_nginx_conf >"$LAB/hosts/home/etc-add/nginx/nginx.conf"
  for h in home peer; do on "$h" cp -a "$LAB/hosts/$h/etc-add/." /etc/ || return 1; done

  # Each Prosody logs into its own host's /var/log (an overlay of the
  # machine's): start from an empty prosody directory there, so files a
  # Prosody run as root on the machine left behind (root-owned, not writable
  # by the prosody user) cannot silence the hosts' logs the checks read.
  for h in home peer; do
    on "$h" sh -c 'rm -rf /var/log/prosody && install -d -o prosody -g adm -m 0750 /var/log/prosody' || return 1
  done
  lab_log "starting home and peer"
  # Accounts: bob and carol at home, alice at the peer.
  on home prosodyctl register bob "$DOMAIN" "$PW" >/dev/null
  on home prosodyctl register carol "$DOMAIN" "$PW" >/dev/null
  on peer prosodyctl register alice "$PEER_DOMAIN" "$PW" >/dev/null
  bg home "$LAB/logs/home-prosody.out" runuser -u prosody -- prosody -F
  bg peer "$LAB/logs/peer-prosody.out" runuser -u prosody -- prosody -F
  on home nginx
  start_forward_targets
  start_turn_peer

  local what
  for what in "home tcp 5222" "home tcp 5223" "home tcp 5269" "home tcp 5270" "home tcp 5000" \
    "home tcp 443" "home tcp 5443" "home tcp 15222" "home udp 64738" "home tcp 7001" "home tcp 6100" \
    "peer tcp 5269" "peer tcp 5222" "peer udp 3480" "peer udp 3480"; do
    # shellcheck disable=SC2086
    wait_for 20 listening $what || { echo "lab: $what is not listening" >&2; return 1; }
  done
}

# build_lab: everything before the tests, in the order the pieces need.
build_lab() {
  build_net || return 1
  if [ "$TAILNET" = headscale ]; then
    headscale_up && render_plan && vps_join || return 1
  else
    standin_up && render_plan || return 1
  fi
  render_pushes || return 1
  [ "$TAILNET" != headscale ] || headscale_policy || return 1
  build_services && ts_snapshot
}
