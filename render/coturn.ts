// coturn on the VPS. STUN/TURN cannot pass through DNAT + masquerade (TURN
// permissions are keyed on the peer's source address and STUN would report
// the VPS's tailnet view), so the edge runs the TURN server itself and the
// home XMPP server hands out credentials for it (shared secret, RFC 8489 REST).
import type { EdgeModel, HostFacts } from "../model/model";
import { generatedHeader } from "./header";

export const COTURN_CONF_PATH = "/etc/turnserver.conf";

/**
 * Peers a relay must never reach: the tailnet (the home server!), private,
 * loopback and link-local space. Without these a TURN user could relay into
 * the home network through the edge.
 */
export const TURN_DENIED_PEERS = [
  "0.0.0.0-0.255.255.255",
  "10.0.0.0-10.255.255.255",
  "100.64.0.0-100.127.255.255",
  "127.0.0.0-127.255.255.255",
  "169.254.0.0-169.254.255.255",
  "172.16.0.0-172.31.255.255",
  "192.168.0.0-192.168.255.255",
  "::1",
  "::ffff:0.0.0.0-::ffff:255.255.255.255",
  "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
  "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
];

/**
 * `turnSecret` undefined renders the file without the secret line (the
 * offline plan); the deploy passes the Pulumi secret.
 */
export function renderCoturnConf(model: EdgeModel, facts: HostFacts, turnSecret: string | undefined): string {
  const c = model.config;
  const listen = model.services.find((s) => s.id === "stun-turn-udp");
  if (!listen) throw new Error("renderCoturnConf: turn is off in this model");
  const lines = [
    generatedHeader("#", "coturn (STUN/TURN) on the xmpp-edge VPS."),
    `listening-port=${listen.ports.from}`,
  ];
  lines.push(
    "# Public addresses only: nothing TURN-related listens on the tailnet.",
    ...[facts.vpsIPv4, facts.vpsIPv6].filter((a) => a !== undefined).flatMap((a) => [`listening-ip=${a}`, `relay-ip=${a}`]),
    // public/private form: a bare external-ip stops coturn from handing out IPv6 relays.
    `external-ip=${facts.vpsIPv4}/${facts.vpsIPv4}`,
    `min-port=${c.turnRelayPorts.from}`,
    `max-port=${c.turnRelayPorts.to}`,
    `realm=${c.domain}`,
    `server-name=${c.xmppHost}`,
    "use-auth-secret",
  );
  lines.push(turnSecret === undefined ? "# static-auth-secret: added at deploy from the Pulumi secret xmpp-edge:turnSecret" : `static-auth-secret=${turnSecret}`);
  lines.push(
    "fingerprint",
    "# The VPS holds no TLS keys: TURN over TLS/DTLS (5349) is not offered.",
    "no-tls",
    "no-dtls",
    "no-cli",
    "no-multicast-peers",
    "no-software-attribute",
    "stale-nonce=600",
    "user-quota=12",
    "total-quota=1200",
    ...TURN_DENIED_PEERS.map((r) => `denied-peer-ip=${r}`),
    "syslog",
    "",
  );
  return lines.join("\n");
}
