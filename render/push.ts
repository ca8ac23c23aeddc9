// How a bundle reaches the VPS: one shell script on the stdin of one SSH
// session. It stages the files in a fresh directory and runs the bundle's own
// xmpp-edge-apply on them. The Pulumi push and the lab both use exactly this.
// Deterministic text: the same bundle gives the same script, so an unchanged
// bundle is no diff for Pulumi and no SSH session.
import { inCidr, ipFamily, TAILNET_IPV4_RANGE } from "../model/net";
import { APPLY_PATH, type Bundle } from "./bundle";

/** Seconds the new configuration has to be confirmed from a second connection before it reverts itself. */
export const CONFIRM_TIMEOUT_SECONDS = 120;

/** The command that reads the push script from stdin. */
export const PUSH_COMMAND = "bash -s";
export const CONFIRM_COMMAND = `${APPLY_PATH} --confirm`;
export const REMOVE_COMMAND = `if [ -x ${APPLY_PATH} ]; then ${APPLY_PATH} --remove; fi`;

const EOF_MARK = "XMPP_EDGE_EOF";

/**
 * The VPS's tailnet IPv4 as CONFIRM_COMMAND reports it ("xmpp-edge-apply:
 * tailnet-ipv4 A", from `tailscale ip -4`), or undefined: only an address in
 * the tailnet's IPv4 range is taken, since the home snippets will trust it.
 */
export function parseTailnetReport(confirmStdout: string): string | undefined {
  const m = /^xmpp-edge-apply: tailnet-ipv4 (\S+)$/m.exec(confirmStdout);
  if (!m || ipFamily(m[1]) !== 4 || !inCidr(m[1], TAILNET_IPV4_RANGE)) return undefined;
  return m[1];
}

export function renderPushScript(bundle: Bundle, confirmTimeoutSeconds: number = CONFIRM_TIMEOUT_SECONDS): string {
  const lines = [
    "set -euo pipefail",
    "umask 077",
    'stage=$(mktemp -d /var/tmp/xmpp-edge-stage.XXXXXX)',
    'trap \'rm -rf "$stage"\' EXIT',
  ];
  for (const path of Object.keys(bundle).sort()) {
    const f = bundle[path];
    const dir = path.slice(0, path.lastIndexOf("/")) || "/";
    lines.push(
      `mkdir -p "$stage${dir}"`,
      `base64 -d > "$stage${path}" <<'${EOF_MARK}'`,
      ...(Buffer.from(f.content, "utf8").toString("base64").match(/.{1,76}/g) ?? []),
      EOF_MARK,
      `chmod ${f.mode} "$stage${path}"`,
    );
  }
  lines.push(`"$stage${APPLY_PATH}" "$stage" --confirm-timeout ${confirmTimeoutSeconds}`, "");
  return lines.join("\n");
}
