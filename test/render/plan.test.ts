import * as path from "node:path";
import { readStackFile } from "../../model/source";
import { makePlan } from "../../render/plan";
import { BASE, DEPLOY_KEY, HOST_KEY } from "../fixtures";

test("the example stack plans every file", () => {
  const plan = makePlan(readStackFile(path.join(__dirname, "..", "..", "Pulumi.prod.yaml")));
  expect(Object.keys(plan.files).sort()).toEqual([
    "PLAN.md",
    "cloud-init.yaml",
    "dns.json",
    "firewall.json",
    "home/nginx-realip.conf",
    "home/prosody.cfg.lua",
    "home/snikket.conf",
    "tailscale-acl.json",
    ...Object.keys(plan.bundle).map((p) => `vps${p}`),
  ].sort());
  expect(Object.keys(plan.files).filter((f) => f.startsWith("vps/") && f.endsWith(".nft")).sort()).toEqual(["vps/etc/xmpp-edge/xmpp-edge-fallback.nft", "vps/etc/xmpp-edge/xmpp-edge.nft"]);
  expect(plan.files["vps/etc/xmpp-edge/manifest"]).toContain("0640 root:turnserver /etc/turnserver.conf");
});

test("dns.json: documentation addresses unless given", () => {
  const doc = JSON.parse(makePlan(BASE).files["dns.json"]);
  expect(doc[0]).toEqual({ type: "A", name: "www.example.com", content: "192.0.2.10", proxied: true, ttl: 1 });
  const given = JSON.parse(makePlan(BASE, { vpsIPv4: "95.217.1.2", vpsIPv6: "2a01:4f9::1" }).files["dns.json"]);
  expect(given[0].content).toBe("95.217.1.2");
  expect(given[1].content).toBe("2a01:4f9::1");
});

test("PLAN.md: ports and records tables and a mermaid diagram", () => {
  const md = makePlan({ ...BASE, extraForwards: [{ port: 7000, protocol: "udp", description: "game" }] }).files["PLAN.md"];
  expect(md).toContain("```mermaid\nflowchart LR");
  expect(md).toContain("| 7000 | udp | kernel DNAT + masquerade | 7000 | game |");
  expect(md).toContain("| _xmpps-client._tcp.chat.example.com | 5 | 5 | 443 | chat.example.com | 300 |");
  expect(md).toContain("| name | priority | weight | port | target | ttl |");
  expect(md).toContain("documentation addresses");
});

test("a hostname-only home is shown with a stand-in and a note", () => {
  const { homeTailnetIPv4: _, ...rest } = BASE;
  const plan = makePlan({ ...rest, homeTailnetHostname: "homeserver" });
  expect(plan.facts.homeIPv4).toBe("100.64.0.1");
  expect(plan.files["PLAN.md"]).toContain("looked up in the tailnet at deploy (homeserver)");
});

test("PLAN.md says what the deploy does with home's IPv6: looked up with the device, or not forwarded without homeTailnetIPv6", () => {
  const { homeTailnetIPv4: _4, homeTailnetIPv6: _6, ...rest } = BASE;
  const lookedUp = makePlan({ ...rest, homeTailnetHostname: "homeserver" }).files["PLAN.md"];
  expect(lookedUp).toContain("Its IPv6 address is looked up too: when the device has one, IPv6 clients of the DNAT ports are forwarded to it");
  expect(lookedUp).not.toContain("IPv6 clients are not forwarded");
  // With homeTailnetIPv4 the deploy looks nothing up, hostname or not.
  for (const extra of [{}, { homeTailnetHostname: "homeserver" }]) {
    const fixed = makePlan({ ...rest, homeTailnetIPv4: "100.101.102.103", ...extra }).files["PLAN.md"];
    expect(fixed).toContain("No homeTailnetIPv6: IPv6 clients are not forwarded on the DNAT ports");
    expect(fixed).toContain("nginx's sessions to one home port have IPv4's 39,151 source ports only: 612 sources at 64 connections each hold them all");
    expect(fixed).not.toContain("looked up");
  }
});

