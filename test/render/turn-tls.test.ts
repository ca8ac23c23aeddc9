// TURN over TLS on 443 (turnTls): one more 443 row for the TURN name, TLS
// ended on the edge, coturn on loopback, the guard's one exception, the
// DNS-only name per edge, the Prosody turns entry, and the refusals.
import { forEdge } from "../../model/model";
import { renderCoturnConf } from "../../render/coturn";
import { renderDnsRecords } from "../../render/dns";
import { renderHomeSnippets } from "../../render/home";
import { renderNftables } from "../../render/nftables";
import { NGINX_TURN_TLS_SOCKET, renderNginxConf, TURN_TLS_CERT, TURN_TLS_KEY } from "../../render/nginx";
import { renderPlanMd } from "../../render/plan-md";
import { FACTS, model, problems } from "../fixtures";

const ON = { turnTls: true };
const TWO_EDGES = { edges: [{ name: "fsn" }, { name: "hel", location: "hel1" }] };

/** The 443 routing map's rows, "KEY UPSTREAM", in order. */
function routes(c: string): string[] {
  const m = /map "\$edge_alpn_class \$edge_name_class \$edge_from_origin" \$edge_https_upstream \{\n([\s\S]*?)\n\s*\}/.exec(c);
  return m![1].split("\n").map((l) => l.trim());
}

/** One server {} block of a rendered nginx.conf, from its first line to its closing brace. */
function block(c: string, start: RegExp): string {
  const at = c.search(start);
  expect(at).toBeGreaterThanOrEqual(0);
  const rest = c.slice(at);
  return rest.slice(0, rest.indexOf("\n    }\n") + 6);
}

describe("routing", () => {
  test.each([
    ["defaults", {}],
    ["directTls off", { directTls: false }],
    ["prosody preset", { preset: "prosody", xmppHost: "xmpp.chat.example.com" }],
    ["no web names", { webHostnames: [] }],
  ])("%s: every existing 443 and 80 row unchanged, one row each added for the TURN name", (_, o) => {
    const off = model(o);
    const on = model({ ...o, ...ON });
    expect(on.https.slice(0, -1)).toEqual(off.https);
    expect(on.https.at(-1)).toEqual({ alpn: "not-xmpp", names: "turn", from: "anywhere", onEdge: "turn-tls", what: expect.any(String) });
    expect(on.http.slice(0, -1)).toEqual(off.http);
    expect(on.http.at(-1)).toMatchObject({ names: "turn", path: "/.well-known/acme-challenge/", from: "anywhere", onEdge: "acme-webroot" });
    const [offConf, onConf] = [renderNginxConf(off, FACTS), renderNginxConf(on, FACTS)];
    expect(routes(onConf)).toEqual([...routes(offConf).slice(0, -1), '"~^(none|other) turn [01]$" edge_turn_tls;', "default edge_refuse;"]);
  });

  test("turnTls off: no TURN name anywhere", () => {
    const m = model();
    expect(m.turnTlsName).toBeUndefined();
    const c = renderNginxConf(m, FACTS);
    expect(c).not.toMatch(/turn\.|edge_turn_tls|xmpp-edge\/acme/);
    expect(renderNftables(m, FACTS)).not.toContain("127.0.0.1");
    expect(renderCoturnConf(m, FACTS, undefined)).not.toContain("127.0.0.1");
  });

  test("the TURN name is its own SNI class; an XMPP ALPN id to it still goes to XMPP (rows before), none or other ALPN to the terminator", () => {
    const c = renderNginxConf(model(ON), FACTS);
    expect(c).toMatch(/www\.example\.com web;\n\s+turn\.chat\.example\.com turn;\n\s+default other;/);
    const rows = routes(c);
    expect(rows.findIndex((r) => r.startsWith('"~^xmpp-client [a-z]+'))).toBeLessThan(rows.indexOf('"~^(none|other) turn [01]$" edge_turn_tls;'));
    // The regex itself: none and other match, the XMPP classes do not.
    const key = /^(none|other) turn [01]$/;
    expect(["none turn 0", "other turn 1"].every((k) => key.test(k))).toBe(true);
    expect(["xmpp-client turn 0", "xmpp-server turn 1", "none xmpp 0", "other web 1", "none other 0"].some((k) => key.test(k))).toBe(false);
  });
});

