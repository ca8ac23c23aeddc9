// PLAN.md: a readable summary of what a deploy would create, for review.
import { CLOUDFLARE_RANGES_AS_OF } from "../model/cloudflare-ranges";
import { homeListeners } from "../model/home-listeners";
import type { EdgeSpec } from "../model/config";
import { exposureOf } from "../model/exposure";
import { forEdge, type EdgeModel, type HostFacts, type HttpsRoute, type RouteSource, type RouteTarget } from "../model/model";
import type { Source } from "../model/services";
import { formatRange, HTTP_PORT, HTTPS_PORT, type PortRange, type Protocol } from "../model/ports";
import type { Service } from "../model/services";
import { DNS_ONLY_TTL, PROXIED_TTL, SRV_FAILOVER_STEP, type DnsRecord } from "./dns";
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

function homeTarget(id: string, home: string | undefined): string {
  if (id === "https") return "by ALPN and name: see 443 and 80 routing";
  if (id === "http") return "by name and path: see 443 and 80 routing";
  return home ?? "— (served on the VPS)";
}

const portLabel = (protocol: Protocol, ports: PortRange) => `${formatRange(ports)}/${protocol}`;

/** Who stands in front of the web names: the stack's Cloudflare records, or whatever the user sets up with dns "off". */
function webFront(model: EdgeModel): string {
  if (model.config.dns === "cloudflare") return "Cloudflare proxy";
  return model.webOrigins ? "Cloudflare proxy, records set by you" : "your proxy or CDN, records set by you";
}

const ALPN_TEXT: Record<HttpsRoute["alpn"], string> = { "xmpp-client": "xmpp-client", "xmpp-server": "xmpp-server", none: "none", other: "other (h2, http/1.1, …)", any: "any other", "not-xmpp": "none or other (no XMPP id)" };
const NAMES_TEXT: Record<HttpsRoute["names"], string> = { xmpp: "XMPP names", web: "web names", turn: "the TURN name (turnTls)", other: "other names, no SNI", any: "any name" };

const target = (r: RouteTarget & { what: string }) => (r.homePort !== undefined ? `${r.homePort}: ${r.what}` : `none, on the edge: ${r.what}`);

/** The model's 80/443 routing tables, in their order; what matches no row is closed. */
function routingTables(model: EdgeModel): string[] {
  const from = (f: RouteSource) => (f === "anywhere" || model.webOrigins === null ? "anywhere" : "Cloudflare (+ webOriginExtraAllow) only");
  return [
    ...table(
      ["443: ALPN", "name (SNI)", "from", "goes to (home port)"],
      [
        ...model.https.map((r) => [ALPN_TEXT[r.alpn], NAMES_TEXT[r.names], from(r.from), target(r)]),
        ["anything else", "", "", "closed, no answer"],
      ],
    ),
    "",
    ...table(
      ["80: name (Host)", "path", "from", "goes to (home port)"],
      [
        ...model.http.map((r) => [NAMES_TEXT[r.names], r.path, from(r.from), target(r)]),
        ["anything else", "", "", "closed, no answer (444)"],
      ],
    ),
  ];
}

/** The traffic diagram, drawn from the services: only the paths this stack has. */
function trafficDiagram(model: EdgeModel): string[] {
  const c = model.config;
  const ports = (pick: (s: Service) => boolean) => model.services.filter(pick).map((s) => portLabel(s.protocol, s.ports));
  const xmppPorts = [...(c.directTls ? [`${HTTPS_PORT}/tcp ALPN`] : []), ...ports((s) => s.id === "xmpp-c2s" || s.id === "xmpp-s2s")];
  const dnat = ports((s) => s.handler === "nftables");
  const proxied = model.services.some((s) => s.proxyProtocol);
  return [
    "```mermaid",
    "flowchart LR",
    ...(model.webNames.length ? [`  browser([browser]) -->|HTTPS| cf[${webFront(model)}]`, `  cf -->|${HTTP_PORT}/tcp, ${HTTPS_PORT}/tcp| vps`] : []),
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

/** What the home server must serve, and where its configuration comes from. */
function atHome(model: EdgeModel): string[] {
  const snippets = ["prosody.cfg.lua", ...(model.config.preset === "snikket" ? ["snikket.conf"] : []), "nginx-realip.conf"];
  return [
    "## At home",
    "",
    `The home server serves these on its tailnet address; the edge sends nothing else. \`home/\` has what to merge into its configuration: ${snippets.map((s) => `\`${s}\``).join(", ")}. The tailnet policy must let the edge reach these ports, and needs to allow nothing more: a deploy's \`tailscaleAclSnippet\` output is that policy fragment.`,
    "",
    ...table(
      ["home port", "proto", "serves", "comes from the VPS port"],
      homeListeners(model).map((l) => [formatRange(l.ports), l.protocol, l.serves.join("; "), l.from.join("; ")]),
    ),
    "",
  ];
}

