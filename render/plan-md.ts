// PLAN.md: a readable summary of what a deploy would create, for review.
import { CLOUDFLARE_RANGES_AS_OF } from "../model/cloudflare-ranges";
import type { EdgeModel, HostFacts } from "../model/model";
import { formatRange } from "../model/ports";
import type { Service } from "../model/services";
import type { DnsRecord } from "./dns";
import type { FirewallRule } from "./firewall";

const HANDLER_TEXT: Record<string, string> = {
  "nginx-http": "nginx (http)",
  "nginx-stream": "nginx (stream)",
  nftables: "kernel DNAT + masquerade",
  coturn: "coturn on the VPS",
};

function table(head: string[], rows: string[][]): string[] {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`)];
}

function homeTarget(model: EdgeModel, id: string, home: string | undefined): string {
  const m = model;
  if (id === "https") {
    const parts = m.https.alpn.map((a) => `ALPN ${a.protocol} → ${a.homePort}`);
    parts.push(`XMPP names → ${m.https.xmppNamesHomePort}`, `other names → ${m.https.webHomePort}${m.webOrigins ? " (origin-locked)" : ""}`);
    return parts.join("; ");
  }
  if (id === "http") return `XMPP names → ${m.http.xmppNamesHomePort}; web names → ${m.http.webHomePort}${m.webOrigins ? " (origin-locked)" : ""}`;
  return home ?? "— (served on the VPS)";
}

/** The traffic diagram, drawn from the services: only the paths this stack has. */
function trafficDiagram(model: EdgeModel): string[] {
  const c = model.config;
  const ports = (pick: (s: Service) => boolean) => model.services.filter(pick).map((s) => (s.protocol === "udp" ? `${formatRange(s.ports)}/udp` : formatRange(s.ports)));
  const xmppPorts = [...(model.https.alpn.length ? ["443 ALPN"] : []), ...ports((s) => s.id === "xmpp-c2s" || s.id === "xmpp-s2s")];
  const dnat = ports((s) => s.handler === "nftables");
  const proxied = model.services.some((s) => s.proxyProtocol);
  return [
    "```mermaid",
    "flowchart LR",
    ...(model.webNames.length ? ["  browser([browser]) -->|HTTPS| cf[Cloudflare proxy]", "  cf -->|80/443| vps"] : []),
    `  xc([XMPP client / server]) -->|${xmppPorts.join(", ")}| vps`,
    ...(c.turn === "edge" ? ["  tc([call peer]) -->|STUN/TURN| vps"] : []),
    `  subgraph vps[VPS ${c.xmppHost}]`,
    "    nginx[nginx stream/http]",
    ...(dnat.length ? ["    nft[nftables DNAT]"] : []),
    ...(c.turn === "edge" ? ["    coturn[coturn]"] : []),
    "  end",
    `  nginx -->|tailscale0${proxied ? ", PROXY v1" : ""}| home[(home server)]`,
    ...(dnat.length ? [`  nft -->|tailscale0, masquerade: ${dnat.join(", ")}| home`] : []),
    "```",
  ];
}

/** firewall: the Hetzner firewall's rules, or undefined when none is created (an existing host). */
export function renderPlanMd(model: EdgeModel, facts: HostFacts, records: DnsRecord[], firewall: FirewallRule[] | undefined, notes: string[]): string {
  const c = model.config;
  const lines: string[] = [
    `# xmpp-edge plan: ${c.domain}`,
    "",
    `XMPP domain \`${c.domain}\`, XMPP host \`${c.xmppHost}\`, preset \`${c.preset}\`, direct TLS ${c.directTls ? "on" : "off"}, client IP by \`${c.clientIp}\`, TURN \`${c.turn}\`, web origin lock \`${c.webOriginLock}\`.`,
    `VPS ${c.existingHost ? `existing host \`${c.existingHost.address}\`` : `Hetzner \`${c.server.type}\` in \`${c.server.location}\` (\`${c.server.image}\`)`}: ${[facts.vpsIPv4, facts.vpsIPv6 ?? "no IPv6"].join(", ")}. Home (tailnet): ${facts.homeIPv4}${facts.homeIPv6 ? `, ${facts.homeIPv6}` : ""}.`,
    "",
    ...notes.map((n) => `> ${n}`),
    ...(notes.length ? [""] : []),
    "## Traffic",
    "",
    ...trafficDiagram(model),
    "",
    "## Ports on the VPS",
    "",
    ...table(
      ["port", "proto", "handled by", "goes to (home port)", "purpose"],
      model.services.map((s) => [formatRange(s.ports), s.protocol, HANDLER_TEXT[s.handler], homeTarget(model, s.id, s.home && formatRange(s.home)), s.purpose]),
    ),
    "",
    `SSH: ${c.ssh.mode === "tailnet" ? "closed on the public addresses; deploys go over the tailnet" : `from ${c.ssh.from.join(", ")}`}. Cloudflare ranges as of ${CLOUDFLARE_RANGES_AS_OF}.`,
    "",
    "## DNS records",
    "",
    ...table(
      ["type", "name", "content", "proxied", "ttl", "priority"],
      records.map((r) => [r.type, r.name, String(r.content), r.proxied ? "yes" : "no", String(r.ttl), r.priority === undefined ? "" : String(r.priority)]),
    ),
    "",
    "## Hetzner firewall (inbound)",
    "",
    ...(firewall
      ? table(["proto", "port", "from", "why"], firewall.map((r) => [r.protocol, r.port ?? "", r.sourceIps.join(", "), r.description]))
      : ["None: an existing host gets no cloud firewall. The pushed nftables table drops every inbound port not listed above (and SSH from elsewhere than allowed)."]),
    "",
  ];
  return lines.join("\n");
}
