// The validated config turned into the edge's plan: names, services, routes.
// Renderers read only this (plus HostFacts, the addresses known at deploy).
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "./cloudflare-ranges";
import { cidrFamily } from "./net";
import * as P from "./ports";
import { ANYONE, planHostPorts, planServices, type HostPort, type Service, type Source } from "./services";
import type { PortRange, Protocol } from "./ports";
import type { EdgeConfig } from "./config";
import { xmppNames } from "./names";

/** Addresses that exist only once resources do: Outputs at deploy, flags or documentation addresses in the plan. */
export interface HostFacts {
  vpsIPv4: string;
  /** Absent for an IPv4-only existingHost. */
  vpsIPv6?: string;
  homeIPv4: string;
  homeIPv6?: string;
  /** The VPS's own tailnet address: Prosody trusts PROXY headers from it. */
  vpsTailnetIPv4?: string;
  /**
   * Every edge's tailnet address, the first edge's first (undefined: not
   * known yet); home trusts each of them. Absent: only vpsTailnetIPv4.
   */
  edgeTailnetIPv4s?: (string | undefined)[];
}

/** ALPN as nginx's ssl_preread sees it: an XMPP id (XEP-0368), none at all, or anything else (h2, http/1.1, acme-tls/1). */
export type AlpnClass = "xmpp-client" | "xmpp-server" | "none" | "other";
/** SNI class: the DNS-only XMPP names, the configured web names, this edge's TURN-over-TLS name, or anything else (including no SNI). */
export type NameClass = "xmpp" | "web" | "turn" | "other";
/** Who may take a route: anyone, or only the web origins (Cloudflare + webOriginExtraAllow; anyone with the lock off). */
export type RouteSource = "anywhere" | "web-origins";

/** What the edge serves itself on 80/443 instead of passing it home: TLS ended for coturn, the TURN name's ACME challenges. */
export type OnEdge = "turn-tls" | "acme-webroot";

/** Where a route leads: a home port over the tailnet, or a server on the edge itself (never both). */
export type RouteTarget = { homePort: number; onEdge?: undefined } | { onEdge: OnEdge; homePort?: undefined };

/** One row of 443's routing: the first row that matches wins; no match is closed unanswered. */
export type HttpsRoute = {
  /** "not-xmpp": none or other, i.e. anything but an XMPP id. */
  alpn: AlpnClass | "any" | "not-xmpp";
  names: NameClass | "any";
  from: RouteSource;
  /** What listens there, at home or on the edge (PLAN.md). */
  what: string;
} & RouteTarget;

/** Where HTTP-01 challenges are fetched (RFC 8555 8.3): this prefix and one token. */
export const ACME_CHALLENGE_PATH = "/.well-known/acme-challenge/";
/** An HTTP-01 token: base64url characters only (RFC 8555 8.3), so nothing a server behind reads as a path step or parameter. */
export const ACME_TOKEN = "[A-Za-z0-9_-]+";

/** One row of 80's routing (nginx http, by Host): the longest path prefix wins; other names are closed (444). */
export type HttpRoute = {
  names: Exclude<NameClass, "other">;
  /** ACME_CHALLENGE_PATH: only a token right below it (ACME_TOKEN); anything else there takes the "/" row. */
  path: "/" | typeof ACME_CHALLENGE_PATH;
  from: RouteSource;
  what: string;
} & RouteTarget;

/** The public interface of a server this stack creates: Hetzner's images name their one NIC eth0. */
export const CREATED_SERVER_INTERFACE = "eth0";

export interface EdgeModel {
  config: EdgeConfig;
  /** The host's public interface (DHCP replies come only there); undefined: an existing host that did not say. */
  publicInterface?: string;
  /** DNS-only names served by the home XMPP server (SNI/Host class "xmpp"). */
  xmppNames: string[];
  webNames: string[];
  /** This edge's TURN-over-TLS name (SNI/Host class "turn"); undefined: turnTls off. */
  turnTlsName?: string;
  services: Service[];
  /** The port SSH listens on: 22, or an existing host's own (hostPorts opens it). */
  sshPort: number;
  /** The host's own ports (SSH, tailscaled) and who may reach them. */
  hostPorts: HostPort[];
  /** Port 443: TLS passed through to home, routed by ALPN and SNI. */
  https: HttpsRoute[];
  /** Port 80: plain HTTP proxied to home, routed by Host and path. */
  http: HttpRoute[];
  /** Sources allowed to reach web names; null = anyone (origin lock off). */
  webOrigins: { ipv4: string[]; ipv6: string[] } | null;
  /** Per-source connection limits on the served and forwarded ports; only Cloudflare is exempt, on 80/443. */
  sourceLimits: typeof P.SOURCE_LIMITS & { exempt: { ipv4: readonly string[]; ipv6: readonly string[]; ports: number[] } };
}

