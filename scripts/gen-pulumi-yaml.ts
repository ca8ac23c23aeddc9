// Prints the `config:` and `template:` blocks of Pulumi.yaml from the config
// schema, so the declared types, defaults and descriptions (model/declared.ts),
// and what `pulumi new` asks, come from model/config.ts.
// test/pulumi-yaml.test.ts fails when Pulumi.yaml drifts from it.
import { z } from "zod";
import * as YAML from "yaml";
import { configSchema, PROJECT_NAME } from "../model/config";
import { pulumiConfigSchema } from "../model/declared";

export { pulumiConfigSchema };

/**
 * What `pulumi new <this repository>` asks for: the keys a deploy cannot do
 * without, or where the example's value is certainly wrong for the user.
 * Only string keys: Pulumi stores every answer as a string, and the CLI
 * refuses a string for a key Pulumi.yaml declares as an array. The list keys
 * (sshAllowFrom, required; webHostnames) go on the command line instead:
 * `pulumi new … --config-path -c 'xmpp-edge:sshAllowFrom[0]=CIDR'`.
 */
export const TEMPLATE_KEYS = ["domain", "zone", "cloudflareZoneId", "homeTailnetIPv4", "homeTailnetIPv6"] as const;

type TemplateValue = { description: string; default?: string; secret?: boolean };

/** The `template:` section (pulumi new removes it from the copy it makes). */
export function pulumiTemplate(): { displayName: string; description: string; config: Record<string, TemplateValue> } {
  const shape = configSchema.shape as Record<string, z.ZodType>;
  const config: Record<string, TemplateValue> = {};
  for (const key of TEMPLATE_KEYS) {
    let t: z.ZodType = shape[key];
    let description = "";
    let def: unknown;
    for (;;) {
      description ||= (z.globalRegistry.get(t)?.description as string | undefined) ?? "";
      if (t instanceof z.ZodDefault) def = t.def.defaultValue;
      if (t instanceof z.ZodOptional || t instanceof z.ZodDefault) t = t.unwrap() as z.ZodType;
      else break;
    }
    if (!(t instanceof z.ZodString || t instanceof z.ZodEnum)) throw new Error(`TEMPLATE_KEYS: ${key} is not a string key; pulumi new stores answers as strings`);
    const required = !(shape[key] instanceof z.ZodOptional || shape[key] instanceof z.ZodDefault);
    const value: TemplateValue = { description: `${description}${required || def !== undefined ? "" : " (Enter: leave unset)"}` };
    if (def !== undefined) value.default = String(def);
    config[`${PROJECT_NAME}:${key}`] = value;
  }
  return {
    displayName: "xmpp-edge",
    description: "A cheap VPS in front of a home XMPP (Snikket/Prosody) and web server: Hetzner + Tailscale + Cloudflare",
    config,
  };
}

if (require.main === module) process.stdout.write(YAML.stringify({ config: pulumiConfigSchema(), template: pulumiTemplate() }, { lineWidth: 0 }));
