// Every rule a deploy enforces on the config is one rule of the shared
// validation: the plan refuses each with the deploy's words, and a config
// the plan accepts passes the program's config step. DEPLOY_RULES lists the
// rules that once lived only in components/config.ts, each with a stack that
// breaks it and nothing else.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { runPlan } from "../../scripts/plan";
import { BASE } from "../fixtures";
import { runProgram } from "./harness";

const { zone: _zone, ...NO_ZONE } = BASE;

const DEPLOY_RULES: [rule: string, raw: Record<string, unknown>, message: string][] = [
  [
    'dns "cloudflare" needs cloudflareZoneId or zone',
    NO_ZONE,
    'xmpp-edge:cloudflareZoneId: is required to create the DNS records (dns "cloudflare"); set it, or zone (the zone is then looked up by name), or dns "off" and create the records from the dnsRecords output yourself',
  ],
];

/** The plan command on a stack file holding `raw`: its exit code and stderr. */
function plan(raw: Record<string, unknown>): { code: number; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xmpp-edge-rules-"));
  const file = path.join(dir, "Pulumi.rules.yaml");
  fs.writeFileSync(file, YAML.stringify({ config: Object.fromEntries(Object.entries(raw).map(([k, v]) => [`xmpp-edge:${k}`, v])) }));
  let stderr = "";
  const code = runPlan(["--config", file, "--out", path.join(dir, "out")], { cwd: dir, stdout: () => undefined, stderr: (t) => (stderr += t) });
  return { code, stderr };
}

describe.each(DEPLOY_RULES)("%s", (_rule, raw, message) => {
  test("the plan refuses it, naming the key", () => {
    const r = plan(raw);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`  - ${message}\n`);
  });

  test("the program refuses it with the same words, before any resource", async () => {
    const run = await runProgram(raw);
    expect(run.error?.message).toContain(message);
    expect(run.resources).toEqual([]);
  });
});

describe.each([
  ["dns off", { ...NO_ZONE, dns: "off" }],
  ["a zone id", { ...NO_ZONE, cloudflareZoneId: "0123456789abcdef0123456789abcdef" }],
  ["a zone name", BASE],
])("the rules' stacks with the rule met (%s): each breaks only its rule", (_label, raw) => {
  test("the plan accepts it", () => {
    expect(plan(raw)).toEqual({ code: 0, stderr: "" });
  });
  test("and so does the program", async () => {
    const run = await runProgram(raw);
    expect(run.error).toBeUndefined();
    expect(run.resources.length).toBeGreaterThan(0);
  });
});
