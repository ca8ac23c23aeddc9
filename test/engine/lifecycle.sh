#!/usr/bin/env bash
# test/engine/lifecycle.sh: the real Pulumi engine (scripts/engine/build.sh:
# the CLI and the Node.js language host built from the Go module proxy) runs
# this program against a lab "VPS": a network namespace (xe-engine-vps) whose
# /etc, /var/lib, /var/log and /usr/local are overlays, running sshd with the
# host key Pulumi.lab.yaml pins. Pulumi itself runs in a client namespace
# (xe-engine-cli), with a local file backend and the passphrase secrets
# provider, in a copy of the working tree (config changes stay in the copy).
#
# Engine checks (always): CLI version = the @pulumi/pulumi pin; the CLI
# accepts Pulumi.yaml; the passphrase decrypts Pulumi.lab.yaml; the program
# runs under the engine up to its first provider resource; invalid config is
# refused with the plan's words before any resource exists; the committed
# stack files and test/engine/stacks/*.yaml are accepted or refused alike by
# the program under the CLI and by the plan (one reader, the same problems).
#
# Lifecycle checks (need the command provider plugin, which the proxy does not
# serve: give a binary with XMPP_EDGE_COMMAND_PROVIDER=/path/to/pulumi-resource-command,
# installed with `pulumi plugin install resource command VERSION --file`;
# without one they are reported as skipped): first up converges (our table,
# nginx running, the tailscaled-like table untouched); a second up changes
# nothing and opens no SSH session (sshd's log, LogLevel VERBOSE); a new
# extraForwards entry is an in-place update of the push; destroy removes our
# configuration and leaves the tailscaled-like table; an unreachable host
# fails clearly with nothing half-applied.
#
# Needs Debian 12, root, npm ci done. Prints "N passed, N failed, N skipped".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/engine/versions.sh
. "$ROOT/scripts/engine/versions.sh"
# shellcheck source=test/lib/lab-host.sh
. "$ROOT/test/lib/lab-host.sh"

NS_VPS=xe-engine-vps
NS_CLI=xe-engine-cli
VPS4=192.0.2.50 VPS6=2001:db8:e::50
CLI4=192.0.2.49 CLI6=2001:db8:e::49
NOBODY4=192.0.2.51 # on the lab link, answered by no one
STEP_TIMEOUT=${XMPP_EDGE_ENGINE_STEP_TIMEOUT:-300}
LAB_TURN_SECRET=lab-turn-secret-not-for-production-0001

passed=0 failed=0 skipped=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() {
  echo "FAIL: $1"
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" | tail -n 25 | sed 's/^/    | /'; fi
  failed=$((failed + 1))
}
skip() { echo "SKIP: $1"; skipped=$((skipped + 1)); }
note() { echo "  .. $*"; }
finish() {
  echo "$passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
}

if [ "$(id -u)" != 0 ]; then echo "lifecycle: run as root" >&2; exit 1; fi
# The namespace names are fixed: one run at a time on a machine.
exec 8>/run/lock/xmpp-edge-engine-lifecycle.lock
flock -w 900 8 || { echo "lifecycle: another run holds /run/lock/xmpp-edge-engine-lifecycle.lock" >&2; exit 1; }

