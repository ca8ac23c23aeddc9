// The VPS's nftables ruleset. It owns exactly one table and replaces it in
// one transaction: `table` (create if missing) + `delete table` + the new
// table, all in one file, is atomic and idempotent. Never `flush ruleset`:
// that would also erase tailscaled's chains (docs/linux-and-providers.md).
import { cidrFamily, TAILNET_INTERFACE } from "../model/net";
import { servicesBy, type EdgeModel, type HostFacts } from "../model/model";
import { formatRange, ICMP_ECHO_LIMIT, TAILSCALE_UDP_PORT, TAILSCALED_UNANSWERED_LIMIT, type PortRange } from "../model/ports";
import { ipFamily } from "../model/net";
import { METADATA_IPV4, RELAY_DENIED_IPV4, RELAY_DENIED_IPV6 } from "../model/relay-peers";
import { relayAddresses, TURN_LOOPBACK } from "./coturn";
import type { Service } from "../model/services";
import { generatedHeader } from "./header";
import { renderForwards } from "./forwards";
import { renderSourceLimits } from "./source-limits";
import { synProxyChains, synProxyInput, synProxySets } from "./synproxy";
import { turnNewFlowRules, turnNewFlowSets } from "./turn-new-flows";

export const NFT_TABLE = "xmpp_edge";
export const NFT_FAMILY = "inet";
export const NFT_RULESET_PATH = "/etc/xmpp-edge/xmpp-edge.nft";
/** Loaded in place of the ruleset when the boot unit fails (render/bundle.ts): the apply never loads it. */
export const NFT_FALLBACK_PATH = "/etc/xmpp-edge/xmpp-edge-fallback.nft";

const ports = (r: PortRange) => formatRange(r);

function portSet(services: Service[]): string {
  const items = services.map((s) => ports(s.ports));
  return items.length === 1 ? items[0] : `{ ${items.join(", ")} }`;
}

/** Accept rules and address sets for the host's own ports, from their Source. */
function hostPortRules(model: EdgeModel): { sets: string[]; rules: string[] } {
  const sets: string[] = [];
  const rules: string[] = [];
  for (const h of model.hostPorts) {
    const match = `${h.protocol} dport ${ports(h.ports)}`;
    if (h.from.kind === "anywhere") rules.push(`${match} accept comment "${h.purpose}"`);
    // The tailnet is not trusted wholesale: only this port (the tailnet policy says which members may use it).
    if (h.from.kind === "tailnet") rules.push(`iifname "${TAILNET_INTERFACE}" ${match} accept comment "${h.purpose}"`);
    if (h.from.kind !== "cidrs") continue;
    for (const [family, type, ip] of [[4, "ipv4_addr", "ip"], [6, "ipv6_addr", "ip6"]] as const) {
      const elements = h.from.cidrs.filter((x) => cidrFamily(x) === family);
      if (elements.length === 0) continue;
      const name = `${h.id}_allow_v${family}`;
      sets.push(`    set ${name} {`, `        type ${type}; flags interval;`, `        elements = { ${elements.join(", ")} }`, "    }");
      rules.push(`${ip} saddr @${name} ${match} accept comment "${h.purpose}"`);
    }
  }
  return { sets, rules };
}

/**
 * DHCP replies: only on the public interface (an existing host that did not
 * name it: any but the tailnet's, where any member could answer); DHCPv6
 * only from the link (a server or relay on it answers from link-local).
 */
function dhcpReplies(model: EdgeModel): string[] {
  const on = model.publicInterface !== undefined ? `iifname "${model.publicInterface}"` : `iifname != "${TAILNET_INTERFACE}"`;
  return [`${on} udp sport 67 udp dport 68 accept comment "DHCPv4 replies"`, `${on} ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept comment "DHCPv6 replies"`];
}

/** The rule that budgets unanswered packets to tailscaled's port (the lab's --weaken tailscaled-junk takes it out). */
export const TAILSCALED_JUNK_COMMENT = "tailscaled: packets of no answered flow, all sources together";

/**
 * What the host itself needs on input: replies, loopback, ICMP (echo at a
 * rate), DHCP, and its own ports (SSH, tailscaled) from their sources;
 * beforeState: rules for packets conntrack has no entry for (the SYN proxy's).
 */