test("an existing host: its own addresses, no documentation stand-ins", () => {
  const plan = makePlan({ ...BASE, existingHost: { address: "edge.example.net", hostKey: HOST_KEY, ipv4: "95.217.1.2" }, sshPublicKey: DEPLOY_KEY, sshPrivateKey: { secure: "x" } });
  expect(plan.facts.vpsIPv4).toBe("95.217.1.2");
  expect(plan.facts.vpsIPv6).toBeUndefined();
  expect(plan.files["dns.json"]).not.toContain("AAAA");
  expect(plan.files["PLAN.md"]).not.toContain("documentation addresses");
  // No server is created: no cloud firewall, no cloud-init (components/vps.ts is skipped).
  expect(plan.files["firewall.json"]).toBeUndefined();
  expect(plan.files["cloud-init.yaml"]).toBeUndefined();
  expect(plan.files["PLAN.md"]).toContain("None: an existing host gets no cloud firewall.");
  // Nothing of this stack's is replaced by an image change.
  expect(plan.files["PLAN.md"]).not.toContain("REPLACES the server");
});

test("PLAN.md names the image's release and says that changing it replaces the server, pointing at the procedure", () => {
  const md = (image?: string) => makePlan({ ...BASE, ...(image ? { image } : {}) }).files["PLAN.md"];
  expect(md()).toContain("> Image `debian-13` (Debian 13 trixie). Changing `image` or `location` REPLACES the server");
  expect(md()).toContain('docs/operating.md, "Replacing an edge"');
  expect(md("debian-12")).toContain("> Image `debian-12` (Debian 12 bookworm).");
  // Edges on two releases (a replacement under way): both named.
  const mixed = makePlan({ ...BASE, image: "debian-12", edges: [{ name: "old" }, { name: "new", image: "debian-13" }] }).files["PLAN.md"];
  expect(mixed).toContain("> Image `debian-12` (Debian 12 bookworm), `debian-13` (Debian 13 trixie).");
  expect(mixed).toContain("2 edges (`failover`, image `debian-12`, `debian-13`)");
});

test("PLAN.md's traffic diagram shows only the paths the stack has", () => {
  const diagram = (o: Record<string, unknown>) => {
    const md = makePlan({ ...BASE, ...o }).files["PLAN.md"];
    return md.slice(md.indexOf("```mermaid"), md.indexOf("```", md.indexOf("```mermaid") + 3));
  };
  const full = diagram({});
  expect(full).toContain("xc([XMPP client / server]) -->|443/tcp ALPN, 5222/tcp, 5269/tcp| vps");
  expect(full).toContain("tc([call peer]) -->|STUN/TURN| vps");
  expect(full).toContain("coturn[coturn]");
  expect(full).toMatch(/nft -->\|tailscale0, masquerade: 5222\/tcp, 5269\/tcp, 5000\/tcp\| home/);
  const lean = diagram({ clientIp: "proxy-protocol", turn: "off", directTls: false, preset: "prosody", webHostnames: [] });
  expect(lean).toContain("xc([XMPP client / server]) -->|5222/tcp, 5269/tcp| vps");
  expect(lean).toContain("nginx -->|tailscale0, PROXY v1| home");
  for (const absent of ["browser", "call peer", "coturn", "nft", "ALPN"]) expect(lean).not.toContain(absent);
});

test("PLAN.md's diagram names the protocol of every port, so a port forwarded for both reads unambiguously", () => {
  const md = makePlan({ ...BASE, extraForwards: [{ port: 7000, protocol: "udp" }, { port: 7000, protocol: "tcp" }] }).files["PLAN.md"];
  expect(md).toContain("7000/udp, 7000/tcp| home");
});

