// X-Forwarded-For on 80: the home web server trusts the edge's hop (its
// tailnet address), so the edge keeps a client-written chain only for
// requests the origin lock admitted; from anyone else it sends only the
// address it saw.
import { renderNginxConf } from "../../render/nginx";
import { FACTS, model } from "../fixtures";

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

describe("the edge writes X-Forwarded-For on 80: appended only for what the lock admitted", () => {
  /** The X-Forwarded-For the location for `path` in the server block for `name` sets. */
  function forwardedFor(conf: string, name: string, path: string): string | undefined {
    const http = conf.slice(conf.indexOf("\nhttp {"));
    const server = http.split(/\n    server \{/).find((s) => new RegExp(`server_name [^;]*\\b${esc(name)}\\b`).test(s));
    // A plain prefix location, or the ACME path's regex location (its token's shape).
    const location = server?.split(/\n        location /).find((l) => l.startsWith(`${path} {`) || l.startsWith(`~ "^${path.replace(/\./g, "\\.")}`));
    return location?.match(/set \$edge_forwarded_for (\S+);/)?.[1];
  }
  test("lock on: a web name's request (from an origin) keeps the chain; an XMPP name's (from anyone) gets only the address the edge saw", () => {
    const conf = renderNginxConf(model({ preset: "prosody", domain: "example.com", xmppHost: "xmpp.example.com" }), FACTS);
    expect(conf).toContain("proxy_set_header X-Forwarded-For $edge_forwarded_for;");
    expect(conf).not.toContain("X-Forwarded-For $proxy_add_x_forwarded_for");
    expect(forwardedFor(conf, "www.example.com", "/")).toBe("$proxy_add_x_forwarded_for");
    // Prosody: ACME for the XMPP names goes to the home web server, from anyone.
    expect(forwardedFor(conf, "xmpp.example.com", "/.well-known/acme-challenge/")).toBe("$remote_addr");
    expect(forwardedFor(conf, "xmpp.example.com", "/")).toBe("$remote_addr");
  });
  test("lock off: nothing is appended (home trusts no hop then)", () => {
    const conf = renderNginxConf(model({ webOriginLock: "off" }), FACTS);
    expect(forwardedFor(conf, "www.example.com", "/")).toBe("$remote_addr");
  });
});
