// The DNS records, as data. Generic in the address type: the plan passes
// strings, the Pulumi program passes Outputs. Web names are proxied by
// Cloudflare; XMPP names are DNS-only (XMPP, TURN and federation need the
// VPS itself). Nothing here ever points at the home server. Several edges
// add addresses and SRV targets; one edge is the single-VPS set.
import type { EdgeModel } from "../model/model";
import { HTTPS_PORT, XMPP_C2S_PORT, XMPP_S2S_PORT } from "../model/ports";
import { snikketAliases } from "../model/names";

export const DNS_ONLY_TTL = 300;
/** Cloudflare requires ttl 1 ("automatic") on proxied records. */
export const PROXIED_TTL = 1;
/** SRV: lower priority wins; direct TLS on 443 sorts before STARTTLS (XEP-0368). */
export const SRV_PRIORITY_DIRECT_TLS = 5;
export const SRV_PRIORITY_STARTTLS = 10;
const SRV_WEIGHT = 5;

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface DnsRecord<A = string> {
  type: "A" | "AAAA" | "CNAME" | "SRV";
  name: string;
  content: A | string;
  proxied: boolean;
  ttl: number;
  priority?: number;
  data?: SrvData;
}

/** One edge's public addresses; `ipv6` undefined (an IPv4-only existing host): no AAAA records for it. */
export interface EdgeHost<A = string> {
  ipv4: A;
  ipv6?: A;
}

/** A record and its stable key (type, name, and the edge for every edge after the first): components/dns.ts names resources by it. */
export interface KeyedRecord<A = string> {
  key: string;
  record: DnsRecord<A>;
}

/**
 * With several edges, failover puts each later edge this far behind the one
 * before it, so every record of the first edge (direct TLS 5, STARTTLS 10)
 * sorts before any of the second (15, 20), and each edge still offers direct
 * TLS before STARTTLS (XEP-0368).
 */
export const SRV_FAILOVER_STEP = 10;

/**
 * The record set for the edges, the first edge first (model.config.edges'
 * order; a single host stands for the one edge). With one edge it is exactly
 * the single-VPS set (an upgraded stack replaces no record). With several:
 * every edge's addresses on the DNS-only XMPP names (clients that skip SRV)
 * and the proxied web names, each edge's own DNS-only name
 * (<edge>.<xmppHost>), and SRV records pointing at those names, one per edge:
 * equal priority and weight (active-active) or the first edge first (failover).
 * A draining edge keeps only its own name (its sessions continue there); its
 * SRV records and its addresses on the shared names go, and no other edge's
 * record changes (failover priorities stay by position), so draining and
 * undraining touch only the draining edge's records.
 */
export function renderDnsRecordSet<A>(model: EdgeModel, hosts: EdgeHost<A> | EdgeHost<A>[]): KeyedRecord<A>[] {
  const c = model.config;
  const list = Array.isArray(hosts) ? hosts : [hosts];
  if (list.length !== c.edges.length) throw new Error(`renderDnsRecords: ${list.length} edge addresses for ${c.edges.length} edges`);
  const several = list.length > 1;
  const out: KeyedRecord<A>[] = [];
  // The first edge's keys are the single-VPS stack's: type and name only.
  // A name only one edge answers for (its own name) needs no edge in its key.
  const push = (record: DnsRecord<A>, edge: number | "own") => out.push({ key: `${record.type}-${record.name}${edge === 0 || edge === "own" ? "" : `-${c.edges[edge].name}`}`, record });
  const address = (name: string, proxied: boolean, edge: number, key: number | "own" = edge) => {
    const ttl = proxied ? PROXIED_TTL : DNS_ONLY_TTL;
    const vps = list[edge];
    push({ type: "A", name, content: vps.ipv4, proxied, ttl }, key);
    if (vps.ipv6 !== undefined) push({ type: "AAAA", name, content: vps.ipv6, proxied, ttl }, key);
  };
  // A draining edge is left out of every shared name: new clients go to the others.
  const carrying = list.map((_, i) => i).filter((i) => !c.edges[i].drain);
  const everyEdge = (name: string, proxied: boolean) => carrying.forEach((i) => address(name, proxied, i));
  for (const name of model.webNames) everyEdge(name, true);

  const aliases = c.preset === "snikket" ? snikketAliases(c.domain) : [];
  for (const name of model.xmppNames.filter((n) => !aliases.includes(n))) everyEdge(name, false);
  for (const name of aliases) push({ type: "CNAME", name, content: c.domain, proxied: false, ttl: DNS_ONLY_TTL }, 0);
  // An SRV target must be a name with addresses, not an alias (RFC 2782): each edge's own.
  if (several) c.edges.forEach((e, i) => address(e.dnsName, false, i, "own"));
  // TURN over TLS: each edge's own name, so the CA's HTTP-01 fetch reaches the edge that asked.
  c.edges.forEach((e, i) => e.turnTlsName !== undefined && address(e.turnTlsName, false, i, "own"));

  const srv = (service: string, priority: number, port: number) => {
    carrying.forEach((i) => {
      const target = several ? c.edges[i].dnsName : c.xmppHost;
      const p = c.edgeMode === "failover" ? priority + i * SRV_FAILOVER_STEP : priority;
      const data = { priority: p, weight: SRV_WEIGHT, port, target };
      push({ type: "SRV", name: `${service}._tcp.${c.domain}`, content: `${SRV_WEIGHT} ${port} ${target}`, proxied: false, ttl: DNS_ONLY_TTL, priority: p, data }, i);
    });
  };
  if (c.directTls) {
    srv("_xmpps-client", SRV_PRIORITY_DIRECT_TLS, HTTPS_PORT);
    srv("_xmpps-server", SRV_PRIORITY_DIRECT_TLS, HTTPS_PORT);
  }
  srv("_xmpp-client", SRV_PRIORITY_STARTTLS, XMPP_C2S_PORT);
  srv("_xmpp-server", SRV_PRIORITY_STARTTLS, XMPP_S2S_PORT);
  return out;
}

/** The records alone (the dnsRecords output, the plan's dns.json). */
export function renderDnsRecords<A>(model: EdgeModel, hosts: EdgeHost<A> | EdgeHost<A>[]): DnsRecord<A>[] {
  return renderDnsRecordSet(model, hosts).map((r) => r.record);
}
