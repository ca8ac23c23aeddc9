import { sh, writePlan } from "./helpers";

// The schema of every variant, by each release's cloud-init: releases.test.ts.

test("the join script is valid sh", () => {
  const dir = writePlan({});
  const r = sh(`python3 -c "import yaml,sys; d=yaml.safe_load(open('${dir}/cloud-init.yaml')); print([f['content'] for f in d['write_files'] if f['path'].endswith('xmpp-edge-join')][0])" > ${dir}/join.sh && sh -n ${dir}/join.sh && echo ok`);
  expect(r.out.trim()).toBe("ok");
});
