#!/bin/bash
# Lab tests of host/xmpp-edge-apply: run as root (npm run test:apply).
# Builds a lab host (host/test/lab.sh: network namespace + private mount
# namespace with overlay /etc, /var/lib, /var/log, /usr/local and tmpfs /run),
# renders bundles from host/test/lab-*.yaml, pushes them with the real push
# script (render/push.ts: `bash -s` staging + the staged xmpp-edge-apply) and
# checks the live result with the real nginx, nft and turnserver. Nothing
# touches this machine's /etc, services or nftables. Every lab command is
# bounded by timeout, the whole run by RUN_TIMEOUT (default 1200 s).
# Prints one line per assertion and "N passed, N failed"; exit 1 if any failed.
# Assertions are strings run by `eval` (expanded late, on purpose):
# shellcheck disable=SC2016,SC2034
set -uo pipefail

if [ -z "${XEA_UNDER_TIMEOUT:-}" ]; then
  export XEA_UNDER_TIMEOUT=1
  exec timeout --kill-after=10 "${RUN_TIMEOUT:-1200}" "$BASH" "$0" "$@"
fi

REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$REPO/host/test
# shellcheck source=host/test/lab.sh
source "$HERE/lab.sh"

if [ "$(id -u)" != 0 ]; then
  echo "host/test/run.sh: must run as root (network namespaces, mounts)" >&2
  exit 2
fi
[ -x "$REPO/node_modules/.bin/tsx" ] || { echo "host/test/run.sh: node_modules/.bin/tsx is missing (npm ci)" >&2; exit 2; }
for tool in ip nsenter unshare nft nginx turnserver ss ps flock python3; do
  command -v "$tool" >/dev/null || { echo "host/test/run.sh: $tool is missing" >&2; exit 2; }
done

