// Who may reach the web names besides Cloudflare. On 443 the edge passes
// TLS through unread, so an extra origin writes the X-Forwarded-For the home
// web server believes (render/home.ts): each entry is trusted like
// Cloudflare, and must be one organisation's network, not the internet.
import type { ParsedConfig } from "../config";
import { parseCidr } from "../net";
import { quoteRedacted, type Checks } from "./report";

/**
 * The widest extra origin: the largest block one organisation's CDN or
 * monitoring publishes as a single range (e.g. 151.101.0.0/16,
 * 2a04:4e42::/32), and an RIR's smallest IPv6 allocation to one network.
 */
export const EXTRA_ORIGIN_MIN_PREFIX = { 4: 16, 6: 32 } as const;

export function checkWebOrigins(p: ParsedConfig, c: Checks): string[] {
  const allowed: string[] = [];
  p.webOriginExtraAllow.forEach((text, i) => {
    const key = `webOriginExtraAllow[${i}]`;
    const cidr = parseCidr(text);
    if (!cidr.ok) return c.report(key, `${quoteRedacted(text)} ${cidr.problem}; expected the network of a monitoring service or another CDN, e.g. "198.51.100.0/24"`);
    const min = EXTRA_ORIGIN_MIN_PREFIX[cidr.value.family];
    if (cidr.value.prefix < min) {
      return c.report(
        key,
        `${quoteRedacted(text)} is wider than /${min}: everyone in it would reach the web names past the origin lock, and the home web server trusts the X-Forwarded-For it writes on 443 (the edge passes TLS through unread); ` +
          `list the monitoring or CDN networks themselves (at most /${EXTRA_ORIGIN_MIN_PREFIX[4]} IPv4, /${EXTRA_ORIGIN_MIN_PREFIX[6]} IPv6), or set webOriginLock: off to serve the web names to everyone (home then trusts no forwarded address)`,
      );
    }
    allowed.push(cidr.value.text);
  });
  return allowed;
}
