# shellcheck shell=bash
# The link between vps and home (sourced by test/lab/run.sh after setup.sh).
#
# LAB_TAILNET=headscale (default): a real tailnet. Headscale (with its
#   embedded DERP server and STUN) runs in the ctl host on the lab internet
#   as https://hs.example.net (lab-CA certificate); vps and home run
#   tailscaled in TUN mode (tailscale0, port 41641, state in the host's own
#   /var/lib/tailscale, socket in its /run), with log uploads off. home joins
#   with a pre-auth key of user "lab"; the vps joins by running the plan's own
#   cloud-init join script (/usr/local/sbin/xmpp-edge-join) with a key tagged
#   tag:xmpp-edge in the file that script reads. tailscaled's firewall mode is
#   LAB_TS_FIREWALL (nftables or iptables, via TS_DEBUG_FIREWALL_MODE).
# LAB_TAILNET=stand-in: a veth pair named tailscale0 with fixed tailnet
#   addresses, and tailscaled-like tables loaded by hand on the vps.
#
# Nothing here reaches outside the lab: Headscale has no DERP map URLs and no
# update check; tailscaled has --no-logs-no-support; the only DERP server is
# Headscale's own.

HS_NAME=hs.example.net
HS_URL=https://$HS_NAME
CTL4=198.51.100.200 CTL6=2001:db8:90::90
HS_USER=lab
EDGE_TAG=tag:xmpp-edge

# tailnet_word: the closing line's first word (the link the run used).
tailnet_word() {
  case $TAILNET in
    stand-in) echo veth-standin ;;
    *) echo "headscale-$TS_FW" ;;
  esac
}

# tailnet_bins: where build-tailnet.sh keeps tailscaled, tailscale, headscale.
tailnet_bins() {
  TSBIN=$(bash "$REPO/scripts/lab/build-tailnet.sh" --print) || return 1
  local b
  for b in tailscaled tailscale headscale; do
    [ -x "$TSBIN/$b" ] || { echo "test/lab/run.sh: $TSBIN/$b missing; run scripts/lab/install-deps.sh (it builds them: scripts/lab/build-tailnet.sh)" >&2; return 1; }
  done
}

# ---- stand-in ------------------------------------------------------------------

standin_up() {
  VPS_TS4=100.64.0.1 VPS_TS6=fd7a:115c:a1e0::1
  HOME_TS4=100.64.0.2 HOME_TS6=fd7a:115c:a1e0::2
  standin_link "$VPS_TS4" "$VPS_TS6" "$HOME_TS4" "$HOME_TS6" || return 1
  # tailscaled's own rules as its nftables mode lays them out (tables ip/ip6
  # filter and nat, base chains INPUT/FORWARD/POSTROUTING jumping to ts-*; not
  # the ts-filter/ts-nat tables of tailscaled 1.48): the apply must never touch them.
  on vps nft -f - <<EOF
$(standin_ts_rules ip "ip saddr" 100.64.0.0/10 "$VPS_TS4")
$(standin_ts_rules ip6 "ip6 saddr" fd7a:115c:a1e0::/48 "$VPS_TS6")
EOF
}


# ---- Headscale --------------------------------------------------------------------

# Written before the ctl host comes up (its etc-lower is the overlay's lower dir).
setup_ctl_etc() {
  local e=$LAB/hosts/ctl/etc-lower/headscale
  mkdir -p "$e"
  cp "$LAB/pki/hs.crt" "$e/tls.crt"
  install -m 0600 "$LAB/pki/hs.key" "$e/tls.key"
  cat >"$e/config.yaml" <<EOF
# xmpp-edge lab: Headscale on ctl ($CTL4, $CTL6) as $HS_URL (lab CA).
server_url: $HS_URL
listen_addr: "[::]:443"
metrics_listen_addr: 127.0.0.1:9090
grpc_listen_addr: 127.0.0.1:50443
grpc_allow_insecure: false
tls_cert_path: /etc/headscale/tls.crt
tls_key_path: /etc/headscale/tls.key
noise:
  private_key_path: /var/lib/headscale/noise_private.key
prefixes:
  v4: 100.64.0.0/10
  v6: fd7a:115c:a1e0::/48
  allocation: sequential
# Only Headscale's own DERP server (and STUN on 3478); no DERP map from outside.
derp:
  server:
    enabled: true
    region_id: 999
    region_code: lab
    region_name: xmpp-edge lab
    verify_clients: true
    stun_listen_addr: "0.0.0.0:3478"
    private_key_path: /var/lib/headscale/derp_server_private.key
    automatically_add_embedded_derp_region: true
    ipv4: $CTL4
    ipv6: $CTL6
  urls: []
  paths: []
  auto_update_enabled: false
disable_check_updates: true
database:
  type: sqlite
  sqlite:
    path: /var/lib/headscale/db.sqlite
    write_ahead_log: true
log:
  level: info
  format: text
# The policy lives in the database: none (allow all) until the lab sets the
# stack's tailscaleAclSnippet with \`headscale policy set\` (headscale_policy).
policy:
  mode: database
# MagicDNS as Headscale ships it, with the lab DNS as the global resolver:
# tailscaled points each host's /etc/resolv.conf at 100.100.100.100, which
# forwards to the lab DNS. (With magic_dns off but a base_domain, tailscaled
# writes a resolv.conf with only "search ts.example.net" and no nameserver.)
dns:
  magic_dns: true
  base_domain: ts.example.net
  override_local_dns: true
  nameservers:
    global:
      - $DNS4
      - $DNS6
unix_socket: /run/headscale/headscale.sock
unix_socket_permission: "0770"
logtail:
  enabled: false
EOF
}

