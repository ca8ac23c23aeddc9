# shellcheck shell=bash
# The bench's third phase (sourced by bench/run.sh after bench/lib.sh and
# test/lab/tailnet.sh): the 443 and DNAT paths again, over the real tailnet.
#
# The veth stand-in between vps and home is swapped for what a deployment
# has: Headscale on a ctl host (test/lab/tailnet.sh's configuration, its own
# DERP only), tailscaled (TUN tailscale0, userspace WireGuard, firewall mode
# nftables) on vps and home, both on the lab internet so WireGuard goes
# direct over UDP (checked, not assumed), and the masquerade stack's
# tailscaleAclSnippet as Headscale's policy. The vps joins first, so
# Headscale's sequential allocation gives both ends the stand-in's addresses
# (checked): the pushed edge and the bench's paths stay as they were.
#
# Direct path on the tailnet: WireGuard only carries a peer's own tailnet
# addresses (unless it is an approved subnet router), so a client's packet
# cannot reach home with its own source address. The direct path here is
# kernel forwarding plus a masquerade onto tailscale0 (in a table of the
# bench's own): exactly the DNAT path without the DNAT, so every ratio is
# still "what the edge's processing costs", now on top of WireGuard.

TS_FW=nftables # tailscaled's firewall mode (test/lab/tailnet.sh reads it)
HOMEUP4=203.0.113.130 HOMEUP6=2001:db8:80::80 # home's uplink, the lab's addresses (test/lab/setup.sh)
# Headscale's configuration names a global resolver; the bench has none, and
# the hosts join with --accept-dns=false (these are the lab DNS's addresses).
# shellcheck disable=SC2034 # read by test/lab/tailnet.sh's setup_ctl_etc
DNS4=198.51.100.130 DNS6=2001:db8:53::53

# tailnet_trust NAME: the host resolves Headscale's name and trusts the bench CA (Go reads the system bundle).
tailnet_trust() {
  on "$1" sh -c "printf '%s %s\n%s %s\n' '$CTL4' '$HS_NAME' '$CTL6' '$HS_NAME' >>/etc/hosts" &&
    on "$1" sh -c "cat /etc/ssl/certs/ca-certificates.crt '$LAB/pki/ca.crt' >/etc/ssl/certs/ca-bundle.tmp && mv /etc/ssl/certs/ca-bundle.tmp /etc/ssl/certs/ca-certificates.crt"
}

# tailnet_join NAME KEY: tailscale up against Headscale; prints nothing, logs to LAB/logs.
tailnet_join() {
  ON_TIMEOUT=60 on "$1" tailscale up --login-server="$HS_URL" --auth-key="$2" --hostname="$1" --accept-dns=false \
    >"$LAB/logs/join-$1.log" 2>&1 || { echo "bench: $1 did not join the tailnet: $(tail -n 5 "$LAB/logs/join-$1.log")" >&2; return 1; }
}

# tailnet_direct: WireGuard between vps and home goes direct (not through
# Headscale's DERP relay); records what tailscale ping said.
tailnet_direct() {
  local out
  for _ in $(seq 20); do
    out=$(ON_TIMEOUT=15 on vps tailscale ping -c 3 --timeout 2s "$HOME_TS4" 2>&1)
    if grep -q "pong from home .* via $HOMEUP4:" <<<"$out" || grep -q "pong from home .* via \[$HOMEUP6\]:" <<<"$out"; then
      TAILNET_PATH=$(grep -m1 'pong from' <<<"$out")
      return 0
    fi
    sleep 1
  done
  echo "bench: WireGuard vps -> home did not go direct within 20 tries: $(tail -n 3 <<<"$out")" >&2
  return 1
}

