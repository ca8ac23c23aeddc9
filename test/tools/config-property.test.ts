// A property over the whole config space (fast-check, fixed seed, bounded
// runs): every generated stack config, read through the one reader as the
// engine hands it over, is either accepted, and then its nginx.conf passes
// `nginx -t`, its ruleset `nft -c`, and every edge's input chain opens the
// host's own ports (each edge's SSH, tailscaled's) only to their own sources
// (no other rule covers them, SSH's rules admit exactly sshAllowFrom or the
// tailnet interface, nothing DNATs them home), or refused with a ConfigError
// whose every problem names a key. Never a crash, never another exception.
// The last tests show the property failing for a deliberately broken
// reader, a deliberately broken nginx.conf and a ruleset whose TCP relay
// range covers SSH.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { CONFIG_KEYS, PROJECT_NAME, SECRET_KEYS, type EdgeConfig } from "../../model/config";
import { parseAddress, parseCidr } from "../../model/net";
import { buildModel } from "../../model/model";
import { overlaps, single, SSH_PORT, TAILSCALE_UDP_PORT, type PortRange, type Protocol } from "../../model/ports";
import { TAILNET_INTERFACE } from "../../model/net";
import { renderNftables } from "../../render/nftables";
import { readRuleset } from "./ruleset-reader";
import { loadConfig, type StackConfig, type StackValue } from "../../model/source";
import { ConfigError } from "../../model/validate";
import { makePlan, type Plan } from "../../render/plan";
import { DEPLOY_KEY, HOST_KEY } from "../fixtures";
import { requireRoot, sh, withNetns } from "./helpers";

beforeAll(requireRoot);

const SEED = 20261201;
const RUNS = Number(process.env.XMPP_EDGE_PROPERTY_RUNS ?? 400);

// --- The config space --------------------------------------------------------------
const junk = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -5, max: 70000 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom("a", "port", "__proto__", "constructor"), fc.string({ maxLength: 4 }), { maxKeys: 2 }),
  fc.constantFrom("$(reboot)", "a;b", "x\ny", "'\"", "-----BEGIN OPENSSH PRIVATE KEY-----", "100.100.100.100", "::"),
);
/** Mostly `good`, now and then `odd`. */
const nowAndThen = <T,>(good: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) => fc.oneof({ weight: 8, arbitrary: good }, { weight: 1, arbitrary: odd });
/** Mostly good values, sometimes junk. */
const mostly = <T,>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: good }, { weight: 1, arbitrary: junk });

const NAMES = ["chat.example.com", "example.com", "xmpp.example.com", "www.example.com", "cloud.example.com", "groups.chat.example.com", "chat.example.org", "Chat.Example.com", "bad_host!", "https://x.example.com"];
const name = fc.constantFrom(...NAMES);
const webName = fc.constantFrom("www.example.com", "cloud.example.com", "blog.example.com", ...NAMES);
const ipv4 = fc.oneof(fc.ipV4(), fc.constantFrom("203.0.113.7", "5.9.10.11", "100.70.1.2", "10.0.0.1"));
/** Forms that parse but never match what was meant (model/net.ts refuses them), and the widest ones. */
const oddAddress = fc.constantFrom("::ffff:198.51.100.7/128", "::198.51.100.7/128", "fe80::1%eth0/128", "127.0.0.1/32", "203.0.113.7/24", "0.0.0.0/0", "::/0");
const cidr = fc.oneof(fc.tuple(ipv4, fc.integer({ min: 0, max: 33 })).map(([a, n]) => `${a}/${n}`), fc.ipV6().map((a) => `${a}/64`), ipv4, oddAddress);
const port = fc.integer({ min: 0, max: 70000 });
const portText = fc.oneof(port.map(String), fc.tuple(port, port).map(([a, b]) => `${a}-${b}`), fc.constantFrom("49152-65535", "50000-59999", "3000-4000", "40000-45000", "http"));
const forward = fc.record(
  {
    port: fc.oneof(fc.integer({ min: 1000, max: 20000 }), port, portText),
    protocol: fc.oneof({ weight: 9, arbitrary: fc.constantFrom("tcp", "udp") }, { weight: 1, arbitrary: fc.constantFrom("sctp", "TCP") }),
    toPort: fc.oneof(fc.integer({ min: 1, max: 20000 }), fc.constantFrom(15222, 15269, 70000, 80, 443)),
    description: fc.oneof(fc.constantFrom("Mumble voice", "game (UDP)", "a/b: c+d"), fc.string({ maxLength: 20 })),
  },
  { requiredKeys: ["port", "protocol"] },
);
const hostKey = fc.constantFrom(HOST_KEY, HOST_KEY.slice(0, 40), HOST_KEY.replace("ssh-ed25519", "ssh-rsa"), `${HOST_KEY} host`, "-----BEGIN OPENSSH PRIVATE KEY-----\nabc");
const existingHost = fc.record(
  {
    address: fc.constantFrom("5.9.10.11", "100.70.1.2", "edge.example.net", "", "bad host!", "fd7a:115c:a1e0::9"),
    user: fc.constantFrom("root", "deploy", "root;id", ""),
    port: fc.oneof(fc.constantFrom(22, 2222, 443, 5222, 41641), port),
    hostKey,
    ipv4: fc.constantFrom("5.9.10.11", "95.217.1.2", "10.0.0.1", "fd00::1"),
    ipv6: fc.constantFrom("2a01:4f8::2", "fd00::1", "5.9.10.11", "::ffff:192.0.2.50", "fe80::1%eth0"),
  },
  { requiredKeys: ["address"] },
);
const loginServer = fc.oneof(
  fc.constantFrom("https://hs.example.com", "https://hs.example.com:8443/base", "http://hs.example.com", "https://hs.example.com/$(reboot)", "https://hs.example.com;id", "hs.example.com", "https://u:p@hs.example.com"),
  fc.webUrl(),
);

