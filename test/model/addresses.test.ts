// Every address and CIDR key goes through one parser (model/net.ts): forms
// that parse but never match what the user meant are refused with the key,
// the value and what to write instead.
import { validateConfig } from "../../model/validate";
import { BASE, DEPLOY_KEY, HOST_KEY, problems } from "../fixtures";

const SECRET = { secure: "v1:x" };
const EXISTING = { existingHost: { address: "5.9.10.11", hostKey: HOST_KEY }, sshPublicKey: DEPLOY_KEY, sshPrivateKey: SECRET };
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
/** The one problem `overrides` gives, which must be on `key` and match `message`. */
const only = (overrides: Record<string, unknown>, key: string, message: RegExp) =>
  expect(problems(overrides)).toEqual([expect.stringMatching(new RegExp(`^xmpp-edge:${esc(key)}: ${message.source}`))]);

describe("sshAllowFrom: entries that would never match the connection the user means", () => {
  test.each([
    ["an IPv4-mapped IPv6 form", "::ffff:198.51.100.7/128", /"::ffff:198\.51\.100\.7\/128" is an IPv4-mapped IPv6 address, which no IPv4 packet carries; write it as IPv4: "198\.51\.100\.7\/32"/],
    ["an IPv4-compatible IPv6 form", "::198.51.100.7/128", /"::198\.51\.100\.7\/128" is an IPv4-compatible IPv6 address \(deprecated, never on the wire\), which no IPv4 packet carries; write it as IPv4: "198\.51\.100\.7\/32"/],
    ["a zone id", "fe80::1%eth0/128", /"fe80::1%eth0\/128" has a zone id \(%eth0\), which names an interface of your machine, not of the edge, and no firewall rule or DNS record carries one; write the address without it/],
    ["loopback", "127.0.0.1/32", /"127\.0\.0\.1\/32" is in 127\.0\.0\.0\/8 \(loopback: the host itself\), which never arrives from outside/],
    ["IPv6 loopback", "::1", /"::1" is in ::1\/128 \(loopback: the host itself\)/],
    ["link-local", "fe80::/64", /"fe80::\/64" is in fe80::\/10 \(link-local/],
    ["multicast", "224.0.0.1/32", /"224\.0\.0\.1\/32" is in 224\.0\.0\.0\/4 \(multicast/],
    ["unspecified", "0.0.0.0/32", /"0\.0\.0\.0\/32" is in 0\.0\.0\.0\/8 \(unspecified/],
    ["host bits set", "203.0.113.7/24", /"203\.0\.113\.7\/24" has host bits set; the network is "203\.0\.113\.0\/24" \(write that\), or "203\.0\.113\.7\/32" for the one address/],
    ["a leading zero", "203.0.113.07/32", /"203\.0\.113\.07\/32" is not a valid CIDR; expected/],
    ["a three-part IPv4", "203.0.113/24", /"203\.0\.113\/24" is not a valid CIDR; expected/],
  ])("%s is refused", (_what, value, message) => {
    only({ sshAllowFrom: [value] }, "sshAllowFrom[0]", message);
  });
  test.each([
    [["0.0.0.0/0", "203.0.113.0/24"], /^xmpp-edge:sshAllowFrom\[1\]: "203\.0\.113\.0\/24" overlaps "0\.0\.0\.0\/0" \(sshAllowFrom\[0\]\); list each network once: keep the wider one, "0\.0\.0\.0\/0"$/],
    [["203.0.113.7", "203.0.113.0/24"], /^xmpp-edge:sshAllowFrom\[1\]: "203\.0\.113\.0\/24" overlaps "203\.0\.113\.7" \(sshAllowFrom\[0\]\); list each network once: keep the wider one, "203\.0\.113\.0\/24"$/],
    [["2001:db8::/48", "2001:DB8::/48"], /^xmpp-edge:sshAllowFrom\[1\]: "2001:DB8::\/48" overlaps "2001:db8::\/48" \(sshAllowFrom\[0\]\)/],
  ])("overlapping entries %j (nftables refuses the set that holds both)", (list, message) => {
    expect(problems({ sshAllowFrom: list })).toEqual([expect.stringMatching(message)]);
  });
  test("each message says what would be valid", () => {
    expect(problems({ sshAllowFrom: ["127.0.0.1/32"] })[0]).toMatch(/; expected the public address or network you SSH from, e\.g\. "203\.0\.113\.7\/32" or "2001:db8::\/64", or the single entry "tailnet"$/);
  });
  test("accepted: the whole internet, documentation ranges, a bare address, upper-case IPv6 (normalised)", () => {
    expect(validateConfig({ ...BASE, sshAllowFrom: ["0.0.0.0/0", "::/0"] }).ssh).toEqual({ mode: "public", from: ["0.0.0.0/0", "::/0"] });
    expect(validateConfig({ ...BASE, sshAllowFrom: ["198.51.100.7", "2001:DB8:1234::/48", "10.1.0.0/16"] }).ssh).toEqual({ mode: "public", from: ["198.51.100.7/32", "2001:db8:1234::/48", "10.1.0.0/16"] });
  });
});

describe("existingHost: the addresses published in DNS and the one SSH goes to", () => {
  const host = (h: Record<string, unknown>, more: Record<string, unknown> = {}) => ({ ...EXISTING, existingHost: { ...EXISTING.existingHost, ...h }, ...more });
  test("ipv6 in IPv4-mapped form would be published as an AAAA no IPv6 client can use", () => {
    only(host({ ipv6: "::ffff:192.0.2.50" }), "existingHost.ipv6", /"::ffff:192\.0\.2\.50" is an IPv4-mapped IPv6 address, which no IPv4 packet carries; write it as IPv4: "192\.0\.2\.50".*expected the host's public IPv6 address/);
  });
  test("ipv6 with a zone id, or link-local", () => {
    only(host({ ipv6: "2a01:4f8::2%eth0" }), "existingHost.ipv6", /"2a01:4f8::2%eth0" has a zone id \(%eth0\)/);
    only(host({ ipv6: "fe80::2" }), "existingHost.ipv6", /"fe80::2" is in fe80::\/10 \(link-local/);
  });
  test("ipv4 loopback or multicast", () => {
    only(host({ ipv4: "127.0.0.1" }), "existingHost.ipv4", /"127\.0\.0\.1" is in 127\.0\.0\.0\/8 \(loopback/);
    only(host({ ipv4: "239.1.2.3" }), "existingHost.ipv4", /"239\.1\.2\.3" is in 224\.0\.0\.0\/4 \(multicast/);
  });
  test("a CIDR where an address is meant", () => {
    only(host({ ipv4: "5.9.10.11/32" }), "existingHost.ipv4", /"5\.9\.10\.11\/32" is a network; expected one address/);
  });
  test("address: a zone id, a mapped form, loopback", () => {
    only(host({ address: "fe80::1%eth0" }), "existingHost.address", /"fe80::1%eth0" has a zone id \(%eth0\)/);
    only(host({ address: "::ffff:5.9.10.11" }), "existingHost.address", /"::ffff:5\.9\.10\.11" is an IPv4-mapped IPv6 address, which no IPv4 packet carries; write it as IPv4: "5\.9\.10\.11"/);
    only(host({ address: "127.0.0.1" }), "existingHost.address", /"127\.0\.0\.1" is in 127\.0\.0\.0\/8 \(loopback/);
  });
  test("every edge's host goes through the same parser", () => {
    const edges = [{ name: "fsn" }, { name: "old", existingHost: { address: "5.9.10.11", hostKey: HOST_KEY, ipv6: "::ffff:192.0.2.50" } }];
    only({ edges, sshPublicKey: DEPLOY_KEY, sshPrivateKey: SECRET }, "edges[1].existingHost.ipv6", /"::ffff:192\.0\.2\.50" is an IPv4-mapped IPv6 address/);
  });
  test("accepted: a tailnet or private address to SSH to, a public IPv6, normalised", () => {
    const c = validateConfig({ ...BASE, ...host({ address: "100.70.1.2", ipv4: "5.9.10.11", ipv6: "2A01:4F8:0::2" }) });
    expect(c.existingHost).toMatchObject({ address: "100.70.1.2", ipv4: "5.9.10.11", ipv6: "2a01:4f8::2" });
  });
});

describe("the home server's tailnet addresses", () => {
  test("a zone id is named as such", () => {
    only({ homeTailnetIPv6: "fd7a:115c:a1e0::2%tailscale0" }, "homeTailnetIPv6", /"fd7a:115c:a1e0::2%tailscale0" has a zone id \(%tailscale0\)/);
  });
  test("the mapped form of a tailnet IPv4 address", () => {
    only({ homeTailnetIPv6: "::ffff:100.64.0.2" }, "homeTailnetIPv6", /"::ffff:100\.64\.0\.2" is an IPv4-mapped IPv6 address.*"100\.64\.0\.2"/);
  });
});
