// IP and hostname checks, on top of ipaddr.js (no hand-written address math).
import * as ipaddr from "ipaddr.js";

/** The interface tailscaled creates: the only way in from the tailnet, and the way to home. */
export const TAILNET_INTERFACE = "tailscale0";
/** tailscaled's interface MTU: what a forwarded TCP segment crosses on its way home (the SYN proxy announces the MSS it leaves). */
export const TAILNET_MTU = 1280;

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

/** An address or network as every config key holds it: canonical text, family, prefix. */
export interface Cidr {
  family: Family;
  /** The network address, canonical (lower case, IPv6 compressed). */
  address: string;
  prefix: number;
  /** "address/prefix". */
  text: string;
}

/** A parse result: the value, or what is wrong with the text (to follow the quoted value in a message). */
/** `malformed`: the text is no address at all (as opposed to an address that cannot be meant). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string; malformed?: true };

/**
 * Addresses that are never the source or destination of a connection over
 * the internet, each with why. A CIDR inside one of them is refused; a wider
 * one that merely contains one (0.0.0.0/0) is not.
 */
const NEVER_ROUTED: { cidr: string; what: string }[] = [
  { cidr: "0.0.0.0/8", what: "unspecified: no host has it" },
  { cidr: "127.0.0.0/8", what: "loopback: the host itself" },
  { cidr: "169.254.0.0/16", what: "link-local: valid on one link only, never routed" },
  { cidr: "224.0.0.0/4", what: "multicast: a group, never one host" },
  { cidr: "240.0.0.0/4", what: "reserved, with the broadcast address: never routed" },
  { cidr: "::/128", what: "unspecified: no host has it" },
  { cidr: "::1/128", what: "loopback: the host itself" },
  { cidr: "fe80::/10", what: "link-local: valid on one link only, never routed" },
  { cidr: "ff00::/8", what: "multicast: a group, never one host" },
];

const IPV4_TEXT = /^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/;
const PREFIX_TEXT = /^(0|[1-9]\d{0,2})$/;

/**
 * The one parser for every address and CIDR in the config. Refuses what
 * ipaddr.js would accept but no rule or record could use as meant: a zone id
 * (it names an interface of the machine that wrote it), the IPv4-mapped and
 * IPv4-compatible IPv6 forms (IPv4 packets never carry them: a rule written
 * so never matches, an AAAA record so reaches nobody), IPv4 other than four
 * plain decimal parts, host bits under the prefix (say the network instead),
 * and the addresses that are never routed (NEVER_ROUTED). `bare`: an address
 * without "/n" is taken as one host (sshAllowFrom) or is the only form
 * allowed (an address key: existingHost.ipv4).
 */
export function parseCidr(text: string, bare: "host" | "address-only" = "host"): Parsed<Cidr> {
  const fail = (problem: string): Parsed<Cidr> => ({ ok: false, problem });
  const malformed: Parsed<Cidr> = { ok: false, problem: bare === "address-only" ? "is not a valid IP address" : "is not a valid CIDR", malformed: true };
  const zone = /%([^/]*)/.exec(text);
  if (zone) return fail(`has a zone id (%${zone[1]}), which names an interface of your machine, not of the edge, and no firewall rule or DNS record carries one; write the address without it`);
  const slash = text.indexOf("/");
  if (bare === "address-only" && slash >= 0) return fail(`is a network; expected one address, without "/n"`);
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  const v4 = !addrText.includes(":");
  if (v4 ? !IPV4_TEXT.test(addrText) || !ipaddr.IPv4.isValid(addrText) : !ipaddr.IPv6.isValid(addrText)) return malformed;
  const max = v4 ? 32 : 128;
  if (prefixText !== undefined && (!PREFIX_TEXT.test(prefixText) || Number(prefixText) > max)) return malformed;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  const addr = ipaddr.parse(addrText);
  if (addr instanceof ipaddr.IPv6) {
    const embedded = embeddedIPv4(addr, addrText);
    if (embedded) {
      const v4prefix = prefix - 96;
      const suggestion = bare === "address-only" || prefixText === undefined ? embedded.v4 : `${ipaddr.IPv4.networkAddressFromCIDR(`${embedded.v4}/${Math.max(v4prefix, 0)}`).toString()}/${Math.max(v4prefix, 0)}`;
      return fail(`is an ${embedded.form} IPv6 address${embedded.form === "IPv4-compatible" ? " (deprecated, never on the wire)" : ""}, which no IPv4 packet carries; write it as IPv4: "${suggestion}"`);
    }
  }
  const network = (v4 ? ipaddr.IPv4.networkAddressFromCIDR(`${addrText}/${prefix}`) : ipaddr.IPv6.networkAddressFromCIDR(`${addrText}/${prefix}`)).toString();
  const canonical = addr.toString();
  if (network !== canonical) return fail(`has host bits set; the network is "${network}/${prefix}" (write that), or "${canonical}/${max}" for the one address`);
  const never = NEVER_ROUTED.find((r) => {
    const [net, bits] = ipaddr.parseCIDR(r.cidr);
    return net.kind() === addr.kind() && prefix >= bits && addr.match(net, bits);
  });
  if (never) return fail(`is in ${never.cidr} (${never.what}), which never arrives from outside or reaches the edge`);
  return { ok: true, value: { family: v4 ? 4 : 6, address: canonical, prefix, text: `${canonical}/${prefix}` } };
}

/**
 * The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or
 * IPv4-compatible (::a.b.c.d) IPv6 address. ipaddr.js reads the dotted
 * "::a.b.c.d" as mapped, so the text decides which form it was written in.
 */
function embeddedIPv4(addr: ipaddr.IPv6, text: string): { form: "IPv4-mapped" | "IPv4-compatible"; v4: string } | undefined {
  const p = addr.parts;
  const tail = () => ipaddr.fromByteArray(addr.toByteArray().slice(12)).toString();
  if (/^::(\d+\.){3}\d+$/.test(text)) return { form: "IPv4-compatible", v4: tail() };
  if (p.slice(0, 5).every((x) => x === 0) && p[5] === 0xffff) return { form: "IPv4-mapped", v4: tail() };
  if (p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || p[7] > 1)) return { form: "IPv4-compatible", v4: tail() };
  return undefined;
}

/** True when network `outer` holds every address of `inner` (the same family). */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && ipaddr.parse(inner.address).match(ipaddr.parse(outer.address), outer.prefix);
}

/** One address (no "/n"), through parseCidr. */
export function parseAddress(text: string): Parsed<{ family: Family; address: string }> {
  const r = parseCidr(text, "address-only");
  return r.ok ? { ok: true, value: { family: r.value.family, address: r.value.address } } : r;
}

/** True when text can only be meant as an address (digits and dots, or any ":" or "%"), never a host name. */
export function looksLikeAddress(text: string): boolean {
  return /^[\d.]+$/.test(text) || /[:%]/.test(text);
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
