// Snippets for the home server: what Prosody, Snikket and the home web
// server must be told so the edge's traffic lands where the edge sends it.
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "../model/cloudflare-ranges";
import { type EdgeModel, type HostFacts, turnListener } from "../model/model";
import * as P from "../model/ports";
import { checkedTurnSecret } from "../model/secrets";

export interface HomeSnippets {
  "prosody.cfg.lua": string;
  "snikket.conf"?: string;
  "nginx-realip.conf": string;
}

const header = (c: string) => `${c} From xmpp-edge: merge into the home server's configuration.\n`;

/** The line naming the modules to enable; the snippet never assigns modules_enabled (that would replace the server's list). */
export const PROSODY_MODULES_LINE = "-- Add to your modules_enabled:";

function prosody(model: EdgeModel, facts: HostFacts, turnSecret: string | undefined): string {
  const c = model.config;
  const modules: string[] = [];
  const lines: string[] = [];
  if (c.directTls) {
    lines.push(
      "-- XEP-0368 direct TLS: the edge routes ALPN xmpp-client/xmpp-server on 443 here.",
      `c2s_direct_tls_ports = { ${P.HOME_C2S_DIRECT_TLS_PORT} }`,
      `s2s_direct_tls_ports = { ${P.HOME_S2S_DIRECT_TLS_PORT} }`,
      "",
    );
  }
  if (c.preset === "prosody") {
    lines.push(
      "-- The edge sends the XMPP names' HTTP(S) from anywhere to Prosody's own ports (its defaults),",
      "-- never to the home web server; ACME HTTP-01 challenges for them go to the web server on 80.",
      `http_ports = { ${P.PROSODY_HOME_HTTP_PORT} }`,
      `https_ports = { ${P.PROSODY_HOME_HTTPS_PORT} }`,
      "",
    );
  }
  if (c.clientIp === "proxy-protocol") {
    modules.push("net_proxy");
    lines.push(
      "-- clientIp = proxy-protocol: the edge's nginx sends a PROXY v1 header on these ports.",
      "-- mod_net_proxy is a community module (not in Debian's prosody-modules package).",
      `proxy_port_mappings = { [${P.HOME_C2S_PROXY_PROTOCOL_PORT}] = "c2s", [${P.HOME_S2S_PROXY_PROTOCOL_PORT}] = "s2s" }`,
      // Exactly the edges: any other tailnet node could claim any client address. Unknown: trust none (fail closed).
      ...trustedProxies(facts),
      "",
    );
  }
  if (c.turn === "edge") {
    const turn = turnListener(model)!;
    modules.push("turn_external");
    lines.push(
      "-- STUN/TURN runs on the edge (coturn); Prosody only hands out credentials.",
      `turn_external_host = "${c.xmppHost}"`,
      `turn_external_port = ${turn.ports.from}`,
      `turn_external_secret = "${turnSecret ?? SECRET_HINT}"`,
      "",
      ...turnsServices(model, turnSecret),
    );
  }
  const head = [header("--")];
  if (modules.length) head.push(`${PROSODY_MODULES_LINE} ${modules.map((m) => `"${m}"`).join(", ")}`, "");
  return [...head, ...lines].join("\n");
}

const SECRET_HINT = "<the Pulumi secret xmpp-edge:turnSecret: pulumi stack output --show-secrets>";

/**
 * turnTls: one turns entry with credentials per edge (XEP-0215). Prosody
 * 0.12's turn_external_tls_port cannot say it: its turns entry names
 * turn_external_host (an XMPP name, which 443 gives to XMPP) and carries no
 * credentials, so clients skip it. mod_external_services makes the
 * credentials itself from the secret (algorithm "turn", as turn: entries).
 */
function turnsServices(model: EdgeModel, turnSecret: string | undefined): string[] {
  const names = model.config.edges.map((e) => e.turnTlsName).filter((n): n is string => n !== undefined);
  if (names.length === 0) return [];
  return [
    "-- TURN over TLS on 443 (turnTls): its own name per edge, credentials from the same secret.",
    "external_services = {",
    ...names.map((n) => `    { type = "turns", transport = "tcp", host = "${n}", port = ${P.HTTPS_PORT}, secret = "${turnSecret ?? SECRET_HINT}", algorithm = "turn" };`),
    "}",
    "",
  ];
}

/** Every edge's tailnet address (HostFacts.edgeTailnetIPv4s), else the one VPS's. */
function edgeTailnet(facts: HostFacts): (string | undefined)[] {
  return facts.edgeTailnetIPv4s ?? [facts.vpsTailnetIPv4];
}

