// Every well-known port of the edge, in one place. A newcomer looking for
// "where does 5223 come from" lands here.

export interface PortRange {
  from: number;
  to: number;
}

export type Protocol = "tcp" | "udp";

export const SSH_PORT = 22;
/** tailscaled's WireGuard port: open so peers can connect directly instead of via DERP. */
export const TAILSCALE_UDP_PORT = 41641;

export const HTTP_PORT = 80;
export const HTTPS_PORT = 443;
export const XMPP_C2S_PORT = 5222;
export const XMPP_S2S_PORT = 5269;

/** XEP-0368 direct TLS ports at home; the VPS reaches them by ALPN on 443. */
export const HOME_C2S_DIRECT_TLS_PORT = 5223;
export const HOME_S2S_DIRECT_TLS_PORT = 5270;

/**
 * Home ports that expect a PROXY protocol v1 header (Prosody mod_net_proxy).
 * Dedicated ports, so the ordinary 5222/5269 keep working for tailnet clients.
 */
export const HOME_C2S_PROXY_PROTOCOL_PORT = 15222;
export const HOME_S2S_PROXY_PROTOCOL_PORT = 15269;

/**
 * Prosody's own HTTP(S) ports (its defaults http_ports/https_ports): with
 * preset prosody the XMPP names' HTTP(S) go here, never to the home web server,
 * so an XMPP name cannot be used to reach the web sites past the origin lock.
 */
export const PROSODY_HOME_HTTP_PORT = 5280;
export const PROSODY_HOME_HTTPS_PORT = 5281;

/** Snikket's file-transfer proxy (XEP-0065, mod_proxy65). */
export const PROXY65_PORT = 5000;

/**
 * Snikket's web front behind a reverse proxy (SNIKKET_TWEAK_HTTP(S)_PORT);
 * its default 80/443 are taken by the home web server.
 */
export const SNIKKET_HOME_HTTP_PORT = 5080;
export const SNIKKET_HOME_HTTPS_PORT = 5443;

/**
 * STUN/TURN on the VPS. Snikket's list also names 3479 and 5349-5350: 3479 is
 * coturn's RFC 5780 alternate port, which it only opens with a second public
 * address, and 5349/5350 are TURN over TLS, which the edge offers on 443
 * instead (turnTls, by its own name). Neither is opened.
 */
export const TURN_PORT = 3478;

/**
 * Per-source limits (nftables, before DNAT) on every TCP/UDP port the edge
 * serves through nginx or forwards home; a source is one IPv4 address or one
 * IPv6 /64 (what one customer gets). A household or a carrier NAT with a few
 * of the server's users opens a few connections each (an XMPP client holds
 * one or two, a browser up to six per name), so these sit far above use and
 * far below what one source could take of nginx (WORKER_CONNECTIONS in
 * render/nginx.ts) or conntrack.
 */
export const SOURCE_LIMITS = {
  /** Concurrent connections (conntrack entries) per source. */
  connections: 64,
  /** New connections per second per source, sustained ... */
  newPerSecond: 20,
  /** ... after a burst of this many. */
  newBurst: 100,
  /** IPv6 sources are counted per prefix of this length. */
  ipv6PrefixLength: 64,
  /**
   * ... and together per prefix of this length (a site: what a tunnel broker
   * hands out free, 65,536 /64s), which gets ipv6SiteSources sources' worth
   * of every limit: a household's or an office's devices stay far under it,
   * a spray over a /48's /64s stops there.
   */
  ipv6SitePrefixLength: 48,
  ipv6SiteSources: 8,
} as const;

/**
 * Echo requests the edge answers, all sources together: monitoring and a
 * person's ping send one a second; a flood of them (spoofed, so the answers
 * go to a victim) is cut to this.
 */
export const ICMP_ECHO_LIMIT = { perSecond: 20, burst: 50 } as const;

/**
 * Packets to tailscaled's port that start no answered flow, all sources
 * together: a peer's handshake initiation and its path probes (disco
 * pings), a few per peer per minute; every packet of a flow tailscaled has
 * answered (the tunnel itself) is established in conntrack and never
 * counted. A junk flood from spoofed sources is all unanswered: it stops
 * here instead of filling tailscaled's receive buffer (7 MiB, set by
 * tailscaled itself past net.core.rmem_max, so no sysctl raises it).
 */
export const TAILSCALED_UNANSWERED_LIMIT = { perSecond: 200, burst: 400 } as const;

/**
 * New STUN/TURN flows to coturn's UDP port that go straight to it, all
 * sources together: a call opens a handful (a binding per candidate, one
 * allocation per participant), so a family's or a club's server stays far
 * below. coturn keeps about 19 KB for any request's source until
 * max-allocate-timeout, so spoofed requests at 20,000/s held gigabytes;
 * beyond this rate a new flow must show it is real by sending its first
 * packet again (every STUN client retransmits an unanswered request after
 * 0.25-0.5 s; a spoofed source sends once). Retransmissions are remembered
 * this many seconds.
 */
