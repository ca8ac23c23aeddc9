# shellcheck shell=bash disable=SC2317,SC2015,SC2034
# (SC2317: check functions run through `check`; SC2015: A && B || C is meant; SC2034: WHY is read by `check`.)
# The lab's "check" group (sourced by test/lab/run.sh after tests.sh):
# `npm run check` (scripts/check.ts) runs on the client against the lab's
# DNS and edge with the lab's CA and passes; then the lab is broken one way
# at a time, the check must fail with the right row and words, and the lab
# is restored after each. See test/lab/README.md.

CHECK_N=0
CHECK_OUT=""
CHECK_WRONG_SECRET=wrong-$TURN_SECRET

# on_client_net CMD...: CMD in the client's network namespace, with the
# machine's files: the checkout (and its node_modules) may lie under /tmp,
# which every lab host hides behind a fresh tmpfs (a CI clone does). The
# check needs the client's network only: it is given the resolver and the CA.
on_client_net() {
  timeout --kill-after=5 "${ON_TIMEOUT:-60}" nsenter -t "${HOLDER[client]}" -n -- "$@"
}

# run_check [VAR=VALUE...]: the check on the client as a user runs it; output in CHECK_OUT (JSON).
# The secrets reach it through the environment, as --turn-secret-env and --password-env say.
run_check() {
  CHECK_N=$((CHECK_N + 1))
  CHECK_OUT=$LAB/logs/check-$CHECK_N.json
  ON_TIMEOUT=90 on_client_net env XEC_TURN_SECRET="$TURN_SECRET" XEC_PASSWORD="$PW" "$@" \
    "$REPO/node_modules/.bin/tsx" "$REPO/scripts/check.ts" --config "$LAB/stacks/Pulumi.lab.yaml" \
    --vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6" --resolver "$DNS4" --ca "$LAB/pki/trust.pem" \
    --turn-secret-env XEC_TURN_SECRET --account "bob@$DOMAIN" --password-env XEC_PASSWORD \
    --allow-documentation-addresses --json >"$CHECK_OUT" 2>"$CHECK_OUT.err"
}

# check_rows STATUS: "name | seen" of every row with that status.
check_rows() {
  /usr/bin/python3 - "$CHECK_OUT" "$1" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    if r["status"] == sys.argv[2]:
        print(f'{r["name"]} | {r["seen"]}')
PY
}

# check_all_pass: every row passes (SSH is not judged with sshAllowFrom CIDRs;
# nothing else may be skipped: the secret and the account are given).
check_all_pass() {
  local rc=0 skipped total
  run_check || rc=$?
  if [ "$rc" -ne 0 ]; then WHY="exit $rc: $(head -c 2000 "$CHECK_OUT.err") $(check_rows fail)"; return 1; fi
  skipped=$(check_rows skip | grep -v '^SSH on ')
  [ -z "$skipped" ] || { WHY="skipped although everything was given: $skipped"; return 1; }
  total=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["results"]), round(d["totalMs"]/1000, 1))' "$CHECK_OUT")
  lab_log "check: ${total% *} rows in ${total#* } s (log: $CHECK_OUT)"
}

# check_fails NAME-REGEX SEEN-REGEX [VAR=VALUE...]: the check exits 1 and a failed row matches both.
check_fails() {
  local name=$1 seen=$2 rc=0 rows
  shift 2
  run_check "$@" || rc=$?
  rows=$(check_rows fail)
  printf '%s\n' "$rows" | sed 's/^/#   ✗ /' | head -n 12
  [ "$rc" -eq 1 ] || { WHY="exit $rc, expected 1: $(head -c 1000 "$CHECK_OUT.err")"; return 1; }
  grep -E -- "$name.* \| .*$seen" <<<"$rows" >/dev/null || { WHY="no failed row /$name/ seeing /$seen/; failed: $rows"; return 1; }
}

# ---- the lab as the internet sees a deployed edge ------------------------------------