describe("nginx", () => {
  const c = renderNginxConf(model(ON), FACTS);

  test("443's TURN name ends TLS in a server on a unix socket (no port), modern TLS only, the plain stream to coturn on loopback", () => {
    expect(c).toMatch(new RegExp(`upstream edge_turn_tls \\{\\n\\s+server unix:${NGINX_TURN_TLS_SOCKET};`));
    const s = block(c, new RegExp(`    server \\{\\n        listen unix:${NGINX_TURN_TLS_SOCKET} ssl;`));
    expect(s).toContain(`ssl_certificate ${TURN_TLS_CERT};`);
    expect(s).toContain(`ssl_certificate_key ${TURN_TLS_KEY};`);
    expect(s).toContain("ssl_protocols TLSv1.2 TLSv1.3;");
    expect(s).toMatch(/ssl_ciphers (ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305):?)+;/);
    expect(s).toContain("proxy_pass 127.0.0.1:3478;");
    expect(s).not.toMatch(/listen \d|listen \[/);
  });

  test("80: the TURN name answers ACME challenges from the edge's webroot and nothing else; nothing of it goes home", () => {
    const s = block(c, /    server \{\n(.*\n){2}        server_name turn\.chat\.example\.com;/);
    expect(s).toContain('location ~ "^/\\.well-known/acme-challenge/[A-Za-z0-9_-]+$" {\n            root /var/lib/xmpp-edge/acme;\n        }');
    expect(s).toContain("location / {\n            return 444;");
    expect(s).not.toContain("proxy_pass");
    // The XMPP names' server does not name it: home never sees its challenges.
    expect(block(c, /server_name chat\.example\.com/)).not.toContain("turn.");
  });
});

describe("coturn and the output guard", () => {
  test("coturn also listens on loopback; relays stay on the public addresses; coturn itself still offers no TLS", () => {
    const t = renderCoturnConf(model(ON), FACTS, undefined);
    expect(t.match(/^listening-ip=.*$/gm)).toEqual(["listening-ip=192.0.2.10", "listening-ip=2001:db8::10", "listening-ip=127.0.0.1"]);
    expect(t.match(/^relay-ip=.*$/gm)).toEqual(["relay-ip=192.0.2.10", "relay-ip=2001:db8::10"]);
    expect(t).toMatch(/^no-tls$/m);
    expect(t).toMatch(/^no-dtls$/m);
  });

  test("the guard lets coturn answer the terminator (loopback to loopback, from its TCP port) and nothing more, before the refusals", () => {
    const n = renderNftables(model(ON), FACTS);
    const guard = /chain turn_relay_guard \{\n([\s\S]*?)\n    \}/.exec(n)![1].split("\n").map((l) => l.trim());
    expect(guard[0]).toBe('ip saddr 127.0.0.1 ip daddr 127.0.0.1 tcp sport 3478 accept comment "coturn answering the local TLS terminator (turnTls)"');
    // Everything else is the guard without turnTls, unchanged: the exception is its only new line.
    const off = /chain turn_relay_guard \{\n([\s\S]*?)\n    \}/.exec(renderNftables(model(), FACTS))![1].split("\n").map((l) => l.trim());
    expect(guard.slice(1)).toEqual(off);
  });
});

describe("DNS, home, PLAN.md", () => {
  test("one DNS-only A/AAAA for the TURN name; several edges: one name per edge, each edge's own address", () => {
    const one = renderDnsRecords(model(ON), { ipv4: "192.0.2.10", ipv6: "2001:db8::10" }).filter((r) => r.name.includes("turn"));
    expect(one).toEqual([
      { type: "A", name: "turn.chat.example.com", content: "192.0.2.10", proxied: false, ttl: 300 },
      { type: "AAAA", name: "turn.chat.example.com", content: "2001:db8::10", proxied: false, ttl: 300 },
    ]);
    const m = model({ ...ON, ...TWO_EDGES });
    const two = renderDnsRecords(m, [{ ipv4: "192.0.2.10" }, { ipv4: "192.0.2.20" }]).filter((r) => r.name.includes("turn"));
    expect(two.map((r) => `${r.name} ${r.content} ${r.proxied}`)).toEqual(["fsn.turn.chat.example.com 192.0.2.10 false", "hel.turn.chat.example.com 192.0.2.20 false"]);
    expect([forEdge(m, 0).turnTlsName, forEdge(m, 1).turnTlsName]).toEqual(["fsn.turn.chat.example.com", "hel.turn.chat.example.com"]);
    expect(renderNginxConf(forEdge(m, 1), FACTS)).toContain("hel.turn.chat.example.com turn;");
    expect(renderNginxConf(forEdge(m, 1), FACTS)).not.toContain("fsn.turn");
  });

  test("Prosody: a turns entry with credentials per edge, on 443, made from the secret; Snikket says it cannot", () => {
    const h = renderHomeSnippets(model({ ...ON, ...TWO_EDGES }), FACTS, "s3cret");
    expect(h["prosody.cfg.lua"]).toContain(
      [
        "external_services = {",
        '    { type = "turns", transport = "tcp", host = "fsn.turn.chat.example.com", port = 443, secret = "s3cret", algorithm = "turn" };',
        '    { type = "turns", transport = "tcp", host = "hel.turn.chat.example.com", port = 443, secret = "s3cret", algorithm = "turn" };',
        "}",
      ].join("\n"),
    );
    expect(h["snikket.conf"]).toContain("cannot advertise");
    expect(renderHomeSnippets(model(), FACTS, "s3cret")["prosody.cfg.lua"]).not.toContain("external_services");
  });

  test("PLAN.md's routing tables grow by the TURN rows, served on the edge", () => {
    const md = renderPlanMd(model(ON), FACTS, [], undefined, []);
    expect(md).toContain("| none or other (no XMPP id) | the TURN name (turnTls) | anywhere | none, on the edge: TURN over TLS");
    expect(md).toContain("| the TURN name (turnTls) | /.well-known/acme-challenge/ | anywhere | none, on the edge: ACME HTTP-01");
  });
});

describe("validation", () => {
  const ok = (o: Record<string, unknown>) => expect(problems(o)).toEqual([]);
  const refused = (o: Record<string, unknown>, key: string, text: RegExp) => {
    const p = problems(o);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(new RegExp(`^xmpp-edge:${key.replace(/[[\].]/g, "\\$&")}: `));
    expect(p[0]).toMatch(text);
  };
  test("defaults: off; on: turn.<domain>, or the name given", () => {
    expect(model().config.turnTlsName).toBeUndefined();
    expect(model(ON).turnTlsName).toBe("turn.chat.example.com");
    expect(model({ ...ON, turnTlsName: "relay.example.com" }).turnTlsName).toBe("relay.example.com");
    ok({ ...ON, turnTlsName: "relay.example.com" });
  });
  test("refusals, each naming the key", () => {
    refused({ turnTlsName: "relay.example.com" }, "turnTlsName", /turnTls is off/);
    refused({ ...ON, turn: "off" }, "turnTls", /needs turn "edge"/);
    refused({ ...ON, turnTlsName: "relay.example.org" }, "turnTlsName", /outside the zone/);
    refused({ ...ON, turnTlsName: "Relay..example.com" }, "turnTlsName", /not a valid hostname/);
    refused({ ...ON, turnTlsName: "chat.example.com" }, "turnTlsName", /an XMPP name/);
    refused({ ...ON, turnTlsName: "share.chat.example.com" }, "turnTlsName", /Snikket's CNAMEs/);
    refused({ ...ON, turnTlsName: "www.example.com" }, "turnTlsName", /a web name/);
    refused({ ...ON, webHostnames: ["turn.chat.example.com"] }, "domain", /turnTlsName's default|a web name/);
    refused({ ...ON, turnTlsName: "edge.chat.example.com" }, "turnTlsName", /edge "edge"'s own DNS name/);
    refused({ ...ON, ...TWO_EDGES, turnTlsName: "chat.example.com" }, "turnTlsName", /fsn\.chat\.example\.com.*own DNS name/);
    refused({ ...ON, ...TWO_EDGES, turnTlsName: `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(48)}.example.com` }, "turnTlsName", /too long/);
  });
});

describe("the bundle", () => {
  test("turnTls ships the certificate tool, its name and its timer; off, none of them", async () => {
    const { renderVpsBundle } = await import("../../render/bundle");
    const on = renderVpsBundle(model(ON), FACTS, undefined);
    expect(on["/etc/xmpp-edge/turn-tls.conf"].content).toMatch(/\nNAME=turn\.chat\.example\.com\n$/);
    expect(on["/usr/local/sbin/xmpp-edge-turn-cert"].mode).toBe("0755");
    expect(on["/etc/systemd/system/xmpp-edge-turn-cert.service"].content).toContain("ExecStart=/usr/local/sbin/xmpp-edge-turn-cert obtain");
    expect(on["/etc/systemd/system/xmpp-edge-turn-cert.timer"].content).toMatch(/OnBootSec=2min\nOnCalendar=\*-\*-\* 00,12:00:00\n/);
    expect(on["/etc/xmpp-edge/manifest"].content).toContain("0644 root:root /etc/systemd/system/xmpp-edge-turn-cert.timer");
    const off = Object.keys(renderVpsBundle(model(), FACTS, undefined));
    expect(off.filter((p) => p.includes("turn-"))).toEqual([]);
  });
});
