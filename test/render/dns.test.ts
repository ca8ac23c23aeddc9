import { isNonPublic } from "../../model/net";
import { renderDnsRecords } from "../../render/dns";
import { model } from "../fixtures";

const PUBLIC = { ipv4: "95.217.1.2", ipv6: "2a01:4f9:c010::1" };

test("web names proxied with ttl 1, XMPP names DNS-only, Snikket CNAMEs, SRV with direct TLS first", () => {
  const recs = renderDnsRecords(model(), PUBLIC);
  const view = recs.map((r) => [r.type, r.name, r.content, r.proxied, r.ttl, r.priority ?? null]);
  expect(view).toEqual([
    ["A", "www.example.com", "95.217.1.2", true, 1, null],
    ["AAAA", "www.example.com", "2a01:4f9:c010::1", true, 1, null],
    ["A", "chat.example.com", "95.217.1.2", false, 300, null],
    ["AAAA", "chat.example.com", "2a01:4f9:c010::1", false, 300, null],
    ["CNAME", "groups.chat.example.com", "chat.example.com", false, 300, null],
    ["CNAME", "share.chat.example.com", "chat.example.com", false, 300, null],
    ["SRV", "_xmpps-client._tcp.chat.example.com", "5 443 chat.example.com", false, 300, 5],
    ["SRV", "_xmpps-server._tcp.chat.example.com", "5 443 chat.example.com", false, 300, 5],
    ["SRV", "_xmpp-client._tcp.chat.example.com", "5 5222 chat.example.com", false, 300, 10],
    ["SRV", "_xmpp-server._tcp.chat.example.com", "5 5269 chat.example.com", false, 300, 10],
  ]);
  expect(recs.find((r) => r.name.startsWith("_xmpps-client"))!.data).toEqual({ priority: 5, weight: 5, port: 443, target: "chat.example.com" });
});

test("a separate xmppHost: SRV targets it, it gets its own DNS-only addresses", () => {
  const recs = renderDnsRecords(model({ preset: "prosody", xmppHost: "xmpp.example.com", domain: "example.com", webHostnames: ["example.com", "www.example.com"] }), PUBLIC);
  expect(recs.filter((r) => r.type === "A").map((r) => [r.name, r.proxied])).toEqual([["example.com", true], ["www.example.com", true], ["xmpp.example.com", false]]);
  expect(recs.filter((r) => r.type === "SRV").every((r) => r.data!.target === "xmpp.example.com" && r.name.endsWith("._tcp.example.com"))).toBe(true);
  expect(recs.some((r) => r.type === "CNAME")).toBe(false);
});

test("directTls off: no _xmpps records", () => {
  expect(renderDnsRecords(model({ directTls: false }), PUBLIC).some((r) => r.name.startsWith("_xmpps"))).toBe(false);
});

test("no record ever points at the home server, the tailnet or a private address", () => {
  for (const o of [{}, { preset: "prosody" }, { clientIp: "proxy-protocol", webHostnames: ["a.example.com", "b.example.com"] }]) {
    for (const r of renderDnsRecords(model(o), PUBLIC)) {
      if (r.type === "A" || r.type === "AAAA") {
        expect(isNonPublic(String(r.content))).toBe(false);
        expect(r.content).not.toMatch(/^100\.|^fd7a:/);
      }
    }
  }
});

test("only A/AAAA/CNAME may be proxied", () => {
  expect(renderDnsRecords(model(), PUBLIC).filter((r) => r.proxied).every((r) => ["A", "AAAA", "CNAME"].includes(r.type))).toBe(true);
});

test("an IPv4-only host gets no AAAA records", () => {
  expect(renderDnsRecords(model(), { ipv4: "95.217.1.2" }).some((r) => r.type === "AAAA")).toBe(false);
});
