// Shapes of the stack outputs that are more than a value: the port table and
// the SSH instructions. Pure, so they read the same in a test.
import type { EdgeModel } from "../model/model";
import { formatRange } from "../model/ports";

export interface ForwardedPortRow {
  id: string;
  protocol: string;
  ports: string;
  handler: string;
  /** Home port(s) on the tailnet, or null when the VPS serves the port itself (coturn, nginx routing). */
  home: string | null;
  purpose: string;
}

export function forwardedPorts(model: EdgeModel): ForwardedPortRow[] {
  return model.services.map((s) => ({
    id: s.id,
    protocol: s.protocol,
    ports: formatRange(s.ports),
    handler: s.handler,
    home: s.home ? formatRange(s.home) : null,
    purpose: s.purpose,
  }));
}

/** Where the deploy key file is expected in sshCommand. */
export const KEY_FILE = "~/.ssh/xmpp-edge-deploy";

/** An ssh command line that pins the host key through a known_hosts line (the sshKnownHosts output). */
export function sshCommand(target: { host: string; port: number; user: string }): string {
  const port = target.port === 22 ? "" : ` -p ${target.port}`;
  return `ssh -i ${KEY_FILE} -o StrictHostKeyChecking=yes -o UserKnownHostsFile=~/.ssh/xmpp-edge-known_hosts${port} ${target.user}@${target.host}`;
}

/** The line for that known_hosts file; a non-default port is written [host]:port. */
export function knownHostsLine(target: { host: string; port: number }, hostKey: string): string {
  const host = target.port === 22 ? target.host : `[${target.host}]:${target.port}`;
  return `${host} ${hostKey.trim()}`;
}
