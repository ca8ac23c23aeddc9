import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { CONFIG_KEYS } from "../model/config";
import { pulumiConfigSchema } from "../scripts/gen-pulumi-yaml";

test("Pulumi.yaml declares the schema's keys, types and defaults (regenerate with scripts/gen-pulumi-yaml.ts)", () => {
  const doc = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"));
  expect(doc.name).toBe("xmpp-edge");
  expect(doc.config).toEqual(pulumiConfigSchema());
  // Only the object-valued keys stay undeclared.
  expect(CONFIG_KEYS.filter((k) => !(k in doc.config)).sort()).toEqual(["existingHost", "extraForwards"]);
});
