import { renderNginxConf } from "../../render/nginx";
import { FACTS, model } from "../fixtures";

const conf = (o: Record<string, unknown> = {}) => renderNginxConf(model(o), FACTS);

test("443: ALPN routes to the home direct TLS ports, before the name", () => {
  const c = conf();
  expect(c).toContain('"~(^|,)xmpp-client(,|$)" home_xmpp_client_direct_tls;');
  expect(c).toContain('"~(^|,)xmpp-server(,|$)" home_xmpp_server_direct_tls;');
  expect(c).toMatch(/upstream home_xmpp_client_direct_tls \{\n\s+server 100\.101\.102\.103:5223;/);
  expect(c).toMatch(/upstream home_xmpp_server_direct_tls \{\n\s+server 100\.101\.102\.103:5270;/);
  expect(c).toContain("default $edge_by_name;");
  expect(c).toContain("proxy_pass $edge_https_upstream;");
});

test("443: Snikket names go to Snikket's web port, other names to home 443 only from the origin", () => {
  const c = conf();
  for (const n of ["chat.example.com", "groups.chat.example.com", "share.chat.example.com"]) expect(c).toContain(`${n} xmpp;`);
  expect(c).toMatch(/upstream home_xmpp_web_https \{\n\s+server 100\.101\.102\.103:5443;/);
  expect(c).toMatch(/upstream home_web_https \{\n\s+server 100\.101\.102\.103:443;/);
  expect(c).toContain('"web:1" home_web_https;');
  expect(c).toContain("default edge_refuse;");
  expect(c).toContain("173.245.48.0/20 1;");
  expect(c).toContain("2606:4700::/32 1;");
});

test("origin lock off: every source counts as origin", () => {
  const c = conf({ webOriginLock: "off" });
  expect(c).not.toContain("173.245.48.0/20");
  expect(c).toMatch(/geo \$edge_from_origin \{\n\s+default 1;\n\s+\}/);
  expect(c).not.toContain("return 403;");
});

test("webOriginExtraAllow joins the lock", () => {
  expect(conf({ webOriginExtraAllow: ["198.51.100.0/24", "2001:db8:cf::/48"] })).toMatch(/198\.51\.100\.0\/24 1;[\s\S]*2001:db8:cf::\/48 1;/);
});

test("directTls off: no ALPN routing, the name decides", () => {
  const c = conf({ directTls: false });
  expect(c).not.toContain("xmpp-client");
  expect(c).toContain("proxy_pass $edge_by_name;");
});

test("prosody preset: XMPP names go to home 443/80", () => {
  const c = conf({ preset: "prosody" });
  expect(c).toMatch(/upstream home_xmpp_web_https \{\n\s+server 100\.101\.102\.103:443;/);
  expect(c).toMatch(/upstream home_xmpp_web_http \{\n\s+server 100\.101\.102\.103:80;/);
  expect(c).not.toContain("groups.chat.example.com");
});

test("proxy-protocol: nginx listens on 5222/5269 and sends PROXY v1 to the dedicated home ports", () => {
  const c = conf({ clientIp: "proxy-protocol" });
  expect(c).toMatch(/listen 5222 so_keepalive=on;\n\s+listen \[::\]:5222 so_keepalive=on;\n\s+proxy_pass home_xmpp_c2s_proxy_protocol;\n\s+proxy_protocol on;/);
  expect(c).toMatch(/upstream home_xmpp_c2s_proxy_protocol \{\n\s+server 100\.101\.102\.103:15222;/);
  expect(c).toMatch(/upstream home_xmpp_s2s_proxy_protocol \{\n\s+server 100\.101\.102\.103:15269;/);
  expect(conf()).not.toContain("proxy_protocol on;");
});

test("80: XMPP names open to all (ACME), web names locked, unknown names closed", () => {
  const c = conf();
  expect(c).toMatch(/server_name chat\.example\.com groups\.chat\.example\.com share\.chat\.example\.com;\n\s+location \/ \{\n\s+proxy_pass http:\/\/home_xmpp_web_http;/);
  expect(c).toMatch(/server_name www\.example\.com;\n\s+if \(\$edge_from_origin = 0\) \{\n\s+return 403;/);
  expect(c).toMatch(/listen 80 default_server;\n\s+listen \[::\]:80 default_server;\n\s+server_name _;\n\s+return 444;/);
});

test("IPv4 and IPv6 listeners, timeouts and per-source limits with the origin exempt", () => {
  const c = conf();
  expect(c).toContain("listen 443 so_keepalive=on;");
  expect(c).toContain("listen [::]:443 so_keepalive=on;");
  expect(c).toContain("proxy_timeout 1h;");
  expect(c).toContain("proxy_connect_timeout 10s;");
  expect(c).toMatch(/map \$edge_from_origin \$edge_limit_key \{\n\s+1 "";\n\s+default \$binary_remote_addr;/);
  expect(c).toContain("limit_conn edge_stream_per_source 64;");
  expect(c).toContain("limit_conn edge_http_per_source 64;");
});

test("self-contained: loads the stream module itself, includes nothing", () => {
  const c = conf();
  expect(c).toContain("load_module /usr/lib/nginx/modules/ngx_stream_module.so;");
  expect(c).not.toMatch(/^\s*include /m);
});