/** Every key of the schema, a few unknown ones, each with its own values. */
const VALUES: Record<string, fc.Arbitrary<unknown>> = {
  xmppHost: mostly(name),
  webHostnames: mostly(fc.uniqueArray(webName, { maxLength: 3 })),
  homeTailnetIPv6: mostly(fc.constantFrom("fd7a:115c:a1e0::6501:6667", "fd7a:115c:a1e0::53", "fd00::1")),
  homeTailnetHostname: mostly(fc.constantFrom("homeserver", "Home Server")),
  preset: mostly(fc.constantFrom("snikket", "prosody")),
  directTls: mostly(fc.boolean()),
  clientIp: mostly(fc.constantFrom("masquerade", "nginx", "proxy-protocol")),
  turn: mostly(fc.constantFrom("edge", "off")),
  turnRelayPorts: mostly(portText),
  webOriginLock: mostly(fc.constantFrom("cloudflare", "off")),
  webOriginExtraAllow: mostly(fc.array(cidr, { maxLength: 3 })),
  extraForwards: mostly(fc.array(forward, { maxLength: 3 })),
  serverName: mostly(fc.constantFrom("xmpp-edge", "edge-2", "Edge_1")),
  serverType: mostly(fc.constantFrom("cax11", "cx23", "CAX 11")),
  location: mostly(fc.constantFrom("fsn1", "hel1", "fsn 1")),
  image: mostly(fc.constantFrom("debian-12", "Debian/12")),
  cloudflareZoneId: mostly(fc.constantFrom("0123456789abcdef0123456789abcdef", "example.com")),
  zone: mostly(fc.constantFrom("example.com", "example.org", "Example.com")),
  dns: mostly(fc.constantFrom("cloudflare", "off")),
  existingHost: mostly(existingHost),
  tailscaleTags: mostly(fc.array(fc.constantFrom("tag:xmpp-edge", "tag:edge", "xmpp-edge"), { maxLength: 2 })),
  tailscaleLoginServer: mostly(loginServer),
  tailscaleLoginServerAllowHttp: mostly(fc.boolean()),
  sshPublicKey: mostly(fc.constantFrom(DEPLOY_KEY, `${DEPLOY_KEY} me@laptop`, "ssh-ed25519 AAAA")),
};
/** Keys that are not ours to take: near misses and prototype names. */
const unknownKeys = fc.array(fc.tuple(fc.constantFrom("webHostname", "SshAllowFrom", "__proto__", "constructor", "prototype"), junk), { maxLength: 2 });
const SECRET_VALUES = fc.record({ secret: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), text: fc.constantFrom("tskey-auth-x", "-----BEGIN OPENSSH PRIVATE KEY-----\nabc", "s3cret") });

