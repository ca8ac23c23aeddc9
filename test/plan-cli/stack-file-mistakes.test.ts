// Mistakes in a stack file that used to pass or be misreported, each run
// through the plan command: a misspelt namespace, Hetzner names that do not
// exist, an alias bomb and keys given twice. Every refusal names the key.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runPlan } from "../../scripts/plan";

const BASE = [
  "config:",
  "  xmpp-edge:domain: chat.example.com",
  "  xmpp-edge:zone: example.com",
  "  xmpp-edge:homeTailnetIPv4: 100.101.102.103",
  "  xmpp-edge:sshAllowFrom: [203.0.113.0/24]",
  "  hcloud:token: {secure: v1:AAAA}",
  "  cloudflare:apiToken: {secure: v1:AAAA}",
];

/** The plan of BASE with `lines` added (and keys in `drop` taken out): exit code and stderr. */
function plan(lines: string[], drop: string[] = []): { code: number; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xmpp-edge-mistakes-"));
  const file = path.join(dir, "Pulumi.t.yaml");
  fs.writeFileSync(file, [...BASE.filter((l) => !drop.some((k) => l.startsWith(`  ${k}:`))), ...lines, ""].join("\n"));
  let stderr = "";
  const code = runPlan(["--config", file, "--out", path.join(dir, "out")], { cwd: dir, stdout: () => undefined, stderr: (t) => (stderr += t) });
  return { code, stderr };
}

test("the base stack is valid, provider keys included", () => {
  expect(plan([])).toEqual({ code: 0, stderr: "" });
});

describe("a misspelt namespace is named, with the key it meant", () => {
  test.each([
    ["  xmppedge:domain: chat.example.com", "xmppedge:domain", "xmpp-edge:domain"],
    ["  xmpp_edge:domain: chat.example.com", "xmpp_edge:domain", "xmpp-edge:domain"],
    ["  XMPP-Edge:domain: chat.example.com", "XMPP-Edge:domain", "xmpp-edge:domain"],
    ["  xmpp-egde:domian: chat.example.com", "xmpp-egde:domian", "xmpp-edge:domain"],
  ])("%s", (line, written, meant) => {
    const r = plan([line], ["xmpp-edge:domain"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`  - ${written}: is not read: ${JSON.stringify(written.split(":")[0])} is not this project's namespace; did you mean ${meant}?\n`);
  });

  test("also beside the right key", () => {
    const r = plan(["  xmppedge:location: hel1"]);
    expect(r.stderr).toContain("xmppedge:location: is not read");
  });
});

describe("Hetzner locations and server types come from Hetzner's list", () => {
  test.each([
    ["  xmpp-edge:location: fsn", /xmpp-edge:location: "fsn" is not a Hetzner location; did you mean "fsn1"\? valid \(Hetzner's list as of [0-9-]+, model\/hetzner\.ts\): fsn1 \(Falkenstein\), nbg1/],
    ["  xmpp-edge:location: falkenstein", /xmpp-edge:location: "falkenstein" is not a Hetzner location; valid/],
    ["  xmpp-edge:serverType: cax12", /xmpp-edge:serverType: "cax12" is not a Hetzner server type; did you mean "cax11"\? valid .*: cax11, cax21/],
    ["  xmpp-edge:serverType: cx22", /xmpp-edge:serverType: "cx22" is retired: Hetzner creates no new servers of it; its successor is "cx23"/],
    ["  xmpp-edge:edges: [{name: fsn}, {name: hel, location: hel}]", /xmpp-edge:edges\[1\]\.location: "hel" is not a Hetzner location; did you mean "hel1"\?/],
    ["  xmpp-edge:edges: [{name: fsn}, {name: hel, serverType: cx32}]", /xmpp-edge:edges\[1\]\.serverType: "cx32" is retired: Hetzner creates no new servers of it; its successor is "cx33"/],
  ])("%s", (line, message) => {
    const r = plan([line]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
  });

  test("every listed name passes", () => {
    expect(plan(["  xmpp-edge:location: sin", "  xmpp-edge:serverType: ccx13"]).code).toBe(0);
  });
});

test("an alias bomb is refused quickly, naming the key", () => {
  const laughs = [
    "  xmpp-edge:webOriginExtraAllow: &a [192.0.2.1/32, 192.0.2.2/32, 192.0.2.3/32, 192.0.2.4/32, 192.0.2.5/32, 192.0.2.6/32, 192.0.2.7/32, 192.0.2.8/32, 192.0.2.9/32]",
    ...["b", "c", "d", "e", "f", "g", "h"].map((n, i) => `  xmpp-edge:${n}: &${n} [${Array(9).fill(`*${"abcdefgh"[i]}`).join(", ")}]`),
    `  xmpp-edge:extraForwards: [${Array(9).fill("*h").join(", ")}]`,
  ];
  const t0 = Date.now();
  const r = plan(laughs);
  expect(Date.now() - t0).toBeLessThan(5000);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/xmpp-edge:extraForwards: expands YAML aliases past 100 \(.*\); write the value out without aliases/);
});

test("a key given twice in a nested map is named, with both lines", () => {
  const r = plan([
    "  xmpp-edge:existingHost:",
    "    address: 5.9.10.11",
    "    address: 5.9.10.12",
  ]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("xmpp-edge:existingHost.address: is given twice in the stack file (lines 9 and 10); YAML keys must be unique: keep one");
});

test("a key given twice at the top of config is named once", () => {
  const r = plan(["  xmpp-edge:zone: example.org"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("xmpp-edge:zone: is given twice in the stack file (lines 3 and 8)");
  expect(r.stderr).toMatch(/\(1 problem\)/);
});

test("a provider key given twice is named", () => {
  const r = plan(["  hcloud:token: {secure: v1:BBBB}"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("config.hcloud:token is given twice (lines 6 and 8)");
});
