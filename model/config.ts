// The public interface: every `xmpp-edge:` config key, its type, default and
// meaning, and the validated config's types. Pulumi.yaml and the README's
// table are generated from it (tests keep them in sync); validate.ts and
// checks/*.ts add the checks of values and of keys against each other.
import { z } from "zod";
import { DEFAULT_CONNTRACK_MAX, DEFAULT_TURN_CAPACITY_MBPS, DEFAULT_TURN_MEMORY_MB } from "./limits";
import { DEFAULT_TURN_RELAY_PORTS, DEFAULT_TURN_SESSION_KBPS, DEFAULT_SYN_PROXY_WSCALE, DEFAULT_UDP_FORWARD_PPS, type PortRange, type Protocol } from "./ports";
import { DEFAULT_IMAGE, SUPPORTED_IMAGES, type DebianRelease } from "./images";

export const PROJECT_NAME = "xmpp-edge";

const forward = z
  .object({
    port: z.union([z.number(), z.string()]).meta({ description: 'a port (5000) or a range ("6000-6010")' }),
    protocol: z.enum(["tcp", "udp"]),
    toPort: z.number().int().optional().meta({ description: "home port, for a single port only; default the same port" }),
    description: z.string().optional(),
  })
  .strict();

const existingHost = z
  .object({
    address: z.string().min(1, "is empty; expected an address or a host name to SSH to").meta({ description: "where to SSH to: an address or a name (may be a tailnet address)" }),
    user: z.string().min(1, "is empty; expected the SSH user (default root)").default("root").meta({ description: "root (the default): the push runs the apply as this user, without sudo" }),
    port: z.number().int("expected a whole port number").min(1, "expected a port in 1-65535").max(65535, "expected a port in 1-65535").default(22),
    hostKey: z.string().optional().meta({ description: "the host's SSH public key, pinned by every connection (required)" }),
    ipv4: z.string().optional().meta({ description: "public IPv4 for DNS and coturn; default: address, when it is one" }),
    ipv6: z.string().optional().meta({ description: "public IPv6; default: address when it is one, else none (an IPv4-only host)" }),
    publicInterface: z.string().optional().meta({ description: "the network interface with the public addresses (e.g. \"ens3\"): DHCP replies are accepted only there; default: any but tailscale0" }),
  })
  .strict();

/**
 * One edge of several: a short DNS label, and where it runs.
 * location and serverType default to the top-level keys; existingHost makes
 * it a machine the user already has.
 */
const edge = z
  .object({
    name: z.string().meta({ description: 'short DNS label, unique: names the edge\'s own DNS name (<name>.<xmppHost>) and, after the first edge, its server ("<serverName>-<name>")' }),
    location: z.string().optional().meta({ description: "Hetzner location; default: location" }),
    serverType: z.string().optional().meta({ description: "Hetzner server type; default: serverType" }),
    existingHost: existingHost.optional().meta({ description: "this edge is a host you already have (as the top-level existingHost)" }),
    image: z.string().optional().meta({ description: "Hetzner image, one of image's list; default: image. A new edge on another release beside an old one replaces it without an outage (docs/operating.md)" }),
    drain: z.boolean().optional().meta({ description: "Take the edge out of every shared record (SRV, the XMPP names' and web names' A/AAAA) while it keeps its server, its push and its own name, so its sessions continue and new ones go to the other edges: the step before removing it (docs/operating.md, \"Replacing an edge\"). At least one edge must not drain. Default: false" }),
  })
  .strict();

/**
 * A secret as the readers hand it over: only the fact that it is set and
 * encrypted (`{secure: …}`), never its value, which the program reads
 * through pulumi.Config.requireSecret. A plain value is refused.
 */
const secretValue = z.custom<{ secure: unknown }>(isSecretRef);

function isSecretRef(v: unknown): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v;
}

