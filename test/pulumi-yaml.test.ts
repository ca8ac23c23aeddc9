import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { CONFIG_KEYS, PROJECT } from "../model/config";
import { readPulumiConfig } from "../model/source";
import { validateConfig } from "../model/validate";
import { pulumiConfigSchema, pulumiTemplate, TEMPLATE_KEYS } from "../scripts/gen-pulumi-yaml";

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

test("Pulumi.yaml is a Pulumi template whose questions come from the schema (regenerate with scripts/gen-pulumi-yaml.ts)", () => {
  const doc = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"));
  expect(doc.template).toEqual(pulumiTemplate());
  expect(Object.keys(doc.template.config)).toEqual(TEMPLATE_KEYS.map((k) => `${PROJECT}:${k}`));
  for (const key of TEMPLATE_KEYS) expect(CONFIG_KEYS).toContain(key);
  // Every key validation requires is asked: the schema's keys without a default that are not optional.
  for (const required of ["domain", "sshAllowFrom"]) expect(TEMPLATE_KEYS).toContain(required);
  expect(doc.template.config[`${PROJECT}:sshAllowFrom`].description).toContain("JSON list");
});

test("template answers, stored as Pulumi stores them (strings), pass the program's validation", () => {
  // pulumi new saves each answer as a string; the program reads list keys from JSON text.
  const answers: Record<string, string> = {
    [`${PROJECT}:domain`]: "chat.example.org",
    [`${PROJECT}:zone`]: "example.org",
    [`${PROJECT}:homeTailnetIPv4`]: "100.70.1.2",
    [`${PROJECT}:sshAllowFrom`]: '["198.51.100.0/24"]',
    [`${PROJECT}:webHostnames`]: "[]",
  };
  const c = validateConfig(readPulumiConfig(answers));
  expect(c.domain).toBe("chat.example.org");
  expect(c.ssh).toEqual({ mode: "public", from: ["198.51.100.0/24"] });
  // A bare CIDR where JSON is expected is refused with the key named, not taken for a list.
  expect(() => validateConfig(readPulumiConfig({ ...answers, [`${PROJECT}:sshAllowFrom`]: "198.51.100.0/24" }))).toThrow(/xmpp-edge:sshAllowFrom/);
});
