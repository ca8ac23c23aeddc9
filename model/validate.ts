// Turns raw stack config into a validated EdgeConfig, or throws ConfigError
// listing every problem at once, each naming the key, the bad value and what
// would be valid. Both the offline plan and the Pulumi program call this, so
// they fail with the same words before anything is created.
import { z } from "zod";
import { configSchema, PROJECT, type EdgeConfig, type ExistingHost, type ExtraForward, type ParsedConfig, type SshAccess } from "./config";
import { cidrFamily, inCidr, ipFamily, isHostname, isInZone, isLocalOnly, normaliseCidr, TAILNET_IPV4_RANGE, TAILNET_IPV6_RANGE } from "./net";
import { formatRange, overlaps, parsePortRange, type PortRange } from "./ports";
import { planServices, reservedPorts } from "./services";
import { xmppNames } from "./names";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid ${PROJECT_NAME} configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

const show = (v: unknown) => JSON.stringify(v);

export function validateConfig(raw: Record<string, unknown>): EdgeConfig {
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (parsed.success) {
    const problems: string[] = [];
    const c = checkFields(parsed.data, (key, msg) => problems.push(`${PROJECT_NAME}:${key}: ${msg}`));
    if (problems.length > 0) throw new ConfigError(problems);
    return c;
  }
  // Type errors first, but still report the other keys' problems: check the
  // rest of the config with the ill-typed keys taken out (required ones get
  // a stand-in whose own findings are not reported). In a list, only the
  // ill-typed entries are taken out, and the others keep their own index in
  // the messages.
  const problems = parsed.error.issues.map(formatZodIssue);
  const badKeys = new Set<string>();
  const badEntries = new Map<string, Set<number>>();
  for (const issue of parsed.error.issues) {
    if (issue.code === "unrecognized_keys" && issue.path.length === 0) {
      issue.keys.forEach((k) => badKeys.add(k));
      continue;
    }
    const [key, index] = [String(issue.path[0] ?? ""), issue.path[1]];
    if (typeof index === "number" && Array.isArray(raw[key])) badEntries.set(key, (badEntries.get(key) ?? new Set()).add(index));
    else badKeys.add(key);
  }
  const rest: Record<string, unknown> = Object.fromEntries(Object.entries(raw).filter(([k]) => !badKeys.has(k)));
  const keptIndex = new Map<string, number[]>(); // position in the checked list -> position in the user's list
  for (const [key, bad] of badEntries) {
    if (badKeys.has(key)) continue;
    const kept = (raw[key] as unknown[]).map((_, i) => i).filter((i) => !bad.has(i));
    if (kept.length === 0) {
      badKeys.add(key);
      delete rest[key];
      continue;
    }
    rest[key] = kept.map((i) => (raw[key] as unknown[])[i]);
    keptIndex.set(key, kept);
  }
  for (const [key, standIn] of Object.entries(REQUIRED_STAND_INS)) if (badKeys.has(key)) rest[key] = standIn;
  const reparsed = configSchema.safeParse(rest);
  if (reparsed.success) {
    checkFields(reparsed.data, (key, msg) => {
      if (badKeys.has(key.split(/[.[]/)[0])) return;
      let line = `${key}: ${msg}`;
      for (const [list, kept] of keptIndex) line = line.replace(new RegExp(`\\b${list}\\[(\\d+)\\]`, "g"), (_, i: string) => `${list}[${kept[Number(i)]}]`);
      problems.push(`${PROJECT_NAME}:${line}`);
    });
  }
  throw new ConfigError(problems);
}

/** Valid values for required keys, used only to keep checking the others when these are broken. */
const REQUIRED_STAND_INS: Record<string, unknown> = { domain: "stand-in.invalid", sshAllowFrom: ["tailnet"] };

function formatZodIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i ? `.${String(p)}` : String(p))).join("");
  if (issue.code === "unrecognized_keys") {
    const valid = issue.path.length === 0 ? Object.keys(configSchema.shape) : validKeysAt(issue.path);
    return issue.keys.map((k) => `${PROJECT_NAME}:${key ? `${key}.` : ""}${k}: unknown key; valid keys: ${valid.join(", ")}`).join("\n  - ");
  }
  if (issue.code === "invalid_type" && issue.input === undefined) return `${PROJECT_NAME}:${key}: is required; expected ${issue.expected === "array" ? "a list" : `a ${issue.expected}`}`;
  const got = "input" in issue ? `; got ${show(issue.input)}` : "";
  return `${PROJECT_NAME}:${key}: ${issue.message.replace(/^Invalid (input|option): /, "")}${got}`;
}

