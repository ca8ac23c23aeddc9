// IP and hostname checks, on top of ipaddr.js (no hand-written address math).
import * as ipaddr from "ipaddr.js";

/** The interface tailscaled creates: the only way in from the tailnet, and the way to home. */
export const TAILNET_INTERFACE = "tailscale0";

export const TAILNET_IPV4_RANGE = "100.64.0.0/10";
export const TAILNET_IPV6_RANGE = "fd7a:115c:a1e0::/48";
/** Tailscale's MagicDNS resolver, present on every node: never a device's own address. */
export const TAILSCALE_SERVICE_ADDRESSES = ["100.100.100.100", "fd7a:115c:a1e0::53"];

export type Family = 4 | 6;

export function ipFamily(text: string): Family | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return 4;
  if (ipaddr.IPv6.isValid(text) && !text.includes("%")) return 6;
  return undefined;
}

/** A CIDR ("a/n") or a bare address (taken as a host route); undefined if invalid. */
export function cidrFamily(text: string): Family | undefined {
  if (!text.includes("/")) return ipFamily(text);
  try {
    const [addr] = ipaddr.parseCIDR(text);
    const family = addr.kind() === "ipv4" ? 4 : 6;
    // parseCIDR accepts "1.2.3" style IPv4; insist on the dotted-quad form.
    return family === 4 && !ipaddr.IPv4.isValidFourPartDecimal(text.split("/")[0]) ? undefined : family;
  } catch {
    return undefined;
  }
}

export function inCidr(address: string, cidr: string): boolean {
  const addr = ipaddr.parse(address);
  const [net, bits] = ipaddr.parseCIDR(cidr);
  return addr.kind() === net.kind() && addr.match(net, bits);
}

/** True for addresses no public DNS record should ever point at. */
export function isNonPublic(address: string): boolean {
  return ipaddr.parse(address).range() !== "unicast";
}

/**
 * Private, tailnet (CGNAT, ULA), loopback, link-local and other local-only
 * space: a public DNS record must never point there. Documentation ranges
 * are allowed (the lab and the examples use them).
 */
export function isLocalOnly(address: string): boolean {
  return ["private", "carrierGradeNat", "uniqueLocal", "loopback", "linkLocal", "unspecified", "multicast", "broadcast"].includes(ipaddr.parse(address).range());
}

/** A CIDR normalised to its network address, e.g. "10.1.2.3/8" -> "10.0.0.0/8". */
export function normaliseCidr(text: string): string {
  if (!text.includes("/")) {
    const addr = ipaddr.parse(text);
    return `${addr.toString()}/${addr.kind() === "ipv4" ? 32 : 128}`;
  }
  const [addr, bits] = ipaddr.parseCIDR(text);
  const network = addr.kind() === "ipv4"
    ? ipaddr.IPv4.networkAddressFromCIDR(text)
    : ipaddr.IPv6.networkAddressFromCIDR(text);
  return `${network.toString()}/${bits}`;
}