function hostInput(model: EdgeModel, host: { rules: string[] }, beforeState: string[] = []): string[] {
  const echoLimit = `limit rate over ${ICMP_ECHO_LIMIT.perSecond}/second burst ${ICMP_ECHO_LIMIT.burst} packets`;
  const junkLimit = `limit rate over ${TAILSCALED_UNANSWERED_LIMIT.perSecond}/second burst ${TAILSCALED_UNANSWERED_LIMIT.burst} packets`;
  return [
    // Before the state rule: conntrack keys echo by its id, so a flood of one id is "established".
    `icmp type echo-request ${echoLimit} counter drop comment "ICMP echo: all sources together"`,
    `icmpv6 type echo-request ${echoLimit} counter drop comment "ICMP echo: all sources together"`,
    ...beforeState,
    "ct state established,related accept",
    "ct state invalid drop",
    // After the state rule: the tunnel's own packets (answered flows) are never counted.
    `udp dport ${TAILSCALE_UDP_PORT} ${junkLimit} counter drop comment "${TAILSCALED_JUNK_COMMENT}"`,
    'iif "lo" accept',
    "meta l4proto icmp accept",
    "meta l4proto ipv6-icmp accept",
    ...dhcpReplies(model),
    ...host.rules,
  ];
}

const chain = (name: string, hook: string, body: string[]) => [`    chain ${name} {`, `        ${hook}`, ...body.map((l) => `        ${l}`), "    }"];

export function renderNftables(model: EdgeModel, facts: HostFacts): string {
  const open = model.services.filter((s) => s.handler !== "nftables");
  const forwards = renderForwards(model, facts);
  const host = hostPortRules(model);

  const input = [...hostInput(model, host, synProxyInput(model)), ...turnNewFlowRules(model)];
  // The edge's services are open to anyone; nginx locks the web names to their origins.
  for (const protocol of ["tcp", "udp"] as const) {
    for (const handler of ["nginx-http", "nginx-stream", "coturn"] as const) {
      const svcs = open.filter((s) => s.protocol === protocol && s.handler === handler);
      if (svcs.length) input.push(`${protocol} dport ${portSet(svcs)} accept comment "${handler}: ${svcs.map((s) => s.id).join(", ")}"`);
    }
  }

  const prerouting = [
    `iifname "${TAILNET_INTERFACE}" return`,
    "fib daddr type != local return",
    ...forwards.rules,
  ];

  return [
    generatedHeader("#", `nftables table ${NFT_FAMILY} ${NFT_TABLE}: per-source limits, input filter, DNAT of forwarded ports to home, masquerade onto the tailnet.`),
    "# Loading this file replaces only our table, atomically; other tables (tailscaled's) are untouched.",
    `table ${NFT_FAMILY} ${NFT_TABLE}`,
    `delete table ${NFT_FAMILY} ${NFT_TABLE}`,
    `table ${NFT_FAMILY} ${NFT_TABLE} {`,
    ...host.sets,
    ...forwards.sets,
    ...synProxySets(model),
    ...turnNewFlowSets(model),
    "",
    ...renderSourceLimits(model, TAILNET_INTERFACE),
    "",
    ...chain("input", "type filter hook input priority filter; policy drop;", input),
    "",
    // Nothing but our forwards (both directions, tracked by conntrack) crosses this host.
    ...chain("forward", "type filter hook forward priority filter; policy drop;", [
      ...udpForwardBudgets(model),
      "ct state established,related accept",
      'ct status dnat accept comment "forwarded ports"',
    ]),
    "",
    ...chain("prerouting", "type nat hook prerouting priority dstnat; policy accept;", prerouting),
    "",
    // The home node only accepts tailnet packets from the VPS's own tailnet address.
    ...chain("postrouting", "type nat hook postrouting priority srcnat; policy accept;", [
      `oifname "${TAILNET_INTERFACE}" ct status dnat masquerade`,
    ]),
    ...synProxyChains(model, forwards.rules),
    ...outputGuard(model, facts),
    "}",
    "",
  ].join("\n");
}

/**
 * The table the boot unit's OnFailure= loads when --boot failed and our table
 * may be missing (no filter at all): deny by default, open only what it takes
 * to log in and fix it (SSH from its sources, tailscaled's port, replies,
 * ICMP, DHCP). No service, no forward, no DNAT. Same table name, so the next
 * successful load of the ruleset replaces it.
 */
export function renderNftFallback(model: EdgeModel, facts: HostFacts): string {
  const host = hostPortRules(model);
  return [
    generatedHeader("#", `nftables table ${NFT_FAMILY} ${NFT_TABLE}, fallback: only SSH and tailscaled in, nothing forwarded. Loaded when the boot unit fails.`),
    `table ${NFT_FAMILY} ${NFT_TABLE}`,
    `delete table ${NFT_FAMILY} ${NFT_TABLE}`,
    `table ${NFT_FAMILY} ${NFT_TABLE} {`,
    ...host.sets,
    "",
    ...chain("input", "type filter hook input priority filter; policy drop;", hostInput(model, host)),
    "",
    ...chain("forward", "type filter hook forward priority filter; policy drop;", []),
    ...outputGuard(model, facts),
    "}",
    "",
  ].join("\n");
}

