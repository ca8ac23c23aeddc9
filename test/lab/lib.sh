# shellcheck shell=bash
# The network lab's machinery (sourced by test/lab/run.sh and bench/run.sh):
# lab hosts, the topology, bounded waits, assertions. See test/lab/README.md.
#
# A lab host = network namespace "xel-NAME" + the holder of test/lib/lab-host.sh
# with its own PIDs (--own-pids): /etc an overlay of LAB/hosts/NAME/etc-lower
# (the host's own files) over /etc; /var/lib, /var/log, /usr/local overlays;
# fresh /run, /tmp, /var/tmp, /root; its own /proc. Writes land in
# LAB/hosts/NAME/*-up, never in the machine's directories.
# `on NAME CMD...` runs CMD inside (nsenter into all of them, bounded by timeout).
# Killing the holder (PID 1 of the host's PID namespace) ends every process
# started in the host: sshd, nginx, prosody, whatever the apply started.

# shellcheck source=test/lib/lab-host.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/lab-host.sh"

LAB_PREFIX=${LAB_PREFIX:-xel-}
LAB_HOSTS=()
declare -A HOLDER=()

lab_log() { printf '# %s\n' "$*"; }

# host_up NAME: create the namespaces of a lab host (its etc-lower must exist).
host_up() {
  local name=$1 ns=${LAB_PREFIX}$1 dir=$LAB/hosts/$1
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  LAB_HOSTS+=("$name")
  lab_host_start "$ns" "$dir" "$name" --own-pids || return 1
  HOLDER[$name]=$LAB_HOST_PID
  echo "$LAB_HOST_PID" >"$dir/holder.pid"
}

# on NAME CMD...: run CMD in lab host NAME, bounded (ON_TIMEOUT, default 60 s).
on() {
  local name=$1
  shift
  timeout --kill-after=5 "${ON_TIMEOUT:-60}" nsenter -t "${HOLDER[$name]}" -n -m -p -u --wd=/ -- "$@"
}

# bg NAME LOG CMD...: start CMD in lab host NAME in the background, output to LOG.
# It ends with the host (cleanup kills the host's PID namespace).
bg() {
  local name=$1 log=$2
  shift 2
  nsenter -t "${HOLDER[$name]}" -n -m -p -u --wd=/ -- setsid "$@" </dev/null >"$log" 2>&1 &
  disown $!
}

# lab_down: end every lab process and delete the namespaces (the mounts go
# with the last process of each mount namespace). LAB's files stay.
lab_down() {
  # shellcheck disable=SC2046 # one namespace name per word
  lab_ns_remove $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${LAB_PREFIX}" || true)
}

# lab_traps WORD DEFAULT-TIMEOUT: the run's traps (test/lab/run.sh, test/vm/run.sh).
# On exit: tear the lab down and delete LAB (LAB_KEEP=1: keep both and say how
# to tear down). On SIGINT/SIGTERM (LAB_TIMEOUT, default DEFAULT-TIMEOUT s,
# bounds a run): one failed assertion, the closing line "WORD: N passed, N
# failed", exit 130 (and the exit trap tears down).
lab_traps() {
  LAB_TRAP_WORD=$1 LAB_TRAP_TIMEOUT=$2
  trap lab_cleanup EXIT
  trap 'lab_interrupted SIGINT' INT
  trap 'lab_interrupted SIGTERM' TERM
}
lab_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "${LAB_KEEP:-0}" = 1 ]; then
    echo "# LAB_KEEP=1: namespaces ${LAB_PREFIX}* (and a VM in them) and $LAB kept; tear down with: $0 --down"
  else
    lab_down
    [ -d "$LAB" ] && rm -rf -- "$LAB"
  fi
  exit "$rc"
}
lab_interrupted() {
  not_ok "the $LAB_TRAP_WORD run finished (interrupted by $1; LAB_TIMEOUT=${LAB_TIMEOUT:-$LAB_TRAP_TIMEOUT} s bounds the whole run)"
  echo "$LAB_TRAP_WORD: $PASS passed, $FAIL failed"
  exit 130
}

# ---- topology --------------------------------------------------------------

# cgnat_stand_in on|off: a home behind a NAT that no UDP path gets through (a
# carrier NAT): the lab router drops every UDP packet between home and the vps,
# so the tailnet can only use the DERP relay. Used by the derp tests and
# scripts/lab/tailnet-throughput.sh.
cgnat_stand_in() {
  if [ "$1" = on ]; then
    ip netns exec "${LAB_PREFIX}inet" nft -f - <<'EOF'
table inet lab_cgnat {
    chain forward {
        type filter hook forward priority filter - 10; policy accept;
        iifname "home" oifname "vps" meta l4proto udp drop
        iifname "vps" oifname "home" meta l4proto udp drop
    }
}
EOF
  else
    ip netns exec "${LAB_PREFIX}inet" nft delete table inet lab_cgnat 2>/dev/null || true
  fi
}

# setup_vps_etc [DROPIN]: the vps's sshd (its own host key LAB/keys/vps_host;
# only the deployer's key LAB/keys/authorized_keys) in its etc-lower. DROPIN:
# the plan's sshd drop-in (from its cloud-init), included first as Debian's
# sshd_config does, so its settings win.
setup_vps_etc() {
  local e=$LAB/hosts/vps/etc-lower/ssh include=""
  mkdir -p "$e"
  install -m 0600 "$LAB/keys/vps_host" "$e/ssh_host_ed25519_key"
  install -m 0644 "$LAB/keys/vps_host.pub" "$e/ssh_host_ed25519_key.pub"
  if [ -n "${1:-}" ]; then
    mkdir -p "$e/sshd_config.d"
    install -m 0644 "$1" "$e/sshd_config.d/10-xmpp-edge.conf"
    include="Include /etc/ssh/sshd_config.d/10-xmpp-edge.conf"
  fi
  cat >"$e/sshd_config" <<EOF
# xmpp-edge lab: sshd on the vps (its own host key; the deployer's key only)
$include
Port 22
ListenAddress 0.0.0.0
ListenAddress ::
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile $LAB/keys/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
LogLevel VERBOSE
Subsystem sftp internal-sftp
EOF
}

