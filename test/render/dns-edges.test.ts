// Several edges: the record set in both modes, and one edge is
// exactly the single-VPS set (an upgraded stack replaces no record).
import { renderDnsRecords, renderDnsRecordSet, type DnsRecord } from "../../render/dns";
import { model } from "../fixtures";

const E1 = { ipv4: "95.217.1.2", ipv6: "2a01:4f9:c010::1" };
const E2 = { ipv4: "65.108.3.4", ipv6: "2a01:4f9:c011::1" };
const TWO = { edges: [{ name: "fsn" }, { name: "hel", location: "hel1" }] };

const view = (recs: DnsRecord[]) => recs.map((r) => [r.type, r.name, r.type === "SRV" ? `${r.priority} ${r.content}` : r.content, r.proxied]);

describe("one edge is the single-VPS record set, byte for byte", () => {
  test.each([
    ["snikket", {}],
    ["prosody, own xmppHost, no direct TLS", { preset: "prosody", xmppHost: "xmpp.example.com", domain: "example.com", webHostnames: ["example.com"], directTls: false }],
  ])("%s: edges [{name}] of one entry, in either mode, gives today's records and keys", (_l, o) => {
    const today = renderDnsRecordSet(model(o), E1);
    for (const edgeMode of ["failover", "active-active"]) {
      const one = renderDnsRecordSet(model({ ...o, edges: [{ name: "fsn" }], edgeMode }), [E1]);
      expect(JSON.stringify(one)).toBe(JSON.stringify(today));
    }
    // The keys (resource names) are type and name only, as with one edge.
    expect(today.every(({ key, record }) => key === `${record.type}-${record.name}`)).toBe(true);
  });
});

describe("two edges", () => {
  test("failover: every name has both edges' addresses, each edge its own name, SRV to the first edge first", () => {
    const recs = renderDnsRecords(model({ ...TWO, edgeMode: "failover" }), [E1, E2]);
    expect(view(recs)).toEqual([
      ["A", "www.example.com", E1.ipv4, true],
      ["AAAA", "www.example.com", E1.ipv6, true],
      ["A", "www.example.com", E2.ipv4, true],
      ["AAAA", "www.example.com", E2.ipv6, true],
      ["A", "chat.example.com", E1.ipv4, false],
      ["AAAA", "chat.example.com", E1.ipv6, false],
      ["A", "chat.example.com", E2.ipv4, false],
      ["AAAA", "chat.example.com", E2.ipv6, false],
      ["CNAME", "groups.chat.example.com", "chat.example.com", false],
      ["CNAME", "share.chat.example.com", "chat.example.com", false],
      ["A", "fsn.chat.example.com", E1.ipv4, false],
      ["AAAA", "fsn.chat.example.com", E1.ipv6, false],
      ["A", "hel.chat.example.com", E2.ipv4, false],
      ["AAAA", "hel.chat.example.com", E2.ipv6, false],
      ["SRV", "_xmpps-client._tcp.chat.example.com", "5 5 443 fsn.chat.example.com", false],
      ["SRV", "_xmpps-client._tcp.chat.example.com", "15 5 443 hel.chat.example.com", false],
      ["SRV", "_xmpps-server._tcp.chat.example.com", "5 5 443 fsn.chat.example.com", false],
      ["SRV", "_xmpps-server._tcp.chat.example.com", "15 5 443 hel.chat.example.com", false],
      ["SRV", "_xmpp-client._tcp.chat.example.com", "10 5 5222 fsn.chat.example.com", false],
      ["SRV", "_xmpp-client._tcp.chat.example.com", "20 5 5222 hel.chat.example.com", false],
      ["SRV", "_xmpp-server._tcp.chat.example.com", "10 5 5269 fsn.chat.example.com", false],
      ["SRV", "_xmpp-server._tcp.chat.example.com", "20 5 5269 hel.chat.example.com", false],
    ]);
  });

  test("failover: all of the first edge (direct TLS and STARTTLS) sorts before any of the second, each edge direct TLS first", () => {
    const srv = renderDnsRecords(model({ ...TWO, edgeMode: "failover" }), [E1, E2]).filter((r) => r.type === "SRV" && r.name.includes("-client"));
    const byEdge = (e: string) => srv.filter((r) => r.data!.target.startsWith(`${e}.`)).map((r) => r.priority!);
    expect(Math.max(...byEdge("fsn"))).toBeLessThan(Math.min(...byEdge("hel")));
    for (const e of ["fsn", "hel"]) {
      const tls = srv.find((r) => r.name.startsWith("_xmpps-") && r.data!.target.startsWith(`${e}.`))!;
      const starttls = srv.find((r) => r.name.startsWith("_xmpp-") && r.data!.target.startsWith(`${e}.`))!;
      expect(tls.priority!).toBeLessThan(starttls.priority!);
    }
  });

  test("active-active: equal priority and weight for every edge", () => {
    const srv = renderDnsRecords(model({ ...TWO, edgeMode: "active-active" }), [E1, E2]).filter((r) => r.type === "SRV");
    expect(srv.map((r) => `${r.name} ${r.priority} ${r.content}`)).toEqual([
      "_xmpps-client._tcp.chat.example.com 5 5 443 fsn.chat.example.com",
      "_xmpps-client._tcp.chat.example.com 5 5 443 hel.chat.example.com",
      "_xmpps-server._tcp.chat.example.com 5 5 443 fsn.chat.example.com",
      "_xmpps-server._tcp.chat.example.com 5 5 443 hel.chat.example.com",
      "_xmpp-client._tcp.chat.example.com 10 5 5222 fsn.chat.example.com",
      "_xmpp-client._tcp.chat.example.com 10 5 5222 hel.chat.example.com",
      "_xmpp-server._tcp.chat.example.com 10 5 5269 fsn.chat.example.com",
      "_xmpp-server._tcp.chat.example.com 10 5 5269 hel.chat.example.com",
    ]);
  });

  test("the first edge's records keep their keys; the second edge's are new keys (no record renamed)", () => {
    const one = renderDnsRecordSet(model(), E1).map((r) => r.key);
    const two = renderDnsRecordSet(model(TWO), [E1, E2]).map((r) => r.key);
    expect(new Set(two).size).toBe(two.length);
    expect(two).toEqual(expect.arrayContaining(one));
    expect(two.filter((k) => !one.includes(k)).every((k) => k.endsWith("-hel") || /^(A|AAAA)-(fsn|hel)\.chat\.example\.com$/.test(k))).toBe(true);
  });

  test("an IPv4-only edge adds no AAAA for itself", () => {
    const recs = renderDnsRecords(model(TWO), [E1, { ipv4: E2.ipv4 }]);
    expect(recs.filter((r) => r.type === "AAAA").map((r) => r.content)).toEqual(recs.filter((r) => r.type === "AAAA").map(() => E1.ipv6));
  });

  test("addresses for a different number of edges than configured are refused", () => {
    expect(() => renderDnsRecords(model(TWO), [E1])).toThrow(/1 edge addresses for 2 edges/);
  });
});
