import { makePlan } from "../render/plan";
import { readStackFile } from "../model/source";
import * as path from "node:path";

test("the example stack plans", () => {
  const plan = makePlan(readStackFile(path.join(__dirname, "..", "Pulumi.prod.yaml")));
  expect(Object.keys(plan.files)).toContain("vps/etc/nginx/nginx.conf");
});