# dns_serve [PROXY4 PROXY6] [SED-EXPR]: nsd serves the plan's records (proxied
# names on the cf stand-in, as Cloudflare answers them), edited by SED-EXPR.
dns_serve() {
  local z=$LAB/dns/example.com.zone pid
  zone_from_plan "$LAB/plan/dns.json" example.com "$CF4" "$CF6" | sed -e "${1:-}" >"$z.new" && mv "$z.new" "$z"
  chmod a+r "$z"
  pid=$(on dns cat /run/nsd.pid 2>/dev/null) && on dns kill "$pid"
  wait_for 10 bash -c "! ip netns exec ${LAB_PREFIX}dns ss -H -lun 'sport = :53' | grep -q ." || return 1
  bg dns "$LAB/logs/nsd.out" nsd -d -c "$LAB/dns/nsd.conf"
  wait_for 20 listening dns udp 53
}
dns_restore_plan() { # the zone exactly as t_dns compared it
  local z=$LAB/dns/example.com.zone pid
  zone_from_plan "$LAB/plan/dns.json" example.com >"$z"
  pid=$(on dns cat /run/nsd.pid 2>/dev/null) && on dns kill "$pid"
  wait_for 10 bash -c "! ip netns exec ${LAB_PREFIX}dns ss -H -lun 'sport = :53' | grep -q ." || return 1
  bg dns "$LAB/logs/nsd.out" nsd -d -c "$LAB/dns/nsd.conf"
  wait_for 20 listening dns udp 53
}

# The Cloudflare stand-in proxies: TCP 443 and 80 on cf to the edge (SNI
# passes through; the edge sees cf's address, which the origin lock admits).
cf_proxy_up() {
  mkdir -p "$LAB/cf"
  cat >"$LAB/cf/nginx.conf" <<EOF
# xmpp-edge lab: the Cloudflare stand-in's proxy for the check group
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
pid /run/nginx-cf.pid;
error_log $LAB/logs/cf-nginx.log warn;
events { worker_connections 128; }
stream {
    server { listen 443; listen [::]:443; proxy_pass $VPS4:443; }
    server { listen 80; listen [::]:80; proxy_pass $VPS4:80; }
}
EOF
  on cf nginx -c "$LAB/cf/nginx.conf" && wait_for 10 listening cf tcp 443
}
cf_proxy_down() { on cf nginx -c "$LAB/cf/nginx.conf" -s quit 2>/dev/null || true; }

# A certificate from the lab CA for a name that is not the domain.
other_cert() {
  local p=$LAB/pki
  [ -e "$p/other.crt" ] && return 0
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$p/other.key" -out "$p/other.csr" \
    -subj "/CN=other.example.org" 2>>"$LAB/logs/pki.log" &&
    printf 'subjectAltName=DNS:other.example.org\nextendedKeyUsage=serverAuth,clientAuth\n' >"$p/other.ext" &&
    openssl x509 -req -in "$p/other.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 2 \
      -extfile "$p/other.ext" -out "$p/other.crt" 2>>"$LAB/logs/pki.log"
}
# home_cert CERT-NAME: home's Prosody serves LAB/pki/CERT-NAME.{crt,key} for the
# domain (and share., whose certificate Prosody would otherwise pick for the
# domain too), restarted: it reads certificates at start.
home_cert() {
  local f pid
  for f in "$DOMAIN" "share.$DOMAIN"; do
    on home install -m 0644 "$LAB/pki/$1.crt" "/etc/prosody/certs/$f.crt" &&
      on home install -m 0640 -g prosody "$LAB/pki/$1.key" "/etc/prosody/certs/$f.key" || return 1
  done
  pid=$(on home cat /run/prosody/prosody.pid) && on home kill "$pid"
  wait_for 15 bash -c "! ip netns exec ${LAB_PREFIX}home ss -H -ltn 'sport = :5222' | grep -q ." || return 1
  bg home "$LAB/logs/home-prosody.out" runuser -u prosody -- prosody -F
  wait_for 20 listening home tcp 5222 && wait_for 20 listening home tcp 5223 && wait_for 20 listening home tcp 5270
}

# vps_nginx stop|start: the vps's nginx stopped and started again: by hand on
# the netns vps; through its unit under systemd (test/vm), where an nginx
# started by hand would leave nginx.service dead and the next apply's reload failing.
vps_nginx() {
  if [ "${LAB_VPS:-ns}" = vm ]; then
    on vps systemctl "$1" nginx
  elif [ "$1" = stop ]; then
    on vps nginx -s stop
  else
    on vps nginx
  fi
}
# vps_port_3306 start|stop: a listener on TCP 3306 on the vps (the VM, a fresh
# Debian, has no socat: Python's http.server as a transient unit).
vps_port_3306() {
  if [ "${LAB_VPS:-ns}" != vm ]; then
    if [ "$1" = start ]; then bg vps "$LAB/logs/check-extra-port.out" socat TCP6-LISTEN:3306,ipv6only=0,reuseaddr,fork EXEC:/bin/true
    else on vps pkill -f 'TCP6-LISTEN:3306' || true; fi
  elif [ "$1" = start ]; then
    on vps systemd-run --quiet --unit=xmpp-edge-lab-3306 --collect python3 -m http.server 3306 >/dev/null
  else
    on vps systemctl stop xmpp-edge-lab-3306 2>/dev/null || true
  fi
}

