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
 * address, and 5349/5350 are TURN over TLS, which would need a certificate on
 * the VPS. Neither is offered, so neither is opened.
 */
export const TURN_PORT = 3478;

export const DEFAULT_TURN_RELAY_PORTS = "49152-65535";

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