PASS=0
FAIL=0
SKIP=0 SKIPPED=()
T0=$(date +%s.%N)
ok() { PASS=$((PASS + 1)); printf 'ok %d - %s\n' "$((PASS + FAIL))" "$1"; }
not_ok() {
  FAIL=$((FAIL + 1))
  printf 'not ok %d - %s\n' "$((PASS + FAIL))" "$1"
  [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/    # /' | head -n 40
}
# check DESC COMMAND...: one assertion
check() {
  local desc=$1
  shift
  if "$@"; then ok "$desc"; else not_ok "$desc" "${WHY:-}"; fi
  WHY=""
}
WHY=""
section() { printf '# %s\n' "$*"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

R=""
cleanup() {
  local rc=$?
  lab_down
  [ -z "$R" ] || rm -rf -- "$R"
  return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

APPLY=/usr/local/sbin/xmpp-edge-apply
OUT=""

# ---- rendering -------------------------------------------------------------------

TSX=$REPO/node_modules/.bin/tsx
render() { # NAME CONFIG
  "$TSX" "$HERE/render-push.ts" --config "$2" --out "$R/$1" --timeouts 0,3,120 \
    --vps-ipv4 "$LAB_VPS_IPV4" --vps-ipv6 "$LAB_VPS_IPV6" >/dev/null
}

# ---- running things in the lab -------------------------------------------------------

# run NAME COMMAND...: run in the lab, output to $OUT/NAME.{out,err}, sets RC
RC=0
run() {
  local name=$1
  shift
  RC=0
  lab "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || RC=$?
}
# push NAME BUNDLE TIMEOUT: the real push script on stdin of `bash -s`, as over
# SSH; stdout through a pipe like the SSH channel (PUSH_SECS: until it closed)
PUSH_SECS=0
push() {
  local name=$1 bundle=$2 t=$3 t0
  t0=$(date +%s.%N)
  lab bash -s <"$R/$bundle/push-$t.sh" 2>"$OUT/$name.err" | cat >"$OUT/$name.out"
  RC=${PIPESTATUS[0]}
  PUSH_SECS=$(elapsed "$t0")
}
# stage_apply NAME DIR [ARGS]: run the apply of a bundle tree staged in DIR (visible in the lab)
stage_apply() {
  local name=$1 dir=$2
  shift 2
  run "$name" "$dir$APPLY" "$dir" "$@"
}
out() { cat "$OUT/$1.out"; }
errout() { cat "$OUT/$1.err"; }
both() { cat "$OUT/$1.out" "$OUT/$1.err"; }

rc_is() { # EXPECTED NAME
  [ "$RC" = "$1" ] && return 0
  WHY="exit $RC, expected $1"$'\n'"$(both "$2")"
  return 1
}
has() { # NAME PATTERN (ERE, stdout+stderr)
  both "$1" | grep -E -- "$2" >/dev/null && return 0
  WHY="no /$2/ in the output:"$'\n'"$(both "$1")"
  return 1
}
lacks() { # NAME PATTERN
  both "$1" | grep -E -- "$2" >/dev/null || return 0
  WHY="unexpected /$2/ in the output:"$'\n'"$(both "$1")"
  return 1
}
same() { # WHAT A B
  [ "$2" = "$3" ] && return 0
  WHY="$1 differs:"$'\n'"$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | head -n 20)"
  return 1
}

ruleset() { lab nft list ruleset; }
our_table() { lab nft list table inet xmpp_edge 2>/dev/null; }
# udp/64738 is forwarded: an element of the forwarded-ports set (render/forwards.ts).
has_64738() { lab nft get element inet xmpp_edge forwards_kept '{ udp . 64738 }' >/dev/null 2>&1; }
table_exists() { lab nft list table inet xmpp_edge >/dev/null 2>&1; }
no_table() { ! table_exists || { WHY="table inet xmpp_edge is still there"; return 1; }; }
FOREIGN_TABLES=("ip filter" "ip nat" "inet ts-filter" "ip6 ts-nat")
foreign() {
  local t
  for t in "${FOREIGN_TABLES[@]}"; do
    # shellcheck disable=SC2086 # family and name
    lab nft list table $t 2>&1
  done
}
nginx_pid() { lab cat /run/nginx.pid 2>/dev/null; }
nginx_alive() { local p; p=$(nginx_pid) && [ -n "$p" ] && lab test -d "/proc/$p"; }
nginx_workers() { lab ps -o pid= --ppid "$(nginx_pid)" | sort -n | tr -d ' ' | tr '\n' ' '; }
turn_pid() { lab cat /run/xmpp-edge-turnserver.pid 2>/dev/null; }
turn_alive() { local p; p=$(turn_pid) && [ -n "$p" ] && [ "$(lab cat "/proc/$p/comm" 2>/dev/null)" = turnserver ]; }
listening() { # tcp|udp PORT
  local flag=-Hltn
  [ "$1" = udp ] && flag=-Hlun
  [ -n "$(lab ss "$flag" "sport = :$2")" ] || { WHY="nothing listens on $1/$2"; return 1; }
}
sysctl_is() { # KEY VALUE
  local v
  v=$(lab sysctl -n "$1")
  [ "$v" = "$2" ] || { WHY="$1 = $v, expected $2"; return 1; }
}
not_running() { # WHAT PROBE
  ! "$2" || { WHY="$1 is running"; return 1; }
}

# The managed paths (bundle A and B list the same ones).
PATHS=()
# digest: mode, owner, content hash (or "absent") of every managed path, as the lab sees them
digest() {
  # shellcheck disable=SC2016 # expanded by the lab's bash
  lab bash -c 'for f in "$@"; do if [ -e "$f" ]; then printf "%s %s %s\n" "$f" "$(stat -c "%a %U:%G" "$f")" "$(sha256sum <"$f" | cut -c1-64)"; else printf "%s absent\n" "$f"; fi; done' digest "${PATHS[@]}"
}
# bundle_digest BUNDLE: what digest should show with BUNDLE installed
bundle_digest() {
  local f b
  for f in "${PATHS[@]}"; do
    b=$R/$1/bundle$f
    printf '%s %s root:%s %s\n' "$f" "$(stat -c %a "$b")" "$(awk -v p="$f" '$3 == p { split($2, o, ":"); print o[2] }' "$R/$1/bundle/etc/xmpp-edge/manifest" | grep . || echo root)" "$(sha256sum <"$b" | cut -c1-64)"
  done
}
# poll TENTHS COMMAND...: wait (bounded) until COMMAND succeeds
poll() {
  local n=$1
  shift
  while [ "$n" -gt 0 ]; do
    "$@" && return 0
    sleep 0.1
    n=$((n - 1))
  done
  "$@"
}
# squat PORT: another program holding tcp/PORT in the lab (for at most 60 s); unsquat ends it
squat() {
  rm -f "$LAB/squat.pid"
  lab python3 -c 'import os, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1)
open(sys.argv[2], "w").write(str(os.getpid()))
time.sleep(60)' "$1" "$LAB/squat.pid" 2>/dev/null &
  SQUAT_JOB=$!
  poll 50 test -s "$LAB/squat.pid"
}
unsquat() {
  local pid
  {
    pid=$(cat "$LAB/squat.pid") && kill "$pid"
    wait "$SQUAT_JOB"
  } 2>/dev/null
  rm -f "$LAB/squat.pid"
}
revert_done() { lab test -e /var/lib/xmpp-edge/reverted; }
# The processes in the lab's network namespace are this test's (daemons, revert timers).
lab_pids_matching() { # PATTERN (ERE on the command line)
  local pid
  for pid in $(ip netns pids "$LAB_NS"); do
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -E -- "$1" >/dev/null && echo "$pid"
  done
  return 0
}
kill_and_wait() { # PID...
  local pid
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null; done
  for pid in "$@"; do poll 50 eval "! test -d /proc/$pid" || true; done
}
# skip WHAT WHY: checks not run, said and counted (test:all's summary names them).
skip() { SKIP=$((SKIP + 1)) SKIPPED+=("$1: $2"); printf '# skip: %s: %s\n' "$1" "$2"; }
finish() {
  echo "# total $(elapsed "$T0") s"
  if [ "$SKIP" -gt 0 ]; then
    echo "# skipped: $(IFS=';'; echo "${SKIPPED[*]}")"
    echo "$PASS passed, $FAIL failed, $SKIP skipped"
    [ "$FAIL" = 0 ]
    return
  fi
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" = 0 ]
}
pending_none() { ! lab test -e /var/lib/xmpp-edge/pending || { WHY="a revert is pending"; return 1; }; }

# ---- the lab ----------------------------------------------------------------------

section "setup"
R=$(mktemp -d /tmp/xmpp-edge-apply-render.XXXXXX)
render A "$HERE/lab-a.yaml" || { echo "rendering lab-a.yaml failed" >&2; exit 1; }
render B "$HERE/lab-b.yaml" || { echo "rendering lab-b.yaml failed" >&2; exit 1; }
render C "$HERE/lab-c.yaml" || { echo "rendering lab-c.yaml failed" >&2; exit 1; }
render D "$HERE/lab-d.yaml" || { echo "rendering lab-d.yaml failed" >&2; exit 1; }
render E "$HERE/lab-e.yaml" || { echo "rendering lab-e.yaml failed" >&2; exit 1; }
render F "$HERE/lab-f.yaml" || { echo "rendering lab-f.yaml failed" >&2; exit 1; }
mapfile -t PATHS < <(awk '$1 ~ /^[0-7]+$/ { print $3 }' "$R/A/bundle/etc/xmpp-edge/manifest"; echo /etc/xmpp-edge/manifest)
same "managed paths of A and B" "$(awk '$1 ~ /^[0-7]+$/' "$R/A/bundle/etc/xmpp-edge/manifest")" "$(awk '$1 ~ /^[0-7]+$/' "$R/B/bundle/etc/xmpp-edge/manifest")" || { echo "$WHY" >&2; exit 1; }
lab_up || exit 1
OUT=$LAB/out
mkdir -p "$OUT"
echo "# lab $LAB, netns $LAB_NS, bundles in $R ($(elapsed "$T0") s)"

# What tailscaled leaves in the kernel: tables that are not ours, and must survive everything.
lab nft -f - <<'EOF'
table ip filter {
	chain ts-input {
		iifname "tailscale0" accept
		ip saddr 100.64.0.0/10 iifname != "tailscale0" drop
	}
	chain INPUT {
		type filter hook input priority filter; policy accept;
		jump ts-input
	}
}
table ip nat {
	chain ts-postrouting {
		meta mark & 0x00ff0000 == 0x00040000 masquerade
	}
	chain POSTROUTING {
		type nat hook postrouting priority srcnat; policy accept;
		jump ts-postrouting
	}
}
table inet ts-filter {
	chain ts-forward {
		type filter hook forward priority filter; policy accept;
		oifname "tailscale0" accept
	}
}
table ip6 ts-nat {
	chain ts-postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "tailscale0" meta mark 0x00040000 masquerade
	}
}
EOF
FOREIGN0=$(foreign)
ORIG_DIGEST=$(digest)
check "lab host starts clean: no table of ours, nginx not running, ip_forward 0" \
  eval 'no_table && not_running nginx nginx_alive && sysctl_is net.ipv4.ip_forward 0'
if [ "${XEA_ONLY:-}" = crash ]; then
  # shellcheck source=host/test/crash-window.sh
  source "$HERE/crash-window.sh"
  finish
  exit
fi

# ---- 1. a valid bundle applies ---------------------------------------------------------

section "1. a valid bundle applies (push with --confirm-timeout 120, then --confirm)"
t=$(date +%s.%N)
push a1 A 120
check "push of bundle A exits 0" rc_is 0 a1
WHY="the output pipe closed after $PUSH_SECS s"
check "the push's output pipe closes when the apply ends: no daemon or revert timer holds the SSH channel" awk -v s="$PUSH_SECS" 'BEGIN { exit !(s < 10) }'
check "the apply says what it installed and armed a revert" eval 'has a1 "installed /etc/nginx/nginx.conf" && has a1 "revert armed"'
run c1 "$APPLY" --confirm
check "--confirm from a second connection cancels the revert" eval 'rc_is 0 c1 && has c1 "confirmed"'
echo "# first apply + confirm: $(elapsed "$t") s"
check "nginx runs" nginx_alive
check "nginx listens on tcp/443 and tcp/80" eval 'listening tcp 443 && listening tcp 80'
check "table inet xmpp_edge exists" table_exists
check "sysctl net.ipv4.ip_forward = 1 in the netns" sysctl_is net.ipv4.ip_forward 1
check "sysctl net.ipv6.conf.all.forwarding = 1 in the netns" sysctl_is net.ipv6.conf.all.forwarding 1
check "sysctl net.netfilter.nf_conntrack_max: read-only in the netns, reported as skipped, not fatal" has a1 "^xmpp-edge-apply: sysctl: net.netfilter.nf_conntrack_max = [0-9]+ skipped: read-only here"
check "sysctl net.netfilter.nf_conntrack_tcp_timeout_established set in the netns" sysctl_is net.netfilter.nf_conntrack_tcp_timeout_established "$(sed -n 's/^net.netfilter.nf_conntrack_tcp_timeout_established = //p' "$R/A/bundle/etc/sysctl.d/60-xmpp-edge.conf")"
check "coturn (turnserver) runs and listens on udp/3478" eval 'turn_alive && listening udp 3478'
check "installed files match bundle A (content, mode, group; turnserver.conf 0640 root:turnserver)" same "files" "$(bundle_digest A)" "$(digest)"
check "the installed copy of xmpp-edge-apply is executable" lab test -x "$APPLY"
check "the apply never loads the fallback table (only the boot unit's OnFailure= does)" lacks a1 "from /etc/xmpp-edge/xmpp-edge-fallback.nft"
check "3. the foreign tables survive the apply byte-identically" same "foreign tables" "$FOREIGN0" "$(foreign)"
RULESET_A=$(ruleset)
NGINX_A=$(nginx_pid)
WORKERS_A=$(nginx_workers)
TURN_A=$(turn_pid)

# ---- 2. idempotence ----------------------------------------------------------------------

section "2. ten more pushes of the same bundle"
t=$(date +%s.%N)
bad=""
for i in $(seq 10); do
  push "a2-$i" A 120
  [ "$RC" = 0 ] || bad+="push $i exited $RC"$'\n'
  run "c2-$i" "$APPLY" --confirm
  [ "$RC" = 0 ] || bad+="confirm $i exited $RC"$'\n'
  has "a2-$i" "^xmpp-edge-apply: unchanged" || bad+="push $i did not say unchanged: $(both "a2-$i")"$'\n'
  lacks "a2-$i" "^xmpp-edge-apply: (installed|restored|removed|sysctl|nftables|nginx|coturn|systemd|revert armed)" || bad+="push $i did something: $(both "a2-$i")"$'\n'
  [ "$(ruleset)" = "$RULESET_A" ] || bad+="ruleset changed after push $i"$'\n'
done
echo "# ten pushes + confirms: $(elapsed "$t") s"
WHY=$bad
check "ten pushes exit 0 and each reports unchanged, doing nothing" test -z "$bad"
check "nft list ruleset is identical after the ten pushes" same ruleset "$RULESET_A" "$(ruleset)"
check "no reload: nginx master and worker pids unchanged, coturn pid unchanged" \
  same "pids" "$NGINX_A $WORKERS_A $TURN_A" "$(nginx_pid) $(nginx_workers) $(turn_pid)"

# ---- 4. rejected bundles -------------------------------------------------------------------

section "4. bundles that fail validation change nothing"
reject_case() { # NAME DESC EXPECTED-MESSAGE (ERE) ; the stage is in $LAB/stage-NAME
  local name=$1 desc=$2 msg=$3 before_digest before_rules before_pids
  before_digest=$(digest)
  before_rules=$(ruleset)
  before_pids="$(nginx_pid) $(nginx_workers) $(turn_pid)"
  stage_apply "$name" "$LAB/stage-$name" --confirm-timeout 120
  check "$desc: rejected with exit 3" rc_is 3 "$name"
  check "$desc: the tool's message is shown" has "$name" "$msg"
  check "$desc: files, ruleset and daemons untouched, no revert pending" eval \
    'same files "$before_digest" "$(digest)" && same ruleset "$before_rules" "$(ruleset)" && same pids "$before_pids" "$(nginx_pid) $(nginx_workers) $(turn_pid)" && pending_none'
}
new_stage() { rm -rf "$LAB/stage-$1"; cp -a "$R/B/bundle" "$LAB/stage-$1"; }
new_stage bad-nginx
printf 'this_is_not_a_directive on;\n' >>"$LAB/stage-bad-nginx/etc/nginx/nginx.conf"
reject_case bad-nginx "corrupt nginx.conf" 'nginx -t rejected.*|unknown directive "this_is_not_a_directive"'
check "corrupt nginx.conf: nginx's own error text is passed on" has bad-nginx 'unknown directive "this_is_not_a_directive"'
new_stage bad-nft
sed -i 's/policy drop;/policy maybe;/' "$LAB/stage-bad-nft/etc/xmpp-edge/xmpp-edge.nft"
reject_case bad-nft "corrupt nftables ruleset" 'nft -c rejected'
check "corrupt nftables ruleset: nft's own error text is passed on" has bad-nft 'Error: .*policy|syntax error'
new_stage flush
sed -i '0,/^table inet xmpp_edge$/s//flush ruleset\ntable inet xmpp_edge/' "$LAB/stage-flush/etc/xmpp-edge/xmpp-edge.nft"
reject_case flush "ruleset with flush ruleset" 'may only touch table inet xmpp_edge'
new_stage group
sed -i 's/root:turnserver/root:nosuchgroup/' "$LAB/stage-group/etc/xmpp-edge/manifest"
reject_case group "manifest naming a missing group" 'group nosuchgroup does not exist'

# ---- 6. a changed bundle applies in place ----------------------------------------------------

section "6. a changed bundle (one more extraForward) applies in place"
push b6 B 120
run c6 "$APPLY" --confirm
check "push of bundle B exits 0 and is confirmed" eval 'rc_is 0 b6 && rc_is 0 c6'
check "only the ruleset (and the manifest) were installed" eval 'has b6 "installed /etc/xmpp-edge/xmpp-edge.nft" && lacks b6 "installed /etc/(nginx|turnserver)"'
check "nginx untouched: master and worker pids unchanged (nginx.conf unchanged)" same pids "$NGINX_A $WORKERS_A" "$(nginx_pid) $(nginx_workers)"
check "coturn untouched: pid unchanged (turnserver.conf unchanged)" same pid "$TURN_A" "$(turn_pid)"
check "the table now forwards udp/64738" eval 'has_64738 && our_table | grep "@forwards_kept dnat ip to 100.101.102.103" >/dev/null'
check "installed files match bundle B" same files "$(bundle_digest B)" "$(digest)"
check "3. the foreign tables survive the change byte-identically" same "foreign tables" "$FOREIGN0" "$(foreign)"
RULESET_B=$(ruleset)

# ---- 5. confirm timeout ------------------------------------------------------------------------

section "5. --confirm-timeout 3 without --confirm reverts"
t=$(date +%s.%N)
push a5 A 3
check "push of bundle A with --confirm-timeout 3 exits 0 and arms the revert" eval 'rc_is 0 a5 && has a5 "revert armed"'
check "bundle A is live right after the push (no udp/64738)" eval '! has_64738'
if poll 150 has_64738; then took=$(elapsed "$t"); else took=never; fi
echo "# reverted after $took s"
WHY="reverted after $took s"
check "reverted to bundle B within 3-10 s" awk -v s="$took" 'BEGIN { exit !(s != "never" && s >= 3 && s <= 10) }'
poll 50 revert_done
check "after the revert: files match bundle B again" same files "$(bundle_digest B)" "$(digest)"
check "after the revert: the ruleset is bundle B's, byte for byte" same ruleset "$RULESET_B" "$(ruleset)"
check "after the revert: nginx still the same master" same pid "$NGINX_A" "$(nginx_pid)"
check "3. the foreign tables survive the revert byte-identically" same "foreign tables" "$FOREIGN0" "$(foreign)"
run c5 "$APPLY" --confirm
check "a late --confirm fails with exit 4 (too late)" eval 'rc_is 4 c5 && has c5 "too late"'

section "5. --confirm-timeout 3 with --confirm keeps the new bundle"
push a5b A 3
run c5b "$APPLY" --confirm
check "push + confirm exit 0" eval 'rc_is 0 a5b && rc_is 0 c5b && has c5b confirmed'
sleep 5
check "6 s later bundle A is still live (no revert)" eval '! has_64738 && same files "$(bundle_digest A)" "$(digest)" && pending_none'
check "the revert timer is gone" eval '[ -z "$(lab_pids_matching --revert-timer)" ]'

# ---- 7. simulated reboot ------------------------------------------------------------------------

section "7. simulated reboot: the boot unit's command brings the table back"
RULESET_NOW=$(ruleset)
lab nft delete table inet xmpp_edge
exec_start=$(lab sed -n 's/^ExecStart=//p' /etc/systemd/system/xmpp-edge-nftables.service)
check "the boot unit runs the installed apply with --boot" eval '[ "$exec_start" = "$APPLY --boot" ]'
check "the table is gone (reboot)" no_table
# shellcheck disable=SC2086 # the unit's command line, split like systemd does for plain words
run boot7 $exec_start
check "--boot exits 0 and reports nothing pending to revert" eval 'rc_is 0 boot7 && lacks boot7 "reverted"'
check "--boot loads the ruleset, not the fallback table" eval 'has boot7 "loaded table inet xmpp_edge from /etc/xmpp-edge/xmpp-edge.nft" && lacks boot7 "from /etc/xmpp-edge/xmpp-edge-fallback.nft"'
check "after the boot command the forwarding rules are back" eval 'our_table | grep "dnat ip to 100.101.102.103" >/dev/null'
check "after the boot command the ruleset is as before, byte for byte" same ruleset "$RULESET_NOW" "$(ruleset)"

section "7b. a reboot inside the confirm window: the unconfirmed apply does not come back"
push b7 B 120
check "bundle B is live and unconfirmed (udp/64738 forwarded, revert pending)" eval 'rc_is 0 b7 && has_64738 && ! pending_none'
# The reboot: the revert timer dies with the host, and so does our table.
# shellcheck disable=SC2046 # a list of pids
kill_and_wait $(lab_pids_matching --revert-timer)
lab nft delete table inet xmpp_edge
# shellcheck disable=SC2086 # as above
run boot7b $exec_start
check "--boot exits 0 and says it reverted the unconfirmed apply" eval 'rc_is 0 boot7b && has boot7b "boot: the unconfirmed apply was reverted"'
check "the files are bundle A's again (the last confirmed)" same files "$(bundle_digest A)" "$(digest)"
check "the table is bundle A's, byte for byte (no udp/64738)" same ruleset "$RULESET_NOW" "$(ruleset)"
check "nothing is pending any more" pending_none
run c7b "$APPLY" --confirm
check "a --confirm after the reboot fails with exit 4 (too late)" eval 'rc_is 4 c7b && has c7b "too late"'

# ---- 6b. nginx.conf changes: graceful reload, and a reload nginx refuses ------------------------

section "6b. a bundle that changes nginx.conf reloads nginx gracefully"
NGINX_M=$(nginx_pid)
WORKERS_M=$(nginx_workers)
push c6 C 120
run cc6 "$APPLY" --confirm
check "push of bundle C (clientIp proxy-protocol) exits 0 and is confirmed" eval 'rc_is 0 c6 && rc_is 0 cc6'
check "nginx reloaded: same master, new workers" eval 'has c6 "nginx: reloaded" && same master "$NGINX_M" "$(nginx_pid)" && ! same workers "$WORKERS_M" "$(nginx_workers)"'
check "nginx now listens on tcp/5222 and tcp/5269" eval 'lab ss -Hltnp "sport = :5222" | grep nginx >/dev/null && listening tcp 5269'
check "coturn untouched (turnserver.conf unchanged)" same pid "$TURN_A" "$(turn_pid)"
push a6 A 0
not_listening() { ! listening "$@" || { WHY="something still listens on $1/$2"; return 1; }; }
check "back to bundle A (confirmed at once with --confirm-timeout 0), 5222 closed" eval 'rc_is 0 a6 && has a6 "nginx: reloaded" && poll 50 not_listening tcp 5222'
RULESET_A2=$(ruleset)

section "10b. nginx refusing the new configuration on reload (port 5222 taken) rolls back"
squat 5222
poll 50 listening tcp 5222 >/dev/null
NGINX_M=$(nginx_pid)
t=$(date +%s.%N)
push c10 C 120
echo "# failed reload detected and rolled back in $(elapsed "$t") s"
unsquat
check "the apply fails with exit 5 and shows nginx's bind error" eval 'rc_is 5 c10 && has c10 "kept its old configuration" && has c10 "5222 failed .*Address already in use"'
check "rolled back: files and ruleset are bundle A's, no revert pending" eval 'same files "$(bundle_digest A)" "$(digest)" && same ruleset "$RULESET_A2" "$(ruleset)" && pending_none'
check "nginx still runs (same master) with bundle A's configuration" eval 'same master "$NGINX_M" "$(nginx_pid)" && listening tcp 443'

section "10c. a sysctl key that cannot be set fails the activation and rolls back (only nf_conntrack_max may be refused)"
sysctl_case() { # NAME LINE MESSAGE(ERE)
  rm -rf "$LAB/stage-$1"
  cp -a "$R/A/bundle" "$LAB/stage-$1"
  printf '%s\n' "$2" >>"$LAB/stage-$1/etc/sysctl.d/60-xmpp-edge.conf"
  stage_apply "$1" "$LAB/stage-$1" --confirm-timeout 120
  check "$2: the apply fails with exit 5, naming the key" eval "rc_is 5 $1 && has $1 '$3'"
  check "$2: rolled back to bundle A's files, ruleset unchanged, no revert pending" eval 'same files "$(bundle_digest A)" "$(digest)" && same ruleset "$RULESET_A2" "$(ruleset)" && pending_none'
}
sysctl_case typo "net.netfilter.nf_conntrack_tcp_loosee = 0" "sysctl: net.netfilter.nf_conntrack_tcp_loosee does not exist"
# The kernel refuses it outside the initial network namespace too, but it is not on the apply's list.
sysctl_case rmem "net.core.rmem_max = 8388608" "sysctl -w net.core.rmem_max=8388608 failed"

# ---- 6c. TURN turned off: the dropped file goes back to the original ---------------------------

section "6c. a bundle without TURN: turnserver.conf back to the original, coturn back to its original state"
line_of() { grep "^$1 " <<<"$2"; }
push d6 D 0
check "push of bundle D (turn off) exits 0, restores turnserver.conf and stops coturn" eval 'rc_is 0 d6 && has d6 "restored /etc/turnserver.conf" && has d6 "coturn: stopped"'
check "/etc/turnserver.conf is the original again, byte for byte (mode, group)" same turnserver.conf "$(line_of /etc/turnserver.conf "$ORIG_DIGEST")" "$(line_of /etc/turnserver.conf "$(digest)")"
check "coturn is not running (it was not before), nginx untouched" eval 'not_running coturn turn_alive && nginx_alive && same master "$NGINX_M" "$(nginx_pid)"'
check "the table no longer opens the TURN ports" eval '! our_table | grep "coturn" >/dev/null'
push a6c A 0
check "TURN back on: our turnserver.conf installed, coturn started" eval 'rc_is 0 a6c && has a6c "coturn: started" && same files "$(bundle_digest A)" "$(digest)" && turn_alive'

section "6d. turnTls: a placeholder before nginx -t, the certificate in the background; a slow CA never holds the push"
# A CA that takes 30 s to answer: certbot as the lab sees it (and never apt-get in the lab).
lab install -m 0755 /dev/stdin /usr/local/bin/certbot <<'CERTBOT'
#!/bin/sh
echo "$*" >>/run/lab-certbot.calls
sleep 30
exit 1
CERTBOT
push e1 F 0
served_subject() { lab bash -c 'openssl s_client -connect 127.0.0.1:443 -servername turn.chat.example.com </dev/null 2>/dev/null | openssl x509 -noout -subject -nameopt oneline,-space_eq'; }
certbot_asked() { lab grep -qF -- "--webroot --webroot-path /var/lib/xmpp-edge/acme --domain turn.chat.example.com --cert-name turn.chat.example.com --keep-until-expiring --deploy-hook /usr/local/sbin/xmpp-edge-turn-cert deploy" /run/lab-certbot.calls; }
check "push of bundle F (turnTls) exits 0 and made the placeholder before validating" eval 'rc_is 0 e1 && has e1 "installed a self-signed placeholder for turn.chat.example.com" && has e1 "obtain started in the background"'
WHY="the push took $PUSH_SECS s"
check "the push did not wait for the CA (certbot answers after 30 s)" awk -v s="$PUSH_SECS" 'BEGIN { exit !(s < 10) }'
check "nginx serves the placeholder for the TURN name on 443" same subject "subject=O=xmpp-edge placeholder, CN=turn.chat.example.com" "$(served_subject)"
check "certbot was asked for the TURN name: HTTP-01 from the edge's webroot, with the deploy hook" poll 50 certbot_asked
push e2 F 0
check "the same bundle again: unchanged, the placeholder kept, no second certificate run" eval 'rc_is 0 e2 && has e2 "unchanged" && lacks e2 "placeholder|background" && [ "$(lab cat /run/lab-certbot.calls | wc -l)" = 1 ]'
push e3 A 0
check "back to bundle A: the certificate tool, its name and its units removed; nginx no longer serves the name" \
  eval 'rc_is 0 e3 && has e3 "removed /usr/local/sbin/xmpp-edge-turn-cert" && has e3 "removed /etc/systemd/system/xmpp-edge-turn-cert.timer" && ! lab grep -q turn.chat /etc/nginx/nginx.conf'
lab rm -f /usr/local/bin/certbot /run/lab-certbot.calls

# ---- 9. locking ---------------------------------------------------------------------------------

section "9. locking: an apply waits for the lock holder"
lab flock /run/xmpp-edge-apply.lock sleep 3 &
holder=$!
sleep 0.5
t=$(date +%s.%N)
push a9 A 0
waited=$(elapsed "$t")
wait "$holder" 2>/dev/null
WHY="waited $waited s"
check "an apply started while the lock is held exits 0 after the holder (waited $waited s)" eval 'rc_is 0 a9 && awk -v s="$waited" "BEGIN { exit !(s >= 2) }"'

# ---- 12. the SSH channel drops during the apply ---------------------------------------------------

section "12. the SSH channel closes during the apply: it completes, arms the revert, and the revert undoes it"
RULESET_NOW=$(ruleset)
lab bash -s <"$R/B/push-3.sh" 2>/dev/null | true
RC=${PIPESTATUS[0]}
poll 150 revert_done
check "the apply ran to the end despite the closed channel (exit $RC)" eval 'lab grep "not confirmed within 3s: reverting" /var/lib/xmpp-edge/revert.log >/dev/null && lab grep "restored /etc/xmpp-edge/xmpp-edge.nft" /var/lib/xmpp-edge/revert.log >/dev/null'
check "the revert put bundle A back: files and ruleset" eval 'same files "$(bundle_digest A)" "$(digest)" && same ruleset "$RULESET_NOW" "$(ruleset)"'

section "12b. the SSH stream is cut inside the last line: nothing runs"
# Cut just before " --confirm-timeout 120": bash -s would run the apply without it (confirmed at once).
cut=$(grep -bo ' --confirm-timeout 120$' "$R/B/push-120.sh" | tail -n 1 | cut -d: -f1)
before_digest=$(digest)
before_rules=$(ruleset)
lab bash -s < <(head -c "$cut" "$R/B/push-120.sh") >"$OUT/cut.out" 2>"$OUT/cut.err"
RC=$?
check "the cut push exits 3 and says it did not arrive whole" eval 'rc_is 3 cut && has cut "did not arrive whole"'
check "nothing changed: files, ruleset, no revert pending, nothing staged" eval 'same files "$before_digest" "$(digest)" && same ruleset "$before_rules" "$(ruleset)" && pending_none && [ -z "$(lab find /var/tmp -maxdepth 1 -name "xmpp-edge-*")" ]'

# ---- 8. remove ----------------------------------------------------------------------------------

section "8. --remove leaves the host as found"
run r8 "$APPLY" --remove
check "--remove exits 0" rc_is 0 r8
check "managed paths: originals (nginx.conf, turnserver.conf) restored byte-identically, the rest gone" same files "$ORIG_DIGEST" "$(digest)"
check "no state dir, no /etc/xmpp-edge" eval '! lab test -e /var/lib/xmpp-edge && ! lab test -e /etc/xmpp-edge'
check "no table inet xmpp_edge" no_table
check "nginx and coturn stopped (they were not running before)" eval 'not_running nginx nginx_alive && not_running coturn turn_alive'
check "sysctl ip_forward back to 0" sysctl_is net.ipv4.ip_forward 0
check "3. the foreign tables survive the removal byte-identically" same "foreign tables" "$FOREIGN0" "$(foreign)"
run r8b "$REPO/host/xmpp-edge-apply" --remove
check "a second --remove exits 0 and says nothing to remove" eval 'rc_is 0 r8b && has r8b "nothing to remove"'

# ---- 5. revert of a first apply ------------------------------------------------------------------

section "5. revert of a FIRST apply: back to the host as found"
t=$(date +%s.%N)
push a10 A 3
check "first apply with --confirm-timeout 3 exits 0" rc_is 0 a10
check "the table is live" table_exists
if poll 150 no_table; then took=$(elapsed "$t"); else took=never; fi
echo "# first apply reverted after $took s"
poll 50 revert_done
check "reverted within 3-10 s: no table" awk -v s="$took" 'BEGIN { exit !(s != "never" && s >= 3 && s <= 10) }'
check "files as found (originals, nothing of ours)" same files "$ORIG_DIGEST" "$(digest)"
check "nginx and coturn stopped again, ip_forward 0" eval 'not_running nginx nginx_alive && not_running coturn turn_alive && sysctl_is net.ipv4.ip_forward 0'
check "3. the foreign tables survive the first-apply revert" same "foreign tables" "$FOREIGN0" "$(foreign)"
run c10 "$REPO/host/xmpp-edge-apply" --confirm
check "--confirm after it says too late (exit 4)" rc_is 4 c10
run r10 "$REPO/host/xmpp-edge-apply" --remove
check "--remove cleans the state dir" eval 'rc_is 0 r10 && ! lab test -e /var/lib/xmpp-edge'

# ---- 10. activation failure rolls back -------------------------------------------------------------

section "10. activation failure (port 443 taken) rolls back at once"
squat 443
poll 50 listening tcp 443 >/dev/null
push a11 A 120
unsquat
check "the apply fails with exit 5 and shows nginx's error" eval 'rc_is 5 a11 && has a11 "Address already in use"'
check "the host is as found: files, no table, no pending revert" eval 'same files "$ORIG_DIGEST" "$(digest)" && no_table && pending_none'
check "3. the foreign tables survive the rollback" same "foreign tables" "$FOREIGN0" "$(foreign)"
run r11 "$REPO/host/xmpp-edge-apply" --remove
check "--remove afterwards leaves no state dir" eval 'rc_is 0 r11 && ! lab test -e /var/lib/xmpp-edge'
# nginx failed to start above after creating its unix socket file: the next start must not trip on it.
push a12 A 0
check "the next apply removes the socket file the failed start left and starts nginx" eval 'rc_is 0 a12 && has a12 "removed the stale socket /run/nginx-xmpp-edge-refuse.sock" && nginx_alive && listening tcp 443'
run r12 "$APPLY" --remove
check "--remove again: host as found" eval 'rc_is 0 r12 && same files "$ORIG_DIGEST" "$(digest)" && no_table && not_running nginx nginx_alive'

# ---- 13. crash windows ----------------------------------------------------------------------

# shellcheck source=host/test/crash-window.sh
source "$HERE/crash-window.sh"

# ---- 11. the systemd branch -----------------------------------------------------------------

section "11. a systemd host: fake systemctl (host/test/fake-systemctl) driving the real daemons"
# Like a fresh Debian 12 VPS: nginx and coturn enabled and running with Debian's own configuration.
lab mkdir -p /run/systemd/system /run/fake-systemd/enabled
lab install -m 0755 "$HERE/fake-systemctl" /usr/local/bin/systemctl
lab touch /run/fake-systemd/enabled/nginx.service /run/fake-systemd/enabled/coturn.service
lab systemctl start nginx
lab systemctl start coturn
s_coturn_alive() { local p; p=$(lab cat /run/fake-systemd/coturn.pid 2>/dev/null) && [ "$(lab cat "/proc/$p/comm" 2>/dev/null)" = turnserver ]; }
calls() { lab cat /run/fake-systemd/calls 2>/dev/null; }
called() { # PATTERN...: every pattern is a line of the systemctl call log
  local c p
  c=$(calls)
  for p in "$@"; do
    grep -xE -- "$p" <<<"$c" >/dev/null || { WHY="no systemctl call /$p/ in:"$'\n'"$c"; return 1; }
  done
}
not_called() { # PATTERN
  ! grep -E -- "$1" <<<"$(calls)" >/dev/null || { WHY="unexpected systemctl call /$1/ in:"$'\n'"$(calls)"; return 1; }
}
enabled_units() { lab ls /run/fake-systemd/enabled | sort | tr '\n' ' '; }
check "as found: Debian's nginx and coturn run, both enabled" eval 'nginx_alive && s_coturn_alive && same enabled "coturn.service nginx.service " "$(enabled_units)"'
NGINX_S=$(nginx_pid)
lab rm -f /run/fake-systemd/calls
push s1 A 120
run sc1 "$APPLY" --confirm
check "push + confirm on the systemd host exit 0" eval 'rc_is 0 s1 && rc_is 0 sc1'
check "systemctl: daemon-reload, enable the boot unit, reload nginx, restart coturn" called \
  "daemon-reload" "enable --quiet xmpp-edge-nftables.service" "reload nginx" "restart coturn"
check "nginx reloaded, not restarted: same master as Debian's" same master "$NGINX_S" "$(nginx_pid)"
check "coturn runs (restarted with our turnserver.conf), nginx listens on 443" eval 's_coturn_alive && listening tcp 443 && listening udp 3478'
check "enabled: the boot unit, nginx and coturn" same enabled "coturn.service nginx.service xmpp-edge-nftables.service " "$(enabled_units)"
check "table and files are bundle A's" eval 'table_exists && same files "$(bundle_digest A)" "$(digest)"'
lab rm -f /run/fake-systemd/calls
push s2 A 120
check "a second push is unchanged: no systemctl start/stop/reload/restart/enable/daemon-reload" eval 'rc_is 0 s2 && has s2 "unchanged" && not_called "^(start|stop|reload|restart|enable|disable|daemon-reload)"'
t=$(date +%s.%N)
push s3 B 3
if poll 150 eval '! has_64738'; then took=$(elapsed "$t"); else took=never; fi
poll 50 revert_done
echo "# systemd host: reverted after $took s"
check "an unconfirmed change reverts on the systemd host too (within 3-10 s)" eval 'rc_is 0 s3 && awk -v s="$took" "BEGIN { exit !(s != \"never\" && s >= 3 && s <= 10) }" && same files "$(bundle_digest A)" "$(digest)"'
lab rm -f /run/fake-systemd/calls
run s4 "$APPLY" --remove
check "--remove on the systemd host exits 0" rc_is 0 s4
check "systemctl: disable the boot unit, daemon-reload, reload nginx, restart coturn" called \
  "disable --quiet xmpp-edge-nftables.service" "daemon-reload" "reload nginx" "restart coturn"
check "as found again: Debian's nginx (same master) and coturn run, enabled as before" eval 'same master "$NGINX_S" "$(nginx_pid)" && s_coturn_alive && same enabled "coturn.service nginx.service " "$(enabled_units)"'
check "as found again: original files, no table, no state dir" eval 'same files "$ORIG_DIGEST" "$(digest)" && no_table && ! lab test -e /var/lib/xmpp-edge'
check "3. the foreign tables survive the systemd host's apply, revert and removal" same "foreign tables" "$FOREIGN0" "$(foreign)"

finish