export const configSchema = z
  .object({
    domain: z.string().meta({ description: "XMPP domain (JIDs are user@domain; the Snikket domain)" }),
    xmppHost: z.string().optional().meta({ description: "DNS-only name pointing at the VPS; target of the SRV records (not a CNAME). Default: domain" }),
    webHostnames: z.array(z.string()).default([]).meta({ description: "Names proxied by Cloudflare to the VPS (HTTP/HTTPS)" }),
    homeTailnetIPv4: z.string().optional().meta({ description: "Home server's tailnet IPv4 (100.64.0.0/10); required unless homeTailnetHostname" }),
    homeTailnetIPv6: z.string().optional().meta({ description: "Home server's tailnet IPv6 (fd7a:115c:a1e0::/48): IPv6 clients of the DNAT ports go there, and nginx's sessions to home take it once the edge's IPv4 source ports toward a home port are all held (docs/security.md, \"Many sources holding idle sessions\"); without it IPv6 clients fall back to IPv4" }),
    homeTailnetHostname: z.string().optional().meta({ description: "Look the home device up in the tailnet at deploy time (Tailscale API); never an edge's server name" }),
    preset: z.enum(["snikket", "prosody"]).default("snikket").meta({ description: "Snikket: proxy65 on 5000, groups./share. CNAMEs, Snikket's web front on home 5080/5443. Prosody: only xmppHost is an XMPP name; the domain may be a proxied website" }),
    directTls: z.boolean().default(true).meta({ description: "XMPP on 443 by ALPN (xmpp-client, xmpp-server) and _xmpps-* SRV records" }),
    clientIp: z.enum(["masquerade", "nginx", "proxy-protocol"]).default("masquerade").meta({ description: "How 5222/5269 reach home: kernel DNAT + masquerade; nginx, which ends each TCP connection at the edge (a spoofed SYN flood gets SYN cookies there and nothing crosses the tunnel until a handshake completes) and relays it to the same port; or nginx with PROXY protocol v1 to 15222/15269 (Prosody mod_net_proxy). With masquerade and nginx home sees the edge's tailnet address; nginx is the answer to a SYN flood on 5222/5269 (measured: docs/security.md)" }),
    turn: z.enum(["edge", "off"]).default("edge").meta({ description: "STUN/TURN by coturn on the VPS (DNAT cannot carry TURN correctly), or none" }),
    turnRelayPorts: z.string().default(DEFAULT_TURN_RELAY_PORTS).meta({ description: "TURN relay port range, UDP and with turnTcpRelay TCP (at least 16 ports within 1024-65535, clear of every other port and every edge's SSH port)" }),
    turnTcpRelay: z.boolean().default(false).meta({ description: "TURN TCP relays (RFC 6062; the relay range then opens for TCP too). Off: a relay that opens TCP connections reaches any TCP service its guard lets through, and few clients need it" }),
    turnTls: z.boolean().default(false).meta({ description: "TURN over TLS on 443 (turns:) for networks that pass only TCP 443: the edge's nginx ends TLS for turnTlsName (a certificate the edge gets by ACME HTTP-01 on 80) and hands the stream to coturn; needs turn edge. Off by default: it adds a DNS name, a certificate and a private key on the edge" }),
    turnTlsName: z.string().optional().meta({ description: "The DNS-only name of TURN over TLS (turnTls), in the zone, no XMPP or web name. Default: turn.<domain>. With several edges each edge gets its own, <edge>.<turnTlsName> (each gets its own certificate)" }),
    turnSessionKbps: z.number().default(DEFAULT_TURN_SESSION_KBPS).meta({ description: "Bandwidth cap of one TURN session, kbit/s each way (coturn max-bps; HD video needs about 2500), 64-1000000" }),
    sshAllowFrom: z.array(z.string()).meta({ description: 'CIDRs allowed to reach SSH on the public address, or ["tailnet"] (no public SSH; push over the tailnet)' }),
    webOriginLock: z.enum(["cloudflare", "off"]).default("cloudflare").meta({ description: "Accept web names on 80/443 only from Cloudflare's published ranges (model/cloudflare-ranges.ts)" }),
    webOriginExtraAllow: z.array(z.string()).default([]).meta({ description: "CIDRs allowed to reach web names besides Cloudflare (monitoring, another CDN), each at most /16 IPv4 or /32 IPv6: home trusts the X-Forwarded-For they write on 443" }),
    extraForwards: z.array(forward).default([]).meta({ description: "Other ports or ranges (\"6000-6010\") forwarded to home; toPort only for a single port, never home's PROXY-protocol ports 15222/15269, nor home 80/443 with webOriginLock cloudflare" }),
    turnCapacityMbps: z.number().default(DEFAULT_TURN_CAPACITY_MBPS).meta({ description: "Every TURN session's bandwidth together, Mbit/s each way (coturn bps-capacity: an allocation reserves turnSessionKbps of it, and coturn refuses one that no longer fits), 1-100000, at least turnSessionKbps" }),
    turnMemoryMB: z.number().default(DEFAULT_TURN_MEMORY_MB).meta({ description: "coturn's memory ceiling, MB (its unit's MemoryMax=; an unauthenticated STUN/TURN request costs about 19 KB for max-allocate-timeout): at the ceiling the kernel ends coturn, never nginx or tailscaled, and systemd restarts it. 64-65536" }),
    conntrackMax: z.number().default(DEFAULT_CONNTRACK_MAX).meta({ description: "Connection tracking entries (net.netfilter.nf_conntrack_max; about 320 bytes each): once full every new flow fails, DNS and the tailnet included. 65536-16777216" }),
    udpForwardPacketsPerSecond: z.number().default(DEFAULT_UDP_FORWARD_PPS).meta({ description: "What each UDP forward (extraForwards) may send home, packets/s, all its flows together (a flood beyond it ends at the edge), 100-10000000. Above about 12,900 (masquerade's 64,512 source ports over the 5 s an unanswered UDP flow is tracked) a flood from spoofed sources can take every mapping to that home port" }),
    synProxy: z.boolean().default(false).meta({ description: "A SYN proxy in front of the forwarded TCP ports over IPv4 (5222/5269 with clientIp masquerade, 5000, TCP extraForwards; clientIp nginx ends 5222/5269 at the edge instead, without this cost): the edge completes each handshake with a SYN cookie before home hears of it, so spoofed SYNs never cross the tunnel. Off by default: a client that speaks first can lose its first segment while the proxy opens home's side and wait for retransmissions (measured: 2.5 % of connections stalled 1.6 s; docs/security.md). Turn it on under a SYN flood" }),
    synProxyWindowScale: z.number().default(DEFAULT_SYN_PROXY_WSCALE).meta({ description: 'The window scale the SYN proxy announces to clients in home\'s name, 0-14: at most home\'s own (Linux with default buffers: 7; `ss -ti` at home shows "wscale:"); more overstates home\'s window' }),
    serverName: z.string().default("xmpp-edge").meta({ description: "Hetzner server name and tailnet hostname of the VPS" }),
    serverType: z.string().default("cax11").meta({ description: "Hetzner server type (cax11 arm64, cx23 x86), one of Hetzner's list kept in model/hetzner.ts" }),
    location: z.string().default("fsn1").meta({ description: "Hetzner location" }),
    image: z.string().default(DEFAULT_IMAGE).meta({ description: `Hetzner image, one of the Debian releases the project tests (model/images.ts): ${SUPPORTED_IMAGES.join(", ")}. Changing it replaces the server (docs/operating.md, "Replacing an edge")` }),
    cloudflareZoneId: z.string().optional().meta({ description: "Cloudflare zone id (32 hex digits) holding the records; required to deploy unless zone is set" }),
    zone: z.string().optional().meta({ description: "DNS zone name (e.g. example.com); every record must lie in it" }),
    dns: z.enum(["cloudflare", "off"]).default("cloudflare").meta({ description: "off: create no DNS records (take them from the dnsRecords output)" }),
    existingHost: existingHost.optional().meta({ description: "Push to this host instead of creating a Hetzner VPS: hostKey (pinned) and sshPrivateKey are required; ipv4/ipv6 default to address when it is a public address of that family; with sshAllowFrom [\"tailnet\"], address must be a tailnet one; port is opened by the ruleset; user is root (the apply runs as it, without sudo)" }),
    edges: z.array(edge).optional().meta({ description: "Several edges behind one domain, each {name, location?, serverType?, existingHost?, image?, drain?}; the first keeps serverName and today's resources. Default: one edge from serverName, location, serverType and existingHost" }),
    edgeMode: z.enum(["failover", "active-active"]).default("failover").meta({ description: "With several edges: failover (SRV sends everyone to the first edge, the others only when it fails) or active-active (equal SRV priority and weight: clients spread over every edge)" }),
    tailscaleSshFrom: z.array(z.string()).default(["autogroup:admin"]).meta({ description: 'With sshAllowFrom ["tailnet"]: who the tailscaleAclSnippet lets SSH to the edge (users "you@example.com", Headscale "you@", "group:…", "tag:ci", "autogroup:admin"; never "*", "autogroup:member" or one of tailscaleTags (one taken edge would reach every edge); Headscale has no autogroup:admin)' }),
    unattendedUpgrades: z.boolean().default(true).meta({ description: "Debian's security updates and tailscale's releases installed daily by unattended-upgrades (false: the push switches it off)" }),
    tailscaleTags: z.array(z.string()).default(["tag:xmpp-edge"]).meta({ description: "ACL tags of the VPS in the tailnet (at least one: the auth key carries them and tailscaleAclSnippet grants by them)" }),
    tailscaleLoginServer: z.string().optional().meta({ description: "Headscale (or other) control server URL (https); needs tailscaleAuthKey" }),
    tailscaleLoginServerAllowHttp: z.boolean().default(false).meta({ description: "Allow an http:// tailscaleLoginServer (a control server on a trusted network; keys then travel unencrypted)" }),
    tailscaleAuthKey: secretValue.optional().meta({ description: "Secret pre-auth key; skips creating one through the Tailscale API" }),
    sshPublicKey: z.string().optional().meta({ description: "Deployer public key (OpenSSH); default: generated" }),
    sshPrivateKey: secretValue.optional().meta({ description: "Secret deployer private key matching sshPublicKey" }),
    turnSecret: secretValue.optional().meta({ description: "Secret TURN shared secret, 1-512 letters, digits and + / = . _ ~ - (written verbatim into turnserver.conf and the home snippets); default: generated" }),
  })
  .strict();