t_check() {
  section "check: npm run check on the client judges the edge (good lab, then one break at a time)"
  local tsx=$REPO/node_modules/.bin/tsx
  if ! cf_proxy_up || ! dns_serve; then
    not_ok "check: the cf stand-in proxies 443/80 and the DNS answers proxied names with it" "$(tail -n 5 "$LAB/logs/cf-nginx.log" 2>/dev/null)"
    return
  fi
  check "check: every check passes against the lab's edge (DNS, XMPP c2s/s2s on 443 and 5222/5269 with logins, STUN/TURN, web, ports)" check_all_pass
  ON_TIMEOUT=90 on_client_net "$tsx" "$REPO/scripts/check.ts" --config "$LAB/stacks/Pulumi.lab.yaml" --vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6" \
    --resolver "$DNS4" --ca "$LAB/pki/ca.crt" --allow-documentation-addresses >"$LAB/logs/check-good.txt" 2>&1 || true

  dns_serve '/^_xmpps-client\._tcp/d'
  check "check: a missing SRV record fails (_xmpps-client)" check_fails "SRV _xmpps-client\._tcp\.$DOMAIN" "no answer"
  dns_serve "s/^$DOMAIN\\. 300 IN A .*/$DOMAIN. 300 IN A $HOME_TS4/"
  check "check: a record pointing at the home address fails, naming it" check_fails "A $DOMAIN" "$HOME_TS4 is the home server's tailnet address"
  dns_serve

  vps_nginx stop
  check "check: nginx stopped fails XMPP on 443 (and the web, and port 443)" check_fails "$VPS4 443 direct TLS, ALPN xmpp-client" "ECONNREFUSED"
  vps_nginx start
  wait_for 10 listening vps tcp 443 || not_ok "check: nginx on the vps started again"

  check "check: a wrong TURN secret fails the allocation (401)" check_fails "TURN allocation on $VPS4" "401" XEC_TURN_SECRET="$CHECK_WRONG_SECRET"

  local common=(--vps-ipv4 "$VPS4" --vps-ipv6 "$VPS6" --vps-tailnet-ipv4 "$VPS_TS4" --turn-secret "$TURN_SECRET")
  if "$tsx" "$HERE/render.ts" --config "$LAB/stacks/Pulumi.lab.yaml" --out "$LAB/push/nolock" --set 'webOriginLock="off"' "${common[@]}" >/dev/null &&
    push "$LAB/push/nolock" && confirm; then
    check "check: the origin lock off fails (the edge answers a web name directly)" check_fails "https://$WEBNAME/ directly at $VPS4" "answered: HTTP 200"
  else
    not_ok "check: the lab pushed the edge with webOriginLock off" "$(tail -n 5 "$PUSH_OUT")"
  fi
  push "$GOOD" && confirm || not_ok "check: the good push is back" "$(tail -n 5 "$PUSH_OUT")"

  on vps nft insert rule inet xmpp_edge input tcp dport 3306 accept comment '"lab: extra port"'
  vps_port_3306 start
  wait_for 10 listening vps tcp 3306
  check "check: an extra open port fails (3306)" check_fails "TCP ports of $VPS4" "3306 open"
  local h
  h=$(on vps nft -a list chain inet xmpp_edge input | grep -F '"lab: extra port"' | grep -o 'handle [0-9]*' | cut -d' ' -f2)
  [ -z "$h" ] || on vps nft delete rule inet xmpp_edge input handle "$h"
  vps_port_3306 stop

  if other_cert && home_cert other; then
    check "check: a certificate for another name fails" check_fails "$VPS4 5222 STARTTLS" "certificate for other\.example\.org, not $DOMAIN"
  else
    not_ok "check: home serves a certificate for another name"
  fi
  home_cert chat

  check "check: the restored lab passes again" check_all_pass
  cf_proxy_down
  dns_restore_plan || not_ok "check: the DNS serves the plan's zone again"
}
