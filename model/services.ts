// What the VPS serves on its public addresses and who handles each port.
// The firewall, the nftables input filter, the DNAT rules, the nginx
// listeners, coturn and PLAN.md are all read off this one list.
import * as P from "./ports";
import type { PortRange, Protocol } from "./ports";

export type Handler = "nginx-http" | "nginx-stream" | "nftables" | "coturn";

export interface Service {
  id: string;
  purpose: string;
  protocol: Protocol;
  ports: PortRange;
  handler: Handler;
  /** Home port(s) for a single-target forward; a range forwards port to same port. */
  home?: PortRange;
  /** nginx-stream only: send a PROXY protocol v1 header to home. */
  proxyProtocol?: boolean;
}

export interface ServiceInputs {
  preset: "snikket" | "prosody";
  clientIp: "masquerade" | "proxy-protocol";
  turn: "edge" | "off";
  turnRelayPorts: PortRange;
  turnTcpRelay: boolean;
  extraForwards: { ports: PortRange; protocol: Protocol; toPort?: number; description?: string }[];
}

export function planServices(c: ServiceInputs): Service[] {
  const pp = c.clientIp === "proxy-protocol";
  const services: Service[] = [
    { id: "http", purpose: "web names (from Cloudflare) and ACME HTTP-01 for the XMPP names", protocol: "tcp", ports: P.single(P.HTTP_PORT), handler: "nginx-http" },
    { id: "https", purpose: "HTTPS and XMPP direct TLS, routed by ALPN and SNI", protocol: "tcp", ports: P.single(P.HTTPS_PORT), handler: "nginx-stream" },
    xmppPort("xmpp-c2s", "XMPP client connections (STARTTLS)", P.XMPP_C2S_PORT, P.HOME_C2S_PROXY_PROTOCOL_PORT, pp),
    xmppPort("xmpp-s2s", "XMPP server-to-server (STARTTLS)", P.XMPP_S2S_PORT, P.HOME_S2S_PROXY_PROTOCOL_PORT, pp),
  ];
  if (c.preset === "snikket") {
    services.push({ id: "proxy65", purpose: "Snikket file-transfer proxy (XEP-0065)", protocol: "tcp", ports: P.single(P.PROXY65_PORT), handler: "nftables", home: P.single(P.PROXY65_PORT) });
  }
  if (c.turn === "edge") {
    for (const protocol of ["udp", "tcp"] as const) {
      services.push({ id: `stun-turn-${protocol}`, purpose: `STUN/TURN over ${protocol.toUpperCase()}`, protocol, ports: P.single(P.TURN_PORT), handler: "coturn" });
    }
    services.push({ id: "turn-relay", purpose: "TURN relay ports", protocol: "udp", ports: c.turnRelayPorts, handler: "coturn" });
    // RFC 6062: peers connect to a TCP relay on the same range.
    if (c.turnTcpRelay) services.push({ id: "turn-relay-tcp", purpose: "TURN TCP relay ports (RFC 6062, turnTcpRelay)", protocol: "tcp", ports: c.turnRelayPorts, handler: "coturn" });
  }
  c.extraForwards.forEach((f, i) => {
    const home = f.toPort === undefined ? f.ports : P.single(f.toPort);
    services.push({ id: `extra-${i}`, purpose: f.description ?? `extraForwards[${i}]`, protocol: f.protocol, ports: f.ports, handler: "nftables", home });
  });
  return services;
}

/** 5222/5269: kernel DNAT to the same port, or nginx with a PROXY header to a dedicated home port. */
function xmppPort(id: string, purpose: string, port: number, proxyProtocolHomePort: number, proxyProtocol: boolean): Service {
  return {
    id,
    purpose,
    protocol: "tcp",
    ports: P.single(port),
    handler: proxyProtocol ? "nginx-stream" : "nftables",
    home: P.single(proxyProtocol ? proxyProtocolHomePort : port),
    proxyProtocol: proxyProtocol || undefined,
  };
}

/** The ports that are not services but must stay reachable: SSH (22, or an existing host's own port) and tailscaled. */
export function reservedPorts(sshPort: number = P.SSH_PORT): { protocol: Protocol; ports: PortRange; what: string }[] {
  return [
    { protocol: "tcp", ports: P.single(sshPort), what: "SSH (the deploy path; see sshAllowFrom)" },
    { protocol: "udp", ports: P.single(P.TAILSCALE_UDP_PORT), what: "tailscaled's WireGuard port" },
  ];
}
