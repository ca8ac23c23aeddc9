// The plan, the home snippets and the tailnet policy for several edges.
import { makePlan } from "../../render/plan";
import { renderHomeSnippets } from "../../render/home";
import { renderAclSnippet } from "../../render/tailscale-acl";
import { BASE, DEPLOY_KEY, FACTS, HOST_KEY, model } from "../fixtures";

const SECRET = { secure: "v1:x" };
const TWO = { ...BASE, edges: [{ name: "fsn" }, { name: "hel", location: "hel1" }] };
const HOSTS = {
  ...BASE,
  sshAllowFrom: ["tailnet"],
  edges: [
    { name: "vps1", existingHost: { address: "100.70.0.1", hostKey: HOST_KEY, ipv4: "198.51.100.10" } },
    { name: "vps2", existingHost: { address: "100.70.0.2", hostKey: HOST_KEY, ipv4: "198.51.100.20", port: 2222 } },
  ],
  sshPublicKey: DEPLOY_KEY,
  sshPrivateKey: SECRET,
};

describe("the plan of two edges", () => {
  const plan = makePlan(TWO);
  test("the first edge's files stay where they were; the second edge's go under edges/<name>/", () => {
    expect(Object.keys(plan.files)).toEqual(expect.arrayContaining(["vps/etc/nginx/nginx.conf", "cloud-init.yaml", "edges/hel/vps/etc/nginx/nginx.conf", "edges/hel/cloud-init.yaml", "firewall.json"]));
    expect(plan.files["cloud-init.yaml"]).toContain("xmpp-edge");
    expect(plan.files["edges/hel/cloud-init.yaml"]).toContain("xmpp-edge-hel");
    // Each bundle carries its own public address (coturn's external-ip).
    expect(plan.files["vps/etc/turnserver.conf"]).toContain("192.0.2.10");
    expect(plan.files["edges/hel/vps/etc/turnserver.conf"]).toContain("192.0.2.11");
    expect(plan.files["edges/hel/vps/etc/turnserver.conf"]).not.toContain("192.0.2.10");
    expect(plan.modes["edges/hel/vps/usr/local/sbin/xmpp-edge-apply"]).toBe(plan.bundle["/usr/local/sbin/xmpp-edge-apply"].mode);
  });
  test("PLAN.md lists every edge with its addresses, own name and the mode", () => {
    const md = plan.files["PLAN.md"];
    expect(md).toContain("2 edges (`failover`");
    expect(md).toMatch(/\| fsn \| xmpp-edge \| Hetzner `cax11` in `fsn1` \| 192\.0\.2\.10, 2001:db8::10 \| fsn\.chat\.example\.com \|/);
    expect(md).toMatch(/\| hel \| xmpp-edge-hel \| Hetzner `cax11` in `hel1` \| 192\.0\.2\.11, 2001:db8::11 \| hel\.chat\.example\.com \|/);
    expect(md).toContain("to `fsn` first");
    expect(makePlan({ ...TWO, edgeMode: "active-active" }).files["PLAN.md"]).toContain("same priority and weight");
    // One edge: no edges section, only the VPS line.
    expect(makePlan(BASE).files["PLAN.md"]).not.toContain("## Edges");
  });
  test("dns.json has both edges", () => {
    const recs = JSON.parse(plan.files["dns.json"]) as { type: string; name: string; content: string }[];
    expect(recs.filter((r) => r.type === "A" && r.name === "chat.example.com").map((r) => r.content)).toEqual(["192.0.2.10", "192.0.2.11"]);
  });
});

test("two existing hosts: the plan uses their addresses and creates no cloud-init or firewall", () => {
  const plan = makePlan(HOSTS);
  expect(plan.edges.map((e) => e.facts.vpsIPv4)).toEqual(["198.51.100.10", "198.51.100.20"]);
  expect(Object.keys(plan.files).some((f) => f.endsWith("cloud-init.yaml") || f === "firewall.json")).toBe(false);
  // The second host's own SSH port is the one its ruleset opens.
  expect(plan.files["edges/vps2/vps/etc/nftables.d/xmpp-edge.nft"] ?? Object.entries(plan.files).find(([k]) => k.startsWith("edges/vps2/vps/") && k.endsWith(".nft"))?.[1]).toMatch(/tcp dport 2222/);
});

test("the tailnet policy lets tailscaleSshFrom reach every edge's SSH port, and denies members each", () => {
  const acl = JSON.parse(renderAclSnippet(model(HOSTS), { ipv4: "100.101.102.103" }));
  expect(acl.acls.find((a: { src: string[] }) => a.src.includes("autogroup:admin")).dst).toEqual(["tag:xmpp-edge:22,2222"]);
  expect(acl.tests.find((t: { src: string }) => t.src === "autogroup:member").deny).toEqual(["tag:xmpp-edge:22", "tag:xmpp-edge:2222"]);
});

test("home trusts every edge's tailnet address for PROXY protocol and X-Forwarded-For, and no other", () => {
  const m = model({ ...TWO, clientIp: "proxy-protocol" });
  const s = renderHomeSnippets(m, { ...FACTS, edgeTailnetIPv4s: ["100.64.0.1", "100.64.0.2"] }, "x");
  expect(s["prosody.cfg.lua"]).toContain('proxy_trusted_proxies = { "100.64.0.1", "100.64.0.2" }');
  expect(s["nginx-realip.conf"]).toContain("set_real_ip_from 100.64.0.1;\nset_real_ip_from 100.64.0.2;");
  // One unknown: the known one is trusted, the missing one named, never a range.
  const partial = renderHomeSnippets(m, { ...FACTS, edgeTailnetIPv4s: ["100.64.0.1", undefined] }, "x")["prosody.cfg.lua"];
  expect(partial).toMatch(/proxy_trusted_proxies = \{ "100\.64\.0\.1" \} -- add the 1 other edge/);
  expect(partial).not.toContain("100.64.0.0/10");
});
