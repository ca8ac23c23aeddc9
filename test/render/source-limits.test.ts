import { SOURCE_LIMITS } from "../../model/ports";
import { renderNftables } from "../../render/nftables";
import { OVERFLOW_COMMENT, SITE_COMMENT } from "../../render/source-limits";
import { FACTS, model } from "../fixtures";

const chain = (o: Record<string, unknown> = {}) => {
  const r = renderNftables(model(o), FACTS);
  return /chain source_limits \{\n([\s\S]*?)\n\s+\}/.exec(r)![1];
};

test("per-source limits before DNAT, on nginx's, the forwarded ports and coturn's TCP port; TURN over UDP left to coturn", () => {
  const r = renderNftables(model({ extraForwards: [{ port: "7000-7002", protocol: "tcp" }, { port: 6473, protocol: "udp" }], turnTcpRelay: true }), FACTS);
  expect(r).toContain("elements = { tcp . 80, tcp . 443, tcp . 5222, tcp . 5269, tcp . 5000, tcp . 7000-7002, udp . 6473, tcp . 3478 }");
  expect(renderNftables(model({ turn: "off" }), FACTS)).not.toMatch(/set limited_ports \{[^}]*3478/);
  const c = chain();
  // Entered before DNAT: in prerouting, and in output for the SYN proxy's own SYN to home (render/synproxy.ts).
  expect(r).toMatch(/chain limits_prerouting \{\n\s+type filter hook prerouting priority mangle; policy accept;\n\s+jump source_limits\n/);
  expect(renderNftables(model({ synProxy: true }), FACTS)).toMatch(/chain limits_synproxied \{\n\s+type filter hook output priority mangle; policy accept;\n\s+fib saddr type local return[^\n]*\n\s+meta nfproto ipv4 tcp dport @synproxy_ports jump source_limits /);
  expect(renderNftables(model({ synProxy: false }), FACTS)).not.toContain("limits_synproxied");
  expect(c).toContain("update @new_conn_v4 { ip saddr limit rate over 20/second burst 100 packets } counter drop");
  expect(c).toContain("add @conn_v4 { ip saddr ct count over 64 } counter drop");
});

test("IPv6 sources are counted per /64, not per address", () => {
  const c = chain();
  expect(c).toContain("update @new_conn_v6 { ip6 saddr and ffff:ffff:ffff:ffff:: limit rate over");
  expect(c).toContain("add @conn_v6 { ip6 saddr and ffff:ffff:ffff:ffff:: ct count over 64 }");
});

test("the limits stay with the origin lock off; only Cloudflare is exempt, and only on 80/443", () => {
  for (const o of [{}, { webOriginLock: "off" }, { webOriginExtraAllow: ["198.51.100.0/24"] }]) {
    const r = renderNftables(model(o), FACTS);
    expect(chain(o)).toContain("ct count over 64");
    expect(chain(o)).toContain('ip saddr @limit_exempt_v4 tcp dport { 80, 443 } return');
    expect(r).toMatch(/set limit_exempt_v4 \{\n\s+type ipv4_addr; flags interval;\n\s+elements = \{ 173\.245\.48\.0\/20,/);
    expect(r).not.toContain("198.51.100.0/24");
  }
});

test("the tailnet and traffic not addressed to the VPS are not limited", () => {
  expect(chain()).toMatch(/ct state != new return\n\s+ct status confirmed return\n\s+iifname "tailscale0" return\n\s+fib daddr type != local return/);
});

test("a flow is counted once: later packets of an unanswered UDP flow (still state new) are not limited", () => {
  // Before any rate or count: only the packet that creates the conntrack entry reaches them.
  const lines = chain().split("\n").map((l) => l.trim());
  const confirmed = lines.indexOf("ct status confirmed return");
  expect(confirmed).toBeGreaterThanOrEqual(0);
  expect(confirmed).toBeLessThan(lines.findIndex((l) => l.startsWith("update @new_conn_v4")));
  expect(confirmed).toBeLessThan(lines.findIndex((l) => l.startsWith("add @conn_v4")));
});

test("a full set still limits: right after each set rule, the sources not in the set share one source's limits per /16, in sets of every /16", () => {
  const lines = chain().split("\n").map((l) => l.trim());
  const after = (prefix: string) => lines[lines.findIndex((l) => l.startsWith(prefix)) + 1];
  expect(after("update @new_conn_v4")).toBe('ip saddr != @new_conn_v4 update @new_conn_v4_by16 { ip saddr and 255.255.0.0 limit rate over 20/second burst 100 packets } counter drop comment "new connections: sources the full set cannot hold, per /16"');
  expect(after("update @new_conn_v6")).toBe('ip6 saddr and ffff:ffff:ffff:ffff:: != @new_conn_v6 update @new_conn_v6_by16 { ip6 saddr and ffff:: limit rate over 20/second burst 100 packets } counter drop comment "new connections: sources the full set cannot hold, per /16"');
  expect(after("add @conn_v4")).toBe('ip saddr != @conn_v4 add @conn_v4_by16 { ip saddr and 255.255.0.0 ct count over 64 } counter drop comment "connections: sources the full set cannot hold, per /16"');
  expect(after("add @conn_v6")).toBe('ip6 saddr and ffff:ffff:ffff:ffff:: != @conn_v6 add @conn_v6_by16 { ip6 saddr and ffff:: ct count over 64 } counter drop comment "connections: sources the full set cannot hold, per /16"');
  const r = renderNftables(model(), FACTS);
  for (const name of ["new_conn_v4_by16", "new_conn_v6_by16", "conn_v4_by16", "conn_v6_by16", "new_conn_v6_site_by16", "conn_v6_site_by16"]) {
    // 2^16 elements: one for every /16 there is, so these sets are never full.
    expect(r).toMatch(new RegExp(`set ${name} \\{\\n\\s+type ipv[46]_addr; size 65536; flags dynamic`));
  }
});

test("a source's rate element lives as long as its bucket takes to refill (burst / rate), not longer", () => {
  const r = renderNftables(model(), FACTS);
  for (const f of ["v4", "v6"]) expect(r).toMatch(new RegExp(`set new_conn_${f} \\{\\n\\s+type ipv[46]_addr; size 65536; flags dynamic,timeout; timeout 5s;`));
});

test("the /64s of one IPv6 /48 share ipv6SiteSources sources' worth of every limit, after each /64's own, with the overflow rules of a full set", () => {
  const lines = chain().split("\n").map((l) => l.trim());
  const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
  expect(lines[at("update @new_conn_v6_site")]).toBe(`update @new_conn_v6_site { ip6 saddr and ffff:ffff:ffff:: limit rate over 160/second burst 800 packets } counter drop comment "new connections ${SITE_COMMENT} /48, 8 sources' worth"`);
  expect(lines[at("update @new_conn_v6_site") + 1]).toBe(`ip6 saddr and ffff:ffff:ffff:: != @new_conn_v6_site update @new_conn_v6_site_by16 { ip6 saddr and ffff:: limit rate over 160/second burst 800 packets } counter drop comment "new connections ${SITE_COMMENT}: ${OVERFLOW_COMMENT}"`);
  expect(lines[at("add @conn_v6_site")]).toBe(`add @conn_v6_site { ip6 saddr and ffff:ffff:ffff:: ct count over 512 } counter drop comment "connections ${SITE_COMMENT} /48, 8 sources' worth"`);
  expect(lines[at("add @conn_v6_site") + 1]).toContain(`!= @conn_v6_site add @conn_v6_site_by16 { ip6 saddr and ffff:: ct count over 512 } counter drop comment "connections ${SITE_COMMENT}: ${OVERFLOW_COMMENT}"`);
  expect(at("update @new_conn_v6_site")).toBeGreaterThan(at("add @conn_v6 "));
  const r = renderNftables(model(), FACTS);
  expect(r).toMatch(/set new_conn_v6_site \{\n\s+type ipv6_addr; size 65536; flags dynamic,timeout; timeout 5s;/);
  expect(r).toMatch(/set conn_v6_site \{\n\s+type ipv6_addr; size 65536; flags dynamic;/);
  expect(SOURCE_LIMITS.ipv6SitePrefixLength).toBeLessThan(SOURCE_LIMITS.ipv6PrefixLength);
});