export type ParsedConfig = z.output<typeof configSchema>;

// The validated config (validate.ts): what the model and renderers read.
export interface ExtraForward {
  ports: PortRange;
  protocol: Protocol;
  toPort?: number;
  description?: string;
}

/** A host this stack did not create: where to SSH, which key to pin, its public addresses. */
export interface ExistingHost {
  address: string;
  user: string;
  port: number;
  hostKey: string;
  ipv4: string;
  ipv6?: string;
  /** Where DHCP replies are accepted; undefined: any interface but the tailnet's. */
  publicInterface?: string;
}

/**
 * One edge as the model sees it. The first edge is today's single VPS: its
 * serverName is the configured one exactly, so an upgraded stack keeps its
 * server, tailnet device and resource names.
 */
export interface EdgeSpec {
  /** The DNS label from config (the implicit single edge: IMPLICIT_EDGE_NAME). */
  name: string;
  /** Its TURN-over-TLS name (turnTls on): turnTlsName with one edge, <name>.<turnTlsName> with several. */
  turnTlsName?: string;
  /** Hetzner server name and tailnet hostname. */
  serverName: string;
  type: string;
  location: string;
  existingHost?: ExistingHost;
  /** Its server's image and that image's Debian release (model/images.ts). */
  image: string;
  release: DebianRelease;
  /** Its own DNS-only name (<name>.<xmppHost>): the SRV target with several edges. */
  dnsName: string;
  /** Out of the shared records (SRV, the XMPP and web names' addresses), still up and pushed: on its way out. */
  drain: boolean;
}