export function buildModel(config: EdgeConfig): EdgeModel {
  const extra = config.webOriginExtraAllow;
  const sshPort = config.existingHost?.port ?? P.SSH_PORT;
  return {
    config,
    publicInterface: config.existingHost ? config.existingHost.publicInterface : CREATED_SERVER_INTERFACE,
    xmppNames: xmppNames(config),
    webNames: config.webHostnames,
    turnTlsName: config.turnTlsName,
    services: planServices(config),
    sshPort,
    hostPorts: planHostPorts({ port: sshPort, from: config.ssh.mode === "tailnet" ? "tailnet" : config.ssh.from }),
    https: httpsRoutes(config),
    http: httpRoutes(config),
    webOrigins:
      config.webOriginLock === "cloudflare"
        ? {
            ipv4: [...CLOUDFLARE_IPV4, ...extra.filter((c) => cidrFamily(c) === 4)],
            ipv6: [...CLOUDFLARE_IPV6, ...extra.filter((c) => cidrFamily(c) === 6)],
          }
        : null,
    sourceLimits: { ...P.SOURCE_LIMITS, exempt: { ipv4: CLOUDFLARE_IPV4, ipv6: CLOUDFLARE_IPV6, ports: [P.HTTP_PORT, P.HTTPS_PORT] } },
  };
}

/**
 * The model of edge `index` (0: the first, what buildModel gives): its own
 * server name, type, location, image and existing host, so every per-host renderer
 * (cloud-init, firewall, nginx, nftables, coturn, the bundle) renders that
 * edge unchanged. Everything else, the edge list included, is shared.
 */
export function forEdge(model: EdgeModel, index: number): EdgeModel {
  const c = model.config;
  const e = c.edges[index];
  if (!e) throw new Error(`forEdge: no edge ${index} (${c.edges.length} edges)`);
  return buildModel({ ...c, server: { ...c.server, name: e.serverName, type: e.type, location: e.location, image: e.image, release: e.release }, existingHost: e.existingHost, turnTlsName: e.turnTlsName });
}

/** What 80's and 443's routing depends on (the checks read the routes before the config is complete). */
export type RouteInputs = Pick<EdgeConfig, "preset" | "directTls" | "webHostnames"> & { turnTlsName?: string };

/** The home XMPP server's own HTTP front: Snikket's web port, or Prosody's mod_http port; never the home web server. */
function xmppWeb(config: RouteInputs, tls: boolean): { homePort: number; what: string } {
  if (config.preset === "snikket") return tls ? { homePort: P.SNIKKET_HOME_HTTPS_PORT, what: "Snikket's web front (HTTPS)" } : { homePort: P.SNIKKET_HOME_HTTP_PORT, what: "Snikket's web front (HTTP)" };
  return tls ? { homePort: P.PROSODY_HOME_HTTPS_PORT, what: "Prosody's https_ports" } : { homePort: P.PROSODY_HOME_HTTP_PORT, what: "Prosody's http_ports" };
}

/**
 * 443. XEP-0368: an XMPP ALPN id wins over the name. An XMPP name without
 * ALPN is an XMPP client doing direct TLS (browsers and HTTP stacks always
 * send h2 or http/1.1, ACME's TLS-ALPN-01 sends acme-tls/1), so it goes to the
 * client direct TLS port; with any other ALPN to the XMPP server's own web
 * front. Only the configured web names reach the home web server, and only
 * from the web origins (no web names: no such route). The TURN name (turnTls)
 * with any ALPN but an XMPP id goes to the TLS terminator on the edge, which
 * hands the stream to coturn: clients send no ALPN for turns: (none sends
 * RFC 7443's stun.turn), so the name alone tells TURN apart. Every other
 * name, or none, is closed.
 */
