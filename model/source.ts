// Where raw config comes from: a Pulumi.<stack>.yaml file (the offline plan)
// or the Pulumi engine (the program). Both are first put into the form
// Pulumi hands a program (each key's text, JSON for structured values, and
// whether it is a secret); then one function, rawConfig, turns that into the
// input validateConfig sees. So the plan and `pulumi up` judge the same
// stack file the same way, down to the words of the errors.
import * as fs from "node:fs";
import * as YAML from "yaml";
import { CONFIG_KEYS, isSecretKey, isStructuredKey, plainSecretMessage, PROJECT_NAME, SECRET_KEYS, SECRET_SET, type EdgeConfig, type Problem, type SecretKey } from "./config";
import { hideUrlCredentials } from "./checks/report";
import { pulumiConfigSchema } from "./declared";
import { isStructuredText, structuredSecretMessage, turnSecretProblem } from "./secrets";
import { editDistance, nearest } from "./nearest";
import { validateConfig } from "./validate";

/** Pulumi.yaml's declarations, which the CLI enforces on every stack. */
const DECLARED = pulumiConfigSchema();

/**
 * One stack config value as the engine gives it to a program. A secret the
 * plan cannot decrypt has no text. `object`: the stack file held a list or a
 * map (known for a file; the engine's text does not say, and the CLI has
 * checked Pulumi.yaml's declared types before the program runs).
 */
export interface StackValue {
  text: string | undefined;
  secret: boolean;
  object?: boolean;
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
 * Reads a stack file into the engine's form, as the Pulumi CLI does
 * (sdk/go/common/resource/config: object.MarshalString): a string is its
 * text, a boolean or number its JSON (`false` and `"false"` reach the program
 * alike), a list, map or null is JSON and marked as an object, and a
 * `secure:` value (or one nested in a structure, which makes the whole key
 * secret) is a secret without text. A key without a namespace is the
 * project's (workspace.parseConfigKey).
 */
export function readStackFile(path: string): StackConfig {
  let doc: YAML.Document;
  const lines = new YAML.LineCounter();
  try {
    doc = YAML.parseDocument(fs.readFileSync(path, "utf8"), { uniqueKeys: true, lineCounter: lines });
    const fatal = doc.errors.find((e) => e.code !== "DUPLICATE_KEY");
    if (fatal) throw fatal;
  } catch (e) {
    // The parser quotes the lines around the error: no URL's credentials from them.
    throw new Error(`cannot read stack config ${path}: ${hideUrlCredentials((e as Error).message)}`);
  }
  const values = new Map<string, StackValue>();
  const problems: Problem[] = [];
  // A key written twice: which one wins differs between YAML readers, so neither does here.
  for (const d of duplicateKeys(doc, lines)) {
    const [top, key, ...rest] = d.path;
    const where = `(lines ${d.lines.join(" and ")}); YAML keys must be unique: keep one`;
    if (top !== "config" || typeof key !== "string" || (key.includes(":") && !key.startsWith(`${PROJECT_NAME}:`))) {
      throw new Error(`cannot read stack config ${path}: ${formatPath(d.path)} is given twice ${where}`);
    }
    const bare = key.includes(":") ? key.slice(key.indexOf(":") + 1) : key;
    problems.push({ key: formatPath([bare, ...rest]), message: `is given twice in the stack file ${where}` });
  }
  const config = doc.get("config", true);
  if (config === undefined || config === null || (YAML.isScalar(config) && config.value === null)) return { values, problems };
  if (!YAML.isMap(config)) throw new Error(`cannot read stack config ${path}: "config" is not a map of keys to values`);
  const seen = new Set<string>();
  for (const pair of config.items) {
    const written = YAML.isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (seen.has(written)) continue; // reported above
    seen.add(written);
    const key = written.includes(":") ? written : `${PROJECT_NAME}:${written}`;
    if (values.has(key)) {
      problems.push({ key: key.slice(key.indexOf(":") + 1), message: `is given twice (as ${written} and with its namespace); keep one` });
      continue;
    }
    const node = pair.value as YAML.Node | null;
    let value: unknown;
    try {
      value = node === null ? null : node.toJS(doc, { maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      // The yaml library stops an alias that expands past the limit (a "billion laughs" file).
      const message = `expands YAML aliases past ${MAX_ALIAS_COUNT} (${(e as Error).message}); write the value out without aliases`;
      if (!key.startsWith(`${PROJECT_NAME}:`)) throw new Error(`cannot read stack config ${path}: ${written}: ${message}`);
      problems.push({ key: key.slice(key.indexOf(":") + 1), message });
      continue;
    }
    if (hasSecure(node)) values.set(key, { text: undefined, secret: true, object: !isSecureValue(node) });
    else if (typeof value === "string") values.set(key, { text: value, secret: false, object: false });
    else if (typeof value === "boolean" || typeof value === "number") values.set(key, { text: JSON.stringify(value), secret: false, object: false });
    else values.set(key, { text: JSON.stringify(value) ?? "null", secret: false, object: true });
  }
  return { values, problems };
}

/** `{secure: …}` itself: one encrypted value. */
function isSecureValue(node: unknown): boolean {
  return YAML.isMap(node) && node.items.length === 1 && YAML.isScalar(node.items[0].key) && node.items[0].key.value === "secure";
}

/** How many alias expansions one value may take: enough for any real stack file, far from an alias bomb. */
export const MAX_ALIAS_COUNT = 100;

/** Every key written twice in one map, anywhere in the document: its path and the lines of both. */
function duplicateKeys(doc: YAML.Document, lines: YAML.LineCounter): { path: (string | number)[]; lines: number[] }[] {
  const found: { path: (string | number)[]; lines: number[] }[] = [];
  const walk = (node: unknown, path: (string | number)[]) => {
    if (YAML.isMap(node)) {
      const first = new Map<string, number>();
      for (const pair of node.items) {
        const k = YAML.isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const line = YAML.isNode(pair.key) && pair.key.range ? lines.linePos(pair.key.range[0]).line : 0;
        if (first.has(k)) found.push({ path: [...path, k], lines: [first.get(k)!, line] });
        else first.set(k, line);
        walk(pair.value, [...path, k]);
      }
    } else if (YAML.isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i]));
  };
  walk(doc.contents, []);
  return found;
}

/** A key path as the messages write it: existingHost.address, extraForwards[1].port. */
function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i ? `.${p}` : p)).join("");
}

