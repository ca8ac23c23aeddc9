// The origin lock holds only if nothing else reaches the home web server:
// no forward onto the ports the locked routes use, no extra origin so wide
// that it is everyone (test/render/forwarded-for.test.ts: what the edge
// writes for home to believe).
import { validateConfig } from "../../model/validate";
import { BASE, problems } from "../fixtures";

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

describe("extraForwards onto the home ports of the locked web routes", () => {
  test.each([
    ["8443 -> home 443", { port: 8443, protocol: "tcp", toPort: 443 }, "extraForwards[0].toPort", 443, "the home web server (HTTPS)"],
    ["8080 -> home 80", { port: 8080, protocol: "tcp", toPort: 80 }, "extraForwards[0].toPort", 80, "the home web server (HTTP)"],
    ["8443/udp -> home 443 (HTTP/3)", { port: 8443, protocol: "udp", toPort: 443 }, "extraForwards[0].toPort", 443, "the home web server (HTTPS)"],
    ["a UDP range over home 443 (HTTP/3)", { port: "400-450", protocol: "udp" }, "extraForwards[0].port", 443, "the home web server (HTTPS)"],
  ])("%s is refused while the lock is on", (_what, forward, key, port, route) => {
    expect(problems({ extraForwards: [forward] })).toEqual([
      expect.stringMatching(
        new RegExp(
          `^xmpp-edge:${esc(key)}: forwards to home port ${port}, where ${esc(route)} serves the web names only to the web origins \\(webOriginLock "cloudflare"\\): ` +
            `the forward would bring anyone there, masqueraded as the edge, whose X-Forwarded-For home trusts; choose another home port, or set webOriginLock: off`,
        ),
      ),
    ]);
  });
  test("the Prosody preset's locked ports are the same two", () => {
    expect(problems({ preset: "prosody", domain: "example.com", xmppHost: "xmpp.example.com", extraForwards: [{ port: 8080, protocol: "tcp", toPort: 80 }] })).toEqual([
      expect.stringMatching(/^xmpp-edge:extraForwards\[0\]\.toPort: forwards to home port 80, where the home web server/),
    ]);
  });
  test("a range over home 80 or 443 is refused (it takes the edge's own 80/443)", () => {
    expect(problems({ extraForwards: [{ port: "400-450", protocol: "tcp" }] }).join("\n")).toMatch(/extraForwards\[0\]\.port: .*443/);
  });
  test("accepted: the same forward with the lock off; a forward to the XMPP web front or another port", () => {
    expect(problems({ webOriginLock: "off", extraForwards: [{ port: 8443, protocol: "tcp", toPort: 443 }] })).toEqual([]);
    expect(problems({ extraForwards: [{ port: 8443, protocol: "tcp", toPort: 9443 }, { port: 5443, protocol: "tcp" }] })).toEqual([]);
  });
});

describe("webOriginExtraAllow: at most one organisation's network", () => {
  test.each([
    ["0.0.0.0/0", /"0\.0\.0\.0\/0" is wider than \/16/],
    ["::/0", /"::\/0" is wider than \/32/],
    ["10.0.0.0/8", /"10\.0\.0\.0\/8" is wider than \/16/],
    ["151.100.0.0/15", /"151\.100\.0\.0\/15" is wider than \/16/],
    ["2a04::/31", /"2a04::\/31" is wider than \/32/],
  ])("%s is refused", (cidr, message) => {
    const found = problems({ webOriginExtraAllow: [cidr] });
    expect(found).toEqual([expect.stringMatching(new RegExp(`^xmpp-edge:webOriginExtraAllow\\[0\\]: ${message.source}`))]);
    expect(found[0]).toMatch(/trusts the X-Forwarded-For it writes.*list the monitoring or CDN networks themselves \(at most \/16 IPv4, \/32 IPv6\), or set webOriginLock: off/);
  });
  test.each([
    ["::ffff:198.51.100.0/120", /is an IPv4-mapped IPv6 address, which no IPv4 packet carries; write it as IPv4: "198\.51\.100\.0\/24"/],
    ["127.0.0.0/8", /is in 127\.0\.0\.0\/8 \(loopback/],
    ["198.51.100.7/24", /has host bits set; the network is "198\.51\.100\.0\/24"/],
  ])("%s is refused by the address parser", (cidr, message) => {
    expect(problems({ webOriginExtraAllow: [cidr] })).toEqual([expect.stringMatching(new RegExp(`^xmpp-edge:webOriginExtraAllow\\[0\\]: "${esc(cidr)}" ${message.source}`))]);
  });
  test("accepted: a /16 and a /32, normalised", () => {
    expect(validateConfig({ ...BASE, webOriginExtraAllow: ["151.101.0.0/16", "2A04:4E42::/32"] }).webOriginExtraAllow).toEqual(["151.101.0.0/16", "2a04:4e42::/32"]);
  });
});

