// npm run plan -- [--stack NAME | --config FILE] [--out DIR] [--vps-ipv4 A] [--vps-ipv6 A] [--home-ipv4 A]
// Validates the stack config and writes the offline plan. On invalid config
// it writes nothing, prints every problem and exits 1. runPlan is the whole
// command, callable in-process (test/model/bad-inputs.test.ts runs it a few
// hundred times); the last line runs it as a script.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ipFamily } from "../model/net";
import { readStackFile } from "../model/source";
import { ConfigError } from "../model/validate";
import { makePlan } from "../render/plan";
import { outDirProblem, PLAN_MARKER, replacePlanDir } from "./plan-out";

const ROOT = path.resolve(__dirname, "..");

const USAGE = "usage: npm run plan -- [--stack NAME | --config FILE] [--out DIR] [--vps-ipv4 A] [--vps-ipv6 A] [--home-ipv4 A]";

const HELP = `${USAGE}

Checks a stack's config (every xmpp-edge: key of a Pulumi.<stack>.yaml) and
writes the offline plan: PLAN.md (what goes where, and why), the VPS's files
(nginx, nftables, coturn, cloud-init), the DNS records, the firewall rules and
the home snippets. Nothing is deployed and no account is needed. Invalid
config writes nothing: every problem is printed, naming its key, and the
command exits 1.

  --stack NAME      the stack file Pulumi.NAME.yaml in the repository (default: prod)
  --config FILE     a stack file anywhere, instead of --stack; a relative path is
                    taken from the directory you run the command in
  --out DIR         where the plan goes (default: out/NAME); replaced as a whole,
                    and only when the config is valid. DIR must be new, empty, or
                    an earlier plan (it holds the plan's ${PLAN_MARKER} file); never the
                    repository, your home directory, or a directory holding either
  --vps-ipv4 A      the VPS's public IPv4 address, once it exists (default: the
                    documentation address 192.0.2.10, or existingHost's)
  --vps-ipv6 A      the VPS's public IPv6 address (default: 2001:db8::10, or existingHost's)
  --home-ipv4 A     the home server's tailnet IPv4, when the config names it only
                    by homeTailnetHostname (looked up at deploy; default 100.64.0.1);
                    it appears in the DNAT rules and the tailnet ACL snippet
  -h, --help        this text

Secrets (tailscaleAuthKey, sshPrivateKey, turnSecret) must be encrypted in the
stack file (pulumi config set --secret); the plan only notes that they are set.`;

export interface PlanIo {
  /** Where relative paths are taken from: the caller's directory (npm sets INIT_CWD to it). */
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** The plan command: returns its exit code. */
export function runPlan(argv: string[], io: PlanIo): number {
  const fail = (message: string) => {
    io.stderr(message + "\n");
    return 1;
  };
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        stack: { type: "string" },
        config: { type: "string" },
        out: { type: "string" },
        "vps-ipv4": { type: "string" },
        "vps-ipv6": { type: "string" },
        "home-ipv4": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    return fail(`${(e as Error).message}\n${USAGE}\n(npm run plan -- --help explains each flag)`);
  }
  if (args.help) {
    io.stdout(HELP + "\n");
    return 0;
  }
  if (args.stack && args.config) return fail(`--stack and --config exclude each other\n${USAGE}`);
  for (const [flag, family] of [["vps-ipv4", 4], ["vps-ipv6", 6], ["home-ipv4", 4]] as const) {
    const v = args[flag];
    if (v !== undefined && ipFamily(v) !== family) return fail(`--${flag}: ${JSON.stringify(v)} is not an IPv${family} address`);
  }
  const stack = args.stack ?? "prod";
  if (args.config === undefined) {
    const stacks = existingStacks();
    if (!/^[A-Za-z0-9._-]+$/.test(stack) || !stacks.includes(stack)) {
      return fail(`--stack ${JSON.stringify(stack)}: there is no ${path.join(ROOT, `Pulumi.${stack}.yaml`)}; the stacks here are: ${stacks.join(", ") || "(none)"}; or give a file with --config FILE`);
    }
  }
  const configFile = args.config !== undefined ? path.resolve(io.cwd, args.config) : path.join(ROOT, `Pulumi.${stack}.yaml`);
  const name = args.config !== undefined ? path.basename(configFile).replace(/^Pulumi\.|\.ya?ml$/g, "") : stack;
  const outDir = path.resolve(io.cwd, args.out ?? path.join("out", name));

  let plan;
  try {
    if (args.config !== undefined && !fs.existsSync(configFile)) return fail(`--config: ${configFile} does not exist`);
    plan = makePlan(readStackFile(configFile), { vpsIPv4: args["vps-ipv4"], vpsIPv6: args["vps-ipv6"], homeIPv4: args["home-ipv4"] });
  } catch (e) {
    return fail(e instanceof ConfigError ? `${configFile}: ${e.message}` : (e as Error).message);
  }

  const refused = outDirProblem(outDir, { repository: ROOT, home: os.homedir() });
  if (refused) return fail(refused);
  replacePlanDir(outDir, plan.files, plan.modes);
  const ports = plan.model.services.length;
  io.stdout(`plan for ${plan.model.config.domain} written to ${outDir}: ${Object.keys(plan.files).length} files, ${ports} services; see ${path.join(outDir, "PLAN.md")}\n`);
  return 0;
}

/** The stacks with a Pulumi.<name>.yaml in the repository. */
function existingStacks(): string[] {
  return fs.readdirSync(ROOT).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []).sort();
}

if (require.main === module) {
  process.exitCode = runPlan(process.argv.slice(2), {
    cwd: process.env.INIT_CWD ?? process.cwd(),
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  });
}
