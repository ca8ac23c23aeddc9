// The SYN proxy in front of the forwarded TCP ports (DNAT to home): the
// edge answers every SYN with a SYN cookie and only a client that returns
// a valid cookie gets a connection to home, which the kernel then opens in
// the client's name. A spoofed SYN never crosses the tunnel, and home's
// uplink never answers it (before: every spoofed SYN was a new source, past
// every per-source limit, and home sent a SYN-ACK back up its line).
//
// How it fits DNAT (the kernel's recipe protects local ports only; see
// docs/linux-and-providers.md, "SYN proxy in front of DNAT"):
//   raw prerouting   a SYN to a forwarded port starts no conntrack entry;
//   input            untracked SYNs and cookie ACKs (INVALID: no entry, with
//                    tcp_loose 0) go to `synproxy`, which answers or drops;
//   nat output       the proxy's own SYN to home, sent from the client's
//                    address to the edge's, is DNAT'd like the client's
//                    would have been (and masqueraded in postrouting);
//   filter output    that SYN is the connection's first tracked packet: the
//                    per-source limits count it there (render/source-limits.ts).
// The proxy announces home's MSS (the tailnet's MTU) and the configured
// window scale: the kernel does not rewrite either later.
//
// IPv4 only. nft's synproxy verifies a SYN's checksum with the IPv4
// function whatever the family (nft_synproxy_do_eval calls nf_ip_checksum),
// so an IPv6 SYN whose checksum the NIC did not already vouch for is
// dropped unanswered: test/tools/synproxy.test.ts shows it (and fails once a
// kernel answers it, the time to extend this to IPv6). IPv6 SYNs are
// tracked and DNAT'd as before, under the per-/64 and per-/48 limits.
import { servicesBy, type EdgeModel } from "../model/model";
import { TAILNET_INTERFACE, TAILNET_MTU } from "../model/net";
import { formatRange } from "../model/ports";
import type { Service } from "../model/services";

/** In the comment of every rule and chain the SYN proxy adds (the lab's --weaken synproxy takes them out). */
export const SYNPROXY_COMMENT = "SYN proxy";
export const SYNPROXY_PORTS_SET = "synproxy_ports";
const IPV4_HEADERS = 40; // IPv4 20 + TCP 20

/** The forwarded TCP ports (public side) the SYN proxy answers for; none when it is off. */
export function synProxiedServices(model: EdgeModel): Service[] {
  if (!model.config.synProxy) return [];
  return servicesBy(model, "nftables").filter((s) => s.protocol === "tcp");
}

const SYN_ONLY = "tcp flags & (fin | syn | rst | ack) == syn";

/** The set of proxied ports, indented for the table body. */
export function synProxySets(model: EdgeModel): string[] {
  const services = synProxiedServices(model);
  if (services.length === 0) return [];
  return [
    `    set ${SYNPROXY_PORTS_SET} {`,
    "        type inet_service; flags interval;",
    `        elements = { ${services.map((s) => `${formatRange(s.ports)} comment "${s.id}"`).join(", ")} }`,
    "    }",
  ];
}

/** Input rules, before the state rules: the proxy answers SYNs and checks the cookie ACKs. */
export function synProxyInput(model: EdgeModel): string[] {
  if (synProxiedServices(model).length === 0) return [];
  const wscale = model.config.synProxyWindowScale;
  const match = `iifname != "${TAILNET_INTERFACE}" tcp dport @${SYNPROXY_PORTS_SET} ct state invalid,untracked`;
  const options = `wscale ${wscale} timestamp sack-perm`;
  return [`meta nfproto ipv4 ${match} synproxy mss ${TAILNET_MTU - IPV4_HEADERS} ${options} comment "${SYNPROXY_COMMENT}: answers SYNs to forwarded ports with cookies"`];
}

/**
 * The raw prerouting chain that keeps the SYNs to proxied ports out of
 * conntrack, and the nat output chain that sends the proxy's SYN home with
 * prerouting's own DNAT rules (dnatRules: render/forwards.ts), IPv4's.
 */
export function synProxyChains(model: EdgeModel, dnatRules: readonly string[]): string[] {
  if (synProxiedServices(model).length === 0) return [];
  return [
    "",
    "    chain synproxy_notrack {",
    "        type filter hook prerouting priority raw; policy accept;",
    `        iifname "${TAILNET_INTERFACE}" return`,
    `        meta nfproto ipv4 tcp dport @${SYNPROXY_PORTS_SET} ${SYN_ONLY} fib daddr type local notrack comment "${SYNPROXY_COMMENT}: no conntrack entry for a SYN (the proxy answers it)"`,
    "    }",
    "",
    "    chain synproxy_dnat {",
    // -100: DNAT's own priority (nft names it dstnat only in prerouting).
    "        type nat hook output priority -100; policy accept;",
    // The proxy's SYN carries the client's address; the edge's own connections carry its own.
    `        fib saddr type local return comment "${SYNPROXY_COMMENT}: the edge's own connections"`,
    "        fib daddr type != local return",
    `        tcp dport != @${SYNPROXY_PORTS_SET} return`,
    ...dnatRules.filter((r) => r.startsWith("meta nfproto ipv4 ")).map((r) => `        ${r}`),
    "    }",
  ];
}