/**
 * What each UDP forward may send home: a UDP flow is counted once by the
 * per-source limits, so one host could send any packet rate down the tunnel.
 * Matched by the public port (conntrack's original destination), one bucket
 * per forward, all its flows together; replies from home are not counted.
 */
export const UDP_BUDGET_COMMENT = "UDP forward budget";
function udpForwardBudgets(model: EdgeModel): string[] {
  const n = model.config.udpForwardPacketsPerSecond;
  return servicesBy(model, "nftables")
    .filter((s) => s.protocol === "udp")
    .map((s) => `oifname "${TAILNET_INTERFACE}" meta l4proto udp ct original proto-dst ${ports(s.ports)} limit rate over ${n}/second burst ${n} packets counter drop comment "${UDP_BUDGET_COMMENT}: ${s.id}"`);
}

/**
 * turnTls: coturn answers nginx, which hands it the TURN-over-TLS streams
 * on loopback: from its loopback listener's TCP port to loopback, nothing
 * else (relays never bind loopback: relay-ip is the public addresses).
 */
function terminatorAnswers(model: EdgeModel): string[] {
  const turn = model.services.find((s) => s.id === "stun-turn-tcp");
  if (model.turnTlsName === undefined || !turn) return [];
  return [`        ip saddr ${TURN_LOOPBACK} ip daddr ${TURN_LOOPBACK} tcp sport ${formatRange(turn.ports)} accept comment "coturn answering the local TLS terminator (turnTls)"`];
}

/** The protocols coturn relays on the relay range: UDP, and TCP with turnTcpRelay. */
function relayProtocols(model: EdgeModel): ("udp" | "tcp")[] {
  return model.config.turnTcpRelay ? ["udp", "tcp"] : ["udp"];
}

/** coturn's user: Debian's package runs turnserver as it (systemd, and the apply's --proc-user). */
export const COTURN_USER = "turnserver";

/**
 * What local processes may send, by the socket's owner. The metadata service
 * hands out user-data (the SSH host key, the tailnet key): root only. coturn's
 * relays may reach only public unicast addresses, whatever its own
 * denied-peer-ip list says: nothing in the tailnet, private or special-purpose
 * space (model/relay-peers.ts, the list coturn gets too), and of this host
 * (a relay to its own address arrives on `lo`, past the input filter) only
 * what relay to relay needs: coturn's relay addresses on the relay ports.
 * Nothing else binds there: the checks keep every served port and every
 * edge's SSH port out of the range, and the kernel gives no other socket a
 * port in it (ip_local_reserved_ports, render/sysctl.ts). Loopback, the
 * tailnet address and every other port of this host are refused.
 */
function outputGuard(model: EdgeModel, facts: HostFacts): string[] {
  const lines = [
    "",
    "    chain output {",
    "        type filter hook output priority filter; policy accept;",
    `        ip daddr ${METADATA_IPV4} meta skuid != 0 counter reject comment "the metadata service (user-data holds secrets): root only"`,
  ];
  if (model.config.turn !== "edge") return [...lines, "    }"];
  const set = (name: string, type: string, elements: string[]) => [`    set ${name} {`, `        type ${type}; flags interval; auto-merge;`, `        elements = { ${elements.join(", ")} }`, "    }"];
  return [
    ...lines,
    `        meta skuid "${COTURN_USER}" jump turn_relay_guard`,
    "    }",
    "",
    ...set("relay_denied_v4", "ipv4_addr", RELAY_DENIED_IPV4),
    ...set("relay_denied_v6", "ipv6_addr", RELAY_DENIED_IPV6),
    "",
    "    chain turn_relay_guard {",
    ...terminatorAnswers(model),
    // Two users of this edge relay to each other's relay address: coturn's relay addresses, the relay ports only.
    ...relayProtocols(model).flatMap((p) =>
      relayAddresses(facts).map((a) => `        ${ipFamily(a) === 6 ? "ip6" : "ip"} daddr ${a} ${p} dport ${formatRange(model.config.turnRelayPorts)} accept comment "relay to relay on this edge"`),
    ),
    '        fib daddr type { local, broadcast, anycast, multicast } counter reject comment "a TURN relay to this host itself (sshd, nginx, loopback, the tailnet address, local services)"',
    '        ip daddr @relay_denied_v4 counter reject comment "a TURN relay into the tailnet, private or special-purpose space"',
    '        ip6 daddr @relay_denied_v6 counter reject comment "a TURN relay into the tailnet, private or special-purpose space"',
    "    }",
  ];
}