function toStack(keys: Record<string, unknown>, secrets: Record<string, StackValue>, unknown: [string, unknown][] = []): StackConfig {
  const values = new Map<string, StackValue>();
  const put = (key: string, v: unknown) => values.set(`${PROJECT_NAME}:${key}`, { text: typeof v === "string" ? v : JSON.stringify(v) ?? "", secret: false });
  for (const [k, v] of Object.entries(keys)) put(k, v);
  for (const [k, v] of unknown) put(k, v);
  for (const [k, v] of Object.entries(secrets)) values.set(`${PROJECT_NAME}:${k}`, v);
  values.set("hcloud:token", { text: "not ours", secret: true });
  return { values, problems: [] };
}

/** Anything: every key present or not, usually a good value, sometimes junk, plus unknown keys. */
const wildStacks: fc.Arbitrary<StackConfig> = fc
  .record({
    required: fc.record({
      domain: mostly(fc.constantFrom("chat.example.com", "example.com")),
      homeTailnetIPv4: mostly(fc.constantFrom("100.101.102.103", "100.64.0.9", "100.100.100.100", "192.168.1.5")),
      sshAllowFrom: mostly(fc.oneof(fc.constant(["tailnet"]), fc.array(cidr, { minLength: 1, maxLength: 3 }))),
    }, { requiredKeys: [] }),
    others: fc.record(VALUES, { requiredKeys: [] }),
    unknown: unknownKeys,
    secrets: fc.record(Object.fromEntries(SECRET_KEYS.map((k) => [k, SECRET_VALUES])), { requiredKeys: [] }),
  })
  .map(({ required, others, unknown, secrets }) => toStack({ ...required, ...others }, secrets as Record<string, StackValue>, unknown));

/** Sensible configs a user would write, combined at random: most are accepted, some clash (overlapping forwards). */
const ENCRYPTED: StackValue = { text: "decrypted", secret: true };
const saneStacks: fc.Arbitrary<StackConfig> = fc
  .record({
    prosody: fc.boolean(),
    directTls: fc.boolean(),
    clientIp: fc.constantFrom("masquerade", "nginx", "proxy-protocol"),
    turn: fc.constantFrom("edge", "off"),
    // Low and narrow ranges too: over a served port, the first edge's SSH (2222), a later edge's (50022), 22, tailscaled's.
    turnRelayPorts: fc.oneof({ weight: 3, arbitrary: fc.constantFrom("49152-65535", "50000-59999", "50000-50999", "60000-60015") }, { weight: 1, arbitrary: fc.constantFrom("2000-2300", "1500-6000", "10-3000", "40000-45000") }),
    turnTcpRelay: fc.boolean(),
    sshAllowFrom: fc.oneof(fc.constant(["tailnet"]), fc.array(nowAndThen(fc.constantFrom("203.0.113.0/24", "198.51.100.7", "2001:db8:1234::/48"), oddAddress), { minLength: 1, maxLength: 3 })),
    webOriginLock: fc.constantFrom("cloudflare", "off"),
    webOriginExtraAllow: fc.uniqueArray(nowAndThen(fc.constantFrom("198.51.100.0/24", "2001:db8:cf::/48", "192.0.2.99"), oddAddress), { maxLength: 2 }),
    webHostnames: fc.uniqueArray(fc.constantFrom("www.example.com", "cloud.example.com", "blog.example.com"), { maxLength: 3 }),
    homeIPv6: fc.boolean(),
    extraForwards: fc.array(
      fc
        .tuple(
          fc.record({ port: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 6000, max: 9000 }) }, { weight: 4, arbitrary: fc.integer({ min: 6000, max: 8990 }).map((p) => `${p}-${p + 10}`) }, { weight: 1, arbitrary: fc.constantFrom(22, 2222, "2200-2300", 50022, 41641) }), protocol: fc.constantFrom("tcp", "udp"), description: fc.constantFrom("Mumble voice", "game (UDP)") }, { requiredKeys: ["port", "protocol"] }),
          nowAndThen(fc.constant(undefined), fc.constantFrom(80, 443)),
        )
        // Now and then a single port onto home's web server (refused while the origin lock is on).
        .map(([f, toPort]) => (toPort !== undefined && typeof f.port === "number" ? { ...f, toPort } : f)),
      { maxLength: 3 },
    ),
    existing: fc.option(fc.record({ address: fc.constantFrom("5.9.10.11", "100.70.1.2"), port: fc.constantFrom(22, 2222, 50022) }), { nil: undefined }),
    // A second edge on a host of its own, or on the first one's (refused).
    later: fc.option(fc.record({ own: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), port: fc.constantFrom(22, 2222, 50022, 5222) }), { nil: undefined }),
    loginServer: fc.option(fc.constantFrom("https://hs.example.com", "https://hs.example.com:8443/base"), { nil: undefined }),
  })
  .map((c) => {
    const tailnetSsh = c.sshAllowFrom[0] === "tailnet";
    const keys: Record<string, unknown> = {
      domain: c.prosody ? "example.com" : "chat.example.com",
      ...(c.prosody ? { preset: "prosody", xmppHost: "xmpp.example.com" } : {}),
      zone: "example.com",
      homeTailnetIPv4: "100.101.102.103",
      ...(c.homeIPv6 ? { homeTailnetIPv6: "fd7a:115c:a1e0::6501:6667" } : {}),
      directTls: c.directTls,
      clientIp: c.clientIp,
      turn: c.turn,
      turnRelayPorts: c.turnRelayPorts,
      turnTcpRelay: c.turnTcpRelay,
      sshAllowFrom: c.sshAllowFrom,
      webOriginLock: c.webOriginLock,
      webOriginExtraAllow: c.webOriginExtraAllow,
      webHostnames: c.webHostnames,
      extraForwards: c.extraForwards,
      cloudflareZoneId: "0123456789abcdef0123456789abcdef",
    };
    const secrets: Record<string, StackValue> = { turnSecret: ENCRYPTED };
    const first = c.existing && { address: tailnetSsh ? "100.70.1.2" : c.existing.address, port: c.existing.port, hostKey: HOST_KEY, ipv4: "5.9.10.11" };
    if (c.later) {
      const later = c.later.own ? { address: tailnetSsh ? "100.70.1.3" : "5.9.10.12", ipv4: "5.9.10.12" } : { address: first?.address ?? "5.9.10.11", ipv4: "5.9.10.11" };
      keys.edges = [{ name: "a", ...(first ? { existingHost: first } : {}) }, { name: "b", existingHost: { ...later, port: c.later.port, hostKey: HOST_KEY } }];
    } else if (first) keys.existingHost = first;
    if (c.existing || c.later) {
      keys.sshPublicKey = DEPLOY_KEY;
      secrets.sshPrivateKey = ENCRYPTED;
    }
    if (c.loginServer) {
      keys.tailscaleLoginServer = c.loginServer;
      // Headscale has no autogroup:admin (the default): a user names the deployers.
      if (tailnetSsh) keys.tailscaleSshFrom = ["deploy@"];
      secrets.tailscaleAuthKey = ENCRYPTED;
    }
    return toStack(keys, secrets);
  });

