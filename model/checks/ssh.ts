// SSH: who may reach it on the public address, the deploy key, and a host
// this stack did not create (existingHost).
import type { ExistingHost, ParsedConfig, SshAccess } from "../config";
import { cidrContains, inCidr, isLocalOnly, looksLikeAddress, parseAddress, parseCidr, TAILNET_INTERFACE, TAILNET_IPV4_RANGE, TAILNET_IPV6_RANGE, type Cidr, type Family } from "../net";
import { INTERFACE_NAME, isHostname, UNIX_USER } from "../shapes";
import { parseSshPublicKey } from "../ssh-key";
import { quoteRedacted, type Checks } from "./report";

export function checkSshAllowFrom(p: ParsedConfig, c: Checks): SshAccess {
  let ssh: SshAccess = { mode: "tailnet" };
  if (p.sshAllowFrom.length === 0) {
    c.report("sshAllowFrom", `is empty; expected CIDRs allowed to reach SSH (e.g. ["203.0.113.7/32"]) or ["tailnet"]`);
  } else if (p.sshAllowFrom.includes("tailnet")) {
    if (p.sshAllowFrom.length > 1) c.report("sshAllowFrom", `${quoteRedacted(p.sshAllowFrom)} mixes "tailnet" with CIDRs; use either ["tailnet"] alone or a list of CIDRs`);
  } else {
    const kept: { cidr: Cidr; i: number }[] = [];
    p.sshAllowFrom.forEach((text, i) => {
      const cidr = parseCidr(text);
      if (!cidr.ok) return c.report(`sshAllowFrom[${i}]`, `${quoteRedacted(text)} ${cidr.problem}; expected the public address or network you SSH from, e.g. "203.0.113.7/32" or "2001:db8::/64", or the single entry "tailnet"`);
      // One nftables interval set holds them: it refuses two entries that overlap.
      const overlap = kept.find((k) => cidrContains(k.cidr, cidr.value) || cidrContains(cidr.value, k.cidr));
      if (overlap) return c.report(`sshAllowFrom[${i}]`, `${quoteRedacted(text)} overlaps ${quoteRedacted(p.sshAllowFrom[overlap.i])} (sshAllowFrom[${overlap.i}]); list each network once: keep the wider one, ${quoteRedacted(cidrContains(overlap.cidr, cidr.value) ? overlap.cidr.text : cidr.value.text)}`);
      kept.push({ cidr: cidr.value, i });
    });
    ssh = { mode: "public", from: kept.map((k) => k.cidr.text) };
  }
  return ssh;
}

/** The deploy key pair; returns the public key without its comment. */
export function checkDeployKey(p: ParsedConfig, c: Checks): string | undefined {
  if (c.ok("sshPrivateKey") && (p.sshPublicKey === undefined) !== (p.sshPrivateKey === undefined)) {
    c.report(p.sshPublicKey === undefined ? "sshPublicKey" : "sshPrivateKey", "sshPublicKey and sshPrivateKey go together; set both (the private key as a secret) or neither (a key is generated)");
  }
  if (p.sshPublicKey === undefined) return undefined;
  const key = parseSshPublicKey(p.sshPublicKey);
  if (typeof key === "string") {
    c.report("sshPublicKey", `${key}; expected the deployer's public key like "ssh-ed25519 AAAA…" (ssh-keygen -y -f deploy_key)`);
    return undefined;
  }
  return key.key;
}

const isTailnetAddress = (a: { family: Family; address: string }) => inCidr(a.address, a.family === 4 ? TAILNET_IPV4_RANGE : TAILNET_IPV6_RANGE);

/**
 * A host we did not create: its host key must be given (there is no
 * generated one to pin, and an unpinned connection trusts any host), its
 * public addresses known (DNS, coturn), a deploy key it accepts, and a path
 * for the push that the pushed ruleset keeps open.
 */
