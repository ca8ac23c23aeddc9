import { renderHomeSnippets } from "../../render/home";
import { FACTS, model } from "../fixtures";

test("Prosody: direct TLS ports, TURN on the edge", () => {
  const s = renderHomeSnippets(model(), FACTS, "s3cret")["prosody.cfg.lua"];
  expect(s).toContain("c2s_direct_tls_ports = { 5223 }");
  expect(s).toContain("s2s_direct_tls_ports = { 5270 }");
  expect(s).toContain('turn_external_host = "chat.example.com"');
  expect(s).toContain('turn_external_secret = "s3cret"');
  expect(s).toContain('-- Add to your modules_enabled: "turn_external"\n');
  expect(s).not.toContain("net_proxy");
});

test("Prosody: the snippet never assigns modules_enabled (an Include would replace the server's list)", () => {
  for (const o of [{}, { clientIp: "proxy-protocol" }, { turn: "off", directTls: false }]) {
    expect(renderHomeSnippets(model(o), FACTS, "x")["prosody.cfg.lua"]).not.toMatch(/^\s*modules_enabled\s*=/m);
  }
});

test("Prosody with proxy-protocol: mod_net_proxy mappings and the VPS as trusted proxy", () => {
  const s = renderHomeSnippets(model({ clientIp: "proxy-protocol" }), FACTS, "x")["prosody.cfg.lua"];
  expect(s).toContain('proxy_port_mappings = { [15222] = "c2s", [15269] = "s2s" }');
  expect(s).toContain('proxy_trusted_proxies = { "100.64.0.1" }');
  // The VPS's address unknown: trust none, never the whole tailnet range.
  const { vpsTailnetIPv4: _, ...unknown } = FACTS;
  const u = renderHomeSnippets(model({ clientIp: "proxy-protocol" }), unknown, "x")["prosody.cfg.lua"];
  expect(u).toMatch(/^proxy_trusted_proxies = \{ \} -- add the VPS's tailnet address/m);
  expect(u).not.toContain("100.64.0.0/10");
  expect(s).toContain('-- Add to your modules_enabled: "net_proxy", "turn_external"\n');
});

test("Snikket: side web ports and TURN on the edge; none for Prosody", () => {
  const s = renderHomeSnippets(model(), FACTS, "s3cret")["snikket.conf"]!;
  expect(s).toContain("SNIKKET_TWEAK_HTTP_PORT=5080");
  expect(s).toContain("SNIKKET_TWEAK_HTTPS_PORT=5443");
  expect(s).toContain("SNIKKET_TWEAK_TURNSERVER=0");
  expect(s).toContain("SNIKKET_TWEAK_TURNSERVER_DOMAIN=chat.example.com");
  expect(s).toContain("SNIKKET_TWEAK_TURNSERVER_SECRET=s3cret");
  expect(renderHomeSnippets(model({ preset: "prosody" }), FACTS, "x")["snikket.conf"]).toBeUndefined();
});

test("home nginx trusts the VPS and Cloudflare for the client address", () => {
  const s = renderHomeSnippets(model(), FACTS, "x")["nginx-realip.conf"];
  expect(s).toContain("set_real_ip_from 100.64.0.1;");
  expect(s).toContain("set_real_ip_from 173.245.48.0/20;");
  expect(s).toContain("real_ip_recursive on;");
});

test("home nginx: the edge's exact address only; unknown -> not trusted; lock off -> no hop trusted (443 passes the client's header)", () => {
  const { vpsTailnetIPv4: _, ...unknown } = FACTS;
  const u = renderHomeSnippets(model(), unknown, "x")["nginx-realip.conf"];
  expect(u).not.toMatch(/^set_real_ip_from 100\./m);
  expect(u).toContain("set_real_ip_from 173.245.48.0/20;");
  const off = renderHomeSnippets(model({ webOriginLock: "off" }), FACTS, "x")["nginx-realip.conf"];
  expect(off).not.toMatch(/^set_real_ip_from/m);
  expect(off).toContain("webOriginLock is off");
});

test("Prosody preset: the snippet names the HTTP ports the edge routes the XMPP names to", () => {
  const s = renderHomeSnippets(model({ preset: "prosody" }), FACTS, "x")["prosody.cfg.lua"];
  expect(s).toContain("http_ports = { 5280 }");
  expect(s).toContain("https_ports = { 5281 }");
  expect(renderHomeSnippets(model(), FACTS, "x")["prosody.cfg.lua"]).not.toContain("https_ports");
});
