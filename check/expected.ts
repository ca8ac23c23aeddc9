// What must be true of a deployed edge, derived from the validated model —
// the same model the plan and the program render from, no second list:
// DNS from renderDnsRecords, ports from planServices, the web names and the
// origin lock from buildModel. Takes every edge's addresses (model.config.edges'
// order): several edges in front of one home add addresses and
// each edge's own name and SRV records, all from renderDnsRecords.
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "../model/cloudflare-ranges";
import type { EdgeModel } from "../model/model";
import { normaliseCidr, TAILNET_IPV4_RANGE, TAILNET_IPV6_RANGE } from "../model/net";
import { HTTPS_PORT, SSH_PORT, TURN_PORT, XMPP_C2S_PORT, XMPP_S2S_PORT, type PortRange } from "../model/ports";
import { renderDnsRecords, type SrvData } from "../render/dns";

export interface EdgeAddresses {
  ipv4: string;
  /** Absent for an IPv4-only existing host (no AAAA records then). */
  ipv6?: string;
}

export interface ExpectedAddressName {
  name: string;
  /** Proxied (a web name): answered with the proxy's addresses, never the edge's. */
  proxied: boolean;
  /** DNS-only names: exactly these. */
  ipv4: string[];
  ipv6: string[];
}

export interface ExpectedSrv {
  name: string;
  records: SrvData[];
}

export interface PortProbe {
  port: number;
  expect: "open" | "closed";
  why: string;
}

export interface DeniedPeer {
  address: string;
  why: string;
}

export interface Expected {
  domain: string;
  xmppHost: string;
  edges: EdgeAddresses[];
  dns: {
    addressNames: ExpectedAddressName[];
    cnames: { name: string; target: string }[];
    srv: ExpectedSrv[];
    /** Pairs whose priorities must sort `first` before `then` (XEP-0368: direct TLS first). */
    srvOrder: { first: string; then: string }[];
    /** Where a proxied name may point: Cloudflare's published ranges plus webOriginExtraAllow. */
    proxyRanges: string[];
    /** Addresses no answer may be, with the reason shown when one is. */
    forbidden: { cidr: string; why: string }[];
  };
  xmpp: { directTls: boolean; httpsPort: number; c2sPort: number; s2sPort: number };
  turn: { port: number; relayPorts: PortRange; deniedPeers: DeniedPeer[] } | null;
  /** turnTls: each edge's TURN name on its IPv4 address (the relays' family the checks use), reached on 443. */
  turnTls: { port: number; targets: { name: string; address: string }[] } | null;
  web: { names: string[]; originLock: boolean };
  ports: { probes: PortProbe[]; sshJudged: boolean };
}

/**
 * Common service ports probed besides the planned ones (never a sweep):
 * what an unplanned listener or a firewall left open is most likely to be.
 */
export const COMMON_TCP_PORTS = [21, 22, 23, 25, 53, 80, 110, 143, 443, 445, 587, 993, 1433, 2375, 3000, 3306, 3389, 5432, 5900, 6379, 8000, 8080, 8443, 9000, 9200, 11211, 27017] as const;

/** A planned range longer than this is probed at its ends and middle only. */
const MAX_PROBES_PER_RANGE = 8;

/** RFC 5737 and RFC 3849: examples, never a deployed edge. */
export const DOCUMENTATION_RANGES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"];

export interface ExpectOptions {
  /** The lab and the examples live in documentation ranges: allow them there only. */
  allowDocumentationAddresses?: boolean;
}

