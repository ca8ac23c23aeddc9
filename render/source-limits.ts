// The per-source limits of the edge's nftables table: one chain, entered
// where a connection's first tracked packet passes before DNAT, so it sees
// the public port: in prerouting for nginx's ports, coturn's and the
// forwards the SYN proxy does not answer; in output for those it does (its
// own SYN to home, in the client's name, is that connection's first
// tracked packet: render/synproxy.ts). A spoofed source never gets there. A source is an IPv4 address or
// an IPv6 /64, and the /64s of one /48 share a bounded multiple of one
// source's limits (one free tunnel-broker /48 is 65,536 /64s); only
// Cloudflare's ranges are exempt, on 80/443. Over the limit
// a new connection is dropped (the client's SYN retry comes back when the
// source is under it again). A connection is counted once, on the packet that
// creates its conntrack entry: a UDP flow stays in state "new" until home
// answers, so counting "new" packets would hold a one-way stream (a camera, a
// voice sender nobody answers yet) to 20 packets/s (found by npm run bench:
// 120 of 135,000 packets in a second arrived).
//
// A dynamic set that is full adds no element, and a rule whose `update`/`add`
// cannot add one does not match: the packet falls through unlimited. Spoofed
// sources fill a set quickly (65,536 elements), after which every new source
// would escape its limits. So each set rule is followed by one for the
// sources not in the set: those of one /16 (IPv4 or IPv6) get one source's
// limits together, in a set that holds every /16 there is (65,536), so it is
// never full. Per /16, not all together: a spray of spoofed sources spends
// the share of the /16s it comes from, and a real client from elsewhere still
// connects (bench:flood's G1: with one share for all, 31 % of new sessions
// from real sources outside the sets failed during a spray from one /15).
import { servicesBy, type EdgeModel } from "../model/model";
import { formatRange } from "../model/ports";
import type { Service } from "../model/services";
import { SYNPROXY_COMMENT, SYNPROXY_PORTS_SET, synProxiedServices } from "./synproxy";

export const SOURCE_LIMITS_CHAIN = "source_limits";
/** mangle (-150): after conntrack (-200), before DNAT (dstnat, -100) in prerouting and in output. */
const PRIORITY = "mangle";
/** Dynamic sets hold one element per source; the sources beyond it share one source's limits (the overflow rules). */
export const SET_SIZE = 65536;
/** In the comment of each rule of the IPv6 site level (the lab's --weaken ipv6-site takes them out). */
export const SITE_COMMENT = "per IPv6 site";
/** Ends the comment of each rule for the sources a full set cannot hold (the lab's --weaken floods takes them out). */
export const OVERFLOW_COMMENT = "sources the full set cannot hold, per /16";
/** The sources a full set cannot hold share one source's limits per this prefix length (IPv4 and IPv6). */
export const OVERFLOW_PREFIX_LENGTH = 16;
/** Every /16 there is: a set of the /16s is never full. */
const OVERFLOW_SET_SIZE = 2 ** OVERFLOW_PREFIX_LENGTH;

/**
 * The ports whose sources are limited: nginx's, the forwarded ones, and
 * coturn's TCP listener (each TCP connection is a coturn session, its own
 * buffers and file descriptor). coturn's UDP port and relays have its own
 * quotas: a TURN client's whole session is one UDP flow.
 */
export function limitedServices(model: EdgeModel): Service[] {
  const turnTcp = servicesBy(model, "coturn").filter((s) => s.id === "stun-turn-tcp");
  return [...servicesBy(model, "nginx-http"), ...servicesBy(model, "nginx-stream"), ...servicesBy(model, "nftables"), ...turnTcp];
}

/**
 * The dynamic sets of the limits: name, key type, and whether elements
 * expire (rate buckets: once refilled; connection counts leave with their
 * last connection). Each has a twin NAME_by16 for the sources it cannot hold.
 */
const LIMIT_SETS: readonly (readonly [string, "ipv4_addr" | "ipv6_addr", boolean])[] = [
  ["new_conn_v4", "ipv4_addr", true],
  ["new_conn_v6", "ipv6_addr", true],
  ["conn_v4", "ipv4_addr", false],
  ["conn_v6", "ipv6_addr", false],
  ["new_conn_v6_site", "ipv6_addr", true],
  ["conn_v6_site", "ipv6_addr", false],
];

function ipv4Mask(prefixLength: number): string {
  return [0, 1, 2, 3].map((i) => (0xff00 >> Math.max(0, Math.min(8, prefixLength - 8 * i))) & 0xff).join(".");
}

function ipv6Mask(prefixLength: number): string {
  const groups = Array.from({ length: 8 }, (_, i) => {
    const bits = Math.max(0, Math.min(16, prefixLength - 16 * i));
    return ((0xffff << (16 - bits)) & 0xffff).toString(16);
  });
  return groups.join(":").replace(/(^|:)0(:0)+$/, "::");
}