/** The records, addresses and aliases apart from SRV, so every SRV field has its own column. */
function dnsSection(model: EdgeModel, records: DnsRecord[]): string[] {
  const c = model.config;
  const srv = records.filter((r) => r.type === "SRV");
  const who =
    c.dns === "cloudflare"
      ? `Created by the stack in the Cloudflare zone${c.zone ? ` \`${c.zone}\`` : ""}.`
      : "`dns: off`: the stack creates none of these. Create them at your DNS provider (they are also in `dns.json` and the `dnsRecords` output); \"proxied\" means behind Cloudflare's proxy (orange cloud), DNS-only otherwise.";
  return [
    "## DNS records",
    "",
    `${who} TTL ${PROXIED_TTL} is Cloudflare's \"automatic\", which proxied records must have; DNS-only records have a TTL in seconds.`,
    "",
    ...table(
      ["type", "name", "content", "proxied", "ttl"],
      records.filter((r) => r.type !== "SRV").map((r) => [r.type, r.name, String(r.content), r.proxied ? "yes" : "no", String(r.ttl)]),
    ),
    "",
    ...(srv.length
      ? [
          `SRV records (DNS-only; the lowest priority is tried first${c.directTls ? `, so direct TLS on ${HTTPS_PORT} comes before STARTTLS` : ""}):`,
          "",
          ...table(
            ["name", "priority", "weight", "port", "target", "ttl"],
            srv.map((r) => [r.name, String(r.data?.priority ?? r.priority ?? ""), String(r.data?.weight ?? ""), String(r.data?.port ?? ""), r.data?.target ?? "", String(r.ttl)]),
          ),
          "",
        ]
      : []),
  ];
}

function firewallSection(model: EdgeModel, firewall: FirewallRule[] | undefined): string[] {
  if (!firewall) {
    return [
      "## Hetzner firewall (inbound)",
      "",
      "None: an existing host gets no cloud firewall. The pushed nftables table drops every inbound port not listed above (and SSH from elsewhere than allowed).",
      "",
    ];
  }
  return [
    "## Hetzner firewall (inbound)",
    "",
    ...table(["proto", "port", "from", "why"], firewall.map((r) => [r.protocol, r.port ?? "", r.sourceIps.join(", "), r.description])),
    "",
    ...(model.webOrigins
      ? [`${HTTP_PORT} and ${HTTPS_PORT} are open to everyone here because the XMPP names share them (XMPP clients, ACME); nginx on the VPS does the origin lock: web names only from Cloudflare's ranges${model.config.webOriginExtraAllow.length ? " and webOriginExtraAllow" : ""}.`, ""]
      : []),
  ];
}

/** One edge and the addresses the plan shows for it. */
export interface PlanMdEdge {
  spec: EdgeSpec;
  ipv4: string;
  ipv6?: string;
}

/** Several edges: where each runs, its addresses and own name, and what edgeMode makes of them. */
function edgesSection(model: EdgeModel, edges: PlanMdEdge[]): string[] {
  const c = model.config;
  if (edges.length < 2) return [];
  const lead = edges.find((e) => !e.spec.drain) ?? edges[0];
  const draining = edges.filter((e) => e.spec.drain).map((e) => `\`${e.spec.name}\``);
  const drainNote = draining.length
    ? [
        `Draining: ${draining.join(", ")}. Out of the SRV records and of every shared name's A/AAAA (the XMPP names, the web names), still up, pushed and answering on its own name, so the sessions on it continue while new ones go to the other edges. Remove it from \`edges\` once its sessions have moved (the records' TTL is ${DNS_ONLY_TTL} s; docs/operating.md, "Replacing an edge").`,
        "",
      ]
    : [];
  const mode =
    c.edgeMode === "failover"
      ? `\`failover\`: the SRV records send clients and servers to \`${lead.spec.name}\` first and to each next edge only when the ones before fail (its priorities are ${SRV_FAILOVER_STEP} higher per edge). Proxied web names and \`${c.xmppHost}\` itself answer with every edge (clients that skip SRV pick one).`
      : `\`active-active\`: the SRV records give every edge the same priority and weight, so clients and servers spread over them and try another when one fails.`;
  return [
    "## Edges",
    "",
    mode,
    "",
    ...drainNote,
    ...table(
      ["edge", "server (tailnet name)", "where", "addresses", "own DNS name"],
      edges.map((e) => [
        e.spec.drain ? `${e.spec.name} (draining)` : e.spec.name,
        e.spec.serverName,
        e.spec.existingHost ? `existing host \`${e.spec.existingHost.address}\`` : `Hetzner \`${e.spec.type}\` in \`${e.spec.location}\``,
        [e.ipv4, e.ipv6 ?? "no IPv6"].join(", "),
        e.spec.dnsName,
      ]),
    ),
    "",
    "Every edge gets the same ports, routing, firewall rules and TURN secret (below); each has its own server, primary IPs, rDNS, single-use tailnet key and push. Later edges' files are under `edges/<name>/`.",
    "",
  ];
}