/** The name of the one edge a stack without `edges` has. */
export const IMPLICIT_EDGE_NAME = "edge";

export type SshAccess = { mode: "public"; from: string[] } | { mode: "tailnet" };

export interface EdgeConfig {
  domain: string;
  xmppHost: string;
  webHostnames: string[];
  home: { ipv4?: string; ipv6?: string; hostname?: string };
  preset: "snikket" | "prosody";
  directTls: boolean;
  clientIp: "masquerade" | "nginx" | "proxy-protocol";
  turn: "edge" | "off";
  turnRelayPorts: PortRange;
  /** RFC 6062 TCP relays: off unless asked (a relay that connects out is a way in). */
  turnTcpRelay: boolean;
  turnSessionKbps: number;
  /** All sessions' bandwidth together, Mbit/s (coturn bps-capacity). */
  turnCapacityMbps: number;
  /** coturn's unit MemoryMax=, MB. */
  turnMemoryMB: number;
  /** net.netfilter.nf_conntrack_max. */
  conntrackMax: number;
  /** This edge's TURN-over-TLS name (the first edge's in buildModel; forEdge gives each edge's); undefined: turnTls off. */
  turnTlsName?: string;
  unattendedUpgrades: boolean;
  ssh: SshAccess;
  webOriginLock: "cloudflare" | "off";
  webOriginExtraAllow: string[];
  extraForwards: ExtraForward[];
  /** Packets/s each UDP forward may send home. */
  udpForwardPacketsPerSecond: number;
  /** A SYN proxy in front of the forwarded TCP ports (render/synproxy.ts). */
  synProxy: boolean;
  /** The window scale it announces for home. */
  synProxyWindowScale: number;
  /** This edge's server (the first edge's in buildModel; forEdge gives each edge's). */
  server: { name: string; type: string; location: string; image: string; release: DebianRelease };
  cloudflareZoneId?: string;
  zone?: string;
  dns: "cloudflare" | "off";
  /** This edge's host, when it is one the user already has (the first edge's in buildModel; forEdge gives each edge's). */
  existingHost?: ExistingHost;
  /** Every edge, the first one first; at least one. */
  edges: EdgeSpec[];
  edgeMode: "failover" | "active-active";
  /** sshFrom: who the tailnet policy lets SSH to the edge (sshAllowFrom ["tailnet"]). */
  tailscale: { tags: string[]; sshFrom: string[]; loginServer?: string; authKeySet: boolean };
  deployKey: { publicKey?: string; privateKeySet: boolean };
  turnSecretSet: boolean;
}