/** The keys of the object schema at a path (e.g. existingHost, extraForwards[0]). */
function validKeysAt(path: PropertyKey[]): string[] {
  let t: z.ZodType = configSchema;
  for (const p of path) {
    while (t instanceof z.ZodOptional || t instanceof z.ZodDefault) t = t.unwrap() as z.ZodType;
    if (t instanceof z.ZodObject) t = (t.shape as Record<string, z.ZodType>)[String(p)];
    else if (t instanceof z.ZodArray) t = t.element as z.ZodType;
  }
  while (t instanceof z.ZodOptional || t instanceof z.ZodDefault) t = t.unwrap() as z.ZodType;
  return t instanceof z.ZodObject ? Object.keys(t.shape) : [];
}

type Report = (key: string, message: string) => void;

function checkFields(p: ParsedConfig, report: Report): EdgeConfig {
  const hostname = (key: string, value: string) => {
    if (!isHostname(value)) report(key, `${show(value)} is not a valid hostname; expected a lower-case fully qualified name like "chat.example.com" (no trailing dot, no scheme)`);
  };
  hostname("domain", p.domain);
  const xmppHost = p.xmppHost ?? p.domain;
  if (p.xmppHost !== undefined) hostname("xmppHost", p.xmppHost);

  const xmpp = xmppNames({ domain: p.domain, xmppHost, preset: p.preset });
  const seen = new Set<string>();
  p.webHostnames.forEach((name, i) => {
    const key = `webHostnames[${i}]`;
    hostname(key, name);
    if (xmpp.includes(name)) {
      report(key, `${show(name)} is a DNS-only XMPP name (${xmpp.join(", ")}); XMPP, TURN and federation need it unproxied, so it cannot be a Cloudflare-proxied web name. Use another name, or change xmppHost`);
    }
    if (seen.has(name)) report(key, `${show(name)} is listed twice`);
    seen.add(name);
  });

  if (p.zone !== undefined) {
    hostname("zone", p.zone);
    // An invalid name is already reported; "outside the zone" would only repeat it.
    const check = (key: string, name: string) => {
      if (isHostname(name) && !isInZone(name, p.zone!)) report(key, `${show(name)} is outside the zone ${show(p.zone)}; every record must be ${p.zone} or a name below it`);
    };
    check("domain", p.domain);
    if (p.xmppHost !== undefined) check("xmppHost", p.xmppHost);
    p.webHostnames.forEach((n, i) => check(`webHostnames[${i}]`, n));
  }

  const home: EdgeConfig["home"] = {};
  if (p.homeTailnetIPv4 !== undefined) {
    if (ipFamily(p.homeTailnetIPv4) !== 4 || !inCidr(p.homeTailnetIPv4, TAILNET_IPV4_RANGE)) {
      report("homeTailnetIPv4", `${show(p.homeTailnetIPv4)} is not a tailnet IPv4 address; expected an address in ${TAILNET_IPV4_RANGE} (see "tailscale ip -4" on the home server)`);
    } else home.ipv4 = p.homeTailnetIPv4;
  }
  if (p.homeTailnetIPv6 !== undefined) {
    if (ipFamily(p.homeTailnetIPv6) !== 6 || !inCidr(p.homeTailnetIPv6, TAILNET_IPV6_RANGE)) {
      report("homeTailnetIPv6", `${show(p.homeTailnetIPv6)} is not a tailnet IPv6 address; expected an address in ${TAILNET_IPV6_RANGE} (see "tailscale ip -6" on the home server)`);
    } else home.ipv6 = p.homeTailnetIPv6;
  }
  if (p.homeTailnetHostname !== undefined) {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(p.homeTailnetHostname)) {
      report("homeTailnetHostname", `${show(p.homeTailnetHostname)} is not a tailnet machine name; expected the short name shown by "tailscale status" (letters, digits, hyphens)`);
    } else home.hostname = p.homeTailnetHostname;
    if (p.tailscaleLoginServer !== undefined && p.homeTailnetIPv4 === undefined) {
      report("homeTailnetHostname", `looking up a device needs the Tailscale API, which is not used with tailscaleLoginServer (${show(p.tailscaleLoginServer)}); set homeTailnetIPv4 instead`);
    }
  }
  if (p.homeTailnetIPv4 === undefined && p.homeTailnetHostname === undefined) {
    report("homeTailnetIPv4", `is required unless homeTailnetHostname is set; expected the home server's tailnet address in ${TAILNET_IPV4_RANGE}`);
  }

  let turnRelayPorts: PortRange = { from: 49152, to: 65535 };
  const relay = parsePortRange(p.turnRelayPorts);
  if (typeof relay === "string") report("turnRelayPorts", relay);
  else if (relay.to - relay.from < 15) report("turnRelayPorts", `${show(p.turnRelayPorts)} is too small; coturn needs a range of at least 16 ports (e.g. "49152-65535")`);
  else turnRelayPorts = relay;

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

  p.webOriginExtraAllow.forEach((cidr, i) => {
    if (cidrFamily(cidr) === undefined) report(`webOriginExtraAllow[${i}]`, `${show(cidr)} is not a valid CIDR; expected e.g. "198.51.100.0/24"`);
  });

  const extraForwards: ExtraForward[] = [];
  const extraIndex: number[] = []; // each valid entry's position in the user's list, for messages
  p.extraForwards.forEach((f, i) => {
    const key = `extraForwards[${i}]`;
    const ports = typeof f.port === "number" ? parsePortRange(String(f.port)) : parsePortRange(f.port);
    if (typeof ports === "string") return report(`${key}.port`, ports);
    if (f.toPort !== undefined) {
      if (f.toPort < 1 || f.toPort > 65535) return report(`${key}.toPort`, `${f.toPort} is outside 1-65535`);
      if (ports.from !== ports.to) return report(`${key}.toPort`, `toPort is only allowed with a single port; a range (${formatRange(ports)}) is forwarded to the same ports at home`);
    }
    extraForwards.push({ ports, protocol: f.protocol, toPort: f.toPort, description: f.description });
    extraIndex.push(i);
  });
  checkPortConflicts(extraForwards, extraIndex, p, turnRelayPorts, report);

  if (p.tailscaleLoginServer !== undefined) {
    if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(p.tailscaleLoginServer)) report("tailscaleLoginServer", `${show(p.tailscaleLoginServer)} is not a URL; expected e.g. "https://headscale.example.com"`);
    if (p.tailscaleAuthKey === undefined) report("tailscaleAuthKey", `is required with tailscaleLoginServer (the Tailscale API is not used there); set it with "pulumi config set --secret ${PROJECT_NAME}:tailscaleAuthKey KEY"`);
  }
  if (p.tailscaleTags.length === 0) {
    report("tailscaleTags", `is empty; expected at least one tag, e.g. ["tag:xmpp-edge"]: the auth key is tagged with them and tailscaleAclSnippet grants by them`);
  }
  p.tailscaleTags.forEach((t, i) => {
    if (!/^tag:[a-z0-9][a-z0-9-]*$/i.test(t)) report(`tailscaleTags[${i}]`, `${show(t)} is not a tailnet tag; expected "tag:name"`);
  });
  if ((p.sshPublicKey === undefined) !== (p.sshPrivateKey === undefined)) {
    report(p.sshPublicKey === undefined ? "sshPublicKey" : "sshPrivateKey", "sshPublicKey and sshPrivateKey go together; set both (the private key as a secret) or neither (a key is generated)");
  }
  if (p.sshPublicKey !== undefined && !/^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$/.test(p.sshPublicKey)) {
    report("sshPublicKey", `is not an OpenSSH public key; expected "ssh-ed25519 AAAA…"`);
  }
  const existing = p.existingHost && checkExistingHost(p.existingHost, p.sshPrivateKey !== undefined, report);
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(p.serverName)) report("serverName", `${show(p.serverName)} is not a valid host name; expected lower-case letters, digits and hyphens`);
  // Hetzner's own lists change (new types and locations); check the shape only, the API names what exists.
  const hetznerName = (key: "serverType" | "location" | "image", example: string) => {
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(p[key])) report(key, `${show(p[key])} is not a Hetzner ${key === "serverType" ? "server type" : key} name; expected lower-case letters, digits, dots and hyphens, e.g. ${show(example)}`);
  };
  hetznerName("serverType", "cax11");
  hetznerName("location", "fsn1");
  hetznerName("image", "debian-12");

  return {
    domain: p.domain,
    xmppHost,
    webHostnames: p.webHostnames,
    home,
    preset: p.preset,
    directTls: p.directTls,
    clientIp: p.clientIp,
    turn: p.turn,
    turnRelayPorts,
    ssh,
    webOriginLock: p.webOriginLock,
    webOriginExtraAllow: p.webOriginExtraAllow.filter((c) => cidrFamily(c) !== undefined).map(normaliseCidr),
    extraForwards,
    server: { name: p.serverName, type: p.serverType, location: p.location, image: p.image },
    cloudflareZoneId: p.cloudflareZoneId,
    zone: p.zone,
    dns: p.dns,
    existingHost: existing,
    tailscale: { tags: p.tailscaleTags, loginServer: p.tailscaleLoginServer, authKeySet: p.tailscaleAuthKey !== undefined },
    deployKey: { publicKey: p.sshPublicKey, privateKeySet: p.sshPrivateKey !== undefined },
    turnSecretSet: p.turnSecret !== undefined,
  };
}