// More sane than wild: most wild configs are refused, and the accepted side carries the ruleset checks.
const stackConfigs = fc.oneof({ weight: 3, arbitrary: saneStacks }, { weight: 2, arbitrary: wildStacks });

// --- The property -----------------------------------------------------------------------
interface Tally {
  accepted: number;
  rejected: number;
}

/** Each problem line names a key the config has, or one of the schema (a missing one). */
function namesAKey(line: string, stack: StackConfig): boolean {
  if (!line.startsWith(`${PROJECT_NAME}:`)) return false;
  const rest = line.slice(PROJECT_NAME.length + 1);
  const keys = [...[...stack.values.keys()].filter((k) => k.startsWith(`${PROJECT_NAME}:`)).map((k) => k.slice(PROJECT_NAME.length + 1)), ...CONFIG_KEYS];
  return keys.some((k) => rest.startsWith(`${k}: `) || rest.startsWith(`${k}.`) || rest.startsWith(`${k}[`));
}

/** What an accepted config holds: every address canonical and parser-valid, and nothing past the origin lock. */
function sound(c: EdgeConfig): void {
  const cidrs = [...(c.ssh.mode === "public" ? c.ssh.from : []), ...c.webOriginExtraAllow];
  for (const text of cidrs) {
    const r = parseCidr(text);
    if (!r.ok || r.value.text !== text) throw new Error(`an accepted config holds ${JSON.stringify(text)}, which the address parser does not give back`);
  }
  for (const host of c.edges.map((e) => e.existingHost)) {
    for (const a of [host?.ipv4, host?.ipv6]) if (a !== undefined && !parseAddress(a).ok) throw new Error(`an accepted config publishes ${JSON.stringify(a)}`);
  }
  if (c.webOriginLock !== "cloudflare") return;
  for (const text of c.webOriginExtraAllow) {
    const r = parseCidr(text);
    if (r.ok && r.value.prefix < (r.value.family === 4 ? 16 : 32)) throw new Error(`an accepted config trusts ${text} as a web origin`);
  }
  // Home 80/443 are locked routes only when there are web names to serve (no web names: no such route).
  if (c.webHostnames.length === 0) return;
  const home = c.extraForwards.map((f) => (f.toPort === undefined ? f.ports : { from: f.toPort, to: f.toPort }));
  if (home.some((r) => [80, 443].some((port) => r.from <= port && port <= r.to))) throw new Error(`an accepted config forwards onto home 80/443 with the origin lock on: ${JSON.stringify(c.extraForwards)}`);
}


