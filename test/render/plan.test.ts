import * as path from "node:path";
import { readStackFile } from "../../model/source";
import { makePlan } from "../../render/plan";
import { BASE } from "../fixtures";

test("the example stack plans every file", () => {
  const plan = makePlan(readStackFile(path.join(__dirname, "..", "..", "Pulumi.prod.yaml")));
  expect(Object.keys(plan.files).sort()).toEqual([
    "PLAN.md",
    "cloud-init.yaml",
    "dns.json",
    "firewall.json",
    "home/nginx-realip.conf",
    "home/prosody.cfg.lua",
    "home/snikket.conf",
    ...Object.keys(plan.bundle).map((p) => `vps${p}`),
  ].sort());
  expect(Object.keys(plan.files).filter((f) => f.startsWith("vps/") && f.endsWith(".nft"))).toEqual(["vps/etc/xmpp-edge/xmpp-edge.nft"]);
  expect(plan.files["vps/etc/xmpp-edge/manifest"]).toContain("0640 root:turnserver /etc/turnserver.conf");
});

test("dns.json: documentation addresses unless given", () => {
  const doc = JSON.parse(makePlan(BASE).files["dns.json"]);
  expect(doc[0]).toEqual({ type: "A", name: "www.example.com", content: "192.0.2.10", proxied: true, ttl: 1 });
  const given = JSON.parse(makePlan(BASE, { vpsIPv4: "95.217.1.2", vpsIPv6: "2a01:4f9::1" }).files["dns.json"]);
  expect(given[0].content).toBe("95.217.1.2");
  expect(given[1].content).toBe("2a01:4f9::1");
});

test("PLAN.md: ports and records tables and a mermaid diagram", () => {
  const md = makePlan({ ...BASE, extraForwards: [{ port: 7000, protocol: "udp", description: "game" }] }).files["PLAN.md"];
  expect(md).toContain("```mermaid\nflowchart LR");
  expect(md).toContain("| 7000 | udp | kernel DNAT + masquerade | 7000 | game |");
  expect(md).toContain("| SRV | _xmpps-client._tcp.chat.example.com | 5 443 chat.example.com | no | 300 | 5 |");
  expect(md).toContain("documentation addresses");
});

test("a hostname-only home is shown with a stand-in and a note", () => {
  const { homeTailnetIPv4: _, ...rest } = BASE;
  const plan = makePlan({ ...rest, homeTailnetHostname: "homeserver" });
  expect(plan.facts.homeIPv4).toBe("100.64.0.1");
  expect(plan.files["PLAN.md"]).toContain("looked up in the tailnet at deploy (homeserver)");
});

test("an existing host: its own addresses, no documentation stand-ins", () => {
  const plan = makePlan({ ...BASE, existingHost: { address: "edge.example.net", hostKey: "ssh-ed25519 AAAAC3Nza", ipv4: "95.217.1.2" }, sshPublicKey: "ssh-ed25519 AAAAC3Nza", sshPrivateKey: { secure: "x" } });
  expect(plan.facts.vpsIPv4).toBe("95.217.1.2");
  expect(plan.facts.vpsIPv6).toBeUndefined();
  expect(plan.files["dns.json"]).not.toContain("AAAA");
  expect(plan.files["PLAN.md"]).not.toContain("documentation addresses");
  // No server is created: no cloud firewall, no cloud-init (components/vps.ts is skipped).
  expect(plan.files["firewall.json"]).toBeUndefined();
  expect(plan.files["cloud-init.yaml"]).toBeUndefined();
  expect(plan.files["PLAN.md"]).toContain("None: an existing host gets no cloud firewall.");
});

test("PLAN.md's traffic diagram shows only the paths the stack has", () => {
  const diagram = (o: Record<string, unknown>) => {
    const md = makePlan({ ...BASE, ...o }).files["PLAN.md"];
    return md.slice(md.indexOf("```mermaid"), md.indexOf("```", md.indexOf("```mermaid") + 3));
  };
  const full = diagram({});
  expect(full).toContain("xc([XMPP client / server]) -->|443 ALPN, 5222, 5269| vps");
  expect(full).toContain("tc([call peer]) -->|STUN/TURN| vps");
  expect(full).toContain("coturn[coturn]");
  expect(full).toMatch(/nft -->\|tailscale0, masquerade: 5222, 5269, 5000\| home/);
  const lean = diagram({ clientIp: "proxy-protocol", turn: "off", directTls: false, preset: "prosody", webHostnames: [] });
  expect(lean).toContain("xc([XMPP client / server]) -->|5222, 5269| vps");
  expect(lean).toContain("nginx -->|tailscale0, PROXY v1| home");
  for (const absent of ["browser", "call peer", "coturn", "nft", "ALPN"]) expect(lean).not.toContain(absent);
});
