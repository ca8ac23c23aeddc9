// The tailnet policy fragment (the tailscaleAclSnippet output, the plan's
// tailscale-acl.json): the edge's tags may reach the home server on exactly
// the forwarded ports and nothing else. Every edge carries the same tags, so
// the rules cover every edge; SSH names every edge's port.
import type { EdgeModel } from "../model/model";
import { formatRange, SSH_PORT, type PortRange } from "../model/ports";
import { homePorts } from "../model/tailnet";

/**
 * The policy's own assertions, checked by the control server on every policy
 * change (Tailscale and Headscale alike refuse a policy whose tests fail): the
 * edge reaches each forwarded home port and not a port it does not forward;
 * only tailscaleSshFrom reach the edge's SSH (sshAllowFrom ["tailnet"]), and
 * tailnet members as such never do. A test names one port each.
 */
function aclTests(model: EdgeModel, homeHosts: string[]): Record<string, unknown>[] {
  const c = model.config;
  const edge = c.tailscale.tags[0];
  const ports = homePorts(model);
  const ends = (list: PortRange[]) => [...new Set(list.flatMap((r) => [r.from, r.to]))];
  const tests: Record<string, unknown>[] = [];
  // Home's own SSH, unless the edge forwards there.
  const notForwarded = firstFree(ports.tcp, SSH_PORT);
  tests.push({ src: edge, proto: "tcp", accept: homeHosts.flatMap((h) => ends(ports.tcp).map((p) => `${h}:${p}`)), deny: homeHosts.map((h) => `${h}:${notForwarded}`) });
  if (ports.udp.length > 0) tests.push({ src: edge, proto: "udp", accept: homeHosts.flatMap((h) => ends(ports.udp).map((p) => `${h}:${p}`)) });
  const ssh = edgeSshPorts(model).map((p) => `${edge}:${p}`);
  if (c.ssh.mode === "tailnet") for (const who of c.tailscale.sshFrom) tests.push({ src: who, proto: "tcp", accept: ssh });
  tests.push({ src: "autogroup:member", proto: "tcp", deny: ssh });
  return tests;
}

/**
 * Every edge's SSH port (an existing host's own, else 22): the edges share
 * the tags, so one rule per port covers them all.
 */
function edgeSshPorts(model: EdgeModel): number[] {
  const ports = model.config.edges.map((e) => e.existingHost?.port ?? SSH_PORT);
  return [...new Set([model.sshPort, ...ports])];
}

/** The first port from `start` up that no range covers. */
function firstFree(ranges: PortRange[], start: number): number {
  let p = start;
  while (ranges.some((r) => r.from <= p && p <= r.to)) p++;
  return p;
}

/**
 * JSON, valid HuJSON, to merge into the tailnet's policy. Plain `acls` rules
 * with `proto`, which Tailscale and Headscale both read. With sshAllowFrom
 * ["tailnet"] the deploy reaches the VPS over the tailnet: tailscaleSshFrom
 * (the deployers, not every member) get SSH to the edge's tags. Tailscale's
 * default allow-all rule must go for any of this to mean something (README).
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
  if (c.ssh.mode === "tailnet") acls.push({ action: "accept", src: c.tailscale.sshFrom, proto: "tcp", dst: tags.map((t) => `${t}:${edgeSshPorts(model).join(",")}`) });
  const policy: Record<string, unknown> = { hosts, acls, tests: aclTests(model, Object.keys(hosts)) };
  // Headscale has no autogroup:admin; there the tag owners are users of its own.
  if (!c.tailscale.loginServer) policy.tagOwners = Object.fromEntries(tags.map((t) => [t, ["autogroup:admin"]]));
  return JSON.stringify(policy, null, 2) + "\n";
}