interface HostPortRule {
  name: string;
  protocol: Protocol;
  port: number;
}

/**
 * Every edge's input chain opens the host's own ports only to their own
 * sources: no rule of another service or range covers them, SSH's rules
 * admit exactly sshAllowFrom (or only the tailnet interface), and prerouting
 * DNATs neither home. Throws, naming the rule, when one does.
 */
function hostPortsOnlyToTheirSources(config: EdgeConfig, edge: number, nft: string): void {
  const read = readRuleset(nft);
  const sshPort = config.edges[edge]?.existingHost?.port ?? (edge === 0 ? config.existingHost?.port : undefined) ?? SSH_PORT;
  const hostPorts: HostPortRule[] = [
    { name: `SSH (${sshPort}/tcp) of edge ${edge}`, protocol: "tcp", port: sshPort },
    { name: `tailscaled's ${TAILSCALE_UDP_PORT}/udp of edge ${edge}`, protocol: "udp", port: TAILSCALE_UDP_PORT },
  ];
  const exactly = (r: PortRange[], port: number) => r.length === 1 && r[0].from === port && r[0].to === port;
  for (const h of hostPorts) {
    const covers = (r: { protocol: Protocol; ports: PortRange }) => r.protocol === h.protocol && overlaps(r.ports, single(h.port));
    const dnat = read.dnat.find(covers);
    if (dnat) throw new Error(`prerouting sends ${h.name} home (a forward of ${dnat.ports.from}-${dnat.ports.to}/${dnat.protocol})`);
    const rules = read.input.filter((r) => r.protocol === h.protocol && r.ports.some((p) => overlaps(p, single(h.port))));
    const other = rules.find((r) => !exactly(r.ports, h.port));
    if (other) throw new Error(`the input chain opens ${h.name} by a rule of another port or range: ${other.rule}`);
    if (rules.length === 0) throw new Error(`the input chain never opens ${h.name}`);
    if (h.protocol === "udp") {
      if (rules.some((r) => r.from.kind !== "anywhere")) throw new Error(`${h.name} is not open to anyone: ${rules.map((r) => r.rule).join("; ")}`);
      continue;
    }
    if (config.ssh.mode === "tailnet") {
      const wrong = rules.find((r) => r.from.kind !== "interface" || r.from.name !== TAILNET_INTERFACE || r.from.negated || r.from.saddr !== undefined);
      if (wrong) throw new Error(`${h.name} with sshAllowFrom ["tailnet"] is opened beyond the tailnet interface: ${wrong.rule}`);
      continue;
    }
    const wrong = rules.find((r) => r.from.kind !== "set");
    if (wrong) throw new Error(`the input chain opens ${h.name} to anyone: ${wrong.rule}`);
    const admitted = rules.flatMap((r) => (r.from.kind === "set" ? r.from.elements : [])).sort();
    const allowed = [...config.ssh.from].sort();
    if (JSON.stringify(admitted) !== JSON.stringify(allowed)) throw new Error(`${h.name} admits ${admitted.join(", ")}, but sshAllowFrom is ${allowed.join(", ")}`);
  }
}

/** Every edge's ruleset, as the plan renders it. */
const planRulesets = (plan: Plan): string[] => plan.edges.map((e) => plan.files[`${e.dir}vps/etc/xmpp-edge/xmpp-edge.nft`]);

