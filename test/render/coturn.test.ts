import { renderVpsBundle } from "../../render/bundle";
import { cidrToRange, MAX_ALLOCATE_TIMEOUT_SECONDS, renderCoturnConf } from "../../render/coturn";
import { COTURN_DROPIN_PATH, COTURN_NOFILE, COTURN_TOTAL_QUOTA, renderCoturnDropIn } from "../../render/coturn-unit";
import { FACTS, model } from "../fixtures";

test("shared secret, relay range, public addresses only, no TLS, tailnet and private peers denied", () => {
  const c = renderCoturnConf(model({ turnRelayPorts: "50000-50999" }), FACTS, "s3cret");
  expect(c).toContain("static-auth-secret=s3cret");
  expect(c).toContain("use-auth-secret");
  expect(c).toContain("min-port=50000\nmax-port=50999");
  expect(c).toContain("listening-port=3478\n");
  expect(c).toContain("listening-ip=192.0.2.10\nrelay-ip=192.0.2.10\nlistening-ip=2001:db8::10\nrelay-ip=2001:db8::10\n");
  expect(c).toContain("external-ip=192.0.2.10/192.0.2.10\n");
  expect(c).toContain("realm=chat.example.com");
  expect(c).toContain("no-tls\nno-dtls");
  expect(c).toContain("denied-peer-ip=100.64.0.0-100.127.255.255");
  expect(c).toContain("denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  expect(c).not.toContain("100.101.102.103");
});

test("the relay never reaches the metadata service or special-purpose space; the VPS itself is the kernel guard's (relay to relay)", () => {
  const c = renderCoturnConf(model(), FACTS, "x");
  const denied = [...c.matchAll(/^denied-peer-ip=(.*)$/gm)].map((m) => m[1]);
  expect(denied).toEqual(expect.arrayContaining([
    "100.64.0.0-100.127.255.255", "169.254.169.254",
    "192.0.0.0-192.0.0.255", "198.18.0.0-198.19.255.255", "240.0.0.0-255.255.255.255",
    "64:ff9b::-64:ff9b::ffff:ffff", "2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "10.0.0.0-10.255.255.255", "127.0.0.0-127.255.255.255", "::1", "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
  ]));
  // The lab's internet and the examples use documentation ranges: not denied.
  // Two users of one edge relay to each other's relay address: the own addresses are not denied here.
  expect(denied).not.toContain(FACTS.vpsIPv4);
  expect(denied).not.toContain(FACTS.vpsIPv6);
  expect(denied.some((d) => /^(192\.0\.2|198\.51\.100|203\.0\.113)\.|^2001:db8:/.test(d))).toBe(false);
});

test("no TCP relays unless turnTcpRelay; then the relay range is open for TCP too", () => {
  expect(renderCoturnConf(model(), FACTS, "x")).toMatch(/^no-tcp-relay$/m);
  const m = model({ turnTcpRelay: true });
  expect(renderCoturnConf(m, FACTS, "x")).not.toMatch(/^no-tcp-relay$/m);
  expect(m.services.find((s) => s.id === "turn-relay-tcp")).toMatchObject({ protocol: "tcp", ports: { from: 49152, to: 65535 }, handler: "coturn" });
  expect(model().services.find((s) => s.id === "turn-relay-tcp")).toBeUndefined();
});

test("a per-session bandwidth cap (turnSessionKbps, bytes/s for coturn) and the STUN hardening flags", () => {
  expect(renderCoturnConf(model(), FACTS, "x")).toMatch(/^max-bps=500000$/m);
  const c = renderCoturnConf(model({ turnSessionKbps: 800 }), FACTS, "x");
  expect(c).toMatch(/^max-bps=100000$/m);
  expect(c).toMatch(/^no-stun-backward-compatibility$/m);
  expect(c).toMatch(/^response-origin-only-with-rfc5780$/m);
});

test("cidrToRange: coturn's first-last form", () => {
  expect(cidrToRange("10.0.0.0/8")).toBe("10.0.0.0-10.255.255.255");
  expect(cidrToRange("::1/128")).toBe("::1");
  expect(cidrToRange("fc00::/7")).toBe("fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
});

test("an IPv4-only host: coturn on IPv4 only", () => {
  const { vpsIPv6: _, ...v4only } = FACTS;
  expect(renderCoturnConf(model(), v4only, "x")).not.toMatch(/^(listening|relay)-ip=.*:/m);
});

test("the plan renders no secret", () => {
  const c = renderCoturnConf(model(), FACTS, undefined);
  expect(c).not.toMatch(/^static-auth-secret=/m);
  expect(c).toContain("# static-auth-secret: added at deploy");
});


test("refuses a model without TURN", () => {
  expect(() => renderCoturnConf(model({ turn: "off" }), FACTS, "x")).toThrow(/turn is off/);
});

test("an unauthenticated request is forgotten after MAX_ALLOCATE_TIMEOUT_SECONDS, and all sessions share turnCapacityMbps", () => {
  const c = renderCoturnConf(model(), FACTS, "x");
  expect(c).toMatch(new RegExp(`^max-allocate-timeout=${MAX_ALLOCATE_TIMEOUT_SECONDS}$`, "m"));
  expect(MAX_ALLOCATE_TIMEOUT_SECONDS).toBeLessThanOrEqual(30);
  expect(c).toMatch(/^bps-capacity=125000000$/m);
  expect(renderCoturnConf(model({ turnCapacityMbps: 40 }), FACTS, "x")).toMatch(/^bps-capacity=5000000$/m);
  expect(c).toMatch(new RegExp(`^total-quota=${COTURN_TOTAL_QUOTA}$`, "m"));
});

test("coturn's unit drop-in: its memory ceiling (turnMemoryMB), open files and a positive OOM score; in the bundle with TURN only", () => {
  const d = renderCoturnDropIn(model({ turnMemoryMB: 300 }));
  expect(d).toMatch(/^\[Service\]$/m);
  expect(d).toMatch(/^MemoryMax=300M$/m);
  expect(d).toMatch(new RegExp(`^LimitNOFILE=${COTURN_NOFILE}$`, "m"));
  expect(COTURN_NOFILE).toBeGreaterThanOrEqual(2 * COTURN_TOTAL_QUOTA);
  expect(d).toMatch(/^OOMScoreAdjust=([1-9]\d*)$/m);
  expect(renderVpsBundle(model(), FACTS, "x")[COTURN_DROPIN_PATH]).toMatchObject({ mode: "0644" });
  expect(renderVpsBundle(model({ turn: "off" }), FACTS, "x")[COTURN_DROPIN_PATH]).toBeUndefined();
});