hs() { on ctl headscale "$@"; }

# ts_start NAME LOG: tailscaled in TUN mode in host NAME, in the background.
ts_start() {
  bg "$1" "$2" env TS_NO_LOGS_NO_SUPPORT=1 TS_DEBUG_FIREWALL_MODE="$TS_FW" \
    /usr/local/sbin/tailscaled --tun=tailscale0 --port="$TS_PORT" --statedir=/var/lib/tailscale \
    --socket=/run/tailscale/tailscaled.sock --no-logs-no-support
  wait_for 20 on "$1" test -S /run/tailscale/tailscaled.sock
}
# (grep on the whole text: grep -q on a pipe may exit first and, under pipefail, the writer's SIGPIPE fails the check)
ts_running() { grep -q '"BackendState": "Running"' <<<"$(on "$1" tailscale status --json 2>/dev/null)"; }
ts_pid() { on "$1" pgrep -x tailscaled; }

tailnet_install() { # NAME: the binaries where Debian's tailscale package would put them (/usr/local here)
  on "$1" mkdir -p /usr/local/bin /usr/local/sbin &&
    on "$1" ln -sfn "$TSBIN/tailscale" /usr/local/bin/tailscale &&
    on "$1" ln -sfn "$TSBIN/tailscaled" /usr/local/sbin/tailscaled
}

# headscale_start: Headscale on ctl (its files from setup_ctl_etc) and its
# user HS_USER; sets HS_UID (also bench/tailnet.sh).
headscale_start() {
  on ctl mkdir -p /var/lib/headscale /run/headscale
  on ctl ln -sfn "$TSBIN/headscale" /usr/local/bin/headscale
  bg ctl "$LAB/logs/headscale.log" headscale serve
  wait_for 20 hs users list || { echo "lab: headscale did not come up: $(tail -n 20 "$LAB/logs/headscale.log")" >&2; return 1; }
  hs users create "$HS_USER" >/dev/null || return 1
  HS_UID=$(hs users list -o json | /usr/bin/python3 -c 'import json,sys; print([u["id"] for u in json.load(sys.stdin) if u["name"] == sys.argv[1]][0])' "$HS_USER")
}

# hs_key --user ID | --tags TAG: a single-use pre-auth key valid for an hour.
hs_key() {
  hs preauthkeys create "$@" --expiration 1h -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}

# headscale_up: Headscale on ctl, tailscaled on vps and home, home joined.
# Sets HOME_TS4/HOME_TS6 and HS_VPS_KEY (the single-use key for the vps).
headscale_up() {
  lab_log "tailnet: headscale on ctl, tailscaled ($TS_FW) on vps and home"
  headscale_start || return 1
  local home_key
  home_key=$(hs_key --user "$HS_UID") || return 1
  # The edge's key: single use, tagged as the stack's tailscaleTags say.
  HS_VPS_KEY=$(hs_key --tags "$EDGE_TAG") || return 1
  local h hosts=(vps home)
  # test/vm: the vps is a VM whose own tailscaled.service starts at its join.
  [ "${LAB_VPS:-ns}" != vm ] || hosts=(home)
  for h in "${hosts[@]}"; do
    tailnet_install "$h" || return 1
    ts_start "$h" "$LAB/logs/tailscaled-$h.log" || { echo "lab: tailscaled on $h did not start: $(tail -n 20 "$LAB/logs/tailscaled-$h.log")" >&2; return 1; }
  done
  ON_TIMEOUT=60 on home tailscale up --login-server="$HS_URL" --auth-key="$home_key" --hostname=home \
    >"$LAB/logs/join-home.log" 2>&1 || { echo "lab: home did not join: $(cat "$LAB/logs/join-home.log")" >&2; return 1; }
  HOME_TS4=$(on home tailscale ip -4) HOME_TS6=$(on home tailscale ip -6)
  if [ -z "$HOME_TS4" ] || [ -z "$HOME_TS6" ]; then echo "lab: home has no tailnet addresses" >&2; return 1; fi
  lab_log "tailnet: home joined as $HOME_TS4, $HOME_TS6"
}

