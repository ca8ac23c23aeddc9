// SSH: who may reach it on the public address, the deploy key, and a host
// this stack did not create (existingHost).
import type { ExistingHost, ParsedConfig, SshAccess } from "../config";
import { cidrFamily, ipFamily, isLocalOnly, normaliseCidr } from "../net";
import { isHostname, SSH_PUBLIC_KEY } from "../shapes";
import { show, type Report } from "./report";

export function checkSshAllowFrom(p: ParsedConfig, report: Report): SshAccess {
  let ssh: SshAccess = { mode: "tailnet" };
  if (p.sshAllowFrom.length === 0) {
    report("sshAllowFrom", `is empty; expected CIDRs allowed to reach SSH (e.g. ["203.0.113.7/32"]) or ["tailnet"]`);
  } else if (p.sshAllowFrom.includes("tailnet")) {
    if (p.sshAllowFrom.length > 1) report("sshAllowFrom", `${show(p.sshAllowFrom)} mixes "tailnet" with CIDRs; use either ["tailnet"] alone or a list of CIDRs`);
  } else {
    p.sshAllowFrom.forEach((cidr, i) => {
      if (cidrFamily(cidr) === undefined) report(`sshAllowFrom[${i}]`, `${show(cidr)} is not a valid CIDR; expected e.g. "203.0.113.7/32" or "2001:db8::/64", or the single entry "tailnet"`);
    });
    ssh = { mode: "public", from: p.sshAllowFrom.filter((c) => cidrFamily(c) !== undefined).map(normaliseCidr) };
  }
  return ssh;
}

export function checkDeployKey(p: ParsedConfig, report: Report): void {
  if ((p.sshPublicKey === undefined) !== (p.sshPrivateKey === undefined)) {
    report(p.sshPublicKey === undefined ? "sshPublicKey" : "sshPrivateKey", "sshPublicKey and sshPrivateKey go together; set both (the private key as a secret) or neither (a key is generated)");
  }
  if (p.sshPublicKey !== undefined && !SSH_PUBLIC_KEY.test(p.sshPublicKey)) {
    report("sshPublicKey", `is not an OpenSSH public key; expected "ssh-ed25519 AAAA…"`);
  }
}

/**
 * A host we did not create: its host key must be given (there is no
 * generated one to pin, and an unpinned connection trusts any host), its
 * public addresses known (DNS, coturn), and a deploy key it accepts.
 */
export function checkExistingHost(h: NonNullable<ParsedConfig["existingHost"]>, privateKeySet: boolean, report: Report): ExistingHost | undefined {
  let ok = true;
  const bad = (key: string, msg: string) => {
    report(`existingHost.${key}`, msg);
    ok = false;
  };
  if (ipFamily(h.address) === undefined && !isHostname(h.address)) bad("address", `${show(h.address)} is neither an IP address nor a hostname`);
  const hostKey = h.hostKey?.trim();
  if (hostKey === undefined || !SSH_PUBLIC_KEY.test(hostKey)) {
    bad("hostKey", `${hostKey === undefined ? "is required" : `${show(h.hostKey)} is not an SSH public key`}: every connection pins the host's key; expected its public host key like "ssh-ed25519 AAAA…" (ssh-keyscan -t ed25519 ${h.address}, checked out of band)`);
  }
  const address = (family: 4 | 6): string | undefined => {
    const given = family === 4 ? h.ipv4 : h.ipv6;
    if (given !== undefined && (ipFamily(given) !== family || isLocalOnly(given))) {
      bad(`ipv${family}`, `${show(given)} is not a public IPv${family} address; the DNS records and coturn need the host's public address (not a private or tailnet one)`);
    }
    return given ?? (ipFamily(h.address) === family && !isLocalOnly(h.address) ? h.address : undefined);
  };
  const ipv4 = address(4);
  const ipv6 = address(6);
  if (ipv4 === undefined && h.ipv4 === undefined) bad("ipv4", `is required: the DNS records and coturn need the host's public IPv4 address, and address ${show(h.address)} is not one`);
  if (!privateKeySet) {
    report("sshPrivateKey", `is required with existingHost: a generated key is not authorized on a host this stack did not create; set sshPublicKey and, as a secret, sshPrivateKey to a key ${show(h.user)} accepts`);
    ok = false;
  }
  return ok ? { address: h.address, user: h.user, port: h.port, hostKey: hostKey!, ipv4: ipv4!, ipv6 } : undefined;
}