test("PLAN.md: what the home server must serve, from the model, with the home/ snippets named", () => {
  const section = (o: Record<string, unknown>) => {
    const md = makePlan({ ...BASE, ...o }).files["PLAN.md"];
    return md.slice(md.indexOf("## At home"), md.indexOf("## DNS records"));
  };
  const snikket = section({});
  for (const row of [
    "| 5223 | tcp | XMPP client direct TLS (c2s_direct_tls_ports) | 443/tcp, ALPN xmpp-client; 443/tcp, ALPN none, SNI an XMPP name |",
    "| 5270 | tcp | XMPP server direct TLS (s2s_direct_tls_ports) | 443/tcp, ALPN xmpp-server |",
    "| 5080 | tcp | Snikket's web front (HTTP) | 80/tcp, Host an XMPP name |",
    "| 5443 | tcp | Snikket's web front (HTTPS) | 443/tcp, SNI an XMPP name |",
    "| 443 | tcp | the home web server (HTTPS) | 443/tcp, SNI a web name |",
    "| 5000 | tcp | Snikket file-transfer proxy (XEP-0065) | 5000/tcp |",
  ]) expect(snikket).toContain(row);
  expect(snikket).toContain("`home/`");
  expect(snikket).toContain("`snikket.conf`");
  expect(snikket).toContain("tailscaleAclSnippet");
  // Prosody with PROXY protocol and no direct TLS: the dedicated PROXY ports, no Snikket ports; the XMPP names'
  // HTTP(S) at Prosody's own ports, never the web server's (only their ACME challenges).
  const prosody = section({ preset: "prosody", clientIp: "proxy-protocol", directTls: false });
  expect(prosody).toContain("| 15222 | tcp | XMPP client connections (STARTTLS), behind a PROXY v1 header | 5222/tcp |");
  expect(prosody).toContain("| 443 | tcp | the home web server (HTTPS) | 443/tcp, SNI a web name |");
  expect(prosody).toContain("| 5281 | tcp | Prosody's https_ports | 443/tcp, SNI an XMPP name |");
  expect(prosody).toContain("| 80 | tcp | the home web server, ACME challenges only; the home web server (HTTP) | 80/tcp, Host an XMPP name, path /.well-known/acme-challenge/; 80/tcp, Host a web name |");
  for (const absent of ["5223", "5270", "5080", "5443", "5000", "snikket.conf", "| 5222 |"]) expect(prosody).not.toContain(absent);
});

test("PLAN.md with dns off: the user creates the records, and Cloudflare is not drawn as the stack's", () => {
  const off = makePlan({ ...BASE, dns: "off" }).files["PLAN.md"];
  expect(off).toContain("`dns: off`: the stack creates none of these. Create them at your DNS provider");
  expect(off).toContain("cf[Cloudflare proxy, records set by you]");
  expect(off).not.toContain("Created by the stack");
  const unlocked = makePlan({ ...BASE, dns: "off", webOriginLock: "off" }).files["PLAN.md"];
  expect(unlocked).toContain("cf[your proxy or CDN, records set by you]");
  const on = makePlan(BASE).files["PLAN.md"];
  expect(on).toContain("Created by the stack in the Cloudflare zone");
  expect(on).toContain("cf[Cloudflare proxy]");
  expect(on).not.toContain("dns: off");
  expect(on).toContain('TTL 1 is Cloudflare\'s "automatic"');
});

test("PLAN.md's firewall says why 80/443 are open to all: nginx does the origin lock", () => {
  const note = "nginx on the VPS does the origin lock";
  expect(makePlan(BASE).files["PLAN.md"]).toContain(note);
  expect(makePlan({ ...BASE, webOriginLock: "off" }).files["PLAN.md"]).not.toContain(note);
});

test("PLAN.md says each thing once: no id echoing its purpose, no handler repeated in the purposes", () => {
  const md = makePlan(BASE).files["PLAN.md"];
  expect(md).not.toMatch(/http: HTTP:/);
  expect(md.match(/coturn on the VPS/g)?.length).toBe(md.match(/\| coturn on the VPS \|/g)?.length);
});

test("PLAN.md draws the model's 443 and 80 routing: XMPP names without ALPN to 5223, the rest closed", () => {
  const md = makePlan({ ...BASE }).files["PLAN.md"];
  expect(md).toContain("| 443 | tcp | nginx (stream) | by ALPN and name: see 443 and 80 routing |");
  expect(md).toContain("| none | XMPP names | anywhere | 5223: XMPP client direct TLS (c2s_direct_tls_ports) |");
  expect(md).toContain("| any other | XMPP names | anywhere | 5443: Snikket's web front (HTTPS) |");
  expect(md).toContain("| any other | web names | Cloudflare (+ webOriginExtraAllow) only | 443: the home web server (HTTPS) |");
  expect(md).toContain("| anything else |  |  | closed, no answer |");
  expect(md).toContain("| web names | / | Cloudflare (+ webOriginExtraAllow) only | 80: the home web server (HTTP) |");
  const prosody = makePlan({ ...BASE, preset: "prosody", directTls: false }).files["PLAN.md"];
  expect(prosody).not.toContain("| none | XMPP names");
  expect(prosody).toContain("| any other | XMPP names | anywhere | 5281: Prosody's https_ports |");
  expect(prosody).toContain("| XMPP names | /.well-known/acme-challenge/ | anywhere | 80: the home web server, ACME challenges only |");
});
