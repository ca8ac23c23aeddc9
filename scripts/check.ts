// npm run check -- [--stack NAME | --config FILE] [--vps-ipv4 A] [--vps-ipv6 A]
//   [--resolver ADDR] [--ca FILE] [--json] [--timeout SECONDS]
//   [--turn-secret-from-stack | --turn-secret-env VAR] [--account JID --password-env VAR]
//   [--allow-documentation-addresses]
// The live check of a deployed edge: what the model says must be true (check/expected.ts),
// checked from the outside. Exit 0: all passed; 1: a check failed; 2: bad arguments or config.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import { parseArgs } from "node:util";
import { checkDns } from "../check/dns";
import { expectedFacts, type EdgeAddresses } from "../check/expected";
import { checkPorts } from "../check/ports";
import { failures, renderJson, renderTable } from "../check/report";
import { checkTurn } from "../check/turn";
import { checkWeb } from "../check/web";
import { checkXmpp } from "../check/xmpp";
import { buildModel } from "../model/model";
import { ipFamily } from "../model/net";
import { isHostname } from "../model/shapes";
import { loadConfig, readStackFile } from "../model/source";
import { ConfigError } from "../model/validate";

const USAGE = `usage: npm run check -- [--stack NAME | --config FILE] [--vps-ipv4 A] [--vps-ipv6 A]
  [--resolver ADDR] [--ca FILE] [--json] [--timeout SECONDS]
  [--turn-secret-from-stack | --turn-secret-env VAR] [--account JID --password-env VAR]
  [--allow-documentation-addresses]`;

function usage(message: string): never {
  process.stderr.write(`check: ${message}\n${USAGE}\n`);
  process.exit(2);
}

