# shellcheck shell=bash disable=SC2034 # sourced: the variables are used by its callers
# Versions of the Pulumi engine pieces scripts/engine/build.sh builds from the
# Go module proxy. Sourced by build.sh, env.sh and probe.sh.
#
# The CLI matches the @pulumi/pulumi pin in package.json (3.248.0). The
# Node.js language host has no module version the proxy serves
# (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3: 403 at
# every version); sdk/v3 carried it as a package up to v3.68.0, so that is
# the one we can build. The providers (command, tls, random, hcloud,
# tailscale, cloudflare) are not buildable from the proxy: see probe.sh.
PULUMI_CLI_VERSION=3.248.0
NODEJS_HOST_SDK_VERSION=3.68.0
# The provider the push needs; built only when its module becomes servable.
COMMAND_PROVIDER_VERSION=1.2.1
