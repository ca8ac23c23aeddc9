import { NFT_FALLBACK_UNIT, NFT_FALLBACK_UNIT_PATH, renderNftBootUnit, renderNftFallbackUnit } from "../../render/bundle";
import { TAILSCALED_UNANSWERED_LIMIT } from "../../model/ports";
import { NFT_FALLBACK_PATH, renderNftables, renderNftFallback, TAILSCALED_JUNK_COMMENT } from "../../render/nftables";
import { FACTS, model } from "../fixtures";

const rules = (o: Record<string, unknown> = {}, facts = FACTS) => renderNftables(model(o), facts);

test("owns exactly one table and replaces it atomically, never the ruleset", () => {
  const r = rules();
  expect(r).not.toMatch(/flush ruleset/);
  const tables = [...r.matchAll(/^(?:delete )?table (\S+) (\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);
  expect(new Set(tables)).toEqual(new Set(["inet xmpp_edge"]));
  expect(r).toMatch(/^table inet xmpp_edge\ndelete table inet xmpp_edge\ntable inet xmpp_edge \{/m);
});

test("DNAT of the forwarded ports to home over IPv4 and IPv6 by set and map lookups, masquerade on tailscale0", () => {
  const r = rules({ extraForwards: [{ port: "6000-6010", protocol: "tcp" }, { port: 7000, protocol: "udp", toPort: 7001 }] });
  const kept = r.match(/set forwards_kept \{\n\s+type inet_proto \. inet_service; flags interval;\n\s+elements = \{ ([^}]*) \}/);
  expect(kept).not.toBeNull();
  for (const port of ["5222", "5269", "5000", "6000-6010"]) expect(kept![1]).toMatch(new RegExp(`(^|, )tcp \\. ${port} comment "`));
  expect(kept![1]).not.toContain("7000");
  expect(r).toMatch(/map forwards_remapped \{\n\s+type inet_proto \. inet_service : inet_service;\n\s+elements = \{ udp \. 7000 comment "extra-1" : 7001 \}/);
  expect(r).toContain("meta nfproto ipv4 meta l4proto . th dport @forwards_kept dnat ip to 100.101.102.103 comment");
  expect(r).toContain("meta nfproto ipv6 meta l4proto . th dport @forwards_kept dnat ip6 to fd7a:115c:a1e0::6501:6667 comment");
  expect(r).toContain("meta nfproto ipv4 meta l4proto { tcp, udp } dnat ip to 100.101.102.103 : meta l4proto . th dport map @forwards_remapped comment");
  expect(r).toContain("meta nfproto ipv6 meta l4proto { tcp, udp } dnat ip6 to [fd7a:115c:a1e0::6501:6667] : meta l4proto . th dport map @forwards_remapped comment");
  expect(r).toContain('oifname "tailscale0" ct status dnat masquerade');
  expect(r).toMatch(/chain prerouting \{\n\s+type nat hook prerouting priority dstnat; policy accept;\n\s+iifname "tailscale0" return\n\s+fib daddr type != local return/);
});

test("the DNAT rules do not grow with the forwards (one lookup each way, bench:scale)", () => {
  const many = Array.from({ length: 200 }, (_, i) => ({ port: 20000 + 3 * i, protocol: i % 2 ? "udp" : "tcp", ...(i % 5 === 0 ? { toPort: 30000 + i } : {}) }));
  const dnat = (r: string, chain: string) => r.split(`chain ${chain} {`)[1].split("\n    }")[0].split("\n").filter((l) => / dnat ip6? to /.test(l)).length;
  // prerouting: IPv4 and IPv6, kept and remapped; the SYN proxy's (render/synproxy.ts): IPv4's.
  for (const [chain, n] of [["prerouting", 4], ["synproxy_dnat", 2]] as const) {
    expect(dnat(rules({ extraForwards: many, synProxy: true }), chain)).toBe(dnat(rules({ extraForwards: many.slice(0, 2), synProxy: true }), chain));
    expect(dnat(rules({ extraForwards: many, synProxy: true }), chain)).toBe(n);
  }
});

test("without a home IPv6 no IPv6 DNAT is written", () => {
  const { homeIPv6: _, ...facts } = FACTS;
  expect(rules({}, facts)).not.toContain("dnat ip6");
});

test("no remapped port, no map (and no rule reading one)", () => {
  expect(rules()).not.toContain("forwards_remapped");
});

test("proxy-protocol: 5222/5269 are served by nginx, not DNATed", () => {
  const r = rules({ clientIp: "proxy-protocol" });
  expect(r).not.toMatch(/tcp \. 5222 comment/);
  expect(r).toMatch(/tcp dport \{ 443, 5222, 5269 \} accept comment "nginx-stream/);
});

test("clientIp nginx: 5222/5269 are nginx's, not DNATed, and limited per source like 443", () => {
  const r = rules({ clientIp: "nginx" });
  expect(r).not.toMatch(/tcp \. 5222 comment/);
  expect(r).toMatch(/tcp dport \{ 443, 5222, 5269 \} accept comment "nginx-stream/);
  expect(r).toMatch(/set limited_ports \{[^}]*tcp \. 5222, tcp \. 5269/);
});

test("input admits only planned ports, SSH from sshAllowFrom, tailscaled, ICMP and established", () => {
  const r = rules();
  expect(r).toContain("type filter hook input priority filter; policy drop;");
  expect(r).toContain("ct state established,related accept");
  expect(r).toMatch(/set ssh_allow_v4 \{\n\s+type ipv4_addr; flags interval;\n\s+elements = \{ 203\.0\.113\.0\/24 \}/);
  expect(r).toMatch(/set ssh_allow_v6 \{\n\s+type ipv6_addr; flags interval;\n\s+elements = \{ 2001:db8:1234::\/48 \}/);
  expect(r).toContain("ip saddr @ssh_allow_v4 tcp dport 22 accept");
  expect(r).toContain("udp dport 41641 accept");
  expect(r).toContain("meta l4proto icmp accept");
  expect(r).toContain("meta l4proto ipv6-icmp accept");
  expect(r).toContain('tcp dport 80 accept comment "nginx-http: http"');
  expect(r).toContain('tcp dport 443 accept comment "nginx-stream: https"');
  expect(r).toContain('udp dport { 3478, 49152-65535 } accept comment "coturn: stun-turn-udp, turn-relay"');
  const input = r.split("chain input {")[1].split("chain forward {")[0];
  const accepted = [...input.matchAll(/dport (\S+|\{[^}]+\}) accept/g)].map((m) => m[1]);
  expect(accepted).toEqual(["68", "546", "22", "22", "41641", "80", "443", "3478", "{ 3478, 49152-65535 }"]);
});

test("sshAllowFrom tailnet: no public SSH rule; from the tailnet only SSH", () => {
  const r = rules({ sshAllowFrom: ["tailnet"] });
  expect(r).not.toContain("ssh_allow");
  expect(r.match(/dport 22 /g)).toHaveLength(1);
  expect(r).toContain('iifname "tailscale0" tcp dport 22 accept');
  expect(r).not.toMatch(/iifname "tailscale0" accept/);
});

test("public SSH: nothing new is accepted from the tailnet (replies are established)", () => {
  const input = rules().split("chain input")[1].split("chain forward")[0];
  expect(input).not.toMatch(/iifname "tailscale0"/);
});

test("output: the metadata address for root only; coturn's relays only to public unicast addresses", () => {
  const r = rules();
  const output = r.split("chain output {")[1].split("}")[0];
  expect(output).toContain("ip daddr 169.254.169.254 meta skuid != 0 counter reject");
  expect(output).toContain('meta skuid "turnserver" jump turn_relay_guard');
  const guard = r.split("chain turn_relay_guard {")[1].split("\n    }")[0];
  expect(guard).toContain("fib daddr type { local, broadcast, anycast, multicast } counter reject");
  // Relay to relay (two users of this edge): coturn's relay addresses on the relay ports, and nothing else of this host.
  const accepts = guard.split("\n").filter((l) => l.includes(" accept"));
  expect(accepts.map((l) => l.trim().replace(/ comment .*/, ""))).toEqual([`ip daddr ${FACTS.vpsIPv4} udp dport 49152-65535 accept`, `ip6 daddr ${FACTS.vpsIPv6} udp dport 49152-65535 accept`]);
  expect(guard.indexOf(" accept")).toBeLessThan(guard.indexOf("fib daddr type { local"));
  expect(guard).not.toContain("fib daddr type local");
  const tcpGuard = rules({ turnTcpRelay: true }).split("chain turn_relay_guard {")[1].split("\n    }")[0];
  expect(tcpGuard).toContain(`ip daddr ${FACTS.vpsIPv4} tcp dport 49152-65535 accept`);
  expect(tcpGuard).toContain(`ip6 daddr ${FACTS.vpsIPv6} tcp dport 49152-65535 accept`);
  // An IPv4-only host: no IPv6 relay address, no IPv6 accept.
  expect(renderNftables(model(), { ...FACTS, vpsIPv6: undefined }).split("chain turn_relay_guard {")[1].split("\n    }")[0]).not.toContain("ip6 daddr 2001");
  expect(guard).toContain("ip daddr @relay_denied_v4 counter reject");
  expect(guard).toContain("ip6 daddr @relay_denied_v6 counter reject");
  for (const cidr of ["100.64.0.0/10", "10.0.0.0/8", "169.254.0.0/16", "192.0.0.0/24", "198.18.0.0/15", "240.0.0.0/4"]) expect(r.split("set relay_denied_v4")[1].split("}")[0]).toContain(cidr);
  for (const cidr of ["fc00::/7", "fe80::/10", "64:ff9b::/96", "2002::/16", "::ffff:0:0/96"]) expect(r.split("set relay_denied_v6")[1].split("}")[0]).toContain(cidr);
});

test("output without TURN: the metadata rule only, no rule naming coturn's user (it may not exist)", () => {
  const r = rules({ turn: "off" });
  expect(r).toContain("ip daddr 169.254.169.254 meta skuid != 0 counter reject");
  expect(r).not.toContain("turnserver");
  expect(r).not.toContain("relay_denied");
});

test("forward chain passes only our DNATed connections", () => {
  expect(rules()).toMatch(/chain forward \{\n\s+type filter hook forward priority filter; policy drop;\n\s+ct state established,related accept\n\s+ct status dnat accept/);
});

describe("the fallback table the boot unit's OnFailure= loads", () => {
  const chainBody = (r: string, name: string) => r.match(new RegExp(`chain ${name} \\{\\n([\\s\\S]*?)\\n    \\}`))![1];

  test("the boot unit pulls in the fallback unit on failure; that unit loads the fallback file and is not enabled itself", () => {
    expect(renderNftBootUnit()).toContain(`OnFailure=${NFT_FALLBACK_UNIT}`);
    const unit = renderNftFallbackUnit();
    expect(unit).toContain(`ExecStart=/usr/sbin/nft -f ${NFT_FALLBACK_PATH}`);
    expect(unit).not.toContain("[Install]");
    expect(NFT_FALLBACK_UNIT_PATH.endsWith(`/${NFT_FALLBACK_UNIT}`)).toBe(true);
  });

  test("deny by default: input drops all but replies, ICMP, DHCP, SSH from sshAllowFrom and tailscaled; nothing forwarded or DNATed", () => {
    const r = renderNftFallback(model({ sshAllowFrom: ["198.51.100.7/32", "2001:db8:5::/48"], extraForwards: [{ port: 6000, protocol: "udp" }] }), FACTS);
    expect(r).toMatch(/^table inet xmpp_edge\ndelete table inet xmpp_edge\ntable inet xmpp_edge \{/m);
    expect(r).not.toMatch(/flush ruleset|dnat|masquerade|hook prerouting|hook postrouting|forwards_/);
    const input = chainBody(r, "input");
    expect(input).toMatch(/^\s+type filter hook input priority filter; policy drop;/);
    const accepts = input.split("\n").filter((l) => / accept( |$)/.test(l)).map((l) => l.trim().replace(/ comment .*/, ""));
    expect(accepts).toEqual([
      "ct state established,related accept",
      'iif "lo" accept',
      "meta l4proto icmp accept",
      "meta l4proto ipv6-icmp accept",
      'iifname "eth0" udp sport 67 udp dport 68 accept',
      'iifname "eth0" ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept',
      "ip saddr @ssh_allow_v4 tcp dport 22 accept",
      "ip6 saddr @ssh_allow_v6 tcp dport 22 accept",
      "udp dport 41641 accept",
    ]);
    expect(r).toMatch(/set ssh_allow_v4 \{\n\s+type ipv4_addr; flags interval;\n\s+elements = \{ 198\.51\.100\.7\/32 \}/);
    expect(r).toMatch(/set ssh_allow_v6 \{\n\s+type ipv6_addr; flags interval;\n\s+elements = \{ 2001:db8:5::\/48 \}/);
    expect(chainBody(r, "forward").trim()).toBe("type filter hook forward priority filter; policy drop;");
  });

  test("SSH over the tailnet only: the fallback opens SSH on tailscale0 only, and the same SSH rule as the ruleset", () => {
    const m = model({ sshAllowFrom: ["tailnet"] });
    const r = renderNftFallback(m, FACTS);
    const ssh = (t: string) => t.split("\n").filter((l) => /dport 22 /.test(l));
    expect(ssh(r)).toEqual(['        iifname "tailscale0" tcp dport 22 accept comment "SSH over the tailnet only (sshAllowFrom tailnet: deploys over the tailnet)"']);
    expect(ssh(r)).toEqual(ssh(renderNftables(m, FACTS)));
  });
});

test("ICMP echo requests are answered at a rate, all sources together, before the state rule (conntrack keys echo by id)", () => {
  const r = renderNftables(model(), FACTS);
  const input = /chain input \{\n([\s\S]*?)\n\s+\}/.exec(r)![1].split("\n").map((l) => l.trim());
  expect(input[1]).toBe('icmp type echo-request limit rate over 20/second burst 50 packets counter drop comment "ICMP echo: all sources together"');
  expect(input[2]).toBe('icmpv6 type echo-request limit rate over 20/second burst 50 packets counter drop comment "ICMP echo: all sources together"');
  expect(input[3]).toBe("ct state established,related accept");
  // With the SYN proxy its rule comes before the state rule (packets conntrack has no entry for).
  const proxied = /chain input \{\n([\s\S]*?)\n\s+\}/.exec(renderNftables(model({ synProxy: true }), FACTS))![1].split("\n").map((l) => l.trim());
  expect(proxied[3]).toMatch(/^meta nfproto ipv4 .* synproxy /);
  expect(proxied[4]).toBe("ct state established,related accept");
  // Neighbour discovery and the rest of ICMPv6 stay unlimited.
  expect(input).toContain("meta l4proto ipv6-icmp accept");
});

test("each UDP forward has a budget of what it may send home (udpForwardPacketsPerSecond), by its public port, before the state rule", () => {
  const fwd = (o: Record<string, unknown>) => /chain forward \{\n([\s\S]*?)\n\s+\}/.exec(renderNftables(model(o), FACTS))![1].split("\n").map((l) => l.trim());
  const forwards = [{ port: 34197, protocol: "udp" }, { port: "6000-6010", protocol: "udp" }, { port: 7000, protocol: "tcp" }];
  const lines = fwd({ extraForwards: forwards });
  expect(lines.slice(1, 4)).toEqual([
    'oifname "tailscale0" meta l4proto udp ct original proto-dst 34197 limit rate over 10000/second burst 10000 packets counter drop comment "UDP forward budget: extra-0"',
    'oifname "tailscale0" meta l4proto udp ct original proto-dst 6000-6010 limit rate over 10000/second burst 10000 packets counter drop comment "UDP forward budget: extra-1"',
    "ct state established,related accept",
  ]);
  expect(fwd({ extraForwards: forwards, udpForwardPacketsPerSecond: 500 })[1]).toContain("limit rate over 500/second burst 500 packets");
  expect(fwd({}).join("\n")).not.toContain("UDP forward budget");
});

test("tailscaled's port: packets of no answered flow, all sources together, at a rate; the tunnel's own (established) packets before it, uncounted", () => {
  for (const r of [renderNftables(model(), FACTS), renderNftFallback(model(), FACTS)]) {
    const input = r.split("chain input {")[1].split("\n    }")[0].split("\n").map((l) => l.trim());
    const junk = input.findIndex((l) => l.includes(TAILSCALED_JUNK_COMMENT));
    expect(input[junk]).toBe(`udp dport 41641 limit rate over ${TAILSCALED_UNANSWERED_LIMIT.perSecond}/second burst ${TAILSCALED_UNANSWERED_LIMIT.burst} packets counter drop comment "${TAILSCALED_JUNK_COMMENT}"`);
    expect(junk).toBeGreaterThan(input.indexOf("ct state established,related accept"));
    expect(junk).toBeLessThan(input.findIndex((l) => l.startsWith("udp dport 41641 accept")));
  }
});
