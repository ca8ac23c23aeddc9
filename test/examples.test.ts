// The stacks in examples/ plan as a user would plan them (npm run plan --
// --config examples/Pulumi.NAME.yaml): each is valid, writes its plan, and
// names only documentation domains and addresses.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runPlan } from "../scripts/plan";

const ROOT = path.join(__dirname, "..");
const EXAMPLES = path.join(ROOT, "examples");
const examples = fs.readdirSync(EXAMPLES).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).sort();

function plan(file: string) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "xmpp-edge-example-"));
  let stdout = "";
  let stderr = "";
  const status = runPlan(["--config", path.join(EXAMPLES, file), "--out", out], { cwd: ROOT, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { status, stdout, stderr, out, read: (rel: string) => fs.readFileSync(path.join(out, rel), "utf8"), has: (rel: string) => fs.existsSync(path.join(out, rel)) };
}

test("the four examples are there", () => {
  expect(examples).toEqual(["Pulumi.existing-host-own-dns.yaml", "Pulumi.headscale.yaml", "Pulumi.minimal.yaml", "Pulumi.two-edges.yaml"]);
});

test.each(examples)("%s plans without problems", (file) => {
  const r = plan(file);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^plan for \S+ written to /);
  expect(r.read("PLAN.md")).toContain("#");
  expect(r.has("vps/etc/nginx/nginx.conf")).toBe(true);
});

test.each(examples)("%s names only documentation domains and addresses", (file) => {
  const text = fs.readFileSync(path.join(EXAMPLES, file), "utf8").split("\n").filter((l) => !/^\s*hostKey:|sshPublicKey:/.test(l)).join("\n");
  for (const name of text.match(/\b(?:[a-z0-9-]+\.)+[a-z]{2,}\b/gi) ?? []) {
    if (/\.(ya?ml|json|md|conf)$/.test(name)) continue;
    expect(name).toMatch(/(^|\.)example\.(com|net|org)$/);
  }
  for (const a of text.match(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g) ?? []) {
    expect(a).toMatch(/^(192\.0\.2|198\.51\.100|203\.0\.113)\.|^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./);
  }
  for (const a of text.match(/\b(?:[0-9a-f]{1,4}:){2,}[0-9a-f:]*\b/gi) ?? []) {
    expect(a.toLowerCase()).toMatch(/^2001:db8:|^fd7a:115c:a1e0:/);
  }
});

test("what each example is about shows in its plan", () => {
  const own = plan("Pulumi.existing-host-own-dns.yaml");
  expect(own.has("cloud-init.yaml")).toBe(false); // existing host: no server created
  expect(own.has("firewall.json")).toBe(false);
  expect(JSON.parse(own.read("dns.json")).length).toBeGreaterThan(0); // dns: off still lists the records to create elsewhere

  const hs = plan("Pulumi.headscale.yaml");
  expect(hs.read("cloud-init.yaml")).toContain("--login-server");

  const two = plan("Pulumi.two-edges.yaml");
  const srv = JSON.parse(two.read("dns.json")).filter((r: { type: string }) => r.type === "SRV");
  expect(new Set(srv.map((r: { data?: { target?: string } }) => r.data?.target))).toEqual(new Set(["fsn.chat.example.com", "hel.chat.example.com"]));
  expect(two.has("edges/hel/vps/etc/nginx/nginx.conf")).toBe(true);
});

test("the README's minimal stack is examples/Pulumi.minimal.yaml's", () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const block = /```yaml\n(config:\n[\s\S]*?)```/.exec(readme)?.[1];
  const file = fs.readFileSync(path.join(EXAMPLES, "Pulumi.minimal.yaml"), "utf8");
  expect(block).toBeDefined();
  expect(file.slice(file.indexOf("config:\n"))).toBe(block);
});
