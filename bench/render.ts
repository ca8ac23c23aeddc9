// Renders what the bench pushes, with the repository's own renderers and
// exactly the push the Pulumi program sends (components/push.ts:
// renderPushScript(renderVpsBundle(model, facts, secret)) on the stdin of one
// SSH session running PUSH_COMMAND, then CONFIRM_COMMAND over a second one):
//   OUT/push.sh  OUT/push-command  OUT/confirm-command  OUT/remove-command
//   OUT/bundle/<path>   the bundle tree
//   OUT/sizes.json      stdin bytes and the bytes of every bundle file
// usage: tsx bench/render.ts --config FILE --out DIR --vps-ipv4 A --vps-ipv6 A
//          --vps-tailnet-ipv4 A --turn-secret S [--set KEY=JSON]...
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { readStackFile } from "../model/source";
import { renderVpsBundle } from "../render/bundle";
import { makePlan } from "../render/plan";
import { CONFIRM_COMMAND, PUSH_COMMAND, REMOVE_COMMAND, renderPushScript } from "../render/push";

const { values } = parseArgs({
  options: {
    config: { type: "string" },
    out: { type: "string" },
    "vps-ipv4": { type: "string" },
    "vps-ipv6": { type: "string" },
    "vps-tailnet-ipv4": { type: "string" },
    "turn-secret": { type: "string" },
    set: { type: "string", multiple: true, default: [] },
  },
});
for (const k of ["config", "out", "vps-ipv4", "vps-ipv6", "vps-tailnet-ipv4", "turn-secret"] as const) {
  if (!values[k]) {
    process.stderr.write(`usage: tsx bench/render.ts --config FILE --out DIR --vps-ipv4 A --vps-ipv6 A --vps-tailnet-ipv4 A --turn-secret S [--set KEY=JSON]...\nmissing --${k}\n`);
    process.exit(2);
  }
}
const raw = readStackFile(values.config!);
for (const s of values.set ?? []) {
  const eq = s.indexOf("=");
  if (eq < 1) {
    process.stderr.write(`--set ${s}: expected KEY=JSON\n`);
    process.exit(2);
  }
  raw[s.slice(0, eq)] = JSON.parse(s.slice(eq + 1));
}
const plan = makePlan(raw, { vpsIPv4: values["vps-ipv4"], vpsIPv6: values["vps-ipv6"] });
const facts = { ...plan.facts, vpsTailnetIPv4: values["vps-tailnet-ipv4"] };
const bundle = renderVpsBundle(plan.model, facts, values["turn-secret"]);
const script = renderPushScript(bundle);

const out = path.resolve(values.out!);
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const files: Record<string, number> = {};
for (const [file, f] of Object.entries(bundle)) {
  const target = path.join(out, "bundle", file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, f.content);
  files[file] = Buffer.byteLength(f.content, "utf8");
}
fs.writeFileSync(path.join(out, "push.sh"), script);
fs.writeFileSync(path.join(out, "push-command"), PUSH_COMMAND);
fs.writeFileSync(path.join(out, "confirm-command"), CONFIRM_COMMAND);
fs.writeFileSync(path.join(out, "remove-command"), REMOVE_COMMAND);
fs.writeFileSync(path.join(out, "sizes.json"), JSON.stringify({ stdinBytes: Buffer.byteLength(script, "utf8"), files }, null, 2) + "\n");
process.stdout.write(`rendered ${values.config} into ${out}: ${Object.keys(bundle).length} files, ${Buffer.byteLength(script, "utf8")} bytes of stdin\n`);
