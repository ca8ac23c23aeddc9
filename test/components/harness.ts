// Runs index.ts under Pulumi mocks with a given stack config and records what
// it registers and invokes. Each run loads the program afresh
// (jest.isolateModules); the mock monitor lives in Pulumi's global store, so
// the program's own copy of @pulumi/pulumi sees it.
import * as pulumi from "@pulumi/pulumi";

export const PROJECT_NAME = "xmpp-edge";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** Addresses the mocks hand out: public-looking (Hetzner ranges), never documentation or private space. */
export const MOCK = {
  vpsIPv4: "5.75.140.10",
  vpsIPv6Network: "2a01:4f8:c012:abcd::/64",
  vpsIPv6: "2a01:4f8:c012:abcd::1",
  vpsTailnetIPv4: "100.90.1.2",
  /** What the mocked CONFIRM_COMMAND reports (xmpp-edge-apply --confirm runs `tailscale ip -4`). */
  reportedTailnetIPv4: "100.90.7.7",
  vpsTailnetIPv6: "fd7a:115c:a1e0::5a01:102",
  homeLookupIPv4: "100.88.7.6",
  homeLookupIPv6: "fd7a:115c:a1e0::5807:706",
  zoneIdByName: "0f0e0d0c0b0a09080706050403020100",
  /** Every later edge's primary IPs (resources "vps-<edge>-ipv4/6"), so its records differ from the first edge's. */
  laterIPv4: "5.75.140.20",
  laterIPv6Network: "2a01:4f8:c012:beef::/64",
};

export interface Registered {
  type: string;
  name: string;
  custom: boolean;
  inputs: Record<string, any>;
}

export interface Invoked {
  token: string;
  inputs: Record<string, any>;
}

export interface Run {
  resources: Registered[];
  invokes: Invoked[];
  events: Event[];
  /** URN by resource name (to check parents). */
  urns: string[];
  /** Each registered URN's parent URN ("" at the top), as the program passed it to the monitor. */
  parents: Record<string, string>;
  outputs: Record<string, unknown>;
  /** The program's exports as Outputs (for secretness). */
  exports: Record<string, unknown>;
  error?: Error;
}

/** A stable numeric id per resource, so two runs register identical inputs where nothing changed. */
function numericId(type: string, name: string): string {
  let h = 7;
  for (const ch of `${type}::${name}`) h = (h * 31 + ch.charCodeAt(0)) % 9_000_000;
  return String(1_000_000 + h);
}

function newState(type: string, name: string, inputs: Record<string, any>, opts: RunOptions): { id: string | undefined; state: Record<string, any> } {
  // hcloud ids are numbers in the API: numeric strings here.
  const id = () => numericId(type, name);
  switch (type) {
    case "tls:index/privateKey:PrivateKey": {
      const tag = Buffer.from(name).toString("base64").replace(/=/g, "");
      return {
        id: `key-${name}`,
        state: {
          ...inputs,
          privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\nPRIVATE-${name}\n-----END OPENSSH PRIVATE KEY-----\n`,
          publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA${tag}\n`,
        },
      };
    }
    case "hcloud:index/primaryIp:PrimaryIp": {
      const first = name.startsWith("vps-ipv");
      const net = first ? MOCK.vpsIPv6Network : MOCK.laterIPv6Network;
      return inputs.type === "ipv6"
        ? { id: id(), state: { ...inputs, ipAddress: net.replace("/64", ""), ipNetwork: net } }
        : { id: id(), state: { ...inputs, ipAddress: first ? MOCK.vpsIPv4 : MOCK.laterIPv4 } };
    }
    case "hcloud:index/server:Server":
      return { id: id(), state: { ...inputs, ipv4Address: MOCK.vpsIPv4, ipv6Address: MOCK.vpsIPv6, ipv6Network: MOCK.vpsIPv6Network, status: "running" } };
    case "hcloud:index/firewall:Firewall":
    case "hcloud:index/sshKey:SshKey":
    case "hcloud:index/rdns:Rdns":
      return { id: id(), state: inputs };
    case "tailscale:index/tailnetKey:TailnetKey":
      return { id: `k${name}`, state: { ...inputs, key: `tskey-auth-MOCK-${name}` } };
    case "random:index/randomPassword:RandomPassword":
      return { id: name, state: { ...inputs, result: "R".repeat(inputs.length ?? 40) } };
    case "command:remote:Command": {
      const reported = opts.reports && name in opts.reports ? opts.reports[name] : MOCK.reportedTailnetIPv4;
      const report = reported === null ? "" : `xmpp-edge-apply: tailnet-ipv4 ${reported}\n`;
      const stdout = name.endsWith("-confirm") ? `xmpp-edge-apply: confirmed: the pending revert is cancelled\n${report}` : "";
      return { id: `${name}-id`, state: { ...inputs, stdout, stderr: "" } };
    }
    case "cloudflare:index/dnsRecord:DnsRecord":
      return { id: `rec-${name}`, state: inputs };
    default:
      return { id: `${name}-id`, state: inputs };
  }
}

