# shellcheck shell=bash
# The one root of every cache and lab directory the suites, builders and
# benches use: XMPP_EDGE_CACHE (default /var/cache/xmpp-edge). Each directory
# below derives from it; the specific variables that moved one directory
# before (XMPP_EDGE_TAILNET_CACHE, XMPP_EDGE_VM_CACHE, XMPP_EDGE_TOOLS_CACHE,
# XMPP_EDGE_ENGINE_CACHE, LAB_DIR, BENCH_LAB_DIR, PULUMI_HOME, GOMODCACHE,
# GOCACHE) still win when set. An empty XMPP_EDGE_CACHE is a machine that has
# built nothing, Go's module and build caches included:
#   XMPP_EDGE_CACHE=$(mktemp -d -p /var/cache xmpp-edge-cold.XXXXXX) npm run test:all
# Not under /tmp, /var/tmp, /root or /run for the lab and the VM: each lab
# host mounts a fresh tmpfs there, which would hide the tailnet binaries and
# the lab's files from it (cache_lab_visible).
XMPP_EDGE_CACHE=${XMPP_EDGE_CACHE:-/var/cache/xmpp-edge}
case $XMPP_EDGE_CACHE in
  /*) ;;
  *) echo "XMPP_EDGE_CACHE=$XMPP_EDGE_CACHE: expected an absolute path" >&2; exit 2 ;;
esac
export XMPP_EDGE_CACHE

# cache_dir NAME: the directory of cache NAME (tailnet, vm, tools, engine, engine-home, go, lab/...).
cache_dir() { printf '%s/%s\n' "$XMPP_EDGE_CACHE" "$1"; }

# cache_go_env: Go's module and build caches under the root, unless set.
cache_go_env() {
  export GOMODCACHE="${GOMODCACHE:-$XMPP_EDGE_CACHE/go/mod}"
  export GOCACHE="${GOCACHE:-$XMPP_EDGE_CACHE/go/build}"
}

# cache_lab_visible LABEL PATH: exit 2 unless PATH is outside the directories
# a lab host mounts tmpfs on (LABEL names the setting in the message).
cache_lab_visible() {
  case $2/ in
    /tmp/* | /var/tmp/* | /root/* | /run/*)
      echo "$1=$2: lab hosts mount a fresh tmpfs on /tmp, /var/tmp, /root and /run, which would hide it; use a directory elsewhere (e.g. mktemp -d -p /var/cache)" >&2
      exit 2 ;;
  esac
}
