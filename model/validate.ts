// Turns raw stack config into a validated EdgeConfig, or throws ConfigError
// listing every problem at once, each naming the key, the bad value and what
// would be valid. Both the offline plan and the Pulumi program call this
// (through model/source.ts), so they fail with the same words before
// anything is created. Each real problem is reported once: a value that was
// rejected is never replaced by a default that other checks then judge.
import { z } from "zod";
import { checkFields, type Checks } from "./checks";
import { quoteRedacted } from "./checks/report";
import { configSchema, isSecretKey, plainSecretMessage, PROJECT_NAME, type EdgeConfig, type Problem } from "./config";
import { nearest } from "./nearest";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid ${PROJECT_NAME} configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

/**
 * `earlier`: problems the reader found (model/source.ts); those keys are
 * already reported and are not judged again.
 */
export function validateConfig(raw: Record<string, unknown>, earlier: Problem[] = []): EdgeConfig {
  const problems = earlier.map((p) => `${p.written ?? `${PROJECT_NAME}:${p.key}`}: ${p.message}`);
  const rejected = new RejectedKeys(earlier.map((p) => p.key));
  const input: Record<string, unknown> = Object.create(null);
  for (const [k, v] of Object.entries(raw)) if (!rejected.covers(k)) input[k] = v;

  const parsed = configSchema.safeParse(input, { reportInput: true });
  let data = parsed.data;
  const keptIndex = new Map<string, number[]>(); // position in the checked list -> position in the user's list
  if (!parsed.success) {
    // Type errors first, but still check the rest of the config with the
    // ill-typed keys taken out (required ones get a stand-in, which no check
    // may judge: the key is marked rejected). In a list, only the ill-typed
    // entries are taken out, and the others keep their own index in the
    // messages.
    const issues = parsed.error.issues.filter((i) => !(i.code === "invalid_type" && i.input === undefined && rejected.covers(String(i.path[0]))));
    for (const issue of issues) problems.push(...formatZodIssue(issue));
    const badKeys = new Set<string>();
    const badEntries = new Map<string, Set<number>>();
    for (const issue of issues) {
      if (issue.code === "unrecognized_keys" && issue.path.length === 0) {
        issue.keys.forEach((k) => badKeys.add(k));
        continue;
      }
      const [key, index] = [String(issue.path[0] ?? ""), issue.path[1]];
      if (typeof index === "number" && Array.isArray(input[key])) badEntries.set(key, (badEntries.get(key) ?? new Set()).add(index));
      else badKeys.add(key);
    }
    const rest: Record<string, unknown> = Object.create(null);
    for (const [k, v] of Object.entries(input)) if (!badKeys.has(k)) rest[k] = v;
    for (const [key, bad] of badEntries) {
      if (badKeys.has(key)) continue;
      const list = input[key] as unknown[];
      const kept = list.map((_, i) => i).filter((i) => !bad.has(i));
      bad.forEach((i) => rejected.add(`${key}[${i}]`));
      rest[key] = kept.map((i) => list[i]);
      keptIndex.set(key, kept);
    }
    badKeys.forEach((k) => rejected.add(k));
    for (const [key, standIn] of Object.entries(REQUIRED_STAND_INS)) if (rejected.covers(key)) rest[key] = standIn;
    data = configSchema.safeParse(rest).data;
  }

  let config: EdgeConfig | undefined;
  if (data) {
    const given = new Set(Object.keys(input));
    const before = rejected.copy();
    // Checks see lists without their ill-typed entries; messages use the user's positions.
    const userIndex = (text: string) => {
      for (const [list, kept] of keptIndex) text = text.replace(new RegExp(`\\b${list}\\[(\\d+)\\]`, "g"), (_, i: string) => `${list}[${kept[Number(i)]}]`);
      return text;
    };
    const checks: Checks = {
      report: (checkedKey, message) => {
        const key = userIndex(checkedKey);
        if (before.covers(key)) return; // a stand-in's own findings
        rejected.add(key);
        problems.push(`${PROJECT_NAME}:${key}: ${userIndex(message)}`);
      },
      ok: (key) => !rejected.touches(userIndex(key)),
      given: (key) => given.has(key),
    };
    config = checkFields(data, checks);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  // A refusal without a problem to show would be a bug here, not a config error.
  if (!config) throw new Error("validateConfig: the config failed its schema without a reportable problem");
  return config;
}

/**
 * Keys reported so far ("domain", "existingHost.port", "extraForwards[1]").
 * covers(k): k itself or a parent was rejected. touches(k): k, a parent or a
 * child was: a check that reads k (or a part of it) must not run then.
 */
class RejectedKeys {
  private keys = new Set<string>();
  constructor(initial: string[] = []) {
    initial.forEach((k) => this.add(k));
  }
  copy(): RejectedKeys {
    return new RejectedKeys([...this.keys]);
  }
  add(key: string) {
    this.keys.add(key);
  }
  covers(key: string): boolean {
    for (const r of this.keys) if (r === key || isBelow(key, r)) return true;
    return false;
  }
  touches(key: string): boolean {
    for (const r of this.keys) if (r === key || isBelow(key, r) || isBelow(r, key)) return true;
    return false;
  }
}

const isBelow = (key: string, parent: string) => key.startsWith(`${parent}.`) || key.startsWith(`${parent}[`);

/** Valid values for required keys, used only to keep checking the others when these are broken. */
const REQUIRED_STAND_INS: Record<string, unknown> = { domain: "stand-in.invalid", sshAllowFrom: ["tailnet"] };

function formatZodIssue(issue: z.core.$ZodIssue): string[] {
  const key = issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i ? `.${String(p)}` : String(p))).join("");
  if (issue.code === "unrecognized_keys") {
    const valid = issue.path.length === 0 ? Object.keys(configSchema.shape) : validKeysAt(issue.path);
    return issue.keys.map((k) => {
      const near = nearest(k, valid);
      return `${PROJECT_NAME}:${key ? `${key}.` : ""}${k}: unknown key; ${near ? `did you mean ${near}? ` : ""}valid keys: ${valid.join(", ")}`;
    });
  }
  if (issue.path.length === 1 && isSecretKey(key)) return [`${PROJECT_NAME}:${key}: ${plainSecretMessage(key)}`];
  if ("input" in issue && issue.input === undefined) {
    const what = descriptionAt(issue.path);
    const expected =
      issue.code === "invalid_type" ? (issue.expected === "array" ? "a list" : `a ${issue.expected}`)
      : issue.code === "invalid_value" ? issue.message.replace(/^Invalid (input|option): expected /, "")
      : "a value";
    return [`${PROJECT_NAME}:${key}: is required; expected ${expected}${what ? `: ${what}` : ""}`];
  }
  const got = "input" in issue ? `; got ${quoteRedacted(issue.input)}` : "";
  return [`${PROJECT_NAME}:${key}: ${issue.message.replace(/^Invalid (input|option): /, "")}${got}`];
}

/** The schema at a path (e.g. existingHost, extraForwards[0]), without its optional/default wrappers. */
function schemaAt(path: PropertyKey[]): { type: z.ZodType | undefined; description?: string } {
  let t: z.ZodType | undefined = configSchema;
  let description: string | undefined;
  const unwrap = () => {
    while (t instanceof z.ZodOptional || t instanceof z.ZodDefault) {
      description ??= z.globalRegistry.get(t)?.description;
      t = t.unwrap() as z.ZodType;
    }
    if (t) description ??= z.globalRegistry.get(t)?.description;
  };
  for (const p of path) {
    unwrap();
    description = undefined;
    if (t instanceof z.ZodObject) t = (t.shape as Record<string, z.ZodType>)[String(p)];
    else if (t instanceof z.ZodArray) t = t.element as z.ZodType;
    else t = undefined;
  }
  unwrap();
  return { type: t, description };
}

function validKeysAt(path: PropertyKey[]): string[] {
  const { type } = schemaAt(path);
  return type instanceof z.ZodObject ? Object.keys(type.shape) : [];
}

function descriptionAt(path: PropertyKey[]): string | undefined {
  return schemaAt(path).description;
}