/** Sets and the chain, indented for the table body. */
export function renderSourceLimits(model: EdgeModel, tailnetInterface: string): string[] {
  const l = model.sourceLimits;
  const services = limitedServices(model);
  const v6 = `ip6 saddr and ${ipv6Mask(l.ipv6PrefixLength)}`;
  const site = `ip6 saddr and ${ipv6Mask(l.ipv6SitePrefixLength)}`;
  const limitFlags = (timed: boolean) => (timed ? `flags dynamic,timeout; timeout ${idle}s;` : "flags dynamic;");
  const set = (name: string, type: string, extra: string, elements?: readonly string[]) => [
    `    set ${name} {`,
    `        type ${type}; ${extra}`,
    ...(elements ? [`        elements = { ${elements.join(", ")} }`] : []),
    "    }",
  ];
  // A source idle this long has its full burst back: a fresh element is the
  // same, and a spray must be this much faster to keep the set full.
  const idle = Math.ceil(l.newBurst / l.newPerSecond);
  const exemptPorts = `tcp dport { ${l.exempt.ports.join(", ")} }`;
  const rate = `limit rate over ${l.newPerSecond}/second burst ${l.newBurst} packets`;
  const count = `ct count over ${l.connections}`;
  const n = l.ipv6SiteSources;
  const siteRate = `limit rate over ${n * l.newPerSecond}/second burst ${n * l.newBurst} packets`;
  const siteCount = `ct count over ${n * l.connections}`;
  const siteWhat = `${SITE_COMMENT} /${l.ipv6SitePrefixLength}, ${n} sources' worth`;
  const overflow = (what: string) => `comment "${what}: ${OVERFLOW_COMMENT}"`;
  const by4 = `ip saddr and ${ipv4Mask(OVERFLOW_PREFIX_LENGTH)}`;
  const by6 = `ip6 saddr and ${ipv6Mask(OVERFLOW_PREFIX_LENGTH)}`;
  const body = [
    "ct state != new return",
    "ct status confirmed return",
    `iifname "${tailnetInterface}" return`,
    "fib daddr type != local return",
    "meta l4proto . th dport != @limited_ports return",
    `ip saddr @limit_exempt_v4 ${exemptPorts} return comment "Cloudflare: many visitors per address"`,
    `ip6 saddr @limit_exempt_v6 ${exemptPorts} return comment "Cloudflare: many visitors per address"`,
    `update @new_conn_v4 { ip saddr ${rate} } counter drop comment "new connections per source"`,
    `ip saddr != @new_conn_v4 update @new_conn_v4_by16 { ${by4} ${rate} } counter drop ${overflow("new connections")}`,
    `update @new_conn_v6 { ${v6} ${rate} } counter drop comment "new connections per source /${l.ipv6PrefixLength}"`,
    `${v6} != @new_conn_v6 update @new_conn_v6_by16 { ${by6} ${rate} } counter drop ${overflow("new connections")}`,
    `add @conn_v4 { ip saddr ${count} } counter drop comment "connections per source"`,
    `ip saddr != @conn_v4 add @conn_v4_by16 { ${by4} ${count} } counter drop ${overflow("connections")}`,
    `add @conn_v6 { ${v6} ${count} } counter drop comment "connections per source /${l.ipv6PrefixLength}"`,
    `${v6} != @conn_v6 add @conn_v6_by16 { ${by6} ${count} } counter drop ${overflow("connections")}`,
    // After a /64's own limits: a packet they dropped is not counted again.
    `update @new_conn_v6_site { ${site} ${siteRate} } counter drop comment "new connections ${siteWhat}"`,
    `${site} != @new_conn_v6_site update @new_conn_v6_site_by16 { ${by6} ${siteRate} } counter drop ${overflow(`new connections ${SITE_COMMENT}`)}`,
    `add @conn_v6_site { ${site} ${siteCount} } counter drop comment "connections ${siteWhat}"`,
    `${site} != @conn_v6_site add @conn_v6_site_by16 { ${by6} ${siteCount} } counter drop ${overflow(`connections ${SITE_COMMENT}`)}`,
  ];
  return [
    ...set("limited_ports", "inet_proto . inet_service", "flags interval;", services.map((s) => `${s.protocol} . ${formatRange(s.ports)}`)),
    ...set("limit_exempt_v4", "ipv4_addr", "flags interval;", l.exempt.ipv4),
    ...set("limit_exempt_v6", "ipv6_addr", "flags interval;", l.exempt.ipv6),
    ...LIMIT_SETS.map(([name, type, timed]) => set(name, type, `size ${SET_SIZE}; ${limitFlags(timed)}`)).flat(),
    // The sources the sets above cannot hold, per /16 (the overflow rules): each set's twin.
    ...LIMIT_SETS.map(([name, type, timed]) => set(`${name}_by16`, type, `size ${OVERFLOW_SET_SIZE}; ${limitFlags(timed)}`)).flat(),
    "",
    "    chain limits_prerouting {",
    `        type filter hook prerouting priority ${PRIORITY}; policy accept;`,
    `        jump ${SOURCE_LIMITS_CHAIN}`,
    "    }",
    ...(synProxiedServices(model).length === 0
      ? []
      : [
          "",
          "    chain limits_synproxied {",
          `        type filter hook output priority ${PRIORITY}; policy accept;`,
          `        fib saddr type local return comment "${SYNPROXY_COMMENT}: the edge's own connections"`,
          `        meta nfproto ipv4 tcp dport @${SYNPROXY_PORTS_SET} jump ${SOURCE_LIMITS_CHAIN} comment "${SYNPROXY_COMMENT}: the proxy's SYN to home opens the client's connection"`,
          "    }",
        ]),
    "",
    `    chain ${SOURCE_LIMITS_CHAIN} {`,
    ...body.map((b) => `        ${b}`),
    "    }",
  ];
}