/** `pulumi` with the stack selected; its errors name the command, never a secret. */
function pulumi(args: string[], stack: string): string {
  try {
    return execFileSync("pulumi", [...args, "--stack", stack], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    usage(`pulumi ${args.filter((a) => a !== "--show-secrets").join(" ")} --stack ${stack} failed: ${(err.stderr ?? err.message).trim().split("\n").slice(-2).join(" ")}`);
  }
}

async function main() {
  let a;
  try {
    a = parseArgs({
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
    usage((e as Error).message);
  }
  if (a.help) {
    process.stdout.write(USAGE + "\n");
    return;
  }
  if (a.stack && a.config) usage("--stack and --config exclude each other");
  if (a.stack !== undefined && !/^[A-Za-z0-9._/-]{1,100}$/.test(a.stack)) usage(`--stack ${JSON.stringify(a.stack)}: expected a stack name (letters, digits, . _ - /)`);
  const stack = a.stack ?? "prod";
  const root = path.resolve(__dirname, "..");
  const configFile = a.config ?? path.join(root, `Pulumi.${stack.split("/").pop()}.yaml`);
  for (const [flag, family] of [["vps-ipv4", 4], ["vps-ipv6", 6]] as const) {
    const v = a[flag];
    if (v !== undefined && ipFamily(v) !== family) usage(`--${flag}: ${JSON.stringify(v)} is not an IPv${family} address`);
  }
  if (a.resolver !== undefined && !isResolverAddress(a.resolver)) {
    usage(`--resolver ${JSON.stringify(a.resolver)}: expected an IP address, ADDR4:PORT or [ADDR6]:PORT`);
  }
  const timeout = Number(a.timeout);
  if (!Number.isFinite(timeout) || timeout < 0.5 || timeout > 30) usage(`--timeout ${JSON.stringify(a.timeout)}: expected seconds between 0.5 and 30`);
  if (a["turn-secret-from-stack"] && a["turn-secret-env"]) usage("--turn-secret-from-stack and --turn-secret-env exclude each other");
  if ((a.account === undefined) !== (a["password-env"] === undefined)) usage("--account and --password-env go together");
  if (a.account !== undefined) {
    const [local, domain, ...rest] = a.account.split("@");
    if (!local || !domain || rest.length || !isHostname(domain) || /[\s"&'/:<>@]/.test(local)) usage(`--account ${JSON.stringify(a.account)}: expected a bare JID, user@domain`);
  }

  let model;
  try {
    model = buildModel(loadConfig(readStackFile(configFile)));
  } catch (e) {
    usage(e instanceof ConfigError ? `${configFile}: ${e.message}` : (e as Error).message);
  }
  const c = model.config;

  // The edges' addresses: flags (one edge), else the stack's outputs (--stack), else the existing hosts'.
  let edges: EdgeAddresses[] | undefined;
  const several = c.edges.length > 1;
  if (a["vps-ipv4"]) {
    if (several) usage(`--vps-ipv4 names one edge, and the stack has ${c.edges.length} (edges); pass --stack NAME (reads its edges output), or give every edge an existingHost`);
    edges = [{ ipv4: a["vps-ipv4"], ipv6: a["vps-ipv6"] }];
  } else if (a.stack) {
    const out = JSON.parse(pulumi(["stack", "output", "--json"], stack)) as { vpsIPv4?: string; vpsIPv6?: string; edges?: { ipv4?: string; ipv6?: string | null }[] };
    const listed = several ? out.edges : [{ ipv4: out.vpsIPv4, ipv6: out.vpsIPv6 }];
    if (!listed || listed.length !== c.edges.length || listed.some((e) => !e.ipv4 || ipFamily(e.ipv4) !== 4)) usage(`stack ${stack} has no ${several ? `edges output with ${c.edges.length} edges` : "vpsIPv4 output"} (deployed?)`);
    edges = listed.map((e) => ({ ipv4: e.ipv4!, ipv6: e.ipv6 && ipFamily(e.ipv6) === 6 ? e.ipv6 : undefined }));
  } else if (c.edges.every((e) => e.existingHost?.ipv4)) edges = c.edges.map((e) => ({ ipv4: e.existingHost!.ipv4, ipv6: e.existingHost!.ipv6 }));
  if (!edges) usage(several ? "the edges' addresses are unknown: pass --stack NAME (reads its edges output)" : "the edge's addresses are unknown: pass --stack NAME (reads its outputs) or --vps-ipv4 (and --vps-ipv6)");

  const envValue = (flag: string, name: string | undefined): string | undefined => {
    if (name === undefined) return undefined;
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) usage(`--${flag} ${JSON.stringify(name)}: expected an environment variable name`);
    const v = process.env[name];
    if (!v) usage(`--${flag} ${name}: the variable is unset or empty`);
    return v;
  };
  let turnSecret = envValue("turn-secret-env", a["turn-secret-env"]);
  if (a["turn-secret-from-stack"]) {
    if (!a.stack) usage("--turn-secret-from-stack needs --stack NAME");
    turnSecret = pulumi(["stack", "output", "turnSecret", "--show-secrets"], stack).trim();
    if (!turnSecret) usage(`stack ${stack} has no turnSecret output (deploy this version first)`);
  }
  const password = envValue("password-env", a["password-env"]);
  const ca = a.ca === undefined ? undefined : [...tls.rootCertificates, readCa(a.ca)];

  const expected = expectedFacts(model, edges!, { allowDocumentationAddresses: a["allow-documentation-addresses"] });
  const timeoutMs = timeout * 1000;
  const t0 = performance.now();
  const groups = await Promise.all([
    checkDns(expected, { resolver: a.resolver, timeoutMs }),
    ...expected.edges.flatMap((e) => [e.ipv4, e.ipv6].filter((x): x is string => x !== undefined)).map((host) =>
      checkXmpp(expected, host, { ca, timeoutMs, account: a.account && password ? { jid: a.account, password } : undefined })),
    checkTurn(expected, { secret: turnSecret, timeoutMs }),
    checkWeb(expected, { resolver: a.resolver, ca, timeoutMs }),
    checkPorts(expected, Math.min(timeoutMs, 3000)),
  ]);
  const results = groups.flat();
  const totalMs = performance.now() - t0;
  const target = { stack: a.config ? configFile : stack, edges: expected.edges };
  const text = a.json ? renderJson(results, totalMs, target) : renderTable(results, totalMs, process.stdout.columns || 160);
  // Exit once written: a probe's socket the server left half-open must not keep the run alive.
  process.stdout.write(text, () => process.exit(failures(results).length === 0 ? 0 : 1));
}

/** What dns.Resolver#setServers takes: an address, "a.b.c.d:port" or "[v6]:port". */
function isResolverAddress(text: string): boolean {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([\d.]+):(\d{1,5})$/.exec(text);
  if (m) return ipFamily(m[1]) !== undefined && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
  return ipFamily(text) !== undefined;
}

function readCa(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    usage(`--ca ${file}: ${(e as Error).message}`);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) usage(`--ca ${file}: not a PEM certificate file`);
  return text;
}

main().catch((e) => {
  process.stderr.write(`check: ${(e as Error).stack ?? e}\n`);
  process.exit(2);
});
