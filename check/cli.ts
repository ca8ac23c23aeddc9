// The check's command line: its flags, their help, and what they resolve to
// (the stack's model, every edge's addresses, the secrets), refusing anything
// that would make the run say nothing about the edge. Runs no probe.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import { parseArgs } from "node:util";
import { buildModel, type EdgeModel } from "../model/model";
import { inCidr, ipFamily } from "../model/net";
import { isHostname } from "../model/shapes";
import { loadConfig, readStackFile } from "../model/source";
import { ConfigError } from "../model/validate";
import { DOCUMENTATION_RANGES, type EdgeAddresses } from "./expected";
import { UsageError, type PulumiRunner } from "./pulumi-cli";

export const DEFAULT_STACK = "prod";

export const USAGE = `usage: npm run check -- [--stack NAME | --config FILE] [--vps-ipv4 A] [--vps-ipv6 A]
  [--resolver ADDR] [--ca FILE] [--json] [--timeout SECONDS]
  [--turn-secret-from-stack | --turn-secret-env VAR] [--account JID --password-env VAR]
  [--allow-documentation-addresses]`;

export const HELP = `${USAGE}

Checks a deployed edge from the outside, the way the plan says it must work:
DNS records, XMPP on 443/5222/5269, STUN/TURN, the web names and the origin
lock, and which TCP ports answer. What must be true comes from the stack's
config, through the same model as the plan. Exit 0: every check passed;
1: a check failed; 2: bad arguments or config (nothing was probed).

  --stack NAME      the stack (default: ${DEFAULT_STACK}, as npm run plan): its config is
                    Pulumi.NAME.yaml in the repository, and unless --vps-ipv4 is given
                    the edges' addresses are its outputs (read with the pulumi CLI)
  --config FILE     a stack file anywhere, instead of --stack; the addresses then come
                    from --vps-ipv4/--vps-ipv6 or existingHost
  --vps-ipv4 A      the edge's public IPv4 (one edge only)
  --vps-ipv6 A      the edge's public IPv6, with --vps-ipv4
  --resolver ADDR   the DNS server to ask (an address, ADDR4:PORT or [ADDR6]:PORT);
                    default: the system's
  --ca FILE         a PEM file of CA certificates trusted besides Node's own (a lab's CA)
  --json            results as JSON instead of a table
  --timeout SECONDS each probe's limit, 0.5 to 30 (default 5)
  --turn-secret-from-stack
                    the TURN secret from the stack's turnSecret output (needs --stack),
                    for the TURN allocation checks
  --turn-secret-env VAR
                    the TURN secret from environment variable VAR instead
  --account JID     a test account (user@domain) for a login on both client paths,
  --password-env VAR  with its password from environment variable VAR
  --allow-documentation-addresses
                    accept documentation addresses (192.0.2.0/24, 198.51.100.0/24,
                    203.0.113.0/24, 2001:db8::/32) as the edge's and in DNS answers:
                    only a lab uses them; without it they are refused
  -h, --help        this text

Without the TURN secret or an account, those checks are skipped, not failed.`;

/** Everything a run needs, resolved and checked. */
export interface CheckRun {
  model: EdgeModel;
  /** What the report names as the target: the stack, or the config file. */
  target: string;
  edges: EdgeAddresses[];
  resolver?: string;
  ca?: string[];
  json: boolean;
  timeoutMs: number;
  turnSecret?: string;
  account?: { jid: string; password: string };
  allowDocumentationAddresses: boolean;
}