export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof ParsedConfig)[];
export const SECRET_KEYS = ["tailscaleAuthKey", "sshPrivateKey", "turnSecret"] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];
/** What the readers put in place of a secret's value. */
export const SECRET_SET = Object.freeze({ secure: "(encrypted)" });

export function isSecretKey(key: string): key is SecretKey {
  return (SECRET_KEYS as readonly string[]).includes(key);
}

/** The message for a secret given in plain text: the command that stores it encrypted, and never the value. */
export function plainSecretMessage(key: SecretKey): string {
  return `is a plain value, and secrets must be encrypted (a plain one ends up committed in the stack file); remove it and run: pulumi config set --secret ${PROJECT_NAME}:${key} ${SECRET_PLACEHOLDER[key]} (the value is not shown here)`;
}

const SECRET_PLACEHOLDER: Record<SecretKey, string> = {
  tailscaleAuthKey: "tskey-auth-…",
  sshPrivateKey: "< deploy_key",
  turnSecret: '"$(openssl rand -hex 32)"',
};

/** A problem with one key: the key as the user wrote it (e.g. "extraForwards[2].port") and what is wrong. */
export interface Problem {
  key: string;
  message: string;
  /** A key outside the project's namespace (a stray "xmppedge:domain"): shown as written instead of as xmpp-edge:key. */
  written?: string;
}

/** Keys whose stack value is structured (list, object, bool): Pulumi hands them to the program as JSON text. */
export function isStructuredKey(key: string): boolean {
  let t: z.ZodType | undefined = (configSchema.shape as Record<string, z.ZodType>)[key];
  while (t instanceof z.ZodOptional || t instanceof z.ZodDefault) t = t.unwrap() as z.ZodType;
  return !(t instanceof z.ZodString || t instanceof z.ZodEnum || t === undefined);
}
