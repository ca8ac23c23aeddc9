// What the VPS serves on its public addresses and who handles each port, and
// the host's own ports (SSH, tailscaled) with who may reach them. The
// firewall, the nftables input filter, the DNAT rules, the nginx listeners,
// coturn and PLAN.md are all read off these lists: no renderer writes a port.
import * as P from "./ports";
import type { PortRange, Protocol } from "./ports";

export type Handler = "nginx-http" | "nginx-stream" | "nftables" | "coturn";
/** The host's own daemons: not services of the edge, but ports the filter must open. */
export type HostHandler = "sshd" | "tailscaled";

/**
 * Who may open a connection to a port: anyone (origin locks are nginx's, per
 * name), listed CIDRs, or only peers arriving over the tailnet interface.
 */
export type Source = { kind: "anywhere" } | { kind: "cidrs"; cidrs: string[] } | { kind: "tailnet" };
export const ANYONE: Source = { kind: "anywhere" };

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
  clientIp: "masquerade" | "nginx" | "proxy-protocol";
  turn: "edge" | "off";
  turnRelayPorts: PortRange;
  turnTcpRelay: boolean;
  extraForwards: { ports: PortRange; protocol: Protocol; toPort?: number; description?: string }[];
}

export function planServices(c: ServiceInputs): Service[] {
  const services: Service[] = [
    { id: "http", purpose: "web names (from Cloudflare) and ACME HTTP-01 for the XMPP names", protocol: "tcp", ports: P.single(P.HTTP_PORT), handler: "nginx-http" },
    { id: "https", purpose: "HTTPS and XMPP direct TLS, routed by ALPN and SNI", protocol: "tcp", ports: P.single(P.HTTPS_PORT), handler: "nginx-stream" },
    xmppPort("xmpp-c2s", "XMPP client connections (STARTTLS)", P.XMPP_C2S_PORT, P.HOME_C2S_PROXY_PROTOCOL_PORT, c.clientIp),
    xmppPort("xmpp-s2s", "XMPP server-to-server (STARTTLS)", P.XMPP_S2S_PORT, P.HOME_S2S_PROXY_PROTOCOL_PORT, c.clientIp),
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

/**
 * 5222/5269: kernel DNAT to the same port (masquerade); nginx to the same
 * port (nginx: the TCP connection ends at the edge, so a SYN flood meets
 * the edge's SYN cookies and never crosses the tunnel); or nginx with a
 * PROXY header to a dedicated home port (proxy-protocol).
 */
function xmppPort(id: string, purpose: string, port: number, proxyProtocolHomePort: number, clientIp: ServiceInputs["clientIp"]): Service {
  const proxyProtocol = clientIp === "proxy-protocol";
  return {
    id,
    purpose,
    protocol: "tcp",
    ports: P.single(port),
    handler: clientIp === "masquerade" ? "nftables" : "nginx-stream",
    home: P.single(proxyProtocol ? proxyProtocolHomePort : port),
    proxyProtocol: proxyProtocol || undefined,
  };
}

/** A port of the host itself, and who may reach it. */
export interface HostPort {
  id: "ssh" | "tailscaled";
  purpose: string;
  protocol: Protocol;
  ports: PortRange;
  handler: HostHandler;
  from: Source;
}

/**
 * The ports that are not services but must stay reachable: SSH (22, or an
 * existing host's own port) from sshAllowFrom or the tailnet only, and
 * tailscaled's WireGuard port from anyone (direct paths instead of DERP).
 */
export function planHostPorts(ssh: { port: number; from: string[] | "tailnet" }): HostPort[] {
  return [
    {
      id: "ssh",
      purpose: ssh.from === "tailnet" ? "SSH over the tailnet only (sshAllowFrom tailnet: deploys over the tailnet)" : "SSH from sshAllowFrom (deploys)",
      protocol: "tcp",
      ports: P.single(ssh.port),
      handler: "sshd",
      from: ssh.from === "tailnet" ? { kind: "tailnet" } : { kind: "cidrs", cidrs: ssh.from },
    },
    { id: "tailscaled", purpose: "tailscaled's WireGuard port (direct connections)", protocol: "udp", ports: P.single(P.TAILSCALE_UDP_PORT), handler: "tailscaled", from: ANYONE },
  ];
}
