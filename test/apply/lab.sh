# shellcheck shell=bash
# A lab host for the apply tests (DESIGN.md "Lab host recipe"): a network
# namespace plus a private mount namespace in which /etc, /var/lib, /var/log
# and /usr/local are overlays over the machine's own directories (writes land
# in $LAB, never in the real ones) and /run, /var/tmp are fresh tmpfs. No
# systemd inside (/run/systemd/system is absent), so xmpp-edge-apply drives
# nginx and turnserver directly. One holder process keeps the namespaces;
# every lab command enters them with nsenter.
#
# Source it, then: lab_up; lab CMD...; lab_down (run.sh traps lab_down).

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
  local d n
  for d in etc var/lib var/log usr/local; do
    n=${d//\//_}
    mkdir -p "$LAB/$n-up" "$LAB/$n-wk"
  done
  # shellcheck disable=SC2016 # expanded by the inner bash
  ip netns exec "$LAB_NS" unshare -m --propagation private bash -c '
    set -e
    lab=$1
    for d in etc var/lib var/log usr/local; do
      n=${d//\//_}
      mount -t overlay overlay -o "lowerdir=/$d,upperdir=$lab/$n-up,workdir=$lab/$n-wk" "/$d"
    done
    mount -t tmpfs -o mode=0755 tmpfs /run
    mount -t tmpfs -o mode=1777 tmpfs /var/tmp
    touch "$lab/ready"
    exec sleep infinity' lab-holder "$LAB" </dev/null >"$LAB/holder.log" 2>&1 &
  LAB_HOLDER=$!
  for _ in $(seq 50); do
    [ -e "$LAB/ready" ] && break
    kill -0 "$LAB_HOLDER" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -e "$LAB/ready" ]; then
    echo "lab: the holder did not come up:" >&2
    cat "$LAB/holder.log" >&2
    return 1
  fi
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
  local pid pids
  # Everything in the lab's network namespace was started by this test:
  # the holder, nginx, turnserver, revert timers.
  pids=$(ip netns pids "$LAB_NS" 2>/dev/null || true)
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 30); do
    pids=$(ip netns pids "$LAB_NS" 2>/dev/null || true)
    [ -z "$pids" ] && break
    sleep 0.1
  done
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
  [ -n "$LAB_HOLDER" ] && wait "$LAB_HOLDER" 2>/dev/null
  ip netns del "$LAB_NS" 2>/dev/null || true
  [ -n "$LAB" ] && [ -d "$LAB" ] && rm -rf -- "$LAB"
  LAB_NS=""
}
