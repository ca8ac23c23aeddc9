// The tailnet policy fragment (the tailscaleAclSnippet output, the plan's
// tailscale-acl.json): the edge's tags may reach the home server on exactly
// the forwarded ports and nothing else.
import type { EdgeModel } from "../model/model";
import { formatRange } from "../model/ports";
import { homePorts } from "../model/tailnet";

/**
 * JSON, valid HuJSON, to merge into the tailnet's policy. Plain `acls` rules
 * with `proto`, which Tailscale and Headscale both read. With sshAllowFrom
 * ["tailnet"] the deploy reaches the VPS over the tailnet: tailnet members
 * get SSH to the edge's tags.
 */
export function renderAclSnippet(model: EdgeModel, home: { ipv4: string; ipv6?: string }): string {
  const c = model.config;
  const tags = c.tailscale.tags;
  const hosts: Record<string, string> = { "xmpp-edge-home": `${home.ipv4}/32` };
  if (home.ipv6) hosts["xmpp-edge-home-v6"] = `${home.ipv6}/128`;
  const ports = homePorts(model);
  const acls: Record<string, unknown>[] = [];
  for (const proto of ["tcp", "udp"] as const) {
    if (ports[proto].length === 0) continue;
    const list = ports[proto].map(formatRange).join(",");
    acls.push({ action: "accept", src: tags, proto, dst: Object.keys(hosts).map((h) => `${h}:${list}`) });
  }
  if (c.ssh.mode === "tailnet") acls.push({ action: "accept", src: ["autogroup:member"], proto: "tcp", dst: tags.map((t) => `${t}:${model.sshPort}`) });
  const policy: Record<string, unknown> = { hosts, acls };
  // Headscale has no autogroup:admin; there the tag owners are users of its own.
  if (!c.tailscale.loginServer) policy.tagOwners = Object.fromEntries(tags.map((t) => [t, ["autogroup:admin"]]));
  return JSON.stringify(policy, null, 2) + "\n";
}
