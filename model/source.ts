// Where raw config comes from: a Pulumi.<stack>.yaml file (the offline plan)
// or the Pulumi engine (the program). Both yield the same plain object for
// validateConfig, so the plan and `pulumi up` judge config identically.
import * as fs from "node:fs";
import * as YAML from "yaml";
import { CONFIG_KEYS, isStructuredKey, PROJECT } from "./config";

/** Reads the `xmpp-edge:` keys of a stack file; secure values stay opaque (`{secure: …}`). */
export function readStackFile(path: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`cannot read stack config ${path}: ${(e as Error).message}`);
  }
  const config = (doc as { config?: Record<string, unknown> } | null)?.config ?? {};
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (!key.startsWith(`${PROJECT}:`)) continue; // provider keys (hcloud:token, …) are not ours
    raw[key.slice(PROJECT.length + 1)] = value;
  }
  return raw;
}

/**
 * Reads our keys through a `get(key)` that returns Pulumi's string form
 * (pulumi.Config.get). Structured values arrive as JSON text; secrets are
 * only noted as present (`true`), their values are read as Outputs elsewhere.
 */
export function readPulumiConfig(get: (key: string) => string | undefined, isSecret: (key: string) => boolean): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    if (isSecret(key)) continue;
    const text = get(key);
    if (text === undefined) continue;
    raw[key] = isStructuredKey(key) ? parseJsonOrKeep(text) : text;
  }
  return raw;
}

function parseJsonOrKeep(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // validation then reports the key with this text as the bad value
  }
}
