# Source this file (bash) to use the engine scripts/engine/build.sh built:
#   . scripts/engine/env.sh            # builds what is missing first
#   XMPP_EDGE_ENGINE_NO_BUILD=1 . scripts/engine/env.sh   # only point at the cache
# It exports, keeping any value already set:
#   PATH                   the cached pulumi and pulumi-language-nodejs first
#   PULUMI_HOME            plugins and the backend login (not ~/.pulumi):
#                          $XMPP_EDGE_CACHE/engine-home/pulumi (scripts/lib/cache.sh)
#   PULUMI_BACKEND_URL     a local file backend (file://…)
#   PULUMI_CONFIG_PASSPHRASE  the passphrase secrets provider; the default is
#                          the lab's, public, passphrase: set your own for a
#                          real stack (Pulumi.lab.yaml is encrypted with it)
#   PULUMI_SKIP_UPDATE_CHECK, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
#                          never reach for the network: plugins come from
#                          `pulumi plugin install … --file` only
# shellcheck shell=bash
_xe_engine_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/cache.sh
. "$_xe_engine_dir/../lib/cache.sh"
if [ -n "${XMPP_EDGE_ENGINE_NO_BUILD:-}" ]; then
  _xe_engine_bin=$("$_xe_engine_dir/build.sh" --print)
else
  # shellcheck disable=SC2317 # exit only when executed instead of sourced
  _xe_engine_bin=$("$_xe_engine_dir/build.sh") || { echo "env.sh: engine build failed" >&2; return 1 2>/dev/null || exit 1; }
fi
case ":$PATH:" in *":$_xe_engine_bin:"*) ;; *) export PATH="$_xe_engine_bin:$PATH" ;; esac
export PULUMI_HOME="${PULUMI_HOME:-$(cache_dir engine-home/pulumi)}"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$(cache_dir engine-home/state)}"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-xmpp-edge-lab}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
case "$PULUMI_BACKEND_URL" in file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;; esac
mkdir -p "$PULUMI_HOME"
unset _xe_engine_dir _xe_engine_bin
