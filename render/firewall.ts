// Hetzner cloud firewall rules (inbound; outbound stays open). The same
// service list as the nftables input filter, which stays as defence in depth.
import type { EdgeModel } from "../model/model";
import { formatRange, TAILSCALE_UDP_PORT } from "../model/ports";

export const ANYWHERE = ["0.0.0.0/0", "::/0"];

export interface FirewallRule {
  direction: "in";
  protocol: "tcp" | "udp" | "icmp";
  port?: string;
  sourceIps: string[];
  description: string;
}

export function renderFirewallRules(model: EdgeModel): FirewallRule[] {
  const c = model.config;
  const rules: FirewallRule[] = [{ direction: "in", protocol: "icmp", sourceIps: ANYWHERE, description: "ICMP (path MTU discovery, ping)" }];
  if (c.ssh.mode === "public") {
    rules.push({ direction: "in", protocol: "tcp", port: String(model.sshPort), sourceIps: c.ssh.from, description: "SSH from sshAllowFrom (deploys)" });
  }
  rules.push({ direction: "in", protocol: "udp", port: String(TAILSCALE_UDP_PORT), sourceIps: ANYWHERE, description: "tailscaled direct connections" });
  for (const s of model.services) {
    // Hetzner limits descriptions to 255 characters.
    rules.push({ direction: "in", protocol: s.protocol, port: formatRange(s.ports), sourceIps: ANYWHERE, description: `${s.id}: ${s.purpose}`.slice(0, 255) });
  }
  return rules;
}