export function httpsRoutes(config: RouteInputs): HttpsRoute[] {
  const routes: HttpsRoute[] = [];
  if (config.directTls) {
    const c2s = { homePort: P.HOME_C2S_DIRECT_TLS_PORT, what: "XMPP client direct TLS (c2s_direct_tls_ports)" };
    routes.push(
      { alpn: "xmpp-client", names: "any", from: "anywhere", ...c2s },
      { alpn: "xmpp-server", names: "any", from: "anywhere", homePort: P.HOME_S2S_DIRECT_TLS_PORT, what: "XMPP server direct TLS (s2s_direct_tls_ports)" },
      { alpn: "none", names: "xmpp", from: "anywhere", ...c2s },
    );
  }
  routes.push({ alpn: "any", names: "xmpp", from: "anywhere", ...xmppWeb(config, true) });
  // No web names, no way to the home web server: not routed, not granted in the tailnet, not listed at home.
  if (config.webHostnames.length > 0) routes.push({ alpn: "any", names: "web", from: "web-origins", homePort: P.HTTPS_PORT, what: "the home web server (HTTPS)" });
  if (config.turnTlsName !== undefined) routes.push({ alpn: "not-xmpp", names: "turn", from: "anywhere", onEdge: "turn-tls", what: "TURN over TLS: TLS ended on the edge, the stream to coturn" });
  return routes;
}

/**
 * 80. XMPP names from anywhere: ACME HTTP-01 challenges to where the home
 * certificates are made (Snikket answers them itself; with Prosody, the home
 * web server's webroot, for that path only), the rest to the XMPP web front.
 * The TURN name (turnTls): only its challenges, answered by the edge itself
 * for its own certificate; never sent home.
 */
export function httpRoutes(config: RouteInputs): HttpRoute[] {
  const acme = config.preset === "snikket" ? xmppWeb(config, false) : { homePort: P.HTTP_PORT, what: "the home web server, ACME challenges only" };
  const routes: HttpRoute[] = [
    { names: "xmpp", path: ACME_CHALLENGE_PATH, from: "anywhere", ...acme },
    { names: "xmpp", path: "/", from: "anywhere", ...xmppWeb(config, false) },
  ];
  if (config.webHostnames.length > 0) routes.push({ names: "web", path: "/", from: "web-origins", homePort: P.HTTP_PORT, what: "the home web server (HTTP)" });
  if (config.turnTlsName !== undefined) routes.push({ names: "turn", path: ACME_CHALLENGE_PATH, from: "anywhere", onEdge: "acme-webroot", what: "ACME HTTP-01 for the TURN name's certificate, from the edge's own webroot" });
  return routes;
}

/** Every home port that 80 and 443 route to. */
export function routedHomePorts(model: EdgeModel): number[] {
  return [...new Set(homeRoutes([...model.https, ...model.http]).map((r) => r.homePort))].sort((a, b) => a - b);
}

/** The routes that lead home (the others are served on the edge). */
export function homeRoutes<R extends RouteTarget>(routes: R[]): (R & { homePort: number })[] {
  return routes.filter((r): r is R & { homePort: number } => r.homePort !== undefined);
}

/** A port the cloud firewall opens, and to whom. */
export interface InboundPort {
  /** The host port's or the service's id. */
  id: string;
  protocol: Protocol;
  ports: PortRange;
  from: Source;
  description: string;
}

/** Every port the host accepts connections on, host ports first; the edge's services are open to anyone (nginx locks web names to their origins). */
export function inboundPorts(model: EdgeModel): InboundPort[] {
  return [
    ...model.hostPorts.map((h) => ({ id: h.id, protocol: h.protocol, ports: h.ports, from: h.from, description: h.purpose })),
    ...model.services.map((s) => ({ id: s.id, protocol: s.protocol, ports: s.ports, from: ANYONE, description: `${s.id}: ${s.purpose}` })),
  ];
}

/** The port nginx listens on for the service `id` (80 for http, 443 for https): its listeners come from the services list too. */
export function listenerOf(model: EdgeModel, id: "http" | "https"): number {
  const svc = model.services.find((s) => s.id === id);
  if (svc === undefined || svc.ports.from !== svc.ports.to) throw new Error(`model: no single-port service "${id}"`);
  return svc.ports.from;
}

/** coturn's UDP listener (STUN and TURN), when TURN runs on the edge: coturn's listening-port, its new-flow rules and Prosody's turn_external_port all read it here. */
export function turnListener(model: EdgeModel): Service | undefined {
  return model.services.find((s) => s.id === "stun-turn-udp");
}

export function servicesBy(model: EdgeModel, handler: Service["handler"]): Service[] {
  return model.services.filter((s) => s.handler === handler);
}

/**
 * The ports kept from the kernel's ephemeral range (ip_local_reserved_ports):
 * every port a daemon of the edge binds by number (nginx, coturn and its
 * relay range, sshd, tailscaled) that falls inside it. Forwarded ports are
 * not bound here (nftables DNATs them), so they stay usable.
 */
export function reservedLocalPorts(model: EdgeModel): PortRange[] {
  const bound = [...model.hostPorts.map((h) => h.ports), ...model.services.filter((s) => s.handler !== "nftables").map((s) => s.ports)];
  return P.reservedWithin(bound);
}
