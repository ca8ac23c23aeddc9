// Where raw config comes from: a Pulumi.<stack>.yaml file (the offline plan)
// or the Pulumi engine (the program). Both are first put into the form
// Pulumi hands a program (each key's text, JSON for structured values, and
// whether it is a secret); then one function, rawConfig, turns that into the
// input validateConfig sees. So the plan and `pulumi up` judge the same
// stack file the same way, down to the words of the errors.
import * as fs from "node:fs";
import * as YAML from "yaml";
import { CONFIG_KEYS, isSecretKey, isStructuredKey, plainSecretMessage, PROJECT, SECRET_KEYS, SECRET_SET, type EdgeConfig, type Problem } from "./config";
import { validateConfig } from "./validate";

/** One stack config value as the engine gives it to a program. A secret the plan cannot decrypt has no text. */
export interface StackValue {
  text: string | undefined;
  secret: boolean;
}

/** A stack's config by full key ("xmpp-edge:domain", "hcloud:token"), and what was wrong with the file itself. */
export interface StackConfig {
  values: Map<string, StackValue>;
  problems: Problem[];
}

export function isStackConfig(input: unknown): input is StackConfig {
  return typeof input === "object" && input !== null && (input as StackConfig).values instanceof Map && Array.isArray((input as StackConfig).problems);
}

/** Object keys that would reach an object's prototype instead of the object. */
export const FORBIDDEN_KEYS: readonly string[] = ["__proto__", "constructor", "prototype"];

/**
 * Reads a stack file into the engine's form: a top-level scalar is its text
 * as written (Pulumi passes `false` and `"false"` alike as the text false), a
 * list or map is JSON, and a `secure:` value (or one nested in a structure,
 * which makes the whole key secret in Pulumi) is a secret without text.
 */
export function readStackFile(path: string): StackConfig {
  let doc: YAML.Document;
  try {
    doc = YAML.parseDocument(fs.readFileSync(path, "utf8"));
    if (doc.errors.length > 0) throw doc.errors[0];
  } catch (e) {
    throw new Error(`cannot read stack config ${path}: ${(e as Error).message}`);
  }
  const values = new Map<string, StackValue>();
  const problems: Problem[] = [];
  const config = doc.get("config", true);
  if (config === undefined || config === null || (YAML.isScalar(config) && config.value === null)) return { values, problems };
  if (!YAML.isMap(config)) throw new Error(`cannot read stack config ${path}: "config" is not a map of keys to values`);
  for (const pair of config.items) {
    const key = YAML.isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (!key.includes(":")) {
      // Pulumi refuses such a file; the plan must not quietly drop the key instead.
      problems.push({ key, message: `is not namespaced; configuration keys are "namespace:name", so write ${PROJECT}:${key} (or a provider's, e.g. hcloud:token)` });
      continue;
    }
    const node = pair.value;
    if (hasSecure(node)) values.set(key, { text: undefined, secret: true });
    else if (node === null || YAML.isScalar(node)) values.set(key, { text: node === null ? "" : scalarText(node), secret: false });
    else values.set(key, { text: JSON.stringify((node as YAML.Node).toJS(doc)), secret: false });
  }
  return { values, problems };
}

function scalarText(node: YAML.Scalar): string {
  return typeof node.source === "string" ? node.source : String(node.value ?? "");
}

function hasSecure(node: unknown): boolean {
  if (YAML.isMap(node)) {
    if (node.items.length === 1 && YAML.isScalar(node.items[0].key) && node.items[0].key.value === "secure") return true;
    return node.items.some((p) => hasSecure(p.value));
  }
  if (YAML.isSeq(node)) return node.items.some(hasSecure);
  return false;
}

/**
 * The engine's config (pulumi.runtime.allConfig(): "xmpp-edge:key" -> text)
 * with each key's secret flag (the stack file's `secure:` values, decrypted
 * by the engine, are listed as secret keys).
 */
export function readEngineConfig(all: Record<string, string>, isSecret: (fullKey: string) => boolean): StackConfig {
  const values = new Map<string, StackValue>();
  for (const [key, text] of Object.entries(all)) values.set(key, { text, secret: isSecret(key) });
  return { values, problems: [] };
}

/**
 * The one reader: a stack's config to the raw input of validateConfig, and
 * the problems found on the way (keys named, values never echoed for
 * secrets). The raw object has no prototype, and keys that would reach one
 * are refused, so no key can change what another means.
 */
export function rawConfig(stack: StackConfig): { raw: Record<string, unknown>; problems: Problem[] } {
  const raw: Record<string, unknown> = Object.create(null);
  const problems: Problem[] = [...stack.problems];
  for (const [full, value] of stack.values) {
    const colon = full.indexOf(":");
    if (full.slice(0, colon) !== PROJECT) continue; // provider keys (hcloud:token, …) are not ours
    const key = full.slice(colon + 1);
    if (FORBIDDEN_KEYS.includes(key)) {
      problems.push({ key, message: `is not a configuration key and is refused (it would reach the config object's prototype)` });
      continue;
    }
    if (isSecretKey(key)) {
      if (value.secret) raw[key] = SECRET_SET;
      else problems.push({ key, message: plainSecretMessage(key) });
      continue;
    }
    if (value.secret) {
      problems.push({ key, message: `is encrypted, but only ${SECRET_KEYS.join(", ")} are secrets; the plan cannot check an encrypted value, so store it in plain text: pulumi config set ${PROJECT}:${key} VALUE` });
      continue;
    }
    const text = value.text ?? "";
    const parsed = (CONFIG_KEYS as string[]).includes(key) && !isStructuredKey(key) ? text : parseJsonOrKeep(text);
    const polluting = forbiddenKeyPath(parsed, key);
    if (polluting) {
      problems.push({ key: polluting, message: `${JSON.stringify(polluting.split(".").pop())} is not allowed as a key (it would reach the object's prototype and change what the config means)` });
      continue;
    }
    raw[key] = parsed;
  }
  return { raw, problems };
}

/** Reads and validates a stack's config: one ConfigError for every problem, the reader's and validation's. */
export function loadConfig(stack: StackConfig): EdgeConfig {
  const { raw, problems } = rawConfig(stack);
  return validateConfig(raw, problems);
}

function parseJsonOrKeep(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // validation then reports the key with this text as the bad value
  }
}

/** The path ("existingHost.__proto__") of the first key anywhere in value that would reach a prototype. */
function forbiddenKeyPath(value: unknown, path: string): string | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = forbiddenKeyPath(value[i], `${path}[${i}]`);
      if (found) return found;
    }
  } else if (value !== null && typeof value === "object") {
    for (const k of Object.keys(value)) {
      if (FORBIDDEN_KEYS.includes(k)) return `${path}.${k}`;
      const found = forbiddenKeyPath((value as Record<string, unknown>)[k], `${path}.${k}`);
      if (found) return found;
    }
  }
  return undefined;
}
