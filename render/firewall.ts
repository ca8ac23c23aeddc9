// Hetzner cloud firewall rules (inbound; outbound stays open): one rule per
// entry of the model's inbound ports (model/services.ts), the same list as the
// nftables input filter, which stays as defence in depth.
import { inboundPorts, type EdgeModel } from "../model/model";
import { formatRange } from "../model/ports";
import type { Source } from "../model/services";

export const ANYWHERE = ["0.0.0.0/0", "::/0"];

export interface FirewallRule {
  direction: "in";
  protocol: "tcp" | "udp" | "icmp";
  port?: string;
  sourceIps: string[];
  description: string;
}

/** The public sources of a port; none for tailnet-only ports (they arrive inside WireGuard, on tailscaled's port). */
function sourceIps(from: Source): string[] {
  if (from.kind === "anywhere") return ANYWHERE;
  return from.kind === "cidrs" ? from.cidrs : [];
}

export function renderFirewallRules(model: EdgeModel): FirewallRule[] {
  const rules: FirewallRule[] = [{ direction: "in", protocol: "icmp", sourceIps: ANYWHERE, description: "ICMP (path MTU discovery, ping)" }];
  for (const p of inboundPorts(model)) {
    const ips = sourceIps(p.from);
    // Hetzner limits descriptions to 255 characters.
    if (ips.length) rules.push({ direction: "in", protocol: p.protocol, port: formatRange(p.ports), sourceIps: ips, description: p.description.slice(0, 255) });
  }
  return rules;
}