T=""
HOLDER=""
cleanup() {
  local rc=$?
  lab_ns_remove "$NS_CLI" "$NS_VPS"
  [ -n "$HOLDER" ] && wait "$HOLDER" 2>/dev/null
  if [ -n "$T" ] && [ -d "$T" ]; then
    if [ -n "${XMPP_EDGE_ENGINE_KEEP:-}" ]; then echo "lifecycle: kept $T" >&2; else rm -rf -- "$T"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Tools and the engine -----------------------------------------------------
bash "$ROOT/scripts/apt-install.sh" openssh-server openssh-client nginx libnginx-mod-stream nftables coturn >/dev/null ||
  { fail "apt-install of the lab host's packages"; finish; exit; }
if [ ! -d "$ROOT/node_modules/@pulumi/pulumi" ]; then
  fail "node_modules/@pulumi/pulumi is missing: run npm ci first"
  finish; exit
fi
if ! bin=$("$ROOT/scripts/engine/build.sh"); then
  fail "scripts/engine/build.sh"
  finish; exit
fi

T=$(mktemp -d /tmp/xe-engine.XXXXXX)
export PATH="$bin:$PATH"
export PULUMI_HOME="$T/pulumi-home"
export PULUMI_BACKEND_URL="file://$T/state"
export PULUMI_CONFIG_PASSPHRASE=xmpp-edge-lab
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export NO_COLOR=1
mkdir -p "$PULUMI_HOME" "$T/state"

# A copy of the working tree: pulumi config set and stack init write into it.
P="$T/project"
mkdir -p "$P"
tar -C "$ROOT" --exclude=./node_modules --exclude=./.git --exclude=./.lab --exclude=./out -cf - . | tar -C "$P" -xf -
ln -s "$ROOT/node_modules" "$P/node_modules"

# pl ARGS...: pulumi in the client namespace, in the project copy, bounded.
# Its stdout lands in $T/stdout, both streams in $T/out; returns its exit code.
pl() {
  local rc=0
  (cd "$P" && timeout --kill-after=10 "$STEP_TIMEOUT" ip netns exec "$NS_CLI" pulumi --non-interactive "$@") \
    >"$T/stdout" 2>"$T/stderr" || rc=$?
  cat "$T/stdout" "$T/stderr" >"$T/out"
  return "$rc"
}
out() { cat "$T/out"; }

# --- The lab: client and VPS namespaces ----------------------------------------
lab_ns_remove "$NS_CLI" "$NS_VPS"   # leftovers of an aborted run (these names are this test's own)
lab_up() {
  ip netns add "$NS_VPS" && ip netns add "$NS_CLI" || return 1
  ip -n "$NS_VPS" link set lo up && ip -n "$NS_CLI" link set lo up || return 1
  ip link add xe-eng-c netns "$NS_CLI" type veth peer name eth0 netns "$NS_VPS" || return 1
  ip -n "$NS_CLI" link set xe-eng-c up && ip -n "$NS_VPS" link set eth0 up || return 1
  ip -n "$NS_CLI" addr add "$CLI4/24" dev xe-eng-c && ip -n "$NS_CLI" addr add "$CLI6/64" dev xe-eng-c nodad || return 1
  ip -n "$NS_VPS" addr add "$VPS4/24" dev eth0 && ip -n "$NS_VPS" addr add "$VPS6/64" dev eth0 nodad || return 1
  local v="$T/vps"
  lab_host_start "$NS_VPS" "$v" vps || return 1
  HOLDER=$LAB_HOST_PID

  # sshd with the pinned host key; the deploy key of Pulumi.lab.yaml may log in as root.
  install -m 600 "$ROOT/test/engine/lab/ssh_host_ed25519_key" "$v/ssh_host_ed25519_key"
  install -m 644 "$ROOT/test/engine/lab/deploy_ed25519.pub" "$v/authorized_keys"
  cat >"$v/sshd_config" <<EOF
Port 22
ListenAddress $VPS4
ListenAddress $VPS6
HostKey $v/ssh_host_ed25519_key
AuthorizedKeysFile $v/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel VERBOSE
PidFile /run/sshd.pid
MaxStartups 50
Subsystem sftp internal-sftp
EOF
  nsenter -t "$HOLDER" -m -n -- /usr/sbin/sshd -t -f "$v/sshd_config" || return 1
  nsenter -t "$HOLDER" -m -n -- /usr/sbin/sshd -D -E "$v/sshd.log" -f "$v/sshd_config" </dev/null &
  for _ in $(seq 50); do
    ip netns exec "$NS_CLI" timeout 1 bash -c "</dev/tcp/$VPS4/22" 2>/dev/null && break
    sleep 0.1
  done
  ip netns exec "$NS_CLI" timeout 1 bash -c "</dev/tcp/$VPS4/22" 2>/dev/null || { cat "$v/sshd.log"; return 1; }

  # What tailscaled leaves on a VPS: our push must never touch it.
  vps nft -f - <<'EOF' || return 1
table ip filter {
  chain ts-input { type filter hook input priority filter; policy accept; }
  chain ts-forward { type filter hook forward priority filter; policy accept; }
}
table ip nat {
  chain ts-postrouting { type nat hook postrouting priority srcnat; policy accept; }
}
EOF
}
# vps CMD...: run CMD on the lab VPS (its mount and network namespaces), bounded.
vps() { timeout --kill-after=5 60 nsenter -t "$HOLDER" -m -n -- "$@"; }
sessions() { grep -c 'Accepted publickey for root' "$T/vps/sshd.log" 2>/dev/null || true; }
ts_table_intact() { vps nft list chain ip filter ts-input >/dev/null 2>&1 && vps nft list chain ip nat ts-postrouting >/dev/null 2>&1; }
our_table() { vps nft list table inet xmpp_edge 2>/dev/null; }
vps_runs() { # vps_runs NAME: a process NAME runs in the VPS namespace
  local pid
  for pid in $(ip netns pids "$NS_VPS"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && return 0
  done
  return 1
}

if lab_up >"$T/lab-up.log" 2>&1; then
  pass "lab host: $NS_VPS ($VPS4, $VPS6) runs sshd with the pinned host key; client namespace $NS_CLI"
else
  fail "lab host setup" "$(cat "$T/lab-up.log")"
  finish; exit
fi

# --- Engine checks ------------------------------------------------------------------
sdk_version=$(node -p 'require(process.argv[1]).version' "$ROOT/node_modules/@pulumi/pulumi/package.json")
cli_version=$(pulumi version 2>&1)
if [ "$cli_version" = "v$PULUMI_CLI_VERSION" ] && [ "$sdk_version" = "$PULUMI_CLI_VERSION" ]; then
  pass "pulumi version $cli_version matches the installed @pulumi/pulumi $sdk_version"
else
  fail "pulumi version $cli_version vs @pulumi/pulumi $sdk_version (scripts/engine/versions.sh: $PULUMI_CLI_VERSION)"
fi

if pl stack init lab; then
  pass "stack lab on the file backend ($PULUMI_BACKEND_URL)"
else
  fail "pulumi stack init lab" "$(out)"
  finish; exit
fi

# Pulumi.yaml: the CLI requires every declared config key that has no default
# (every command that reads the stack's config says so, config get included).
if pl config --stack lab; then
  pass "the CLI accepts Pulumi.yaml's config declarations for the lab stack"
elif grep -q 'is missing configuration value' "$T/out"; then
  fail "the CLI accepts Pulumi.yaml: it requires every declared key without a default, so the optional keys must not be declared (or need defaults)" "$(out)"
  note "working around it for the remaining checks: the copy's Pulumi.yaml loses the optional keys without a default"
  node -e '
    const fs = require("fs"); const YAML = require(process.argv[1]);
    const file = process.argv[2]; const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
    const cfg = doc.get("config");
    for (const item of [...cfg.items]) if (!item.value.has("default") && !["domain", "sshAllowFrom"].includes(item.key.value)) cfg.delete(item.key.value);
    fs.writeFileSync(file, doc.toString());' "$ROOT/node_modules/yaml" "$P/Pulumi.yaml"
else
  fail "pulumi config --stack lab" "$(out)"
fi

if pl config get --stack lab xmpp-edge:turnSecret && [ "$(cat "$T/stdout")" = "$LAB_TURN_SECRET" ] &&
   pl config get --stack lab xmpp-edge:sshPrivateKey && grep -q 'BEGIN OPENSSH PRIVATE KEY' "$T/out"; then
  pass "the passphrase secrets provider decrypts Pulumi.lab.yaml's secrets"
  install -m 600 "$T/stdout" "$T/deploy_key"
else
  fail "decrypting Pulumi.lab.yaml with the lab passphrase" "$(out)"
fi

# The deploy key and the pinned host key work by hand (what the push will use).
printf '%s %s\n' "$VPS4" "$(cut -d' ' -f1,2 "$ROOT/test/engine/lab/ssh_host_ed25519_key.pub")" >"$T/known_hosts"
if [ -f "$T/deploy_key" ] && ip netns exec "$NS_CLI" timeout 30 ssh -n -i "$T/deploy_key" -o IdentitiesOnly=yes \
     -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$T/known_hosts" -o BatchMode=yes \
     "root@$VPS4" 'test -e /run/sshd && nft list tables' >"$T/out" 2>&1 && grep -q 'table ip filter' "$T/out"; then
  pass "ssh to the lab VPS with the pinned host key and the lab deploy key (commands see the VPS namespace)"
else
  fail "ssh to the lab VPS with the pinned host key" "$(out)"
fi

cp "$T/out" "$T/preview-lab.txt"

if pl preview --stack lab; then preview_rc=0; else preview_rc=$?; fi
cp "$T/out" "$T/preview-lab.txt"

# Is a command provider plugin available? (Never built here: see scripts/engine/probe.sh.)
provider=""
if [ -n "${XMPP_EDGE_COMMAND_PROVIDER:-}" ]; then
  if pl plugin install resource command "$COMMAND_PROVIDER_VERSION" --file "$XMPP_EDGE_COMMAND_PROVIDER"; then
    provider=$XMPP_EDGE_COMMAND_PROVIDER
    pass "pulumi plugin install resource command $COMMAND_PROVIDER_VERSION --file $XMPP_EDGE_COMMAND_PROVIDER"
    if pl preview --stack lab; then preview_rc=0; else preview_rc=$?; fi
    cp "$T/out" "$T/preview-lab.txt"
  else
    fail "pulumi plugin install resource command $COMMAND_PROVIDER_VERSION --file $XMPP_EDGE_COMMAND_PROVIDER" "$(out)"
  fi
fi

known_hosts_line="$VPS4 $(cut -d' ' -f1,2 "$ROOT/test/engine/lab/ssh_host_ed25519_key.pub")"
runs_program=0
grep -q 'xmpp-edge:index:Push' "$T/preview-lab.txt" && grep -qF "\"$known_hosts_line\"" "$T/preview-lab.txt" && runs_program=1
if [ -n "$provider" ]; then
  if [ "$preview_rc" -eq 0 ] && [ "$runs_program" -eq 1 ] && grep -q 'command:remote:Command' "$T/preview-lab.txt"; then
    pass "pulumi preview --stack lab: the program runs under the engine and plans the push"
  else
    fail "pulumi preview --stack lab (with the command provider)" "$(cat "$T/preview-lab.txt")"
  fi
else
  # Without the plugin the engine aborts at the provider, racing the program:
  # the stack outputs (the known_hosts line) are printed only if the program
  # finished first. The components are registered before their first child
  # (a child needs its parent's URN), so they are the deterministic evidence.
  errors=$(grep -c 'error:' "$T/preview-lab.txt" || true)
  if [ "$preview_rc" -ne 0 ] &&
     grep -q 'xmpp-edge:index:Tailnet' "$T/preview-lab.txt" && grep -q 'xmpp-edge:index:Push' "$T/preview-lab.txt" &&
     grep -q "no resource plugin 'pulumi-resource-command' found in the workspace at version v$COMMAND_PROVIDER_VERSION" "$T/preview-lab.txt" &&
     ! grep 'error:' "$T/preview-lab.txt" | grep -qv "pulumi-resource-command"; then
    pass "pulumi preview --stack lab: the program runs under the engine (config, model, its Tailnet and Push components) up to its first provider resource, command:remote:Command, whose plugin is not installed ($errors error lines, all about it)"
  else
    fail "pulumi preview --stack lab: expected the program to run up to the missing command plugin" "$(cat "$T/preview-lab.txt")"
  fi
fi

# Invalid config: refused with the plan's words, before any resource exists.
if pl stack init bad && pl config cp --stack lab --dest bad && pl config rm --stack bad --path 'xmpp-edge:existingHost.hostKey'; then
  pl up --stack bad --yes --skip-preview
  up_rc=$?
  grep -q 'existingHost.hostKey: is required' "$T/out"
  words=$?
  cp "$T/out" "$T/up-bad.txt"
  pl stack export --stack bad
  if [ "$up_rc" -ne 0 ] && [ "$words" -eq 0 ] && ! grep -q '"type": "xmpp-edge:index:' "$T/out" && ! grep -q 'command:remote:Command' "$T/out"; then
    pass "invalid config (existingHost without hostKey): pulumi up fails with the plan's words and creates nothing"
  else
    fail "invalid config: pulumi up --stack bad (exit $up_rc)" "$(cat "$T/up-bad.txt")"
  fi
else
  fail "setting up the stack with invalid config" "$(out)"
fi

# One reader: the committed stack files and the hostile ones of test/engine/stacks go
# through the real CLI and the program (pulumi preview) and through the plan
# (model/source.ts's file reader): both accept, or both refuse with the same
# problems. A file the CLI refuses itself (it never reaches the program) must be
# refused by the plan too.
problem_lines() { grep -o 'xmpp-edge:[A-Za-z_][^ ]*: .*' | sed 's/[[:space:]]*$//' | sort -u; }
n=0
for f in "$ROOT"/Pulumi.prod.yaml "$ROOT"/Pulumi.lab.yaml "$ROOT"/test/engine/stacks/*.yaml; do
  n=$((n + 1)); name="one-$n"; label=${f#"$ROOT"/}
  cp "$f" "$P/Pulumi.$name.yaml"
  plan_rc=0
  (cd "$ROOT" && node_modules/.bin/tsx scripts/plan.ts --config "$f" --out "$T/plan-$name") >"$T/plan.out" 2>&1 || plan_rc=$?
  if ! pl stack init "$name"; then fail "one reader, $label: pulumi stack init" "$(out)"; continue; fi
  pl preview --stack "$name"
  cp "$T/out" "$T/preview-$name.txt"
  if grep -q 'invalid xmpp-edge configuration' "$T/preview-$name.txt"; then
    engine=$(problem_lines <"$T/preview-$name.txt"); planned=$(problem_lines <"$T/plan.out")
    if [ "$plan_rc" -ne 0 ] && [ -n "$planned" ] && [ "$engine" = "$planned" ]; then
      pass "one reader, $label: the program and the plan refuse it with the same $(printf '%s\n' "$planned" | wc -l) problem(s)"
    else
      fail "one reader, $label: the program's problems differ from the plan's (plan exit $plan_rc)" "$(diff <(printf '%s\n' "$planned") <(printf '%s\n' "$engine"))"
    fi
  # Accepted: the program got past the model (which refuses before any
  # resource) to its resources: a component, or a provider whose plugin this
  # machine lacks. Which of the two the preview prints first is a race (CI,
  # 2026-12-07: Pulumi.prod.yaml's hcloud provider failed before the components printed).
  elif grep -qE "xmpp-edge:index:|no resource plugin 'pulumi-resource-[a-z]+'" "$T/preview-$name.txt"; then
    if [ "$plan_rc" -eq 0 ]; then
      pass "one reader, $label: the program and the plan both accept it"
    else
      fail "one reader, $label: the program accepts it, the plan refuses it" "$(cat "$T/plan.out")"
    fi
  elif [ "$plan_rc" -ne 0 ]; then
    pass "one reader, $label: the CLI refuses it before the program ($(grep -m1 -i 'error' "$T/preview-$name.txt" | tr -s ' ' | cut -c1-160)), and so does the plan"
  else
    fail "one reader, $label: the CLI refuses it, the plan accepts it" "$(cat "$T/preview-$name.txt")"
  fi
  if grep -q 'do-not-echo' "$T/preview-$name.txt" "$T/plan.out"; then fail "one reader, $label: a plain secret's value was echoed"; fi
done

# --- Lifecycle against the lab VPS (needs the command provider) ---------------------
LIFECYCLE_CHECKS=(
  "first pulumi up converges: table inet xmpp_edge in the VPS namespace, nginx runs, the tailscaled-like table untouched"
  "second pulumi up: no changes and no SSH session"
  "a new extraForwards entry: one in-place update of the push, no replacement of it"
  "pulumi destroy removes our configuration and leaves the tailscaled-like table"
  "an unreachable host: pulumi up fails with a clear error, nothing half-applied"
)
if [ -z "$provider" ]; then
  note "no command provider plugin: github.com/pulumi/pulumi-command/provider is not served by the Go module proxy"
  note "(scripts/engine/probe.sh); XMPP_EDGE_COMMAND_PROVIDER=/path/to/pulumi-resource-command ($COMMAND_PROVIDER_VERSION) runs these:"
  for c in "${LIFECYCLE_CHECKS[@]}"; do skip "$c"; done
  # For the test:all summary (scripts/test-all.sh): why these were skipped.
  echo "# skipped: no command provider plugin (not on the Go module proxy; set XMPP_EDGE_COMMAND_PROVIDER)"
  finish; exit
fi

# 1. First up.
s0=$(sessions)
if pl up --stack lab --yes --skip-preview && our_table >/dev/null && vps_runs nginx && ts_table_intact; then
  pass "${LIFECYCLE_CHECKS[0]} ($(( $(sessions) - s0 )) SSH sessions)"
else
  fail "${LIFECYCLE_CHECKS[0]}" "$(out; echo "--- nft:"; vps nft list ruleset 2>&1 | head -40)"
fi

# 2. Second up: nothing to do, so no SSH at all.
s1=$(sessions)
if pl up --stack lab --yes --skip-preview --expect-no-changes && [ "$(sessions)" -eq "$s1" ]; then
  pass "${LIFECYCLE_CHECKS[1]}"
else
  fail "${LIFECYCLE_CHECKS[1]} (sessions $s1 -> $(sessions))" "$(out)"
fi

# 3. A new forward: the push is updated in place (its confirm re-runs by design: triggers = hash of the bundle).
if pl config set --stack lab --path 'xmpp-edge:extraForwards[0].port' 6000 &&
   pl config set --stack lab --path 'xmpp-edge:extraForwards[0].protocol' tcp &&
   pl preview --stack lab --json; then
  cp "$T/stdout" "$T/preview-forward.json"
  summary=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const ops = {};
    for (const s of r.steps ?? []) { const name = s.urn.split("::").pop(); (ops[name] ??= []).push(s.op); }
    console.log(JSON.stringify(ops));' "$T/preview-forward.json" 2>&1)
  note "preview steps: $summary"
  if printf '%s' "$summary" | node -e '
      const ops = JSON.parse(require("fs").readFileSync(0, "utf8"));
      const apply = (ops["push-apply"] ?? []).join(",");
      const replaced = Object.entries(ops).filter(([n, o]) => n !== "push-confirm" && o.some((x) => /replace/.test(x)));
      process.exit(apply === "update" && replaced.length === 0 ? 0 : 1);' &&
     pl up --stack lab --yes --skip-preview && grep -Eq '~ 1 updated' "$T/out" && grep -q 6000 <<<"$(our_table)"; then
    pass "${LIFECYCLE_CHECKS[2]} (up: $(grep -E 'updated|replaced|created|deleted' "$T/out" | tr -s ' ' | tr '\n' ';'))"
  else
    fail "${LIFECYCLE_CHECKS[2]}" "$(out)"
  fi
else
  fail "${LIFECYCLE_CHECKS[2]}: config set / preview" "$(out)"
fi

# 4. Destroy.
if pl destroy --stack lab --yes --skip-preview && ! our_table >/dev/null && ts_table_intact; then
  pass "${LIFECYCLE_CHECKS[3]}"
else
  fail "${LIFECYCLE_CHECKS[3]}" "$(out; echo "--- nft:"; vps nft list ruleset 2>&1 | head -40)"
fi

# 5. Unreachable host: nothing reaches the VPS, nothing lands in the state.
s2=$(sessions)
if pl stack init unreach && pl config cp --stack lab --dest unreach &&
   pl config set --stack unreach --path 'xmpp-edge:existingHost.address' "$NOBODY4" &&
   pl config set --stack unreach --path 'xmpp-edge:existingHost.ipv4' "$NOBODY4"; then
  pl up --stack unreach --yes --skip-preview
  up_rc=$?
  cp "$T/out" "$T/up-unreach.txt"
  pl stack export --stack unreach
  # The error must be about reaching the host (an input the provider rejects
  # also names the address: a provider without connection.hostKey did).
  if [ "$up_rc" -ne 0 ] && grep -Eqi "dial tcp ${NOBODY4}|${NOBODY4}[^|]*(i/o timeout|timed out|no route to host|unreachable|connection refused)" "$T/up-unreach.txt" &&
     ! grep -q "has a problem" "$T/up-unreach.txt" &&
     ! grep -q '"type": "command:remote:Command"' "$T/out" && ! our_table >/dev/null && [ "$(sessions)" -eq "$s2" ]; then
    pass "${LIFECYCLE_CHECKS[4]} ($(grep -m1 -Ei 'error' "$T/up-unreach.txt" | tr -s ' '))"
  else
    fail "${LIFECYCLE_CHECKS[4]} (exit $up_rc)" "$(cat "$T/up-unreach.txt")"
  fi
else
  fail "${LIFECYCLE_CHECKS[4]}: stack setup" "$(out)"
fi

finish
