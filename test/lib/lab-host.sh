# shellcheck shell=bash
# One lab host (docs/linux-and-providers.md, "The lab host recipe"), shared by the apply tests
# (host/test), the network lab and the bench (test/lab/lib.sh) and the engine
# test (test/engine): a network namespace plus one holder process that owns a
# private mount namespace in which
#   /etc                           overlay: DIR/etc-lower (the host's own files) over /etc
#   /var/lib, /var/log, /usr/local overlays over the machine's directories
#   /run, /var/tmp                 fresh tmpfs (/run/sshd and /run/lock exist)
# Writes land in DIR/*-up, never in the machine's directories. There is no
# systemd inside: daemons are started directly.
#
# --own-pids adds what a long-lived host with many daemons needs: its own PID
# and UTS namespaces (the holder is PID 1 and reaps double-forked daemons;
# killing it ends everything started inside), its own /proc, fresh /tmp and
# /root, and /proc/sys read-only except net.*. Without it, PIDs seen inside are
# the machine's, which tests that kill from outside rely on. A host with its
# own /tmp cannot see DIR or a checkout under /tmp: keep DIR elsewhere.

# lab_host_start NS DIR NAME [--own-pids]: NS must exist. Sets LAB_HOST_PID to
# a process to nsenter (-n -m, plus -p -u with --own-pids).
lab_host_start() {
  local ns=$1 dir=$2 name=$3 own_pids=${4:-} d n pid
  mkdir -p "$dir/etc-lower"
  for d in etc var/lib var/log usr/local; do
    n=${d//\//_}
    mkdir -p "$dir/$n-up" "$dir/$n-wk"
  done
  rm -f "$dir/ready"
  local unshare=(unshare --mount --propagation private)
  [ "$own_pids" = --own-pids ] && unshare=(unshare --mount --pid --uts --fork --mount-proc --propagation private)
  # shellcheck disable=SC2016 # expanded by the inner bash
  ip netns exec "$ns" "${unshare[@]}" bash -c '
      set -e
      dir=$1 name=$2 own_pids=$3
      mount -t overlay overlay -o "lowerdir=$dir/etc-lower:/etc,upperdir=$dir/etc-up,workdir=$dir/etc-wk" /etc
      for d in var/lib var/log usr/local; do
        n=${d//\//_}
        mount -t overlay overlay -o "lowerdir=/$d,upperdir=$dir/$n-up,workdir=$dir/$n-wk" "/$d"
      done
      mount -t tmpfs -o mode=0755 tmpfs /run
      mount -t tmpfs -o mode=1777 tmpfs /var/tmp
      mkdir -p /run/sshd /run/lock
      if [ "$own_pids" != --own-pids ]; then
        touch "$dir/ready"
        exec sleep infinity
      fi
      mount -t tmpfs -o mode=1777 tmpfs /tmp
      mount -t tmpfs -o mode=0700 tmpfs /root
      # Kernel settings outside net.* are global to the machine: read-only here.
      mount --bind /proc/sys /proc/sys
      mount -o remount,bind,ro /proc/sys
      mount --bind /proc/sys/net /proc/sys/net
      mount -o remount,bind,rw /proc/sys/net
      mkdir -p /run/prosody
      chown prosody:prosody /run/prosody 2>/dev/null || true
      hostname "$name"
      touch "$dir/ready"
      # PID 1 of the host: reaps orphans (daemons double-fork), exits on TERM.
      exec /usr/bin/python3 -c "
import os, signal, time
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.5)
"' holder "$dir" "$name" "$own_pids" </dev/null >"$dir/holder.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    [ -e "$dir/ready" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ ! -e "$dir/ready" ]; then
    echo "lab: host $name did not come up:" >&2
    cat "$dir/holder.log" >&2
    return 1
  fi
  if [ "$own_pids" != --own-pids ]; then
    LAB_HOST_PID=$pid
    return 0
  fi
  # With --fork the holder is the child of unshare (ip netns exec execs unshare).
  LAB_HOST_PID=""
  for _ in $(seq 100); do
    LAB_HOST_PID=$(awk '{print $1}' "/proc/$pid/task/$pid/children" 2>/dev/null)
    [ -n "$LAB_HOST_PID" ] && break
    sleep 0.05
  done
  [ -n "$LAB_HOST_PID" ] || { echo "lab: no holder pid for $name" >&2; return 1; }
}

# lab_ns_remove NS...: end every process in the namespaces (TERM, up to 5 s,
# then KILL) and delete them; the mounts go with each holder. Quiet when absent.
lab_ns_remove() {
  local ns pid pids
  for ns in "$@"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null || true); do kill -TERM "$pid" 2>/dev/null || true; done
  done
  for _ in $(seq 50); do
    pids=""
    for ns in "$@"; do pids+=$(ip netns pids "$ns" 2>/dev/null || true); done
    [ -z "$pids" ] && break
    sleep 0.1
  done
  for ns in "$@"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  sleep 0.2
  for ns in "$@"; do ip netns del "$ns" 2>/dev/null || true; done
}
