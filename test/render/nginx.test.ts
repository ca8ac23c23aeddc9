import { renderNginxConf } from "../../render/nginx";
import { FACTS, model } from "../fixtures";

const conf = (o: Record<string, unknown> = {}) => renderNginxConf(model(o), FACTS);

/** The 443 routing map's rows, "KEY UPSTREAM", in order. */
function routes(c: string): string[] {
  const m = /map "\$edge_alpn_class \$edge_name_class \$edge_from_origin" \$edge_https_upstream \{\n([\s\S]*?)\n\s*\}/.exec(c);
  return m![1].split("\n").map((l) => l.trim());
}

test("443: XMPP ALPN ids first, then XMPP names without ALPN to 5223, with other ALPN to the XMPP web front, web names from the origin; the rest closed", () => {
  const c = conf();
  expect(routes(c)).toEqual([
    '"~^xmpp-client [a-z]+ [01]$" home_port_5223;',
    '"~^xmpp-server [a-z]+ [01]$" home_port_5270;',
    '"~^none xmpp [01]$" home_port_5223;',
    '"~^[a-z-]+ xmpp [01]$" home_port_5443;',
    '"~^[a-z-]+ web 1$" home_port_443;',
    "default edge_refuse;",
  ]);
  expect(c).toMatch(/map \$ssl_preread_alpn_protocols \$edge_alpn_class \{\n\s+"" none;\n\s+"~\(\^\|,\)xmpp-client\(,\|\$\)" xmpp-client;\n\s+"~\(\^\|,\)xmpp-server\(,\|\$\)" xmpp-server;\n\s+default other;/);
  expect(c).toMatch(/upstream home_port_5223 \{\n\s+server 100\.101\.102\.103:5223;/);
  expect(c).toContain("proxy_pass $edge_https_upstream;");
});

test("names: XMPP names and web names by class, anything else (or no SNI) is 'other', which no row takes", () => {
  const c = conf();
  for (const n of ["chat.example.com", "groups.chat.example.com", "share.chat.example.com"]) expect(c).toContain(`${n} xmpp;`);
  expect(c).toContain("www.example.com web;");
  expect(c).toMatch(/www\.example\.com web;\n\s+default other;/);
  expect(routes(c).join("\n")).not.toContain("other");
  expect(c).toContain("173.245.48.0/20 1;");
  expect(c).toContain("2606:4700::/32 1;");
});

test("origin lock off: every source counts as origin; 80 has no origin check", () => {
  const c = conf({ webOriginLock: "off" });
  expect(c).not.toContain("173.245.48.0/20");
  expect(c).toMatch(/geo \$edge_from_origin \{\n\s+default 1;\n\s+\}/);
  expect(c).not.toContain("return 403;");
  expect(c).not.toContain("$edge_from_origin = 0");
});

test("webOriginExtraAllow joins the lock", () => {
  expect(conf({ webOriginExtraAllow: ["198.51.100.0/24", "2001:db8:cf::/48"] })).toMatch(/198\.51\.100\.0\/24 1;[\s\S]*2001:db8:cf::\/48 1;/);
});

test("directTls off: no ALPN routing, XMPP names go to the XMPP web front whatever the ALPN", () => {
  const c = conf({ directTls: false });
  expect(routes(c)).toEqual(['"~^[a-z-]+ xmpp [01]$" home_port_5443;', '"~^[a-z-]+ web 1$" home_port_443;', "default edge_refuse;"]);
  expect(c).not.toContain("home_port_5223");
});

test("prosody preset: XMPP names go to Prosody's own HTTP ports, never the web server's (origin-lock bypass)", () => {
  const c = conf({ preset: "prosody" });
  expect(routes(c)).toContain('"~^[a-z-]+ xmpp [01]$" home_port_5281;');
  expect(routes(c).filter((r) => r.includes("xmpp [01]")).join("\n")).not.toContain("home_port_443");
  expect(c).toMatch(/server_name chat\.example\.com;\n\s+location ~ "\^\/\\\.well-known\/acme-challenge\/\[A-Za-z0-9_-\]\+\$" \{\n\s+proxy_pass http:\/\/home_port_80\$uri;\n\s+set \$edge_forwarded_for \$remote_addr;\n\s+\}\n\s+location \/ \{\n\s+proxy_pass http:\/\/home_port_5280;/);
  expect(c).not.toContain("groups.chat.example.com");
});

test("proxy-protocol: nginx listens on 5222/5269 and sends PROXY v1 to the dedicated home ports", () => {
  const c = conf({ clientIp: "proxy-protocol" });
  expect(c).toMatch(/listen 5222 so_keepalive=on;\n\s+listen \[::\]:5222 so_keepalive=on;\n\s+proxy_pass home_xmpp_c2s_proxy_protocol;\n\s+proxy_protocol on;/);
  expect(c).toMatch(/upstream home_xmpp_c2s_proxy_protocol \{\n\s+server 100\.101\.102\.103:15222;/);
  expect(c).toMatch(/upstream home_xmpp_s2s_proxy_protocol \{\n\s+server 100\.101\.102\.103:15269;/);
  expect(conf()).not.toContain("proxy_protocol on;");
});

test("clientIp nginx: nginx ends 5222/5269 and relays them to the same home ports, without a PROXY header", () => {
  const c = conf({ clientIp: "nginx" });
  expect(c).toMatch(/listen 5222 so_keepalive=on;\n\s+listen \[::\]:5222 so_keepalive=on;\n\s+proxy_pass home_port_5222;\n\s+proxy_connect_timeout/);
  expect(c).toMatch(/listen 5269 so_keepalive=on;\n\s+listen \[::\]:5269 so_keepalive=on;\n\s+proxy_pass home_port_5269;/);
  expect(c).toMatch(/upstream home_port_5222 \{\n\s+server 100\.101\.102\.103:5222;/);
  expect(c).toMatch(/upstream home_port_5269 \{\n\s+server 100\.101\.102\.103:5269;/);
  expect(c).not.toContain("proxy_protocol on;");
  expect(c).not.toContain("15222");
  // masquerade leaves 5222 to the kernel.
  expect(conf()).not.toContain("listen 5222");
});

test("80: XMPP names open to all (ACME), web names closed (444, not 403) outside the origin, unknown names closed", () => {
  const c = conf();
  expect(c).toMatch(/server_name chat\.example\.com groups\.chat\.example\.com share\.chat\.example\.com;\n\s+location ~ "\^\/\\\.well-known\/acme-challenge\/\[A-Za-z0-9_-\]\+\$" \{\n\s+proxy_pass http:\/\/home_port_5080\$uri;\n\s+set \$edge_forwarded_for \$remote_addr;\n\s+\}\n\s+location \/ \{\n\s+proxy_pass http:\/\/home_port_5080;/);
  expect(c).toMatch(/server_name www\.example\.com;\n\s+location \/ \{\n\s+if \(\$edge_from_origin = 0\) \{\n\s+return 444;/);
  expect(c).not.toContain("return 403;");
  expect(c).toMatch(/listen 80 default_server;\n\s+listen \[::\]:80 default_server;\n\s+server_name _;\n\s+return 444;/);
});

test("IPv4 and IPv6 listeners and timeouts; per-source limits are nftables', not nginx's", () => {
  const c = conf();
  expect(c).toContain("listen 443 so_keepalive=on;");
  expect(c).toContain("listen [::]:443 so_keepalive=on;");
  expect(c).toContain("proxy_timeout 1h;");
  expect(c).toContain("proxy_connect_timeout 10s;");
  expect(c).not.toContain("limit_conn");
});

test("self-contained: loads the stream module itself, includes nothing", () => {
  const c = conf();
  expect(c).toContain("load_module /usr/lib/nginx/modules/ngx_stream_module.so;");
  expect(c).not.toMatch(/^\s*include /m);
});

test("sized for 1,024 sources at 64 idle sessions each on 443 (#25's G3) on a 2 vCPU server, two connections per session", () => {
  const c = conf();
  const wc = Number(/^\s*worker_connections (\d+);/m.exec(c)?.[1]);
  const nofile = Number(/^worker_rlimit_nofile (\d+);/m.exec(c)?.[1]);
  expect(/^worker_processes auto;/m.test(c)).toBe(true);
  // Two workers (auto on 2 vCPU), each holding its share of the sessions' two connections.
  expect((2 * wc) / 2).toBeGreaterThanOrEqual(1024 * 64);
  expect(nofile).toBeGreaterThanOrEqual(wc);
});

test("every upstream to home has home's tailnet IPv6 as a backup, which takes the sessions IPv4's source ports cannot; none without homeTailnetIPv6", () => {
  const upstreams = (text: string) => [...text.matchAll(/upstream (home_\w+) \{\n([^}]*)\}/g)].map((m) => [m[1], m[2].trim().split("\n").map((l) => l.trim())] as const);
  const withV6 = upstreams(conf({ clientIp: "nginx" }));
  expect(withV6.length).toBeGreaterThanOrEqual(4); // 443's home ports, 5222, 5269 and port 80's
  for (const [name, servers] of withV6) {
    const port = /:(\d+);$/.exec(servers[0])?.[1];
    expect([name, servers]).toEqual([name, [`server ${FACTS.homeIPv4}:${port};`, `server [${FACTS.homeIPv6}]:${port} backup;`]]);
  }
  const v4only = upstreams(renderNginxConf(model({ clientIp: "nginx" }), { ...FACTS, homeIPv6: undefined }));
  expect(v4only.map(([, s]) => s.length)).toEqual(withV6.map(() => 1));
});

test("80: the ACME location takes only an RFC 8555 token (base64url), and passes home the normalised path, not the request line", () => {
  const c = conf({ preset: "prosody" });
  const acme = /location ~ "(.*)" \{\n\s+proxy_pass http:\/\/home_port_80\$uri;/.exec(c);
  expect(acme).not.toBeNull();
  // nginx regexes are PCRE; the same text as a JS regex matches alike here.
  const token = new RegExp(acme![1]);
  expect(token.test("/.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0")).toBe(true);
  for (const bad of ["/.well-known/acme-challenge/..;/admin", "/.well-known/acme-challenge/", "/.well-known/acme-challenge/a/b", "/.well-known/acme-challenge/a.b", "/.well-known/acme-challengeX/a", "/x/.well-known/acme-challenge/a"]) {
    expect(token.test(bad)).toBe(false);
  }
  expect(c).not.toMatch(/location \/\.well-known\/acme-challenge\/ /);
});

test("80: requests to the XMPP names (from anywhere) are rated per client address; the web names (Cloudflare) are not", () => {
  const r = renderNginxConf(model(), FACTS);
  expect(r).toContain("limit_req_zone $binary_remote_addr zone=xmpp_http:1m rate=10r/s;");
  expect(r).toContain("limit_req_status 429;");
  const server = (name: string) => new RegExp(`server_name ${name.replace(/\./g, "\\.")}[^;]*;[\\s\\S]*?\\n    \\}`).exec(r)![0];
  expect(server("chat.example.com")).toContain("limit_req zone=xmpp_http burst=40 nodelay;");
  expect(server("www.example.com")).not.toContain("limit_req");
});
