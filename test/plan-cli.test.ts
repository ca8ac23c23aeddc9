// The plan command as a user runs it: exit codes, what it writes, and that
// invalid config writes nothing and leaves an earlier plan in place.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

function plan(args: string[], env: Record<string, string> = {}) {
  return spawnSync(TSX, [path.join(ROOT, "scripts", "plan.ts"), ...args], { encoding: "utf8", cwd: ROOT, env: { ...process.env, INIT_CWD: ROOT, ...env } });
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "xmpp-edge-plan-"));

test("writes the plan of the example stack", () => {
  const out = path.join(tmp(), "prod");
  const r = plan(["--stack", "prod", "--out", out, "--vps-ipv4", "95.217.1.2", "--vps-ipv6", "2a01:4f9::1"]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^plan for chat\.example\.com written to .*: [12]\d files/);
  expect(fs.readFileSync(path.join(out, "vps/etc/nginx/nginx.conf"), "utf8")).toContain("ssl_preread on;");
  expect(JSON.parse(fs.readFileSync(path.join(out, "dns.json"), "utf8"))[0].content).toBe("95.217.1.2");
  expect(fs.statSync(path.join(out, "vps/etc/turnserver.conf")).mode & 0o777).toBe(0o640);
});

test("invalid config: exit 1, every problem on stderr, nothing written, an earlier plan untouched", () => {
  const dir = tmp();
  const cfg = path.join(dir, "Pulumi.bad.yaml");
  fs.writeFileSync(cfg, [
    "config:",
    "  xmpp-edge:domain: chat.example.com",
    "  xmpp-edge:dns: \"off\"",
    "  xmpp-edge:homeTailnetIPv4: 192.168.1.5",
    "  xmpp-edge:preset: matrix",
    "  xmpp-edge:sshAllowFrom: [tailnet]",
    "  xmpp-edge:extraForwards:",
    "    - {port: 22, protocol: tcp}",
    "",
  ].join("\n"));
  const out = path.join(dir, "out");
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, "PLAN.md"), "earlier plan");
  const r = plan(["--config", cfg, "--out", out]);
  expect(r.status).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(/Pulumi\.bad\.yaml: invalid xmpp-edge configuration \(3 problems\)/);
  expect(r.stderr).toContain('xmpp-edge:preset: expected one of "snikket"|"prosody"; got "matrix"');
  expect(r.stderr).toContain('xmpp-edge:homeTailnetIPv4: "192.168.1.5" is not a tailnet IPv4 address');
  expect(r.stderr).toContain("xmpp-edge:extraForwards[0].port: 22/tcp overlaps 22/tcp, SSH");
  expect(fs.readdirSync(out)).toEqual(["PLAN.md"]);
  expect(fs.readFileSync(path.join(out, "PLAN.md"), "utf8")).toBe("earlier plan");
  expect(fs.readdirSync(dir).sort()).toEqual(["Pulumi.bad.yaml", "out"]);
});

test("bad flags are named", () => {
  expect(plan(["--vps-ipv4", "2001:db8::1"]).stderr).toContain('--vps-ipv4: "2001:db8::1" is not an IPv4 address');
  expect(plan(["--stack", "nosuch"]).stderr).toMatch(/^--stack "nosuch": there is no .*Pulumi\.nosuch\.yaml; the stacks here are: lab, prod;/);
  expect(plan(["--bogus"]).status).toBe(1);
});

test("--help explains every flag", () => {
  const r = plan(["--help"]);
  expect(r.status).toBe(0);
  for (const flag of ["--stack", "--config", "--out", "--vps-ipv4", "--vps-ipv6", "--home-ipv4", "--help"]) {
    expect(r.stdout).toMatch(new RegExp(`^ +(-h, )?${flag} .*\\S`, "m"));
  }
  expect(r.stdout).toMatch(/--home-ipv4 A +the home server's tailnet IPv4, when the config names it only\s+by homeTailnetHostname/);
});

test("a relative --config and --out are taken from the caller's directory (npm's INIT_CWD), not the repository", () => {
  const dir = tmp();
  fs.copyFileSync(path.join(ROOT, "Pulumi.prod.yaml"), path.join(dir, "Pulumi.mine.yaml"));
  const r = plan(["--config", "Pulumi.mine.yaml", "--out", "plan-here"], { INIT_CWD: dir });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(fs.existsSync(path.join(dir, "plan-here", "PLAN.md"))).toBe(true);
  expect(plan(["--config", "Pulumi.nothere.yaml"], { INIT_CWD: dir }).stderr).toBe(`--config: ${path.join(dir, "Pulumi.nothere.yaml")} does not exist\n`);
});

test("several edges: the first edge's files where one edge's go, the others under edges/<name>/, with the bundle's modes", () => {
  const dir = tmp();
  const cfg = path.join(dir, "Pulumi.two.yaml");
  fs.writeFileSync(cfg, [
    "config:",
    "  xmpp-edge:domain: chat.example.com",
    "  xmpp-edge:zone: example.com",
    "  xmpp-edge:homeTailnetIPv4: 100.101.102.103",
    "  xmpp-edge:sshAllowFrom: [203.0.113.0/24]",
    "  xmpp-edge:edges:",
    "    - {name: fsn}",
    "    - {name: hel, location: hel1}",
    "",
  ].join("\n"));
  const out = path.join(dir, "out");
  const r = plan(["--config", cfg, "--out", out]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  for (const base of [out, path.join(out, "edges", "hel")]) {
    expect(fs.statSync(path.join(base, "vps/usr/local/sbin/xmpp-edge-apply")).mode & 0o777).toBe(0o755);
    expect(fs.statSync(path.join(base, "vps/etc/turnserver.conf")).mode & 0o777).toBe(0o640);
    expect(fs.existsSync(path.join(base, "cloud-init.yaml"))).toBe(true);
  }
  expect(fs.readFileSync(path.join(out, "PLAN.md"), "utf8")).toContain("## Edges");
});