export function expectedFacts(model: EdgeModel, edges: EdgeAddresses[], opts: ExpectOptions = {}): Expected {
  if (edges.length === 0) throw new Error("expectedFacts: no edge addresses given");
  const c = model.config;
  if (edges.length !== c.edges.length) throw new Error(`expectedFacts: ${edges.length} edge addresses for ${c.edges.length} edges`);
  const records = renderDnsRecords(model, edges);

  const addressNames = new Map<string, ExpectedAddressName>();
  for (const r of records) {
    if (r.type !== "A" && r.type !== "AAAA") continue;
    const entry = addressNames.get(r.name) ?? { name: r.name, proxied: r.proxied, ipv4: [], ipv6: [] };
    const list = r.type === "A" ? entry.ipv4 : entry.ipv6;
    if (!list.includes(r.content)) list.push(r.content);
    addressNames.set(r.name, entry);
  }
  const srv = new Map<string, ExpectedSrv>();
  for (const r of records) {
    if (r.type !== "SRV" || !r.data) continue;
    const entry = srv.get(r.name) ?? { name: r.name, records: [] };
    if (!entry.records.some((d) => JSON.stringify(d) === JSON.stringify(r.data))) entry.records.push(r.data);
    srv.set(r.name, entry);
  }
  const cnames = [...new Map(records.filter((r) => r.type === "CNAME").map((r) => [r.name, { name: r.name, target: r.content }])).values()];
  const srvOrder = c.directTls
    ? (["client", "server"] as const).map((k) => ({ first: `_xmpps-${k}._tcp.${c.domain}`, then: `_xmpp-${k}._tcp.${c.domain}` }))
    : [];

  const forbidden: { cidr: string; why: string }[] = [];
  if (c.home.ipv4) forbidden.push({ cidr: `${c.home.ipv4}/32`, why: "the home server's tailnet address (homeTailnetIPv4)" });
  if (c.home.ipv6) forbidden.push({ cidr: `${c.home.ipv6}/128`, why: "the home server's tailnet address (homeTailnetIPv6)" });
  forbidden.push({ cidr: TAILNET_IPV4_RANGE, why: "a tailnet address" }, { cidr: TAILNET_IPV6_RANGE, why: "a tailnet address" });
  if (!opts.allowDocumentationAddresses) for (const cidr of DOCUMENTATION_RANGES) forbidden.push({ cidr, why: "a documentation address (an example, never a real edge)" });

  const turnService = model.services.find((s) => s.id === "turn-relay");
  // Not the edge's own address: two users of one edge relay to each other
  // through it (each permits the other's relay, an address of the edge), and
  // coturn admits its relay addresses as peers even when denied-peer-ip names
  // them. check/turn.ts proves that relay path works instead.
  const deniedPeers: DeniedPeer[] = [
    { address: c.home.ipv4 ?? "100.64.0.1", why: c.home.ipv4 ? "the home server's tailnet address" : "a tailnet address" },
    { address: "10.0.0.1", why: "a private address" },
    { address: "127.0.0.1", why: "loopback" },
  ];

  return {
    domain: c.domain,
    xmppHost: c.xmppHost,
    edges,
    dns: {
      addressNames: [...addressNames.values()],
      cnames,
      srv: [...srv.values()],
      srvOrder,
      proxyRanges: [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6, ...c.webOriginExtraAllow.map(normaliseCidr)],
      forbidden,
    },
    xmpp: { directTls: c.directTls, httpsPort: HTTPS_PORT, c2sPort: XMPP_C2S_PORT, s2sPort: XMPP_S2S_PORT },
    turn: turnService ? { port: TURN_PORT, relayPorts: turnService.ports, deniedPeers } : null,
    turnTls: turnService && c.edges.some((e) => e.turnTlsName !== undefined)
      ? { port: HTTPS_PORT, targets: c.edges.flatMap((e, i) => (e.turnTlsName === undefined ? [] : [{ name: e.turnTlsName, address: edges[i].ipv4 }])) }
      : null,
    web: { names: model.webNames, originLock: model.webOrigins !== null },
    ports: portProbes(model),
  };
}

function portProbes(model: EdgeModel): Expected["ports"] {
  const probes = new Map<number, PortProbe>();
  for (const s of model.services) {
    if (s.protocol !== "tcp") continue;
    for (const port of sample(s.ports)) probes.set(port, { port, expect: "open", why: `planned: ${s.purpose}` });
  }
  const sshJudged = model.config.ssh.mode === "tailnet";
  for (const port of COMMON_TCP_PORTS) {
    if (probes.has(port)) continue;
    if (port === SSH_PORT) {
      // SSH from CIDRs is open to those CIDRs only: whether this run's source is among them is not the edge's fault.
      if (sshJudged) probes.set(port, { port, expect: "closed", why: 'sshAllowFrom is ["tailnet"]: no public SSH' });
      continue;
    }
    probes.set(port, { port, expect: "closed", why: "not in the plan" });
  }
  return { probes: [...probes.values()].sort((a, b) => a.port - b.port), sshJudged };
}

/** Every port of a short range; the ends and a few evenly spaced ones of a long one. */
export function sample(r: PortRange): number[] {
  const n = r.to - r.from + 1;
  if (n <= MAX_PROBES_PER_RANGE) return Array.from({ length: n }, (_, i) => r.from + i);
  const step = (n - 1) / (MAX_PROBES_PER_RANGE - 1);
  return [...new Set(Array.from({ length: MAX_PROBES_PER_RANGE }, (_, i) => r.from + Math.round(i * step)))];
}