function property(ns: string, dir: string, tally: Tally, load = loadConfig, breakNginx = false, rulesets = planRulesets) {
  return fc.property(stackConfigs, (stack) => {
    try {
      sound(load(stack));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const line of e.problems) if (!namesAKey(line, stack)) throw new Error(`a problem that names no key: ${line}`);
      tally.rejected++;
      return;
    }
    const plan = makePlan(stack);
    const nginx = path.join(dir, "nginx.conf");
    const nft = path.join(dir, "ruleset.nft");
    fs.writeFileSync(nginx, plan.files["vps/etc/nginx/nginx.conf"] + (breakNginx ? "\nxmpp_edge_broken on;\n" : ""));
    fs.writeFileSync(nft, plan.files["vps/etc/xmpp-edge/xmpp-edge.nft"]);
    const t = sh(`unshare -m --propagation private bash -c 'mount --bind ${nginx} /etc/nginx/nginx.conf && nginx -t -q'`);
    if (t.status !== 0) throw new Error(`nginx -t refused an accepted config's nginx.conf:\n${t.out}`);
    const n = sh(`ip netns exec ${ns} nft -c -f ${nft}`);
    if (n.status !== 0) throw new Error(`nft -c refused an accepted config's ruleset:\n${n.out}`);
    rulesets(plan).forEach((text, i) => hostPortsOnlyToTheirSources(plan.model.config, i, text));
    tally.accepted++;
  });
}

test(`every generated config is accepted (and nginx -t, nft -c pass) or refused naming keys: ${RUNS} configs, seed ${SEED}`, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xe-property-"));
  const tally: Tally = { accepted: 0, rejected: 0 };
  const start = Date.now();
  withNetns((ns) => fc.assert(property(ns, dir, tally), { seed: SEED, numRuns: RUNS }));
  const seconds = ((Date.now() - start) / 1000).toFixed(1);
  process.stdout.write(`config property: ${tally.accepted + tally.rejected} configs in ${seconds} s (seed ${SEED}): ${tally.accepted} accepted, their nginx.conf and ruleset passed nginx -t and nft -c; ${tally.rejected} refused, every problem naming a key\n`);
  expect(tally.accepted + tally.rejected).toBe(RUNS);
  // Both sides of the property must be exercised, or it proves little.
  expect(tally.accepted).toBeGreaterThan(RUNS / 10);
  expect(tally.rejected).toBeGreaterThan(RUNS / 10);
});

test("the property fails for a reader that crashes on some config (the check can fail)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xe-property-"));
  const crashing = (stack: StackConfig) => {
    if (stack.values.has(`${PROJECT_NAME}:extraForwards`)) throw new TypeError("cannot read properties of undefined");
    return loadConfig(stack);
  };
  const r = withNetns((ns) => fc.check(property(ns, dir, { accepted: 0, rejected: 0 }, crashing), { seed: SEED, numRuns: 50 }));
  expect(r.failed).toBe(true);
  expect(String(r.errorInstance)).toMatch(/cannot read properties of undefined/);
});

test("the property fails when an accepted config's nginx.conf is broken (the tool check can fail)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xe-property-"));
  const r = withNetns((ns) => fc.check(property(ns, dir, { accepted: 0, rejected: 0 }, loadConfig, true), { seed: SEED, numRuns: 50 }));
  expect(r.failed).toBe(true);
  expect(String(r.errorInstance)).toMatch(/nginx -t refused .*unknown directive "xmpp_edge_broken"/s);
});

test("the property fails when an accepted config forwards onto home 443 with the lock on (the soundness check can fail)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xe-property-"));
  const pastTheLock = (stack: StackConfig): EdgeConfig => {
    const c = loadConfig(stack);
    return { ...c, extraForwards: [...c.extraForwards, { ports: { from: 8443, to: 8443 }, protocol: "tcp", toPort: 443 }] };
  };
  const r = withNetns((ns) => fc.check(property(ns, dir, { accepted: 0, rejected: 0 }, pastTheLock), { seed: SEED, numRuns: 50 }));
  expect(r.failed).toBe(true);
  expect(String(r.errorInstance)).toMatch(/forwards onto home 80\/443 with the origin lock on/);
});

test("the property fails for a ruleset whose TCP relay range covers an edge's SSH port (the host-port check can fail)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xe-property-"));
  // Each edge's model as the checks would never let it be: TCP relays on a range around its SSH port.
  const relayOverSsh = (plan: Plan) =>
    plan.edges.map((e) => {
      const ssh = e.model.sshPort;
      return renderNftables(buildModel({ ...e.model.config, turn: "edge", turnTcpRelay: true, turnRelayPorts: { from: ssh - 5, to: ssh + 20 } }), e.facts);
    });
  const r = withNetns((ns) => fc.check(property(ns, dir, { accepted: 0, rejected: 0 }, loadConfig, false, relayOverSsh), { seed: SEED, numRuns: 50 }));
  expect(r.failed).toBe(true);
  expect(String(r.errorInstance)).toMatch(/the input chain opens SSH \(\d+\/tcp\) of edge \d by a rule of another port or range: tcp dport \{ 3478, \d+-\d+ \} accept/);
});
