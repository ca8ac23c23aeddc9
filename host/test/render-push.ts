// Renders a lab stack config into what host/test/run.sh feeds the lab host:
//   OUT/bundle/<absolute path>  the bundle tree, with the modes the push sets
//   OUT/push-<T>.sh             the real push script (render/push.ts) that
//                               stages the bundle and runs its xmpp-edge-apply
//                               with --confirm-timeout T
// usage: tsx host/test/render-push.ts --config FILE --out DIR [--timeouts 0,3,120]
//        [--vps-ipv4 A] [--vps-ipv6 A]
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { readStackFile } from "../../model/source";
import { APPLY_PATH, MANIFEST_PATH } from "../../render/bundle";
import { makePlan } from "../../render/plan";
import { renderPushScript } from "../../render/push";

const { values } = parseArgs({
  options: {
    config: { type: "string" },
    out: { type: "string" },
    timeouts: { type: "string", default: "120" },
    "vps-ipv4": { type: "string" },
    "vps-ipv6": { type: "string" },
  },
});
if (!values.config || !values.out) {
  process.stderr.write("usage: tsx host/test/render-push.ts --config FILE --out DIR [--timeouts 0,3,120] [--vps-ipv4 A] [--vps-ipv6 A]\n");
  process.exit(2);
}

const plan = makePlan(readStackFile(values.config), { vpsIPv4: values["vps-ipv4"], vpsIPv6: values["vps-ipv6"] });
const bundle = plan.bundle;
if (!bundle[APPLY_PATH] || !bundle[MANIFEST_PATH].content.includes(` ${APPLY_PATH}\n`)) {
  process.stderr.write(`the bundle does not carry ${APPLY_PATH} (render/bundle.ts)\n`);
  process.exit(1);
}

const out = path.resolve(values.out);
fs.rmSync(out, { recursive: true, force: true });
for (const [file, f] of Object.entries(bundle)) {
  const target = path.join(out, "bundle", file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, f.content, { mode: parseInt(f.mode, 8) });
  fs.chmodSync(target, parseInt(f.mode, 8));
}
for (const t of values.timeouts.split(",")) {
  fs.writeFileSync(path.join(out, `push-${t}.sh`), renderPushScript(bundle, Number(t)));
}
process.stdout.write(`rendered ${values.config} into ${out}: ${Object.keys(bundle).length} files\n`);