const SSH_PUBLIC_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,3}( \S.*)?$/;

/**
 * A host we did not create: its host key must be given (there is no
 * generated one to pin, and an unpinned connection trusts any host), its
 * public addresses known (DNS, coturn), and a deploy key it accepts.
 */
function checkExistingHost(h: NonNullable<ParsedConfig["existingHost"]>, privateKeySet: boolean, report: Report): ExistingHost | undefined {
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

/** extraForwards must not overlap each other, a planned port, SSH or tailscaled. */
function checkPortConflicts(extra: ExtraForward[], index: number[], p: ParsedConfig, turnRelayPorts: PortRange, report: Report) {
  const planned = planServices({ preset: p.preset, clientIp: p.clientIp, turn: p.turn, turnRelayPorts, extraForwards: [] });
  const taken = [
    ...planned.map((s) => ({ protocol: s.protocol, ports: s.ports, what: `the planned ${s.id} port (${s.purpose})` })),
    ...reservedPorts(),
  ];
  extra.forEach((f, i) => {
    const key = `extraForwards[${index[i]}].port`;
    const label = `${formatRange(f.ports)}/${f.protocol}`;
    for (const t of taken) {
      if (t.protocol === f.protocol && overlaps(t.ports, f.ports)) {
        report(key, `${label} overlaps ${formatRange(t.ports)}/${t.protocol}, ${t.what}; choose ports outside it`);
      }
    }
    for (let j = 0; j < i; j++) {
      const o = extra[j];
      if (o.protocol === f.protocol && overlaps(o.ports, f.ports)) {
        report(key, `${label} overlaps extraForwards[${index[j]}] (${formatRange(o.ports)}/${o.protocol}); each port may be forwarded once`);
      }
    }
  });
}
