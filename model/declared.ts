// The keys Pulumi.yaml declares, with their types and defaults, derived from
// the config schema. The Pulumi CLI checks a stack's values against these
// declarations before the program runs, so the stack-file reader
// (model/source.ts) applies the same rule; scripts/gen-pulumi-yaml.ts writes
// them into Pulumi.yaml.
import { z } from "zod";
import { configSchema, SECRET_KEYS } from "./config";

export type Declared = { type: string; description: string; default?: unknown; secret?: boolean; items?: { type: string } };

/**
 * Pulumi's project schema knows string, boolean, integer and array-of-those;
 * object-valued keys are left undeclared, and so are optional keys without a
 * default (the CLI would demand a value for them).
 */
export function pulumiConfigSchema(): Record<string, Declared> {
  const out: Record<string, Declared> = {};
  for (const [key, field] of Object.entries(configSchema.shape as Record<string, z.ZodType>)) {
    let t: z.ZodType = field;
    let def: unknown;
    let description = "";
    for (;;) {
      description ||= (z.globalRegistry.get(t)?.description as string | undefined) ?? "";
      if (t instanceof z.ZodDefault) def = t.def.defaultValue;
      if (t instanceof z.ZodOptional || t instanceof z.ZodDefault) t = t.unwrap() as z.ZodType;
      else break;
    }
    const secret = (SECRET_KEYS as readonly string[]).includes(key);
    let type: string | undefined;
    let items: Declared["items"];
    if (secret || t instanceof z.ZodString || t instanceof z.ZodEnum) type = "string";
    else if (t instanceof z.ZodBoolean) type = "boolean";
    else if (t instanceof z.ZodNumber) type = "integer";
    else if (t instanceof z.ZodArray && t.element instanceof z.ZodString) {
      type = "array";
      items = { type: "string" };
    }
    // The CLI treats a declared key without a default as required: declare
    // only the required keys and those with a default.
    if (!type || (def === undefined && field instanceof z.ZodOptional)) continue;
    if (t instanceof z.ZodEnum) description += ` (one of: ${t.options.join(", ")})`;
    const decl: Declared = { type, description };
    if (items) decl.items = items;
    if (def !== undefined) decl.default = def;
    if (secret) decl.secret = true;
    out[key] = decl;
  }
  return out;
}