function call(token: string, inputs: Record<string, any>, serverName: string, tags: string[], opts: RunOptions): Record<string, any> {
  if (token === "tailscale:index/getDevice:getDevice") {
    if (inputs.hostname === serverName) return { ...inputs, id: "d1", addresses: [MOCK.vpsTailnetIPv4, MOCK.vpsTailnetIPv6] };
    return { ...inputs, id: "d2", addresses: [MOCK.homeLookupIPv4, MOCK.homeLookupIPv6] };
  }
  if (token === "tailscale:index/getDevices:getDevices") {
    const wanted = (inputs.filters ?? []).find((f: any) => f.name === "hostname")?.values ?? [];
    const devices = (opts.devices ?? [{ hostname: serverName, created: "2026-11-01T10:00:00Z", addresses: [MOCK.vpsTailnetIPv4, MOCK.vpsTailnetIPv6], tags, authorized: true }]).filter((d) => wanted.length === 0 || wanted.includes(d.hostname));
    return { ...inputs, id: "devices", devices };
  }
  if (token === "cloudflare:index/getZone:getZone") return { id: MOCK.zoneIdByName, name: inputs.filter?.name };
  if (token === "hcloud:index/getServers:getServers") {
    invokes.push({ token, inputs });
    return { id: "servers", servers: opts.deployedServers ?? [] };
  }
  throw new Error(`unexpected invoke ${token}`);
}

