import { renderCoturnConf } from "../../render/coturn";
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