function hasSecure(node: unknown): boolean {
  if (YAML.isMap(node)) {
    if (isSecureValue(node)) return true;
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
    const key = full.slice(colon + 1);
    if (full.slice(0, colon) !== PROJECT_NAME) {
      // Provider keys (hcloud:token, …) are not ours; a namespace that is nearly ours is a typo that would drop the key silently.
      const namespace = full.slice(0, colon);
      if (isNamespaceTypo(namespace)) {
        problems.push({ key: full, written: full, message: `is not read: ${JSON.stringify(namespace)} is not this project's namespace; did you mean ${PROJECT_NAME}:${nearest(key, CONFIG_KEYS) ?? key}?` });
      }
      continue;
    }
    if (FORBIDDEN_KEYS.includes(key)) {
      problems.push({ key, message: `is not a configuration key and is refused (it would reach the config object's prototype)` });
      continue;
    }
    if (isSecretKey(key)) {
      const problem = !value.secret ? plainSecretMessage(key) : secretValueProblem(key, value);
      if (problem) problems.push({ key, message: problem });
      else raw[key] = SECRET_SET;
      continue;
    }
    if (value.secret) {
      problems.push({ key, message: `is encrypted, but only ${SECRET_KEYS.join(", ")} are secrets; the plan cannot check an encrypted value, so store it in plain text: pulumi config set ${PROJECT_NAME}:${key} VALUE` });
      continue;
    }
    const declared = DECLARED[key];
    if (value.object === false && declared?.type === "array") {
      // The CLI refuses this stack before the program runs; the plan must not accept it either.
      problems.push({ key, message: `is text, but Pulumi.yaml declares a list here and the Pulumi CLI refuses the stack ("must be of type 'array<string>'"); write a YAML list, e.g. ${key}: ${listExample(value.text ?? "")}` });
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

/**
 * An encrypted secret that is not one text: a list or map (the file says so;
 * the engine's decrypted text is its JSON). Only the program sees the TURN
 * secret's text, and checks its shape before anything is created.
 */
function secretValueProblem(key: SecretKey, value: StackValue): string | undefined {
  if (value.object === true || (value.text !== undefined && isStructuredText(value.text))) return structuredSecretMessage(key);
  if (key === "turnSecret" && value.text !== undefined) return turnSecretProblem(value.text);
  return undefined;
}

/** A namespace written for this project's but misspelt: "xmppedge", "xmpp_edge", "XMPP-Edge", "xmpp-egde". */
function isNamespaceTypo(namespace: string): boolean {
  const letters = (t: string) => t.toLowerCase().replace(/[^a-z0-9]/g, "");
  return letters(namespace) === letters(PROJECT_NAME) || editDistance(namespace.toLowerCase(), PROJECT_NAME) <= 2;
}

/** Reads and validates a stack's config: one ConfigError for every problem, the reader's and validation's. */
export function loadConfig(stack: StackConfig): EdgeConfig {
  const { raw, problems } = rawConfig(stack);
  return validateConfig(raw, problems);
}

/** The YAML list a text (perhaps a JSON list) was meant to be. */
function listExample(text: string): string {
  const parsed = parseJsonOrKeep(text);
  return hideUrlCredentials(YAML.stringify(Array.isArray(parsed) ? parsed : [text], { collectionStyle: "flow" }).trim());
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
