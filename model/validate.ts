// Turns raw stack config into a validated EdgeConfig, or throws ConfigError
// listing every problem at once, each naming the key, the bad value and what
// would be valid. Both the offline plan and the Pulumi program call this, so
// they fail with the same words before anything is created.
import { z } from "zod";
import { checkFields } from "./checks";
import { show } from "./checks/report";
import { configSchema, PROJECT, type EdgeConfig } from "./config";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid ${PROJECT_NAME} configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}


export function validateConfig(raw: Record<string, unknown>): EdgeConfig {
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (parsed.success) {
    const problems: string[] = [];
    const c = checkFields(parsed.data, (key, msg) => problems.push(`${PROJECT_NAME}:${key}: ${msg}`));
    if (problems.length > 0) throw new ConfigError(problems);
    return c;
  }
  // Type errors first, but still report the other keys' problems: check the
  // rest of the config with the ill-typed keys taken out (required ones get
  // a stand-in whose own findings are not reported). In a list, only the
  // ill-typed entries are taken out, and the others keep their own index in
  // the messages.
  const problems = parsed.error.issues.map(formatZodIssue);
  const badKeys = new Set<string>();
  const badEntries = new Map<string, Set<number>>();
  for (const issue of parsed.error.issues) {
    if (issue.code === "unrecognized_keys" && issue.path.length === 0) {
      issue.keys.forEach((k) => badKeys.add(k));
      continue;
    }
    const [key, index] = [String(issue.path[0] ?? ""), issue.path[1]];
    if (typeof index === "number" && Array.isArray(raw[key])) badEntries.set(key, (badEntries.get(key) ?? new Set()).add(index));
    else badKeys.add(key);
  }
  const rest: Record<string, unknown> = Object.fromEntries(Object.entries(raw).filter(([k]) => !badKeys.has(k)));
  const keptIndex = new Map<string, number[]>(); // position in the checked list -> position in the user's list
  for (const [key, bad] of badEntries) {
    if (badKeys.has(key)) continue;
    const kept = (raw[key] as unknown[]).map((_, i) => i).filter((i) => !bad.has(i));
    if (kept.length === 0) {
      badKeys.add(key);
      delete rest[key];
      continue;
    }
    rest[key] = kept.map((i) => (raw[key] as unknown[])[i]);
    keptIndex.set(key, kept);
  }
  for (const [key, standIn] of Object.entries(REQUIRED_STAND_INS)) if (badKeys.has(key)) rest[key] = standIn;
  const reparsed = configSchema.safeParse(rest);
  if (reparsed.success) {
    checkFields(reparsed.data, (key, msg) => {
      if (badKeys.has(key.split(/[.[]/)[0])) return;
      let line = `${key}: ${msg}`;
      for (const [list, kept] of keptIndex) line = line.replace(new RegExp(`\\b${list}\\[(\\d+)\\]`, "g"), (_, i: string) => `${list}[${kept[Number(i)]}]`);
      problems.push(`${PROJECT_NAME}:${line}`);
    });
  }
  throw new ConfigError(problems);
}

/** Valid values for required keys, used only to keep checking the others when these are broken. */
const REQUIRED_STAND_INS: Record<string, unknown> = { domain: "stand-in.invalid", sshAllowFrom: ["tailnet"] };

function formatZodIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i ? `.${String(p)}` : String(p))).join("");
  if (issue.code === "unrecognized_keys") {
    const valid = issue.path.length === 0 ? Object.keys(configSchema.shape) : validKeysAt(issue.path);
    return issue.keys.map((k) => `${PROJECT_NAME}:${key ? `${key}.` : ""}${k}: unknown key; valid keys: ${valid.join(", ")}`).join("\n  - ");
  }
  if (issue.code === "invalid_type" && issue.input === undefined) return `${PROJECT_NAME}:${key}: is required; expected ${issue.expected === "array" ? "a list" : `a ${issue.expected}`}`;
  const got = "input" in issue ? `; got ${show(issue.input)}` : "";
  return `${PROJECT_NAME}:${key}: ${issue.message.replace(/^Invalid (input|option): /, "")}${got}`;
}

/** The keys of the object schema at a path (e.g. existingHost, extraForwards[0]). */
function validKeysAt(path: PropertyKey[]): string[] {
  let t: z.ZodType = configSchema;
  for (const p of path) {
    while (t instanceof z.ZodOptional || t instanceof z.ZodDefault) t = t.unwrap() as z.ZodType;
    if (t instanceof z.ZodObject) t = (t.shape as Record<string, z.ZodType>)[String(p)];
    else if (t instanceof z.ZodArray) t = t.element as z.ZodType;
  }
  while (t instanceof z.ZodOptional || t instanceof z.ZodDefault) t = t.unwrap() as z.ZodType;
  return t instanceof z.ZodObject ? Object.keys(t.shape) : [];
}
