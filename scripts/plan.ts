// npm run plan -- [--stack NAME | --config FILE] [--out DIR] [--vps-ipv4 A] [--vps-ipv6 A] [--home-ipv4 A]
// Validates the stack config and writes the offline plan. On invalid config
// it writes nothing, prints every problem and exits 1.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ipFamily } from "../model/net";
import { readStackFile } from "../model/source";
import { ConfigError } from "../model/validate";
import { makePlan } from "../render/plan";

const USAGE = "usage: npm run plan -- [--stack NAME | --config FILE] [--out DIR] [--vps-ipv4 A] [--vps-ipv6 A] [--home-ipv4 A]";

function fail(message: string): never {
  process.stderr.write(message + "\n");
  process.exit(1);
}

function main() {
  let args;
  try {
    args = parseArgs({
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
    fail(`${(e as Error).message}\n${USAGE}`);
  }
  if (args.help) {
    process.stdout.write(USAGE + "\n");
    return;
  }
  if (args.stack && args.config) fail(`--stack and --config exclude each other\n${USAGE}`);
  for (const [flag, family] of [["vps-ipv4", 4], ["vps-ipv6", 6], ["home-ipv4", 4]] as const) {
    const v = args[flag];
    if (v !== undefined && ipFamily(v) !== family) fail(`--${flag}: ${JSON.stringify(v)} is not an IPv${family} address`);
  }
  const root = path.resolve(__dirname, "..");
  const stack = args.stack ?? "prod";
  const configFile = args.config ?? path.join(root, `Pulumi.${stack}.yaml`);
  const name = args.config ? path.basename(configFile).replace(/^Pulumi\.|\.ya?ml$/g, "") : stack;
  const outDir = path.resolve(args.out ?? path.join("out", name));

  let plan;
  try {
    plan = makePlan(readStackFile(configFile), { vpsIPv4: args["vps-ipv4"], vpsIPv6: args["vps-ipv6"], homeIPv4: args["home-ipv4"] });
  } catch (e) {
    fail(e instanceof ConfigError ? `${configFile}: ${e.message}` : (e as Error).message);
  }

  // Render next to the target, then swap: a failed write never leaves half a plan.
  fs.mkdirSync(path.dirname(outDir), { recursive: true });
  const tmp = fs.mkdtempSync(`${outDir}.tmp-`);
  for (const [rel, content] of Object.entries(plan.files)) {
    const file = path.join(tmp, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const mode = rel.startsWith("vps/") ? plan.bundle[rel.slice(3)].mode : "0644";
    fs.writeFileSync(file, content, { mode: parseInt(mode, 8) });
  }
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.renameSync(tmp, outDir);
  const ports = plan.model.services.length;
  process.stdout.write(`plan for ${plan.model.config.domain} written to ${outDir}: ${Object.keys(plan.files).length} files, ${ports} services; see ${path.join(outDir, "PLAN.md")}\n`);
}

main();
