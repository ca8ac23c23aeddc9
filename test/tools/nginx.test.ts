// nginx -t on the rendered nginx.conf, bind-mounted over /etc/nginx/nginx.conf
// in a private mount namespace: exactly the file the VPS will read, where it reads it.
import * as path from "node:path";
import { requireRoot, sh, VARIANTS, writePlan } from "./helpers";

beforeAll(requireRoot);

test.each(Object.entries(VARIANTS))("nginx -t accepts the nginx.conf of: %s", (_name, overrides) => {
  const conf = path.join(writePlan(overrides), "vps/etc/nginx/nginx.conf");
  const r = sh(`unshare -m --propagation private bash -c 'mount --bind ${conf} /etc/nginx/nginx.conf && nginx -t'`);
  expect(r.out).toContain("syntax is ok");
  expect(r.out).toContain("test is successful");
  expect(r.status).toBe(0);
});

test("nginx -t catches a broken file (the check can fail)", () => {
  const conf = path.join(writePlan({}), "vps/etc/nginx/nginx.conf");
  const r = sh(`sed -i 's/ssl_preread on;/ssl_preread maybe;/' ${conf} && nginx -t -c ${conf}`);
  expect(r.status).not.toBe(0);
  expect(r.out).toMatch(/invalid value "maybe"/);
});
