// The tailnet policy snippet: the edge's tags reach exactly the forwarded home
// ports; the derivation (model/tailnet.ts) follows the model.
import { homePorts } from "../../model/tailnet";
import { makePlan } from "../../render/plan";
import { renderAclSnippet } from "../../render/tailscale-acl";
import { BASE, model } from "../fixtures";

describe("ACL snippet", () => {
  test("lets the edge's tags reach exactly the home ports the edge forwards to", () => {
    const m = model({ turnRelayPorts: "50000-59999", extraForwards: [{ port: 64738, protocol: "udp" }, { port: 8443, protocol: "tcp", toPort: 9443 }] });
    const acl = JSON.parse(renderAclSnippet(m, { ipv4: "100.101.102.103", ipv6: "fd7a:115c:a1e0::6501:6667" }));
    expect(acl.hosts).toEqual({ "xmpp-edge-home": "100.101.102.103/32", "xmpp-edge-home-v6": "fd7a:115c:a1e0::6501:6667/128" });
    expect(acl.acls).toEqual([
      { action: "accept", src: ["tag:xmpp-edge"], proto: "tcp", dst: ["xmpp-edge-home:80,443,5000,5080,5222,5223,5269,5270,5443,9443", "xmpp-edge-home-v6:80,443,5000,5080,5222,5223,5269,5270,5443,9443"] },
      { action: "accept", src: ["tag:xmpp-edge"], proto: "udp", dst: ["xmpp-edge-home:64738", "xmpp-edge-home-v6:64738"] },
    ]);
    expect(acl.tagOwners).toEqual({ "tag:xmpp-edge": ["autogroup:admin"] });
  });

  test("follows the model: proxy-protocol ports, no direct TLS, prosody; TURN is never a home port", () => {
    const m = model({ clientIp: "proxy-protocol", directTls: false, preset: "prosody" });
    expect(homePorts(m)).toEqual({ tcp: [80, 443, 5280, 5281, 15222, 15269].map((p) => ({ from: p, to: p })), udp: [] });
  });

  test("clientIp nginx: home's own 5222/5269, no PROXY receivers", () => {
    const tcp = homePorts(model({ clientIp: "nginx" })).tcp.map((r) => r.from);
    expect(tcp).toEqual(expect.arrayContaining([5222, 5269]));
    expect(tcp).not.toContain(15222);
  });

  test('with sshAllowFrom ["tailnet"] only tailscaleSshFrom may SSH to the edge (default: the admins)', () => {
    const acl = JSON.parse(renderAclSnippet(model({ sshAllowFrom: ["tailnet"] }), { ipv4: "100.101.102.103" }));
    expect(acl.acls).toContainEqual({ action: "accept", src: ["autogroup:admin"], proto: "tcp", dst: ["tag:xmpp-edge:22"] });
    expect(JSON.stringify(acl.acls)).not.toContain("autogroup:member");
    expect(Object.keys(acl.hosts)).toEqual(["xmpp-edge-home"]);
    const deployers = JSON.parse(renderAclSnippet(model({ sshAllowFrom: ["tailnet"], tailscaleSshFrom: ["me@example.com", "tag:ci"] }), { ipv4: "100.101.102.103" }));
    expect(deployers.acls).toContainEqual({ action: "accept", src: ["me@example.com", "tag:ci"], proto: "tcp", dst: ["tag:xmpp-edge:22"] });
    expect(deployers.tests).toEqual(expect.arrayContaining([
      { src: "me@example.com", proto: "tcp", accept: ["tag:xmpp-edge:22"] },
      { src: "tag:ci", proto: "tcp", accept: ["tag:xmpp-edge:22"] },
      { src: "autogroup:member", proto: "tcp", deny: ["tag:xmpp-edge:22"] },
    ]));
  });

  test("public SSH: no SSH rule at all, and the tests say members do not reach the edge's SSH", () => {
    const acl = JSON.parse(renderAclSnippet(model(), { ipv4: "100.101.102.103" }));
    expect(JSON.stringify(acl.acls)).not.toContain(":22");
    expect(acl.tests).toContainEqual({ src: "autogroup:member", proto: "tcp", deny: ["tag:xmpp-edge:22"] });
  });

  test("tests: the edge reaches each forwarded home port (both ends of a range), one port per test, and not SSH at home", () => {
    const m = model({ turnRelayPorts: "50000-59999", extraForwards: [{ port: "6000-6010", protocol: "tcp" }, { port: 64738, protocol: "udp" }] });
    const acl = JSON.parse(renderAclSnippet(m, { ipv4: "100.101.102.103" }));
    const [tcp, udp] = acl.tests;
    expect(tcp.src).toBe("tag:xmpp-edge");
    expect(tcp.accept).toEqual(["80", "443", "5000", "5080", "5222", "5223", "5269", "5270", "5443", "6000", "6010"].map((p) => `xmpp-edge-home:${p}`));
    expect(tcp.deny).toEqual(["xmpp-edge-home:22"]);
    expect(udp).toEqual({ src: "tag:xmpp-edge", proto: "udp", accept: ["xmpp-edge-home:64738"] });
    for (const t of acl.tests) for (const d of [...(t.accept ?? []), ...(t.deny ?? [])]) expect(d).toMatch(/:\d+$/);
  });

  test("tests: the denied home port is one the edge does not forward, even when home SSH is a forward target", () => {
    const acl = JSON.parse(renderAclSnippet(model({ extraForwards: [{ port: 2222, protocol: "tcp", toPort: 22 }] }), { ipv4: "100.101.102.103" }));
    expect(acl.tests[0].accept).toContain("xmpp-edge-home:22");
    expect(acl.tests[0].deny).toEqual(["xmpp-edge-home:23"]);
  });
});

test("the plan writes the snippet as tailscale-acl.json, for the plan's home address", () => {
  const plan = makePlan(BASE);
  expect(plan.files["tailscale-acl.json"]).toBe(renderAclSnippet(plan.model, { ipv4: "100.101.102.103", ipv6: "fd7a:115c:a1e0::6501:6667" }));
});
