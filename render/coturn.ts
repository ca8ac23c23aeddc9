// coturn on the VPS. STUN/TURN cannot pass through DNAT + masquerade (TURN
// permissions are keyed on the peer's source address and STUN would report
// the VPS's tailnet view), so the edge runs the TURN server itself and the
// home XMPP server hands out credentials for it (shared secret, RFC 8489 REST).
import * as ipaddr from "ipaddr.js";
import { type EdgeModel, type HostFacts, turnListener } from "../model/model";
import { METADATA_IPV4, RELAY_DENIED_IPV4, RELAY_DENIED_IPV6 } from "../model/relay-peers";
import { checkedTurnSecret } from "../model/secrets";
import { COTURN_TOTAL_QUOTA } from "./coturn-unit";
import { generatedHeader } from "./header";

/**
 * How long coturn keeps the state of a client that has not authenticated
 * (coturn's default: 60 s, about 19 KB each). A real client sends its
 * authenticated Allocate one round trip after the 401 that carries the
 * nonce; a spoofed source never answers, so its session is held this long.
 */
export const MAX_ALLOCATE_TIMEOUT_SECONDS = 10;

export const COTURN_CONF_PATH = "/etc/turnserver.conf";
/** Where coturn also listens with turnTls: nginx hands it the streams it took TLS off (render/nginx.ts). */
export const TURN_LOOPBACK = "127.0.0.1";

/** coturn's denied-peer-ip takes "first-last" ranges, not CIDRs. */
export function cidrToRange(cidr: string): string {
  const [addr, bits] = ipaddr.parseCIDR(cidr);
  const v4 = addr.kind() === "ipv4";
  if (bits === (v4 ? 32 : 128)) return addr.toString();
  const first = v4 ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  const last = v4 ? ipaddr.IPv4.broadcastAddressFromCIDR(cidr) : ipaddr.IPv6.broadcastAddressFromCIDR(cidr);
  return `${first.toString()}-${last.toString()}`;
}

/**
 * Peers a relay must never reach (model/relay-peers.ts). The VPS's own public
 * addresses are not among them: two users of this edge who both need a relay
 * send to each other's relay address. What keeps a relay from the VPS's other
 * ports (sshd, local services: a relay to its own address arrives on `lo`) is
 * the nftables guard, which lets coturn reach only its relay addresses, on
 * the relay ports. The metadata address is named on its own so nobody reading the
 * file has to know it lies in link-local space.
 */
export function deniedPeers(): string[] {
  // coturn 4.6.1 reads a lone "::" as matching every address (it then denies
  // every peer); the unspecified address is the nftables guard's alone.
  const ranges = [...RELAY_DENIED_IPV4, ...RELAY_DENIED_IPV6].filter((c) => c !== "::/128").map(cidrToRange);
  return [METADATA_IPV4, ...ranges];
}

/** The addresses coturn listens and relays on: the VPS's public ones (its relay sockets are bound to these). */
export function relayAddresses(facts: HostFacts): string[] {
  return [facts.vpsIPv4, facts.vpsIPv6].filter((a): a is string => a !== undefined);
}

/**
 * `turnSecret` undefined renders the file without the secret line (the
 * offline plan); the deploy passes the Pulumi secret.
 */
export function renderCoturnConf(model: EdgeModel, facts: HostFacts, turnSecret: string | undefined): string {
  const c = model.config;
  const listen = turnListener(model);
  if (!listen) throw new Error("renderCoturnConf: turn is off in this model");
  const lines = [
    generatedHeader("#", "coturn (STUN/TURN) on the xmpp-edge VPS."),
    `listening-port=${listen.ports.from}`,
  ];
  lines.push(
    "# Public addresses only: nothing TURN-related listens on the tailnet.",
    ...relayAddresses(facts).flatMap((a) => [`listening-ip=${a}`, `relay-ip=${a}`]),
    // Relays stay on the public addresses (relay-ip); loopback only takes the streams nginx ends TLS for.
    ...(model.turnTlsName !== undefined ? ["# turnTls: nginx ends TLS on 443 and hands the stream over here.", `listening-ip=${TURN_LOOPBACK}`] : []),
    // public/private form: a bare external-ip stops coturn from handing out IPv6 relays.
    `external-ip=${facts.vpsIPv4}/${facts.vpsIPv4}`,
    `min-port=${c.turnRelayPorts.from}`,
    `max-port=${c.turnRelayPorts.to}`,
    `realm=${c.domain}`,
    `server-name=${c.xmppHost}`,
    "use-auth-secret",
  );
  lines.push(turnSecret === undefined ? "# static-auth-secret: added at deploy from the Pulumi secret xmpp-edge:turnSecret" : `static-auth-secret=${checkedTurnSecret(turnSecret)}`);
  lines.push(
    "fingerprint",
    model.turnTlsName !== undefined ? "# TURN over TLS is nginx's, on 443 (turnTls); coturn itself holds no key, and no DTLS is offered." : "# The VPS holds no TLS keys: TURN over TLS/DTLS (5349) is not offered.",
    "no-tls",
    "no-dtls",
    "no-cli",
    "no-multicast-peers",
    "no-software-attribute",
    "stale-nonce=600",
    "user-quota=12",
    `total-quota=${COTURN_TOTAL_QUOTA}`,
    `# Every session's cap together (turnCapacityMbps ${c.turnCapacityMbps} Mbit/s): an allocation that no longer fits is refused.`,
    `bps-capacity=${Math.floor((c.turnCapacityMbps * 1_000_000) / 8)}`,
    `# A request that has not authenticated within this many seconds is forgotten (coturn's default: 60); see MAX_ALLOCATE_TIMEOUT_SECONDS.`,
    `max-allocate-timeout=${MAX_ALLOCATE_TIMEOUT_SECONDS}`,
    `# One session's cap, bytes/s each way: turnSessionKbps ${c.turnSessionKbps} kbit/s.`,
    `max-bps=${Math.floor((c.turnSessionKbps * 1000) / 8)}`,
    // A relay that opens TCP connections reaches anything TCP; only when asked.
    ...(c.turnTcpRelay ? ["# TCP relays (RFC 6062): turnTcpRelay is on."] : ["no-tcp-relay"]),
    // Binding responses say only XOR-MAPPED-ADDRESS, and nothing about the server's own origin.
    "no-stun-backward-compatibility",
    "response-origin-only-with-rfc5780",
    ...deniedPeers().map((r) => `denied-peer-ip=${r}`),
    "syslog",
    "",
  );
  return lines.join("\n");
}
