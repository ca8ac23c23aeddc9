// Where raw config comes from: a Pulumi.<stack>.yaml file (the offline plan)
// or the Pulumi engine (the program). Both yield the same plain object for
// validateConfig, so the plan and `pulumi up` judge config identically.
import * as fs from "node:fs";
import * as YAML from "yaml";
import { CONFIG_KEYS, isStructuredKey, PROJECT_NAME, SECRET_KEYS } from "./config";

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
    if (!key.startsWith(`${PROJECT_NAME}:`)) continue; // provider keys (hcloud:token, …) are not ours
    raw[key.slice(PROJECT_NAME.length + 1)] = value;
  }
  return raw;
}

/**
 * Reads our keys from the engine's config (pulumi.runtime.allConfig():
 * "xmpp-edge:key" -> string). Structured values arrive as JSON text. Secrets
 * are only noted as present (`true`): their values are read as Outputs
 * elsewhere and never enter the model. Unknown keys of our namespace are
 * kept, so validation reports typos exactly as the plan does.
 */
export function readPulumiConfig(all: Record<string, string>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [full, text] of Object.entries(all)) {
    if (!full.startsWith(`${PROJECT_NAME}:`)) continue;
    const key = full.slice(PROJECT_NAME.length + 1);
    if ((SECRET_KEYS as readonly string[]).includes(key)) raw[key] = true;
    else raw[key] = (CONFIG_KEYS as string[]).includes(key) && !isStructuredKey(key) ? text : parseJsonOrKeep(text);
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