# vps_join: the plan's cloud-init join, run inside the vps as cloud-init would.
vps_join() {
  local j=$LAB/join path keyfile mode
  (cd "$REPO" && "$REPO/node_modules/.bin/tsx" "$HERE/stack.ts" join --cloud-init "$LAB/plan/cloud-init.yaml" --out-dir "$j") || return 1
  path=$(cat "$j/join-path") keyfile=$(cat "$j/authkey-path") mode=$(cat "$j/authkey-mode")
  on vps mkdir -p "$(dirname "$path")" "$(dirname "$keyfile")"
  on vps install -m 0755 /dev/stdin "$path" <"$j/join" || return 1
  printf '%s' "$HS_VPS_KEY" | on vps install -m "$mode" /dev/stdin "$keyfile" || return 1
  lab_log "tailnet: vps runs $path (the plan's cloud-init join; key in $keyfile)"
  ON_TIMEOUT=90 on vps "$path" >"$LAB/logs/join-vps.log" 2>&1 || { echo "lab: the vps's join script failed: $(cat "$LAB/logs/join-vps.log")" >&2; return 1; }
  VPS_TS4=$(on vps tailscale ip -4) VPS_TS6=$(on vps tailscale ip -6)
  if [ -z "$VPS_TS4" ] || [ -z "$VPS_TS6" ]; then echo "lab: the vps has no tailnet addresses" >&2; return 1; fi
  lab_log "tailnet: vps joined as $VPS_TS4, $VPS_TS6"
  # Until the first direct path or DERP relay works, nothing can cross.
  ON_TIMEOUT=40 on vps tailscale ping --until-direct=false -c 30 --timeout 1s "$HOME_TS4" >"$LAB/logs/ping-setup.log" 2>&1 ||
    { echo "lab: tailscale ping vps -> home failed: $(tail -n 5 "$LAB/logs/ping-setup.log")" >&2; return 1; }
}

# headscale_policy: the stack's tailscaleAclSnippet (render.ts writes it) as
# Headscale's policy, with the one thing Headscale needs besides: an owner for
# the edge's tag (the snippet leaves tagOwners out for Headscale, which has no
# autogroup:admin). From then on the vps may reach home only on the ports the
# plan forwards; the suite runs under it.
headscale_policy() { # [SNIPPET]: default the masquerade stack's
  local acl=${1:-$LAB/push/good/tailnet-acl.json} p=$LAB/hs-policy.json
  /usr/bin/python3 - "$acl" "$EDGE_TAG" "$HS_USER@" >"$p" <<'PY' || return 1
import json, sys
policy = json.load(open(sys.argv[1]))
policy["tagOwners"] = {sys.argv[2]: [sys.argv[3]]}
print(json.dumps(policy, indent=2))
PY
  if ! { hs policy check -f "$p" && hs policy set -f "$p"; } >>"$LAB/logs/hs-policy.log" 2>&1; then
    WHY="Headscale refused the policy $p: $(tail -n 5 "$LAB/logs/hs-policy.log")"
    echo "lab: $WHY" >&2
    return 1
  fi
  lab_log "tailnet: Headscale's policy is ${acl#"$LAB"/} (+ tagOwners $EDGE_TAG: $HS_USER@)"
}

# ---- tailscaled's rules on the vps (both links) -------------------------------------

# ts_rules: every table on the vps but ours, rules without counters, chains
# sorted by name (a restarted tailscaled creates the same chains in another
# order in iptables mode; the order of the rules inside a chain is kept).
ts_rules() {
  on vps nft list tables | grep -v -e "^table inet xmpp_edge$" -e lab_probe | sort | while read -r _ fam name; do
    echo "## $fam $name"
    on vps nft -s list table "$fam" "$name" 2>&1 | /usr/bin/python3 -c '
import sys
chains, cur, other = {}, None, []
for line in sys.stdin:
    s = line.strip()
    if s.startswith("chain ") and s.endswith("{"):
        cur = s.split()[1]
        chains[cur] = []
    elif cur is not None and s == "}":
        cur = None
    elif cur is not None:
        if s:
            chains[cur].append(s)
    elif s and not s.startswith("table ") and s != "}":
        other.append(s)
for n in sorted(chains):
    print("chain", n, "{", *("\n  " + r for r in chains[n]), "\n}")
for o in other:
    print(o)
'
  done
}
# ts_chains: tailscaled's chains and the jumps to them exist (ip and ip6).
ts_chains() {
  local fam c table base chain rules
  for fam in ip ip6; do
    for c in "filter INPUT ts-input" "filter FORWARD ts-forward" "nat POSTROUTING ts-postrouting"; do
      read -r table base chain <<<"$c"
      on vps nft list chain "$fam" "$table" "$chain" >/dev/null 2>&1 || { WHY="${WHY}no chain $fam $table $chain; "; return 1; }
      # The whole listing first: `nft | grep -q` under pipefail fails when grep quits before nft has written all.
      rules=$(on vps nft list chain "$fam" "$table" "$base" 2>/dev/null)
      grep -q "jump $chain" <<<"$rules" || { WHY="${WHY}no jump $chain in $fam $table $base; "; return 1; }
    done
  done
}
ts_snapshot() { ts_rules >"$LAB/ts-rules.before"; }
