// How a bundle reaches the VPS: one shell script on the stdin of one SSH
// session. It stages the files in a fresh directory and runs the bundle's own
// xmpp-edge-apply on them. The Pulumi push and the lab both use exactly this.
// Deterministic text: the same bundle gives the same script, so an unchanged
// bundle is no diff for Pulumi and no SSH session.
//
// `bash -s` runs each line as it arrives, and at the end of its input it runs
// whatever part of a line it got: an SSH stream cut short would run a
// truncated last command (the apply without its --confirm-timeout, say). So
// the first line is one brace group that bash parses whole before running
// it: it reads the rest of the stream into a file and runs it only if its
// SHA-256 is the one the line names. A stream cut anywhere runs nothing: a cut
// inside the first line is a syntax error, a later one fails the checksum.
import { createHash } from "node:crypto";
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
  const body = lines.join("\n");
  return `${runWhenWhole(createHash("sha256").update(body).digest("hex"))}\n${body}`;
}

/** The push script's first line: runs the rest of the stream only once all of it has arrived (see the top of this file). */
function runWhenWhole(sha256: string): string {
  return [
    "{ set -euo pipefail",
    "umask 077",
    "p=$(mktemp /var/tmp/xmpp-edge-push.XXXXXX)",
    `trap 'rm -f -- "$p"' EXIT`,
    'cat >"$p"',
    `if [ "$(sha256sum <"$p")" != "${sha256}  -" ]; then echo "xmpp-edge push: the script did not arrive whole (SHA-256 mismatch); nothing of it ran" >&2; exit 3; fi`,
    'bash "$p" </dev/null',
    "exit; }",
  ].join("; ");
}
