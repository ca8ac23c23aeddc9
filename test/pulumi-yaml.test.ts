import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { CONFIG_KEYS, PROJECT_NAME } from "../model/config";
import { loadConfig, readEngineConfig } from "../model/source";
import { pulumiConfigSchema, pulumiTemplate, TEMPLATE_KEYS } from "../scripts/gen-pulumi-yaml";

test("Pulumi.yaml declares the schema's keys, types and defaults (regenerate with scripts/gen-pulumi-yaml.ts)", () => {
  const doc = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"));
  expect(doc.name).toBe("xmpp-edge");
  expect(doc.config).toEqual(pulumiConfigSchema());
  // Undeclared: object-valued keys (no schema type) and optional keys without
  // a default (the CLI treats every declared key without a default as required).
  expect(CONFIG_KEYS.filter((k) => !(k in doc.config)).sort()).toEqual([
    "cloudflareZoneId", "edges", "existingHost", "extraForwards", "homeTailnetHostname", "homeTailnetIPv4", "homeTailnetIPv6",
    "sshPrivateKey", "sshPublicKey", "tailscaleAuthKey", "tailscaleLoginServer", "turnSecret", "turnTlsName", "xmppHost", "zone",
  ]);
  for (const [key, decl] of Object.entries(doc.config as Record<string, { default?: unknown }>)) {
    expect([key, decl.default !== undefined || ["domain", "sshAllowFrom"].includes(key)]).toEqual([key, true]);
  }
});

test("Pulumi.yaml is a Pulumi template whose questions come from the schema (regenerate with scripts/gen-pulumi-yaml.ts)", () => {
  const doc = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"));
  expect(doc.template).toEqual(pulumiTemplate());
  expect(Object.keys(doc.template.config)).toEqual(TEMPLATE_KEYS.map((k) => `${PROJECT_NAME}:${k}`));
  // Every required string key is asked; the required list key is given on the command line (README).
  expect(TEMPLATE_KEYS).toContain("domain");
  for (const key of TEMPLATE_KEYS) expect(CONFIG_KEYS).toContain(key);
});

test("template answers are strings: only string keys are asked (the CLI refuses a string for an array key)", () => {
  const declared = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")).config as Record<string, { type: string }>;
  for (const key of TEMPLATE_KEYS) expect([key, declared[key]?.type ?? "string"]).toEqual([key, "string"]);
  // What pulumi new stores (answers as strings, the list key by --config-path) passes the program's validation.
  const answers: Record<string, string> = {
    [`${PROJECT_NAME}:domain`]: "chat.example.org",
    [`${PROJECT_NAME}:zone`]: "example.org",
    [`${PROJECT_NAME}:homeTailnetIPv4`]: "100.70.1.2",
    [`${PROJECT_NAME}:sshAllowFrom`]: '["198.51.100.0/24"]', // how the engine hands a list to the program
  };
  const c = loadConfig(readEngineConfig(answers, () => false));
  expect(c.domain).toBe("chat.example.org");
  expect(c.ssh).toEqual({ mode: "public", from: ["198.51.100.0/24"] });
});

test("no file carries pulumi new's placeholders: it would replace them in the user's copy", () => {
  // pulumi new substitutes these tokens in every file it copies; in code, the
  // substitution left an import unused and the program failed to compile.
  const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: path.join(__dirname, ".."), encoding: "utf8" }).split("\0").filter(Boolean);
  const placeholder = new RegExp(["PROJECT", "DESCRIPTION"].map((w) => `\\$\\{${w}\\}`).join("|"));
  const offending = tracked.filter((f) => !/\.(png|jpg)$/.test(f) && fs.existsSync(path.join(__dirname, "..", f)) && placeholder.test(fs.readFileSync(path.join(__dirname, "..", f), "utf8")));
  expect(offending).toEqual([]);
  // The check sees a placeholder when there is one.
  expect(placeholder.test("`${" + "PROJECT}:key`")).toBe(true);
});
