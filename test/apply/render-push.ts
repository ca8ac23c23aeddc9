// Renders a lab stack config into what test/apply/run.sh feeds the lab host:
//   OUT/bundle/<absolute path>  the bundle tree, with the modes the push sets
//   OUT/push-<T>.sh             the real push script (render/push.ts) that
//                               stages the bundle and runs its xmpp-edge-apply
//                               with --confirm-timeout T
// usage: tsx test/apply/render-push.ts --config FILE --out DIR [--timeouts 0,3,120]
//        [--vps-ipv4 A] [--vps-ipv6 A]
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { readStackFile } from "../../model/source";
import { MANIFEST_PATH, renderManifest } from "../../render/bundle";
import { makePlan } from "../../render/plan";
import { APPLY_PATH, renderPushScript } from "../../render/push";

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
  process.stderr.write("usage: tsx test/apply/render-push.ts --config FILE --out DIR [--timeouts 0,3,120] [--vps-ipv4 A] [--vps-ipv6 A]\n");
  process.exit(2);
}

const plan = makePlan(readStackFile(values.config), { vpsIPv4: values["vps-ipv4"], vpsIPv6: values["vps-ipv6"] });
const bundle = { ...plan.bundle };
// Until the bundle carries the apply script itself, add the working copy the
// way the bundle will (a 0755 file listed in the manifest).
if (!bundle[APPLY_PATH]) {
  const script = fs.readFileSync(path.join(__dirname, "../../scripts/vps/xmpp-edge-apply"), "utf8");
  bundle[APPLY_PATH] = { content: script, mode: "0755" };
  const { [MANIFEST_PATH]: _old, ...files } = bundle;
  bundle[MANIFEST_PATH] = { content: renderManifest(files), mode: "0644" };
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