function sourceText(from: Source): string {
  if (from.kind === "anywhere") return "anyone";
  return from.kind === "tailnet" ? "the tailnet only (closed on the public addresses; deploys go over the tailnet)" : from.cidrs.join(", ");
}

/** Who reaches each edge's SSH port, read off the model's host ports and every other rule that covers it. */
function sshLine(model: EdgeModel): string {
  const one = (m: EdgeModel) => {
    const { port, alsoThrough } = exposureOf(m, "ssh");
    const also = alsoThrough.map((p) => `, and ${sourceText(p.from)} through ${portLabel(p.protocol, p.ports)} (${p.description})`).join("");
    return `${portLabel(port.protocol, port.ports)} from ${sourceText(port.from)}${also}`;
  };
  const edges = model.config.edges;
  if (edges.length <= 1) return `SSH: ${one(model)}.`;
  return `SSH: ${edges.map((e, i) => `edge \`${e.name}\` ${one(forEdge(model, i))}`).join("; ")}.`;
}

/**
 * firewall: the Hetzner firewall's rules, or undefined when none is created (an existing host).
 * edges: every edge with its addresses (one edge: the VPS line only).
 */
export function renderPlanMd(model: EdgeModel, facts: HostFacts, records: DnsRecord[], firewall: FirewallRule[] | undefined, notes: string[], edges: PlanMdEdge[] = []): string {
  const c = model.config;
  const lines: string[] = [
    `# xmpp-edge plan: ${c.domain}`,
    "",
    `XMPP domain \`${c.domain}\`, XMPP host \`${c.xmppHost}\`, preset \`${c.preset}\`, direct TLS ${c.directTls ? "on" : "off"}, client IP by \`${c.clientIp}\`, TURN \`${c.turn}\`, web origin lock \`${c.webOriginLock}\`.`,
    edges.length > 1
      ? `${edges.length} edges (\`${c.edgeMode}\`, image ${[...new Set(c.edges.filter((e) => !e.existingHost).map((e) => `\`${e.image}\``))].join(", ") || "none (existing hosts)"}): ${edges.map((e) => `\`${e.spec.name}\``).join(", ")}. Home (tailnet): ${facts.homeIPv4}${facts.homeIPv6 ? `, ${facts.homeIPv6}` : ""}.`
      : `VPS ${c.existingHost ? `existing host \`${c.existingHost.address}\`` : `Hetzner \`${c.server.type}\` in \`${c.server.location}\` (\`${c.server.image}\`)`}: ${[facts.vpsIPv4, facts.vpsIPv6 ?? "no IPv6"].join(", ")}. Home (tailnet): ${facts.homeIPv4}${facts.homeIPv6 ? `, ${facts.homeIPv6}` : ""}.`,
    "",
    ...notes.map((n) => `> ${n}`),
    ...(notes.length ? [""] : []),
    ...edgesSection(model, edges),
    "## Traffic",
    "",
    ...trafficDiagram(model),
    "",
    "## Ports on the VPS",
    "",
    ...table(
      ["port", "proto", "handled by", "goes to (home port)", "purpose"],
      model.services.map((s) => [formatRange(s.ports), s.protocol, HANDLER_TEXT[s.handler], homeTarget(s.id, s.home && formatRange(s.home)), s.purpose]),
    ),
    "",
    "## 443 and 80 routing",
    "",
    ...routingTables(model),
    "",
    sshLine(model),
    "",
    `Cloudflare ranges as of ${CLOUDFLARE_RANGES_AS_OF}.`,
    "",
    ...atHome(model),
    ...dnsSection(model, records),
    ...firewallSection(model, firewall),
  ];
  return lines.join("\n");
}
