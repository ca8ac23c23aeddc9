# shellcheck shell=bash
# A lab host for the apply tests: test/lib/lab-host.sh's recipe (network
# namespace; /etc, /var/lib, /var/log, /usr/local overlays over the machine's
# own directories, writes landing in $LAB; fresh /run and /var/tmp) with the
# machine's PIDs, which the tests read and signal from outside. No systemd
# inside (/run/systemd/system is absent), so xmpp-edge-apply drives nginx and
# turnserver directly. Every lab command enters it with nsenter.
#
# Source it, then: lab_up; lab CMD...; lab_down (run.sh traps lab_down).

# shellcheck source=test/lib/lab-host.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../test/lib/lab-host.sh"

LAB=""
LAB_NS=""
LAB_HOLDER=""
LAB_VPS_IPV4=192.0.2.10
LAB_VPS_IPV6=2001:db8::10

lab_up() {
  LAB=$(mktemp -d /tmp/xmpp-edge-apply-lab.XXXXXX)
  LAB_NS=xea-lab-$$
  ip netns add "$LAB_NS"
  ip -n "$LAB_NS" link set lo up
  # The VPS's public interface: coturn binds the addresses the bundle names.
  ip link add "xea-h$$" type veth peer name eth0 netns "$LAB_NS"
  ip -n "$LAB_NS" link set eth0 up
  ip -n "$LAB_NS" addr add "$LAB_VPS_IPV4/24" dev eth0
  ip -n "$LAB_NS" addr add "$LAB_VPS_IPV6/64" dev eth0 nodad
  lab_host_start "$LAB_NS" "$LAB/host" vps || return 1
  LAB_HOLDER=$LAB_HOST_PID
}

# lab CMD...: run CMD inside the lab host (bounded).
lab() {
  timeout --kill-after=5 "${LAB_TIMEOUT:-60}" nsenter -t "$LAB_HOLDER" -m -n -- "$@"
}

# lab_sh SCRIPT: run a bash snippet inside the lab host.
lab_sh() {
  lab bash -c "$1"
}

lab_down() {
  [ -n "$LAB_NS" ] || return 0
  # Everything in the lab's network namespace was started by this test:
  # the holder, nginx, turnserver, revert timers.
  lab_ns_remove "$LAB_NS"
  [ -n "$LAB_HOLDER" ] && wait "$LAB_HOLDER" 2>/dev/null
  [ -n "$LAB" ] && [ -d "$LAB" ] && rm -rf -- "$LAB"
  LAB_NS=""
}