/** Pulumi's config string form: JSON for everything but plain strings. */
export function toPulumiConfig(raw: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) out[`${PROJECT_NAME}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  return out;
}

/** The Hetzner lookups the last runs made (token and inputs), for the tests that look at them. */
export const invokes: { token: string; inputs: Record<string, any> }[] = [];

export interface RunOptions {
  /** Servers Hetzner lists as deployed (getServers): name and image. Default: none. */
  deployedServers?: { name: string; image: string }[];
  /** A preview (`pulumi preview`: the engine's dry run) instead of an update. */
  dryRun?: boolean;
  /**
   * Resource types outside a targeted update that do not exist yet
   * (`pulumi up --target` leaving them out): the engine gives no outputs for
   * them, so every output the program reads of them is undefined.
   */
  absent?: string[];
  /**
   * What each confirm (by resource name, "push-confirm") reports as the
   * host's tailnet IPv4 (`tailscale ip -4` there); null: nothing (tailscale
   * did not answer). Default: MOCK.reportedTailnetIPv4.
   */
  reports?: Record<string, string | null>;
  /** The tailnet's devices as getDevices lists them; default: the VPS has joined, with the stack's tags. */
  devices?: { hostname: string; created: string; addresses: string[]; tags: string[]; authorized: boolean }[];
}

/** Every registration and invoke in the order the program made them (resource names, invoke tokens). */
export type Event = { kind: "resource"; name: string } | { kind: "invoke"; token: string };

/** Process "exit" listeners one program run adds (see runProgram). */
const EXIT_LISTENERS_PER_RUN = 2;

/** Runs the program with `raw` (plain values) and `secrets` (set as Pulumi secrets). */
export async function runProgram(raw: Record<string, unknown>, secrets: Record<string, string> = {}, opts: RunOptions = {}): Promise<Run> {
  const resources: Registered[] = [];
  const invokes: Invoked[] = [];
  const events: Event[] = [];
  const serverName = typeof raw.serverName === "string" ? raw.serverName : "xmpp-edge";
  const tags = Array.isArray(raw.tailscaleTags) ? (raw.tailscaleTags as string[]) : ["tag:xmpp-edge"];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources.push({ type: args.type, name: args.name, custom: args.custom !== false, inputs: args.inputs });
        events.push({ kind: "resource", name: args.name });
        if (args.custom === false) return { id: undefined, state: {} };
        if (opts.absent?.includes(args.type)) return { id: "", state: {} };
        return newState(args.type, args.name, args.inputs, opts);
      },
      call: (args) => {
        invokes.push({ token: args.token, inputs: args.inputs });
        events.push({ kind: "invoke", token: args.token });
        return call(args.token, args.inputs, serverName, tags, opts);
      },
    },
    PROJECT_NAME,
    "test",
    opts.dryRun ?? false,
  );
  // The mock monitor keeps no parent (a URN holds only the parent's type): record it on the way in.
  const parents: Record<string, string> = {};
  const mon = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: any, cb: any) => unknown; newUrn: (p: string, t: string, n: string) => string };
  const register = mon.registerResource.bind(mon);
  mon.registerResource = (req: any, cb: any) => {
    parents[mon.newUrn(req.getParent(), req.getType(), req.getName())] = req.getParent() ?? "";
    return register(req, cb);
  };
  const config = { ...toPulumiConfig(raw), ...toPulumiConfig(secrets) };
  pulumi.runtime.setAllConfig(config, Object.keys(secrets).map((k) => `${PROJECT_NAME}:${k}`));

  let program: Record<string, unknown> = {};
  let error: Error | undefined;
  // Each run's fresh modules add process "exit" listeners (@pulumi/pulumi's
  // promise-leak report, runtime/debuggable.js): two per run, counted with
  // process.listenerCount("exit"), so many runs in one file exceed Node's
  // default of 10 and print MaxListenersExceededWarning. Room for exactly those.
  process.setMaxListeners(Math.max(process.getMaxListeners(), process.listenerCount("exit") + EXIT_LISTENERS_PER_RUN));
  try {
    jest.isolateModules(() => {
      program = require("../../index");
    });
  } catch (e) {
    error = e as Error;
  }
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(program)) {
    try {
      outputs[k] = pulumi.Output.isInstance(v) ? await unwrap(v) : v;
    } catch (e) {
      // An apply that throws fails the real program with that message.
      error ??= e as Error;
    }
  }
  // Let registrations that no export waits on (the confirm) finish.
  await new Promise((r) => setTimeout(r, 50));
  const monitor = pulumi.runtime.getMonitor() as unknown as { resources: Map<string, unknown> } | undefined;
  const urns = monitor ? [...monitor.resources.keys()] : [];
  return { resources, invokes, events, urns, parents, outputs, exports: program, error };
}

/** What an output reads as in a preview when its value is not known yet. */
export const UNKNOWN = "<unknown in preview>";

/** An output's value; in a preview, UNKNOWN for a value that only an update would tell. */
async function unwrap<T>(o: pulumi.Output<T>): Promise<T | typeof UNKNOWN> {
  const internal = o as unknown as { isKnown: Promise<boolean>; promise(): Promise<T> };
  const value = await internal.promise();
  return (await internal.isKnown) ? value : UNKNOWN;
}

export const isSecretInput = (v: unknown): boolean => typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
/** A mock input with any secret wrapper taken off. */
export function plain(v: any): any {
  if (isSecretInput(v)) return plain(v.value);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export const ofType = (run: Run, type: string) => run.resources.filter((r) => r.type === type);

/** The files a push script stages, by path (the inverse of renderPushScript's heredocs). */
export function bundleFiles(script: string): Record<string, string> {
  const files: Record<string, string> = {};
  const lines = script.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^base64 -d > "\$stage(\S+)" <<'XMPP_EDGE_EOF'$/.exec(lines[i]);
    if (!m) continue;
    const body: string[] = [];
    while (lines[++i] !== "XMPP_EDGE_EOF") body.push(lines[i]);
    files[m[1]] = Buffer.from(body.join(""), "base64").toString("utf8");
  }
  return files;
}

/** The stdin of the one command that carries the bundle. */
export function pushStdin(run: Run): string {
  const carriers = ofType(run, "command:remote:Command").filter((c) => plain(c.inputs).stdin !== undefined);
  if (carriers.length !== 1) throw new Error(`expected one command with stdin, got ${carriers.length}`);
  return plain(carriers[0].inputs).stdin;
}