export function checkExistingHost(p: ParsedConfig, h: NonNullable<ParsedConfig["existingHost"]>, c: Checks, at = "existingHost"): ExistingHost | undefined {
  let ok = true;
  const bad = (key: string, msg: string) => {
    c.report(`${at}.${key}`, msg);
    ok = false;
  };
  // An address (parsed: it may be private or a tailnet one, never one that reaches no host), else a host name.
  const ip = looksLikeAddress(h.address) ? parseAddress(h.address) : undefined;
  const sshAddress = ip?.ok ? ip.value : undefined;
  if (ip && !ip.ok && ip.malformed && !isHostname(h.address)) bad("address", `${quoteRedacted(h.address)} is neither an IP address nor a hostname`);
  else if (ip && !ip.ok) bad("address", `${quoteRedacted(h.address)} ${ip.problem}; expected the address or host name to SSH to (a public, private or tailnet address, e.g. "5.9.10.11" or "100.70.1.2")`);
  else if (!ip && !isHostname(h.address)) bad("address", `${quoteRedacted(h.address)} is neither an IP address nor a hostname`);
  else if (c.ok("sshAllowFrom") && p.sshAllowFrom.length === 1 && p.sshAllowFrom[0] === "tailnet" && !(sshAddress ? isTailnetAddress(sshAddress) : h.address.endsWith(".ts.net"))) {
    bad("address", `${quoteRedacted(h.address)} is not a tailnet address, but sshAllowFrom is ["tailnet"]: the pushed ruleset closes public SSH, so every push would cut the connection it runs over and revert itself; set address to the host's tailnet address (tailscale ip -4 on it) or its MagicDNS name, or list your CIDRs in sshAllowFrom`);
  }
  if (!UNIX_USER.test(h.user)) bad("user", `${quoteRedacted(h.user)} is not a user name; expected lower-case letters, digits, "_" and "-" (e.g. "root")`);
  // The push runs the apply as the SSH user, with no sudo: it installs the ruleset, nginx, coturn and sshd's config.
  else if (h.user !== "root") bad("user", `${quoteRedacted(h.user)} is not root, and the push runs xmpp-edge-apply as the SSH user, which must be root (it loads the ruleset and writes nginx, coturn and sshd configuration; sudo is not used, so any other user fails on the host with "must run as root"); expected "root" (or leave user out), with the deploy key in root's authorized_keys`);
  let hostKey: string | undefined;
  if (h.hostKey === undefined) {
    bad("hostKey", `is required: every connection pins the host's key; expected its public host key like "ssh-ed25519 AAAA…" (ssh-keyscan -t ed25519 ${h.address}, checked out of band)`);
  } else {
    const key = parseSshPublicKey(h.hostKey);
    if (typeof key === "string") bad("hostKey", `${key}; expected the host's public key like "ssh-ed25519 AAAA…" (ssh-keyscan -t ed25519 ${h.address}, checked out of band)`);
    else hostKey = key.key;
  }
  const address = (family: Family): string | undefined => {
    const given = family === 4 ? h.ipv4 : h.ipv6;
    if (given === undefined) return sshAddress?.family === family && !isLocalOnly(sshAddress.address) ? sshAddress.address : undefined;
    const expected = `expected the host's public IPv${family} address (the DNS records and coturn publish it), e.g. ${family === 4 ? '"5.9.10.11"' : '"2a01:4f8::2"'}`;
    const parsed = parseAddress(given);
    if (!parsed.ok) bad(`ipv${family}`, `${quoteRedacted(given)} ${parsed.problem}; ${expected}`);
    else if (parsed.value.family !== family || isLocalOnly(parsed.value.address)) bad(`ipv${family}`, `${quoteRedacted(given)} is not a public IPv${family} address (not a private or tailnet one); ${expected}`);
    else return parsed.value.address;
    return given;
  };
  const ipv4 = address(4);
  const ipv6 = address(6);
  const iface = h.publicInterface;
  if (iface !== undefined && (!INTERFACE_NAME.test(iface) || iface === TAILNET_INTERFACE || iface === "lo")) {
    bad("publicInterface", `${quoteRedacted(iface)} is not a public interface name; expected the host's interface with the public addresses as "ip -br addr" shows it (1-15 letters, digits, "_", "." or "-", e.g. "ens3"), not lo or ${TAILNET_INTERFACE}`);
  }
  if (ipv4 === undefined && h.ipv4 === undefined && c.ok(`${at}.address`)) bad("ipv4", `is required: the DNS records and coturn need the host's public IPv4 address, and address ${quoteRedacted(h.address)} is not one`);
  if (p.sshPrivateKey === undefined && c.ok("sshPrivateKey")) {
    c.report("sshPrivateKey", `is required with ${at}: a generated key is not authorized on a host this stack did not create; set sshPublicKey and, as a secret, sshPrivateKey to a key ${quoteRedacted(h.user)} accepts`);
    ok = false;
  }
  return ok && hostKey ? { address: h.address, user: h.user, port: h.port, hostKey, ipv4: ipv4!, ipv6, ...(iface === undefined ? {} : { publicInterface: iface }) } : undefined;
}
