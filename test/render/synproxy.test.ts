import { renderNftables } from "../../render/nftables";
import { FACTS, model, problems } from "../fixtures";

const rules = (o: Record<string, unknown> = {}) => renderNftables(model({ synProxy: true, ...o }), FACTS);

test("the SYN proxy answers for the forwarded TCP ports only (not nginx's, coturn's or the UDP forwards)", () => {
  const r = rules({ extraForwards: [{ port: "7000-7002", protocol: "tcp" }, { port: 6473, protocol: "udp" }] });
  expect(r).toContain('elements = { 5222 comment "xmpp-c2s", 5269 comment "xmpp-s2s", 5000 comment "proxy65", 7000-7002 comment');
  expect(r).not.toMatch(/set synproxy_ports \{[^}]*\b(443|3478|6473)\b/);
});

test("with clientIp nginx or proxy-protocol nginx holds 5222/5269: the proxy answers only for what is still DNAT'd", () => {
  for (const clientIp of ["nginx", "proxy-protocol"]) {
    expect(rules({ clientIp })).toMatch(/set synproxy_ports \{\n[^\n]*\n\s+elements = \{ 5000 comment "proxy65" \}/);
  }
});

test("the MSS announced is what the tailnet carries (MTU 1280), the window scale the setting's", () => {
  expect(rules({ synProxyWindowScale: 5 })).toContain("synproxy mss 1240 wscale 5 timestamp sack-perm");
});

test("IPv4 only: IPv6 SYNs are tracked and DNAT'd as before (nft's synproxy checks IPv6 checksums as IPv4's)", () => {
  const r = rules();
  expect(r.split("\n").filter((l) => /synproxy mss| notrack comment|jump source_limits comment "SYN proxy/.test(l)).every((l) => l.includes("meta nfproto ipv4 "))).toBe(true);
  expect(r.split("chain synproxy_dnat {")[1].split("\n    }")[0]).not.toContain("ipv6");
  expect(r).toContain("meta nfproto ipv6 meta l4proto . th dport @forwards_kept dnat ip6 to");
});

test("SYNs from the tailnet and to other addresses keep their conntrack entry", () => {
  const raw = rules().split("chain synproxy_notrack {")[1].split("\n    }")[0];
  expect(raw).toMatch(/type filter hook prerouting priority raw;[^\n]*\n\s+iifname "tailscale0" return\n\s+meta nfproto ipv4 tcp dport @synproxy_ports tcp flags & \(fin \| syn \| rst \| ack\) == syn fib daddr type local notrack/);
});

test("the proxy's SYN to home is DNAT'd like the client's, never the edge's own connections", () => {
  const out = rules().split("chain synproxy_dnat {")[1].split("\n    }")[0];
  expect(out).toMatch(/type nat hook output priority -100;[^\n]*\n\s+fib saddr type local return[^\n]*\n\s+fib daddr type != local return\n\s+tcp dport != @synproxy_ports return\n\s+meta nfproto ipv4 meta l4proto \. th dport @forwards_kept dnat ip to 100\.101\.102\.103/);
});

test("off by default (its cost: docs/security.md), and then no trace of it in the table", () => {
  expect(renderNftables(model(), FACTS)).not.toMatch(/synproxy/i);
  expect(rules({ synProxy: false })).not.toMatch(/synproxy/i);
});

test("a window scale outside 0-14 is refused, naming the setting and what would be valid", () => {
  for (const v of [-1, 15, 7.5, "7"]) {
    expect(problems({ synProxyWindowScale: v }).join("\n")).toMatch(/synProxyWindowScale/);
  }
  expect(problems({ synProxyWindowScale: 15 })).toEqual([expect.stringMatching(/^xmpp-edge:synProxyWindowScale: 15 is not a TCP window scale; expected a whole number from 0 to 14/)]);
  expect(problems({ synProxyWindowScale: 0 })).toEqual([]);
});
