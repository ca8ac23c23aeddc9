import * as path from "node:path";
import { sh, VARIANTS, writePlan } from "./helpers";

test.each(Object.entries({ ...VARIANTS, headscale: { tailscaleLoginServer: "https://hs.example.com", tailscaleAuthKey: { secure: "x" } } }))(
  "cloud-init schema accepts the user-data of: %s",
  (_name, overrides) => {
    const file = path.join(writePlan(overrides), "cloud-init.yaml");
    const r = sh(`cloud-init schema --config-file ${file}`);
    expect(r.out).toContain("Valid cloud-config");
    expect(r.status).toBe(0);
  },
);

test("the join script is valid sh", () => {
  const dir = writePlan({});
  const r = sh(`python3 -c "import yaml,sys; d=yaml.safe_load(open('${dir}/cloud-init.yaml')); print([f['content'] for f in d['write_files'] if f['path'].endswith('xmpp-edge-join')][0])" > ${dir}/join.sh && sh -n ${dir}/join.sh && echo ok`);
  expect(r.out.trim()).toBe("ok");
});