const UNKNOWN_EDGE = "the VPS's tailnet address: the vpsTailnetIPv4 output (several edges: the edges output), or tailscale ip -4 on the VPS";

function trustedProxies(facts: HostFacts): string[] {
  const all = edgeTailnet(facts);
  const known = all.filter((a): a is string => a !== undefined);
  const missing = all.length - known.length;
  if (known.length === 0) return [`proxy_trusted_proxies = { } -- add ${all.length > 1 ? "every edge's tailnet address" : UNKNOWN_EDGE}`];
  const line = `proxy_trusted_proxies = { ${known.map((a) => `"${a}"`).join(", ")} }`;
  return missing === 0 ? [line] : [`${line} -- add the ${missing} other edge(s): ${UNKNOWN_EDGE}`];
}

function snikket(model: EdgeModel, turnSecret: string | undefined): string {
  const c = model.config;
  const lines = [header("#"), "# Snikket behind xmpp-edge: web front on side ports, the home web server keeps 80/443."];
  lines.push(`SNIKKET_TWEAK_HTTP_PORT=${P.SNIKKET_HOME_HTTP_PORT}`, `SNIKKET_TWEAK_HTTPS_PORT=${P.SNIKKET_HOME_HTTPS_PORT}`);
  if (c.turn === "edge") {
    lines.push(
      "# TURN on the edge: Snikket's own coturn cannot work behind the forwarder.",
      "SNIKKET_TWEAK_TURNSERVER=0",
      `SNIKKET_TWEAK_TURNSERVER_DOMAIN=${c.xmppHost}`,
      `SNIKKET_TWEAK_TURNSERVER_SECRET=${turnSecret ?? "<the Pulumi secret xmpp-edge:turnSecret>"}`,
    );
    if (c.turnTlsName !== undefined) {
      lines.push(
        "# turnTls: Snikket's settings name one TURN host and no TLS port, so it cannot advertise the",
        "# edge's turns: entry (its name, port 443); its clients use UDP/TCP TURN on 3478.",
        "# Only a Prosody configuration can list it (prosody.cfg.lua's external_services).",
      );
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * X-Forwarded-For is only as good as the hop that wrote it. With the lock
 * on, the edge reaches the home web server in two ways only: 443 from the web
 * origins, where it passes TLS through and the header is what Cloudflare (or
 * a webOriginExtraAllow network, hence their bound) wrote; and 80, where it
 * keeps the chain for requests from the web origins and sends only the
 * address it saw for anyone else (render/nginx.ts). No forward reaches 80 or
 * 443 at home then (checks/origin-lock.ts), so every request from the edge's
 * address is one the lock admitted or one the edge named itself. The edge is
 * trusted only then, and only by its exact tailnet address (another tailnet
 * node could write anything); with the lock off nothing is trusted. The XMPP
 * web front, reached on 443 from anywhere, must not take this snippet.
 */
function nginxRealIp(model: EdgeModel, facts: HostFacts): string {
  const head = [
    header("#"),
    "# For the home web server's http {} block (the web names' server blocks only, never the XMPP",
    "# server's web front): web names arrive through Cloudflare and the edge, which both append to",
    "# X-Forwarded-For; trust exactly those hops to recover the visitor's address. The edge sends this",
    "# server only what the origin lock admitted, or a header naming the address it saw itself.",
  ];
  if (model.webOrigins === null) {
    return [
      ...head,
      "# webOriginLock is off: on 443 the edge passes anyone's TLS through, so X-Forwarded-For may be",
      "# written by the visitor. No hop is trusted; the visitor's address is not recoverable here.",
      "",
    ].join("\n");
  }
  const edge = edgeTailnet(facts).map((a) => (a ? `set_real_ip_from ${a};` : "# set_real_ip_from <the VPS's tailnet address: the vpsTailnetIPv4 output, or tailscale ip -4 on the VPS>;"));
  return [...head, ...edge, ...[...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6].map((t) => `set_real_ip_from ${t};`), "real_ip_header X-Forwarded-For;", "real_ip_recursive on;", ""].join("\n");
}

export function renderHomeSnippets(model: EdgeModel, facts: HostFacts, turnSecret: string | undefined): HomeSnippets {
  // Written unquoted (Snikket's env) and inside a Lua string: only a secret that means nothing to either.
  if (turnSecret !== undefined) checkedTurnSecret(turnSecret);
  const out: HomeSnippets = {
    "prosody.cfg.lua": prosody(model, facts, turnSecret),
    "nginx-realip.conf": nginxRealIp(model, facts),
  };
  if (model.config.preset === "snikket") out["snikket.conf"] = snikket(model, turnSecret);
  return out;
}
