import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { CONFIG_KEYS } from "../model/config";
import { pulumiConfigSchema } from "../scripts/gen-pulumi-yaml";

test("Pulumi.yaml declares the schema's keys, types and defaults (regenerate with scripts/gen-pulumi-yaml.ts)", () => {
  const doc = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"));
  expect(doc.name).toBe("xmpp-edge");
  expect(doc.config).toEqual(pulumiConfigSchema());
  // Undeclared: object-valued keys (no schema type) and optional keys without
  // a default (the CLI treats every declared key without a default as required).
  expect(CONFIG_KEYS.filter((k) => !(k in doc.config)).sort()).toEqual([
    "cloudflareZoneId", "existingHost", "extraForwards", "homeTailnetHostname", "homeTailnetIPv4", "homeTailnetIPv6",
    "sshPrivateKey", "sshPublicKey", "tailscaleAuthKey", "tailscaleLoginServer", "turnSecret", "xmppHost", "zone",
  ]);
  for (const [key, decl] of Object.entries(doc.config as Record<string, { default?: unknown }>)) {
    expect([key, decl.default !== undefined || ["domain", "sshAllowFrom"].includes(key)]).toEqual([key, true]);
  }
});