export const TURN_NEW_FLOW_LIMIT = { perSecond: 200, burst: 400, retrySeconds: 3 } as const;

/**
 * HTTP requests per client address to the XMPP names on port 80 (open to
 * anyone): ACME HTTP-01 validations and the redirect to HTTPS, a handful per
 * visit. A flood of requests stops at the edge instead of at home's web front.
 */
export const XMPP_HTTP_REQUEST_LIMIT = { perSecond: 10, burst: 40 } as const;

/**
 * What each UDP forward may send home, packets/s (all its flows together,
 * after a burst of one second's worth): far above a voice server's or a
 * game's traffic (a voice user sends about 50 a second), far below what
 * fills a home line with small packets.
 */
export const DEFAULT_UDP_FORWARD_PPS = 10000;
export const UDP_FORWARD_PPS_RANGE = { min: 100, max: 10_000_000 };

/**
 * The SYN proxy in front of the forwarded TCP ports (render/synproxy.ts)
 * answers each handshake in home's name, so it announces home's window
 * scale to the client, and the kernel never rewrites it afterwards. A
 * client then reads home's window field shifted by this: more than home's
 * own overstates home's window (the client sends past it, home drops),
 * less only understates it. 7 is Linux's with its default buffers
 * (tcp_rmem 6 MiB: Debian, Snikket's containers on it).
 */
export const DEFAULT_SYN_PROXY_WSCALE = 7;
export const SYN_PROXY_WSCALE_RANGE = { min: 0, max: 14 };

export const DEFAULT_TURN_RELAY_PORTS = "49152-65535";
/** Ports below this are privileged: the host's own daemons, never a relay range. */
export const FIRST_UNPRIVILEGED_PORT = 1024;

/**
 * The ports the kernel gives the host's own outgoing connections
 * (net.ipv4.ip_local_port_range, both families; Debian's default is
 * 32768-60999). nginx's connections to one home port all leave from one
 * tailnet address, so this range, less the reserved ports, is how many
 * sessions one home port carries per address family: 39,151 beside the
 * default relay range and tailscaled's port, and twice that when home's
 * tailnet IPv6 takes the overflow (render/nginx.ts), past the 65,536 idle
 * sessions 1,024 sources may hold at 64 each (#25's G3); Debian's range left
 * 16,384. The ports the edge listens on inside it are reserved
 * (reservedLocalPorts in model/model.ts), so no outgoing connection can hold
 * one while its daemon restarts.
 */
export const EPHEMERAL_PORTS: PortRange = { from: 10000, to: 65535 };
export const MIN_EPHEMERAL_LEFT = 8192;

/**
 * One TURN session's cap, each way: an HD video call needs about 2.5 Mbit/s;
 * the cap keeps one account from turning the edge into a bulk relay.
 */
export const DEFAULT_TURN_SESSION_KBPS = 4000;
export const TURN_SESSION_KBPS_RANGE = { min: 64, max: 1_000_000 };

export function single(port: number): PortRange {
  return { from: port, to: port };
}

export function overlaps(a: PortRange, b: PortRange): boolean {
  return a.from <= b.to && b.from <= a.to;
}

export function formatRange(r: PortRange): string {
  return r.from === r.to ? String(r.from) : `${r.from}-${r.to}`;
}

/** Parses "5000" or "6000-6010"; returns a reason string when invalid. */
export function parsePortRange(text: string): PortRange | string {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  if (!m) return `"${text}" is not a port or a range; expected a port 1-65535 or "low-high"`;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  for (const p of [from, to]) {
    if (p < 1 || p > 65535) return `port ${p} in "${text}" is outside 1-65535`;
  }
  if (to < from) return `range "${text}" is reversed; write it low-high (${to}-${from})`;
  return { from, to };
}

/**
 * The ranges of `ports` inside the ephemeral range, clipped to it, sorted and
 * merged: what ip_local_reserved_ports keeps from other sockets.
 */
export function reservedWithin(ports: PortRange[], e: PortRange = EPHEMERAL_PORTS): PortRange[] {
  const clipped = ports
    .filter((r) => overlaps(r, e))
    .map((r) => ({ from: Math.max(r.from, e.from), to: Math.min(r.to, e.to) }))
    .sort((a, b) => a.from - b.from);
  const merged: PortRange[] = [];
  for (const r of clipped) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else merged.push({ ...r });
  }
  return merged;
}

/** How many of the ephemeral ports `reserved` (from reservedWithin) leaves. */
export function ephemeralLeft(reserved: PortRange[], e: PortRange = EPHEMERAL_PORTS): number {
  return e.to - e.from + 1 - reserved.reduce((n, r) => n + r.to - r.from + 1, 0);
}