export interface CheckCliIo {
  /** The repository: where Pulumi.<stack>.yaml files are. */
  root: string;
  /** Where a relative --config or --ca is taken from. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  pulumi: PulumiRunner;
}

/** The help text, or the resolved run; UsageError for anything wrong. */
export function resolveCheck(argv: string[], io: CheckCliIo): { help: string } | CheckRun {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: {
        stack: { type: "string" },
        config: { type: "string" },
        "vps-ipv4": { type: "string" },
        "vps-ipv6": { type: "string" },
        resolver: { type: "string" },
        ca: { type: "string" },
        json: { type: "boolean", default: false },
        timeout: { type: "string", default: "5" },
        "turn-secret-from-stack": { type: "boolean", default: false },
        "turn-secret-env": { type: "string" },
        account: { type: "string" },
        "password-env": { type: "string" },
        "allow-documentation-addresses": { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    throw new UsageError(`${(e as Error).message} (npm run check -- --help explains each flag)`);
  }
  if (a.help) return { help: HELP };
  if (a.stack && a.config) throw new UsageError("--stack and --config exclude each other");
  if (a.stack !== undefined && !/^[A-Za-z0-9._/-]{1,100}$/.test(a.stack)) throw new UsageError(`--stack ${JSON.stringify(a.stack)}: expected a stack name (letters, digits, . _ - /)`);
  // No --config: a stack, the default one as the plan takes it; its outputs name the edges.
  const stack = a.config === undefined ? (a.stack ?? DEFAULT_STACK) : undefined;
  let configFile: string;
  if (stack !== undefined) {
    configFile = path.join(io.root, `Pulumi.${stack.split("/").pop()}.yaml`);
    if (!fs.existsSync(configFile)) {
      const stacks = fs.readdirSync(io.root).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []).sort();
      throw new UsageError(`--stack ${JSON.stringify(stack)}: there is no ${configFile}; the stacks here are: ${stacks.join(", ") || "(none)"}; or give a file with --config FILE`);
    }
  } else {
    configFile = path.resolve(io.cwd, a.config!);
    if (!fs.existsSync(configFile)) throw new UsageError(`--config: ${configFile} does not exist`);
  }
  const allowDoc = a["allow-documentation-addresses"];
  for (const [flag, family] of [["vps-ipv4", 4], ["vps-ipv6", 6]] as const) {
    const v = a[flag];
    if (v !== undefined && ipFamily(v) !== family) throw new UsageError(`--${flag}: ${JSON.stringify(v)} is not an IPv${family} address`);
  }
  if (a["vps-ipv6"] !== undefined && a["vps-ipv4"] === undefined) throw new UsageError("--vps-ipv6 goes with --vps-ipv4 (the edge's IPv4 is always checked)");
  if (a.resolver !== undefined && !isResolverAddress(a.resolver)) {
    throw new UsageError(`--resolver ${JSON.stringify(a.resolver)}: expected an IP address, ADDR4:PORT or [ADDR6]:PORT`);
  }
  if (a.resolver !== undefined && !allowDoc && documentationRange(resolverHost(a.resolver))) {
    throw new UsageError(`--resolver ${a.resolver}: ${documentationRange(resolverHost(a.resolver))} is a documentation range, never a real resolver; give a real one, or --allow-documentation-addresses in a lab`);
  }
  const timeout = Number(a.timeout);
  if (!Number.isFinite(timeout) || timeout < 0.5 || timeout > 30) throw new UsageError(`--timeout ${JSON.stringify(a.timeout)}: expected seconds between 0.5 and 30`);
  if (a["turn-secret-from-stack"] && a["turn-secret-env"]) throw new UsageError("--turn-secret-from-stack and --turn-secret-env exclude each other");
  if (a["turn-secret-from-stack"] && stack === undefined) throw new UsageError("--turn-secret-from-stack needs a stack (--stack NAME, or none of --config)");
  if ((a.account === undefined) !== (a["password-env"] === undefined)) throw new UsageError("--account and --password-env go together");
  if (a.account !== undefined) {
    const [local, domain, ...rest] = a.account.split("@");
    if (!local || !domain || rest.length || !isHostname(domain) || /[\s"&'/:<>@]/.test(local)) throw new UsageError(`--account ${JSON.stringify(a.account)}: expected a bare JID, user@domain`);
  }

  let model: EdgeModel;
  try {
    model = buildModel(loadConfig(readStackFile(configFile)));
  } catch (e) {
    throw new UsageError(e instanceof ConfigError ? `${configFile}: ${e.message}` : (e as Error).message);
  }
  const c = model.config;

  // The edges' addresses: the flags (one edge), else the stack's outputs, else the existing hosts'.
  let edges: EdgeAddresses[];
  let from: string;
  const several = c.edges.length > 1;
  if (a["vps-ipv4"]) {
    if (several) throw new UsageError(`--vps-ipv4 names one edge, and the stack has ${c.edges.length} (edges); pass --stack NAME (reads its edges output), or give every edge an existingHost`);
    edges = [{ ipv4: a["vps-ipv4"], ipv6: a["vps-ipv6"] }];
    from = "--vps-ipv4/--vps-ipv6";
  } else if (stack !== undefined && !(a.stack === undefined && c.edges.every((e) => e.existingHost?.ipv4))) {
    const out = JSON.parse(io.pulumi(["stack", "output", "--json"], stack)) as { vpsIPv4?: string; vpsIPv6?: string; edges?: { ipv4?: string; ipv6?: string | null }[] };
    const listed = several ? out.edges : [{ ipv4: out.vpsIPv4, ipv6: out.vpsIPv6 }];
    if (!listed || listed.length !== c.edges.length || listed.some((e) => !e.ipv4 || ipFamily(e.ipv4) !== 4)) throw new UsageError(`stack ${stack} has no ${several ? `edges output with ${c.edges.length} edges` : "vpsIPv4 output"} (deployed?)`);
    edges = listed.map((e) => ({ ipv4: e.ipv4!, ipv6: e.ipv6 && ipFamily(e.ipv6) === 6 ? e.ipv6 : undefined }));
    from = `stack ${stack}'s outputs`;
  } else if (c.edges.every((e) => e.existingHost?.ipv4)) {
    edges = c.edges.map((e) => ({ ipv4: e.existingHost!.ipv4, ipv6: e.existingHost!.ipv6 }));
    from = "existingHost";
  } else {
    throw new UsageError(several ? "the edges' addresses are unknown: pass --stack NAME (reads its edges output)" : "the edge's addresses are unknown: pass --stack NAME (reads its outputs) or --vps-ipv4 (and --vps-ipv6)");
  }
  if (!allowDoc) {
    for (const address of edges.flatMap((e) => [e.ipv4, e.ipv6 ?? []].flat())) {
      const range = documentationRange(address);
      if (range) throw new UsageError(`${address} (from ${from}) is a documentation address (${range}): an example such as the plan's stand-in, never a deployed edge; give the edge's real address, or --allow-documentation-addresses to check a lab`);
    }
  }

  const envValue = (flag: string, name: string | undefined): string | undefined => {
    if (name === undefined) return undefined;
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new UsageError(`--${flag} ${JSON.stringify(name)}: expected an environment variable name`);
    const v = io.env[name];
    if (!v) throw new UsageError(`--${flag} ${name}: the variable is unset or empty`);
    return v;
  };
  let turnSecret = envValue("turn-secret-env", a["turn-secret-env"]);
  if (a["turn-secret-from-stack"]) {
    turnSecret = io.pulumi(["stack", "output", "turnSecret", "--show-secrets"], stack!).trim();
    if (!turnSecret) throw new UsageError(`stack ${stack} has no turnSecret output (deploy this version first)`);
  }
  const password = envValue("password-env", a["password-env"]);
  return {
    model,
    target: stack ?? configFile,
    edges,
    resolver: a.resolver,
    ca: a.ca === undefined ? undefined : [...tls.rootCertificates, readCa(path.resolve(io.cwd, a.ca))],
    json: a.json,
    timeoutMs: timeout * 1000,
    turnSecret,
    account: a.account && password ? { jid: a.account, password } : undefined,
    allowDocumentationAddresses: allowDoc,
  };
}

/** The documentation range `address` lies in, or undefined. */
function documentationRange(address: string): string | undefined {
  return DOCUMENTATION_RANGES.find((cidr) => ipFamily(address) !== undefined && inCidr(address, cidr));
}

/** What dns.Resolver#setServers takes: an address, "a.b.c.d:port" or "[v6]:port". */
function isResolverAddress(text: string): boolean {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([\d.]+):(\d{1,5})$/.exec(text);
  if (m) return ipFamily(m[1]) !== undefined && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
  return ipFamily(text) !== undefined;
}

function resolverHost(text: string): string {
  return (/^\[([^\]]+)\]:\d+$/.exec(text) ?? /^([\d.]+):\d+$/.exec(text))?.[1] ?? text;
}

function readCa(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`--ca ${file}: ${(e as Error).message}`);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) throw new UsageError(`--ca ${file}: not a PEM certificate file`);
  return text;
}