# tailnet_swap: the stand-in out, the real tailnet in, the edge pushed again.
tailnet_swap() {
  local home_key vps_key h
  tailnet_bins || return 1
  # The stand-in's link and the tailscaled-like tables loaded by hand.
  ip -n "${LAB_PREFIX}vps" link del tailscale0 || return 1
  on vps nft delete table ip filter && on vps nft delete table ip nat &&
    on vps nft delete table ip6 filter && on vps nft delete table ip6 nat || return 1
  # home on the lab internet (WireGuard's UDP goes over it), ctl for Headscale.
  link_host home "$HOMEUP4/26" 203.0.113.129 "$HOMEUP6/64" 2001:db8:80::1 || return 1
  host_etc ctl
  setup_ctl_etc
  host_up ctl || return 1
  link_host ctl "$CTL4/26" 198.51.100.193 "$CTL6/64" 2001:db8:90::1 || return 1

  headscale_start || return 1
  vps_key=$(hs_key --tags "$EDGE_TAG") && home_key=$(hs_key --user "$HS_UID") || return 1
  for h in vps home; do
    tailnet_trust "$h" && tailnet_install "$h" || return 1
    ts_start "$h" "$LAB/logs/tailscaled-$h.log" || { echo "bench: tailscaled on $h did not start: $(tail -n 5 "$LAB/logs/tailscaled-$h.log")" >&2; return 1; }
  done
  tailnet_join vps "$vps_key" && tailnet_join home "$home_key" || return 1
  local got
  got="vps $(on vps tailscale ip -4) $(on vps tailscale ip -6), home $(on home tailscale ip -4) $(on home tailscale ip -6)"
  if [ "$got" != "vps $VPS_TS4 $VPS_TS6, home $HOME_TS4 $HOME_TS6" ]; then
    echo "bench: Headscale gave $got; the pushed edge and the paths expect vps $VPS_TS4 $VPS_TS6, home $HOME_TS4 $HOME_TS6" >&2
    return 1
  fi
  headscale_policy "$LAB/push/good/tailnet-acl.json" >/dev/null || return 1
  tailnet_direct || return 1
  log "tailnet: vps $VPS_TS4 and home $HOME_TS4 joined Headscale; $TAILNET_PATH"

  # The masquerade stack again (phase 2 left the proxy-protocol one), the
  # bench's rules, and the direct path's masquerade (see the top of the file).
  cp_push tailnet-restore "$LAB/push/good" || return 1
  bench_nft_rules || return 1
  on vps nft -f - <<EOF || return 1
table ip bench_direct {
    chain postrouting {
        type nat hook postrouting priority srcnat + 1; policy accept;
        oifname "tailscale0" ip saddr { $CLIENT4, $SRC_RANGE } ct status & dnat == 0 masquerade comment "bench: the direct path onto the tailnet"
    }
}
EOF
  paths_answer 10 "direct-tcp dnat" "direct-tls nginx-alpn haproxy" "direct-udp dnat-udp" ||
    { echo "bench: over the real tailnet" >&2; return 1; }
  {
    printf 'tailnet_link=%s\n' "WireGuard (tailscaled $(on vps tailscale version | head -n 1), userspace, TUN tailscale0, firewall mode $TS_FW) through Headscale $(hs version 2>/dev/null | grep -o 'v[0-9][0-9.]*' | head -n 1)"
    printf 'tailnet_path=%s\n' "$TAILNET_PATH"
  } >>"$RES/meta.env"
  footprint_snapshot idle-tailnet
}

phase_tailnet() {
  local rep p
  log "data path, phase 3 (the real tailnet between vps and home): $REPS repetitions x ${SECS} s per measurement"
  record_load phase3-start
  for ((rep = 1; rep <= REPS; rep++)); do
    log "repetition $rep/$REPS (load $(load1))"
    for p in $(rotated "$rep" direct-tcp dnat); do
      measure tput "$p" tailnet "$rep" "$BIN" tput -addr "$(addr_of "$p")" -secs "$SECS"
    done
    for p in $(rotated "$rep" direct-tls nginx-alpn haproxy); do
      measure tput-tls "$p" tailnet "$rep" "$BIN" tput -addr "$(addr_of "$p")" -secs "$SECS" "${TLS_ARGS[@]}"
    done
    for p in $(rotated "$rep" direct-tls nginx-alpn); do
      measure conns-c1 "$p" tailnet "$rep" "$BIN" conns -addr "$(addr_of "$p")" -secs "$SECS" -c 1 "${SPREAD[@]}" "${TLS_ARGS[@]}"
      measure "conns-c$CONNS_C" "$p" tailnet "$rep" "$BIN" conns -addr "$(addr_of "$p")" -secs "$SECS" -c "$CONNS_C" "${SPREAD[@]}" "${TLS_ARGS[@]}"
    done
    for p in $(rotated "$rep" direct-udp dnat-udp); do
      measure udp "$p" tailnet "$rep" "$BIN" udp -addr "$(addr_of "$p")" -secs "$SECS"
    done
  done
  record_load phase3-end
}
