// What the live check expects, derived from the model (the plan's records and
// services), and the report it prints.
import { forbiddenReason } from "../../check/dns";
import { COMMON_TCP_PORTS, expectedFacts, sample } from "../../check/expected";
import { failures, renderJson, renderTable, type CheckResult } from "../../check/report";
import { renderDnsRecords } from "../../render/dns";
import { model } from "../fixtures";

const EDGE = { ipv4: "198.51.100.10", ipv6: "2001:db8:10::10" };

describe("expectedFacts", () => {
  test("every planned A/AAAA/CNAME/SRV record is expected, no more (the plan's own list)", () => {
    const m = model({ webHostnames: ["www.example.com"] });
    const exp = expectedFacts(m, [EDGE]);
    const planned = renderDnsRecords(m, EDGE);
    const names = (t: string) => planned.filter((r) => r.type === t).map((r) => r.name).sort();
    expect(exp.dns.addressNames.filter((n) => n.ipv4.length).map((n) => n.name).sort()).toEqual(names("A"));
    expect(exp.dns.addressNames.filter((n) => n.ipv6.length).map((n) => n.name).sort()).toEqual(names("AAAA"));
    expect(exp.dns.cnames.map((c) => c.name).sort()).toEqual(names("CNAME"));
    expect(exp.dns.srv.map((s) => s.name).sort()).toEqual(names("SRV"));
    expect(exp.dns.addressNames.find((n) => n.name === "www.example.com")?.proxied).toBe(true);
    expect(exp.dns.addressNames.find((n) => n.name === m.config.domain)).toMatchObject({ proxied: false, ipv4: [EDGE.ipv4], ipv6: [EDGE.ipv6] });
  });

  test("direct TLS: _xmpps-* must sort first; without it no such order (and no 443 XMPP)", () => {
    const on = expectedFacts(model(), [EDGE]);
    expect(on.dns.srvOrder.map((o) => o.first)).toEqual([expect.stringMatching(/^_xmpps-client\./), expect.stringMatching(/^_xmpps-server\./)]);
    const off = expectedFacts(model({ directTls: false }), [EDGE]);
    expect(off.dns.srvOrder).toEqual([]);
    expect(off.xmpp.directTls).toBe(false);
  });

  test("two edges: each name expects both addresses, each edge its own name, SRV to both", () => {
    const exp = expectedFacts(model({ edges: [{ name: "a" }, { name: "b" }] }), [EDGE, { ipv4: "203.0.113.77" }]);
    expect(exp.dns.addressNames.find((n) => n.name === `b.${exp.xmppHost}`)).toMatchObject({ ipv4: ["203.0.113.77"], ipv6: [] });
    expect(exp.dns.srv.find((s) => s.name.startsWith("_xmpp-client."))!.records.map((r) => `${r.priority} ${r.target}`)).toEqual([`10 a.${exp.xmppHost}`, `20 b.${exp.xmppHost}`]);
    expect(() => expectedFacts(model(), [EDGE, EDGE])).toThrow(/2 edge addresses for 1 edges/);
    const domain = exp.dns.addressNames.find((n) => n.name === exp.domain)!;
    expect(domain.ipv4.sort()).toEqual(["198.51.100.10", "203.0.113.77"]);
    expect(domain.ipv6).toEqual([EDGE.ipv6]);
    // The edges' own addresses stay allowed peers: two users of one edge relay to each other.
    expect(exp.turn?.deniedPeers.map((p) => p.address)).toEqual(["100.101.102.103", "10.0.0.1", "127.0.0.1"]);
    expect(() => expectedFacts(model(), [])).toThrow(/no edge/);
  });

  test("ports: the planned TCP ports open, the common ones closed; SSH judged only with sshAllowFrom tailnet", () => {
    const exp = expectedFacts(model({ extraForwards: [{ port: "7000-7002", protocol: "tcp" }, { port: 9999, protocol: "udp" }] }), [EDGE]);
    const open = exp.ports.probes.filter((p) => p.expect === "open").map((p) => p.port);
    expect(open).toEqual(expect.arrayContaining([80, 443, 5222, 5269, 7000, 7001, 7002]));
    expect(open).not.toContain(9999); // UDP: not a TCP probe
    expect(exp.ports.probes.find((p) => p.port === 3306)?.expect).toBe("closed");
    expect(exp.ports.probes.length).toBeLessThan(COMMON_TCP_PORTS.length + 20); // never a sweep
    const tailnet = expectedFacts(model({ sshAllowFrom: ["tailnet"] }), [EDGE]);
    expect(tailnet.ports.sshJudged).toBe(true);
    expect(tailnet.ports.probes.find((p) => p.port === 22)?.expect).toBe("closed");
    const cidrs = expectedFacts(model({ sshAllowFrom: ["203.0.113.0/24"] }), [EDGE]);
    expect(cidrs.ports.sshJudged).toBe(false);
    expect(cidrs.ports.probes.find((p) => p.port === 22)).toBeUndefined();
  });

  test("a long planned range is sampled, a short one probed whole", () => {
    expect(sample({ from: 7000, to: 7002 })).toEqual([7000, 7001, 7002]);
    const s = sample({ from: 10000, to: 20000 });
    expect(s).toHaveLength(8);
    expect([s[0], s[7]]).toEqual([10000, 20000]);
  });

  test("turn off: no STUN/TURN expectations; origin lock off: nothing to refuse", () => {
    expect(expectedFacts(model({ turn: "off" }), [EDGE]).turn).toBeNull();
    expect(expectedFacts(model({ webOriginLock: "off" }), [EDGE]).web.originLock).toBe(false);
  });

  test("forbidden answers: home's tailnet address, tailnet, private; documentation only outside the lab", () => {
    const m = model({ homeTailnetIPv4: "100.64.0.2" });
    const strict = expectedFacts(m, [EDGE]).dns.forbidden;
    expect(forbiddenReason("100.64.0.2", strict)).toMatch(/home server's tailnet address/);
    expect(forbiddenReason("100.100.1.1", strict)).toMatch(/tailnet/);
    expect(forbiddenReason("192.168.1.1", strict)).toMatch(/private/);
    expect(forbiddenReason("198.51.100.10", strict)).toMatch(/documentation/);
    expect(forbiddenReason("95.216.1.1", strict)).toBeUndefined();
    const lab = expectedFacts(m, [EDGE], { allowDocumentationAddresses: true }).dns.forbidden;
    expect(forbiddenReason("198.51.100.10", lab)).toBeUndefined();
    expect(forbiddenReason("100.64.0.2", lab)).toMatch(/home/);
  });

  test("proxied names may point at Cloudflare and at webOriginExtraAllow", () => {
    const exp = expectedFacts(model({ webOriginExtraAllow: ["198.51.100.64/26"] }), [EDGE]);
    expect(exp.dns.proxyRanges).toEqual(expect.arrayContaining(["104.16.0.0/13", "198.51.100.64/26"]));
  });
});

describe("report", () => {
  const rows: CheckResult[] = [
    { area: "dns", name: "SRV _xmpps-client._tcp.chat.example.com", status: "fail", expected: "5 5 443 chat.example.com", seen: "no answer", fix: "create it", ms: 3 },
    { area: "ports", name: "TCP ports of 198.51.100.10", status: "pass", expected: "open: exactly 80, 443", seen: "open: 80, 443", ms: 9 },
    { area: "xmpp-client", name: "login", status: "skip", expected: "a login", seen: "no test account", ms: 0 },
  ];

  test("the table marks each row, shows the fix under a failure and sums up", () => {
    const t = renderTable(rows, 1234);
    expect(t).toMatch(/^✗ +dns +SRV _xmpps-client/m);
    expect(t).toMatch(/^✓ +ports/m);
    expect(t).toMatch(/^– +xmpp-client/m);
    expect(t).toMatch(/^ +fix: create it$/m);
    expect(t).toContain("1 passed, 1 failed, 1 skipped in 1.2 s");
    for (const line of renderTable(rows, 1, 90).split("\n")) expect(line.length).toBeLessThanOrEqual(90);
  });

  test("JSON says ok only without failures; failures() picks the failed rows", () => {
    expect(JSON.parse(renderJson(rows, 5, { stack: "prod", edges: [EDGE] })).ok).toBe(false);
    expect(JSON.parse(renderJson(rows.slice(1), 5, { stack: "prod", edges: [EDGE] })).ok).toBe(true);
    expect(failures(rows).map((r) => r.name)).toEqual(["SRV _xmpps-client._tcp.chat.example.com"]);
  });
});
