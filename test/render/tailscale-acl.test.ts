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
    expect(homePorts(m)).toEqual({ tcp: [80, 443, 15222, 15269].map((p) => ({ from: p, to: p })), udp: [] });
  });

  test('with sshAllowFrom ["tailnet"] tailnet members may SSH to the edge', () => {
    const acl = JSON.parse(renderAclSnippet(model({ sshAllowFrom: ["tailnet"] }), { ipv4: "100.101.102.103" }));
    expect(acl.acls).toContainEqual({ action: "accept", src: ["autogroup:member"], proto: "tcp", dst: ["tag:xmpp-edge:22"] });
    expect(Object.keys(acl.hosts)).toEqual(["xmpp-edge-home"]);
  });
});

test("the plan writes the snippet as tailscale-acl.json, for the plan's home address", () => {
  const plan = makePlan(BASE);
  expect(plan.files["tailscale-acl.json"]).toBe(renderAclSnippet(plan.model, { ipv4: "100.101.102.103", ipv6: "fd7a:115c:a1e0::6501:6667" }));
});