# standin_link VPS_TS4 VPS_TS6 HOME_TS4 HOME_TS6: the tailnet stand-in between
# vps and home: a veth pair named tailscale0 on both ends, tailnet addresses as
# tailscaled sets them (/32, /128 and routes to the ranges), MTU 1280.
standin_link() {
  ip -n "${LAB_PREFIX}vps" link add tailscale0 mtu 1280 type veth peer name tailscale0 netns "${LAB_PREFIX}home" mtu 1280 || return 1
  local h a4 a6
  for h in vps home; do
    a4=$1 a6=$2
    [ "$h" = home ] && a4=$3 a6=$4
    ip -n "${LAB_PREFIX}$h" addr add "$a4/32" dev tailscale0 &&
      ip -n "${LAB_PREFIX}$h" addr add "$a6/128" dev tailscale0 nodad &&
      ip -n "${LAB_PREFIX}$h" link set tailscale0 up &&
      ip -n "${LAB_PREFIX}$h" route add 100.64.0.0/10 dev tailscale0 &&
      ip -n "${LAB_PREFIX}$h" -6 route add fd7a:115c:a1e0::/48 dev tailscale0 || return 1
  done
}


# link_host NAME IPV4/LEN GW4 IPV6/LEN GW6: veth NAME:eth0 <-> inet:NAME
link_host() {
  local name=$1 a4=$2 gw4=$3 a6=$4 gw6=$5 ns=${LAB_PREFIX}$1 r=${LAB_PREFIX}inet
  ip -n "$r" link add "$name" type veth peer name eth0 netns "$ns"
  ip -n "$r" addr add "$gw4/${a4#*/}" dev "$name"
  ip -n "$r" addr add "$gw6/${a6#*/}" dev "$name" nodad
  ip -n "$r" link set "$name" up
  ip -n "$ns" addr add "$a4" dev eth0
  ip -n "$ns" addr add "$a6" dev eth0 nodad
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$gw4"
  ip -n "$ns" -6 route add default via "$gw6"
}

# ---- waits and assertions --------------------------------------------------

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds or time runs out.
wait_for() {
  local secs=$1 end
  shift
  end=$(($(date +%s%N) + secs * 1000000000))
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    [ "$(date +%s%N)" -lt "$end" ] || return 1
    sleep 0.2
  done
}

# listening NAME PROTO PORT: something listens on PORT in host NAME.
listening() {
  local flag=-ltn
  [ "$2" = udp ] && flag=-lun
  on "$1" ss -H "$flag" "sport = :$3" | grep -q .
}

PASS=0
FAIL=0
FAILED=()
WHY=""
ok() {
  PASS=$((PASS + 1))
  printf 'ok %d - %s\n' "$((PASS + FAIL))" "$1"
}
not_ok() {
  FAIL=$((FAIL + 1))
  FAILED+=("$1")
  printf 'not ok %d - %s\n' "$((PASS + FAIL))" "$1"
  [ -z "${2:-}" ] || printf '%s\n' "$2" | head -n 30 | sed 's/^/    # /'
}
# check DESC CMD...: one assertion; CMD may set WHY to explain a failure.
check() {
  local desc=$1
  shift
  WHY=""
  if "$@"; then ok "$desc"; else not_ok "$desc" "$WHY"; fi
  WHY=""
}
# section TITLE: a group's heading, with the seconds since the run began (the
# shell's SECONDS), so a run's log tells where its time goes (docs/testing.md).
section() { printf '# -- %s  [t+%d s]\n' "$*" "$SECONDS"; }

# ---- tailscaled's rules, for hosts without a real tailscaled ----------------------------

# tailscaled's WireGuard port (its default).
TS_PORT=41641

# tailscaled's own rules as its 1.102 nftables mode writes them: the lab's
# stand-in link and the bench load them beside ours, so forwarded packets pass
# them as on a real VPS.
standin_ts_rules() { # FAMILY SADDR-MATCH RANGE OWN-ADDRESS (as tailscaled 1.102's nftables mode writes them)
  local fwd_drop="" in_ret="" in_drop=""
  if [ "$1" = ip ]; then
    fwd_drop="oifname \"tailscale0*\" $2 $3 counter drop"
    in_ret="iifname != \"tailscale0*\" $2 100.115.92.0/23 counter return"
    in_drop="iifname != \"tailscale0*\" $2 $3 counter drop"
  fi
  cat <<EOF
table $1 filter {
    chain FORWARD { type filter hook forward priority filter; policy accept; counter jump ts-forward; }
    chain INPUT { type filter hook input priority filter; policy accept; counter jump ts-input; }
    chain ts-forward {
        iifname "tailscale0*" counter meta mark set meta mark & 0xff04ffff | 0x00040000
        meta mark & 0x00ff0000 == 0x00040000 counter accept
        $fwd_drop
        oifname "tailscale0*" counter accept
    }
    chain ts-input {
        iifname "lo*" $2 $4 counter accept
        iifname "tailscale0*" counter accept
        udp dport $TS_PORT counter accept
        $in_ret
        $in_drop
    }
}
table $1 nat {
    chain POSTROUTING { type nat hook postrouting priority srcnat; policy accept; counter jump ts-postrouting; }
    chain ts-postrouting { meta mark & 0x00ff0000 == 0x00040000 counter masquerade; }
}
EOF
}
