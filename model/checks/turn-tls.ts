// TURN over TLS on 443 (turnTls): the name it is reached by. It must be a
// DNS-only name of its own, because 443 routes a TLS connection without ALPN
// by its name, and an XMPP name without ALPN is a client doing direct TLS.
// Each edge gets its own certificate by HTTP-01, which the CA fetches from
// whichever address the name resolves to: so with several edges each edge
// has a name of its own that resolves to it alone.
import type { EdgeSpec, ParsedConfig } from "../config";
import { snikketAliases, xmppNames } from "../names";
import { isHostname, isInZone } from "../shapes";
import { quoteRedacted, type Checks } from "./report";

/** turnTlsName's default: a name below the domain, which lies in the zone whenever the domain does. */
export function defaultTurnTlsName(domain: string): string {
  return `turn.${domain}`;
}

/** Edge i's TURN-over-TLS name: the configured one with one edge, below it per edge with several. */
export function edgeTurnTlsName(base: string, edge: EdgeSpec, several: boolean): string {
  return several ? `${edge.name}.${base}` : base;
}

/** Sets each edge's turnTlsName (turnTls on and every name valid); returns the first edge's. */
export function checkTurnTls(p: ParsedConfig, xmppHost: string, edges: EdgeSpec[], c: Checks): string | undefined {
  if (!p.turnTls) {
    if (p.turnTlsName !== undefined) c.report("turnTlsName", `is set but turnTls is off; set turnTls: true to offer TURN over TLS on 443, or remove turnTlsName`);
    return undefined;
  }
  if (p.turn !== "edge") {
    c.report("turnTls", `needs turn "edge" (coturn on the edge relays what TLS carries); turn is ${quoteRedacted(p.turn)}`);
    return undefined;
  }
  const key = p.turnTlsName === undefined ? "domain" : "turnTlsName";
  const base = p.turnTlsName ?? defaultTurnTlsName(p.domain);
  if (!c.ok(key)) return undefined;
  if (!isHostname(base)) {
    c.report(key, p.turnTlsName === undefined ? `makes turnTlsName's default ${quoteRedacted(base)}, which is not a valid hostname; set turnTlsName` : `${quoteRedacted(base)} is not a valid hostname; expected a lower-case fully qualified name like "turn.example.com"`);
    return undefined;
  }
  if (p.zone !== undefined && c.ok("zone") && !isInZone(base, p.zone)) {
    c.report("turnTlsName", `${quoteRedacted(base)} is outside the zone ${quoteRedacted(p.zone)}; every record must be ${p.zone} or a name below it`);
    return undefined;
  }
  if (!(c.ok("domain") && c.ok("xmppHost") && c.ok("webHostnames") && c.ok("edges"))) return undefined;
  const taken = new Map<string, string>();
  for (const n of xmppNames({ domain: p.domain, xmppHost, preset: p.preset })) taken.set(n, "an XMPP name (a TLS connection to it without ALPN is an XMPP client's)");
  if (p.preset === "snikket") for (const n of snikketAliases(p.domain)) taken.set(n, "one of Snikket's CNAMEs");
  for (const n of p.webHostnames) taken.set(n, "a web name (proxied by Cloudflare, which passes no TURN)");
  for (const e of edges) taken.set(e.dnsName, `edge ${quoteRedacted(e.name)}'s own DNS name`);
  const several = edges.length > 1;
  // The first problem only: the others would name the same key for the same cause.
  for (const e of edges) {
    const name = edgeTurnTlsName(base, e, several);
    const what = several ? `makes edge ${quoteRedacted(e.name)}'s TURN name ${quoteRedacted(name)}, which` : `${quoteRedacted(name)}`;
    if (!isHostname(name)) {
      c.report(key, `${what} is too long (at most 253 characters); choose a shorter turnTlsName`);
      return undefined;
    }
    if (taken.has(name)) {
      c.report(key, `${what} is ${taken.get(name)}; TURN over TLS needs a DNS-only name of its own, e.g. ${quoteRedacted(defaultTurnTlsName(p.domain) === base ? `turns.${p.domain}` : defaultTurnTlsName(p.domain))}`);
      return undefined;
    }
  }
  edges.forEach((e) => (e.turnTlsName = edgeTurnTlsName(base, e, several)));
  return edges[0]?.turnTlsName;
}
