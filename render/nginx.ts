// The VPS's complete nginx.conf. One self-contained file (no includes), so
// `nginx -t -c FILE` checks exactly what will run.
//   stream 443: ssl_preread routes by the model's https table: ALPN class, SNI
//               class and origin (model/model.ts); unmatched connections are closed;
//   stream 5222/5269 with clientIp=nginx: relayed to the same home ports;
//               with clientIp=proxy-protocol: PROXY v1 to dedicated home ports;
//   http 80:    the model's http table: XMPP names from anywhere (ACME HTTP-01),
//               web names origin-locked, other names closed (444);
//   turnTls:    443's TURN name ends TLS in a local server (unix socket) that
//               hands the stream to coturn on loopback; 80 answers that name's
//               ACME challenges from the edge's own webroot.
// Per-source connection limits live in nftables (render/nftables.ts), which
// can count IPv6 sources per /64.
import { ACME_CHALLENGE_PATH, ACME_TOKEN, homeRoutes, listenerOf, servicesBy, type EdgeModel, type HostFacts, type HttpRoute, type HttpsRoute, type OnEdge } from "../model/model";
import { XMPP_HTTP_REQUEST_LIMIT } from "../model/ports";
import { TURN_LOOPBACK } from "./coturn";
import { generatedHeader } from "./header";

export const NGINX_CONF_PATH = "/etc/nginx/nginx.conf";
export const NGINX_MODULE_PATH = "/usr/lib/nginx/modules/ngx_stream_module.so";
/** Connections refused by the origin lock are handed to this local server, which closes them. */
export const NGINX_REFUSE_SOCKET = "/run/nginx-xmpp-edge-refuse.sock";
/** 443's TURN name is handed to this local server, which ends TLS (turnTls). */
export const NGINX_TURN_TLS_SOCKET = "/run/nginx-xmpp-edge-turn-tls.sock";
/**
 * The TURN name's certificate and key as nginx reads them: a self-signed
 * placeholder until the first ACME certificate, then each one certbot's
 * deploy hook installs (host/xmpp-edge-turn-cert).
 */
export const TURN_TLS_DIR = "/etc/xmpp-edge/turn-tls";
export const TURN_TLS_CERT = `${TURN_TLS_DIR}/fullchain.pem`;
export const TURN_TLS_KEY = `${TURN_TLS_DIR}/privkey.pem`;
/** certbot --webroot writes the TURN name's challenges below this; nginx serves them from it. */
export const ACME_WEBROOT = "/var/lib/xmpp-edge/acme";
/**
 * TLS 1.2 and 1.3 with forward secrecy and AEAD only. TLS 1.2 stays for the
 * TURN clients in older WebRTC builds; what TLS protects here is TURN's
 * control and the look of the stream (the media inside is DTLS-SRTP).
 */
export const TURN_TLS_PROTOCOLS = "TLSv1.2 TLSv1.3";
export const TURN_TLS_CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/** Long-lived XMPP sessions sit idle between stanzas; web connections do not mind a long limit. */
const STREAM_IDLE_TIMEOUT = "1h";
const CONNECT_TIMEOUT = "10s";
/**
 * An idle session on 443 holds two connections in one worker (client and
 * home side) and ~17 KiB of nginx memory, and the workers share the sessions
 * evenly (`npm run bench:scale`, bench/REPORT.md, Scale). 81,920 per worker
 * lets the two workers of a 2 vCPU server hold 81,920 sessions: past the
 * 65,536 that 1,024 sources may hold at the per-source limit of 64 (#25's
 * G3), and matched to what the server meets next: 78,302 source ports from
 * the edge's two tailnet addresses toward one home port (model/ports.ts
 * EPHEMERAL_PORTS), 163,840 conntrack entries of the default 262,144, about
 * 1.4 GiB of a 4 GB server's memory when all are held. The workers allocate
 * their connection slots up front (about 35 MiB each).
 */
export const WORKER_CONNECTIONS = 81920;
/** One descriptor per connection, twice over: the listeners, logs and a surge never meet the limit first. */
export const WORKER_RLIMIT_NOFILE = 2 * WORKER_CONNECTIONS;

const indent = (lines: string[], n = 1) => lines.map((l) => (l ? "    ".repeat(n) + l : l));

function listen(port: number, extra = ""): string[] {
  const opts = extra ? ` ${extra}` : "";
  return [`listen ${port}${opts};`, `listen [::]:${port}${opts};`];
}

/** `geo` block: 1 for sources allowed to reach web names, 0 otherwise. */
function originGeo(model: EdgeModel): string[] {
  const o = model.webOrigins;
  if (o === null) return ["# webOriginLock off: web names are reachable from anywhere.", "geo $edge_from_origin {", "    default 1;", "}"];
  return [
    "# webOriginLock cloudflare: web names only from Cloudflare's published ranges (+ webOriginExtraAllow).",
    "geo $edge_from_origin {",
    "    default 0;",
    ...indent([...o.ipv4, ...o.ipv6].map((c) => `${c} 1;`)),
    "}",
  ];
}

/** `map` from a name to its class: the XMPP names, the web names, anything else (or no name). */
function nameClassMap(variable: string, model: EdgeModel): string[] {
  return [
    `map ${variable} $edge_name_class {`,
    "    hostnames;",
    ...indent(model.xmppNames.map((n) => `${n} xmpp;`)),
    ...indent(model.webNames.map((n) => `${n} web;`)),
    ...(model.turnTlsName !== undefined ? [`    ${model.turnTlsName} turn;`] : []),
    "    default other;",
    "}",
  ];
}

const upstreamName = (port: number) => `home_port_${port}`;

/**
 * A home port's servers: home's tailnet IPv4, and its tailnet IPv6 as a
 * backup when homeTailnetIPv6 is set. nginx's connections to one home port
 * leave from one address and take one ephemeral port each (model/ports.ts
 * EPHEMERAL_PORTS); when IPv4's are all held, connect() fails at once
 * (EADDRNOTAVAIL), nginx marks IPv4 failed for 10 s and the session goes over
 * IPv6, with ports of its own. Until then nothing goes over IPv6, so a home
 * that listens on IPv4 only loses nothing it has today.
 */
const homeServers = (f: HostFacts, port: number): string[] => [
  `    server ${f.homeIPv4}:${port};`,
  ...(f.homeIPv6 !== undefined ? [`    server [${f.homeIPv6}]:${port} backup;`] : []),
];
const EDGE_UPSTREAM: Record<OnEdge, string> = { "turn-tls": "edge_turn_tls", "acme-webroot": "" };
const routeUpstream = (r: HttpsRoute) => (r.homePort !== undefined ? upstreamName(r.homePort) : EDGE_UPSTREAM[r.onEdge]);

/** One map key per route: "ALPN-CLASS NAME-CLASS FROM-ORIGIN" (the first matching regex wins). */
function httpsRouteKey(r: HttpsRoute): string {
  const alpn = r.alpn === "any" ? "[a-z-]+" : r.alpn === "not-xmpp" ? "(none|other)" : r.alpn;
  const names = r.names === "any" ? "[a-z]+" : r.names;
  return `"~^${alpn} ${names} ${r.from === "anywhere" ? "[01]" : "1"}$"`;
}

function streamBlock(model: EdgeModel, f: HostFacts): string[] {
  // 5222/5269 when nginx ends them (clientIp nginx or proxy-protocol): each to its home port.
  const relayed = servicesBy(model, "nginx-stream").filter((s) => s.home !== undefined);
  const relayUpstream = (s: (typeof relayed)[number]) => (s.proxyProtocol ? `home_${s.id.replace(/-/g, "_")}_proxy_protocol` : upstreamName(s.home!.from));
  const lines: string[] = [
    "log_format edge '$remote_addr [$time_local] $protocol $server_port sni=\"$ssl_preread_server_name\" alpn=\"$ssl_preread_alpn_protocols\" -> $upstream_addr $status $bytes_sent $bytes_received $session_time';",
    "access_log /var/log/nginx/stream-access.log edge;",
    "",
    ...originGeo(model),
    "",
    ...nameClassMap("$ssl_preread_server_name", model),
    "",
    "# ALPN class: an XMPP id anywhere in the offer (XEP-0368), none at all, or anything else (h2, http/1.1, ...).",
    "map $ssl_preread_alpn_protocols $edge_alpn_class {",
    '    "" none;',
    '    "~(^|,)xmpp-client(,|$)" xmpp-client;',
    '    "~(^|,)xmpp-server(,|$)" xmpp-server;',
    "    default other;",
    "}",
    "",
    "# The routing table (model/model.ts https): the first matching row wins; anything else is closed.",
    'map "$edge_alpn_class $edge_name_class $edge_from_origin" $edge_https_upstream {',
    ...indent(model.https.map((r) => `${httpsRouteKey(r)} ${routeUpstream(r)};`)),
    "    default edge_refuse;",
    "}",
    "",
  ];
  // One upstream per name: 443's routes and the relayed ports may share a home port.
  const upstreams = new Map<string, number>([
    ...homeRoutes(model.https).map((r): [string, number] => [upstreamName(r.homePort), r.homePort]),
    ...relayed.map((s): [string, number] => [relayUpstream(s), s.home!.from]),
  ]);
  for (const [name, port] of upstreams) lines.push(`upstream ${name} {`, ...homeServers(f, port), "}");
  lines.push(
    "upstream edge_refuse {",
    `    server unix:${NGINX_REFUSE_SOCKET};`,
    "}",
    "",
    "server {",
    `    listen unix:${NGINX_REFUSE_SOCKET};`,
    '    return "";',
    "}",
    "",
    "server {",
    ...indent(listen(listenerOf(model, "https"), "so_keepalive=on")),
    "    ssl_preread on;",
    "    preread_timeout 10s;",
    "    proxy_pass $edge_https_upstream;",
    `    proxy_connect_timeout ${CONNECT_TIMEOUT};`,
    `    proxy_timeout ${STREAM_IDLE_TIMEOUT};`,
    "}",
  );
  lines.push(...turnTlsServer(model));
  for (const svc of relayed) {
    lines.push(
      "",
      svc.proxyProtocol
        ? `# ${svc.purpose}: PROXY protocol v1 carries the client's address to Prosody's mod_net_proxy.`
        : `# ${svc.purpose}: the connection ends here (a SYN flood meets this host's SYN cookies), relayed to home's same port.`,
      "server {",
      ...indent(listen(svc.ports.from, "so_keepalive=on")),
      `    proxy_pass ${relayUpstream(svc)};`,
      ...(svc.proxyProtocol ? ["    proxy_protocol on;"] : []),
      `    proxy_connect_timeout ${CONNECT_TIMEOUT};`,
      `    proxy_timeout ${STREAM_IDLE_TIMEOUT};`,
      "}",
    );
  }
  return lines;
}

/**
 * TURN over TLS: TLS ends here, in a server reached only through 443's
 * routing (a unix socket, no port), and the plain stream goes to coturn on
 * loopback. coturn then sees every such client as 127.0.0.1; the stream log
 * above names the real one.
 */
function turnTlsServer(model: EdgeModel): string[] {
  if (!model.https.some((r) => r.onEdge === "turn-tls")) return [];
  const turn = model.services.find((s) => s.id === "stun-turn-tcp");
  if (!turn) throw new Error("renderNginxConf: a TURN-over-TLS route without coturn's TCP listener");
  return [
    "",
    "# TURN over TLS (turnTls): 443's TURN name ends TLS here; coturn gets the plain stream on loopback.",
    "upstream edge_turn_tls {",
    `    server unix:${NGINX_TURN_TLS_SOCKET};`,
    "}",
    "server {",
    `    listen unix:${NGINX_TURN_TLS_SOCKET} ssl;`,
    `    ssl_certificate ${TURN_TLS_CERT};`,
    `    ssl_certificate_key ${TURN_TLS_KEY};`,
    `    ssl_protocols ${TURN_TLS_PROTOCOLS};`,
    `    ssl_ciphers ${TURN_TLS_CIPHERS};`,
    "    ssl_prefer_server_ciphers off;",
    "    ssl_session_cache shared:edge_turn_tls:1m;",
    "    ssl_session_tickets off;",
    "    ssl_handshake_timeout 10s;",
    `    proxy_pass ${TURN_LOOPBACK}:${turn.ports.from};`,
    `    proxy_connect_timeout ${CONNECT_TIMEOUT};`,
    `    proxy_timeout ${STREAM_IDLE_TIMEOUT};`,
    "}",
  ];
}

/** A server block for one name class on 80: its routes as locations, the origin check for web-origins routes. */
/** The request rate zone of the XMPP names on 80, per client address. */
const XMPP_HTTP_ZONE = "xmpp_http";

function httpServer(model: EdgeModel, names: string[], routes: HttpRoute[], limitZone?: string): string[] {
  const locked = model.webOrigins !== null;
  const lines = ["server {", ...indent(listen(listenerOf(model, "http"))), `    server_name ${names.join(" ")};`];
  for (const r of routes) {
    const acme = r.path === ACME_CHALLENGE_PATH;
    if (r.homePort === undefined) {
      lines.push(`    location ~ "^${ACME_CHALLENGE_PATH.replace(/\./g, "\\.")}${ACME_TOKEN}$" {`, `        root ${ACME_WEBROOT};`, "    }");
      continue;
    }
    lines.push(
      acme ? `    location ~ "^${ACME_CHALLENGE_PATH.replace(/\./g, "\\.")}${ACME_TOKEN}$" {` : `    location ${r.path} {`,
      // No answer at all, as for a name not served here: a 403 would confirm the name is.
      ...(locked && r.from === "web-origins" ? ["        if ($edge_from_origin = 0) {", "            return 444;", "        }"] : []),
      // The location matched the decoded, normalised $uri; the request line
      // may still say "/.well-known/acme-challenge/..;/x/../../admin", which a
      // server behind reads as /admin. Only the normalised token goes home.
      `        proxy_pass http://${upstreamName(r.homePort)}${acme ? "$uri" : ""};`,
      // Home trusts this hop's X-Forwarded-For (render/home.ts): a chain the client wrote is
      // kept only when the lock admitted the client; anyone else is named by the address seen.
      `        set $edge_forwarded_for ${locked && r.from === "web-origins" ? "$proxy_add_x_forwarded_for" : "$remote_addr"};`,
      "    }",
    );
  }
  if (limitZone) lines.push(`    limit_req zone=${limitZone} burst=${XMPP_HTTP_REQUEST_LIMIT.burst} nodelay;`);
  lines.push("}");
  return lines;
}

function httpBlock(model: EdgeModel, f: HostFacts): string[] {
  const lines: string[] = [
    "access_log /var/log/nginx/access.log;",
    "server_tokens off;",
    "# Uploads and long polls pass straight through; the home server sets its own limits.",
    "client_max_body_size 0;",
    "proxy_request_buffering off;",
    "proxy_http_version 1.1;",
    "proxy_set_header Host $host;",
    "proxy_set_header X-Real-IP $remote_addr;",
    "proxy_set_header X-Forwarded-For $edge_forwarded_for;",
    "proxy_set_header X-Forwarded-Proto $scheme;",
    `proxy_connect_timeout ${CONNECT_TIMEOUT};`,
    "proxy_read_timeout 300s;",
    "",
    ...originGeo(model),
    "",
    "# Requests from anywhere (the XMPP names) per client address; over it: 429, nothing sent home.",
    `limit_req_zone $binary_remote_addr zone=${XMPP_HTTP_ZONE}:1m rate=${XMPP_HTTP_REQUEST_LIMIT.perSecond}r/s;`,
    "limit_req_status 429;",
    "",
  ];
  for (const port of [...new Set(homeRoutes(model.http).map((r) => r.homePort))]) lines.push(`upstream ${upstreamName(port)} {`, ...homeServers(f, port), "}");
  lines.push(
    "",
    "# Names this edge does not serve (or no Host) are closed without an answer.",
    "server {",
    ...indent(listen(listenerOf(model, "http"), "default_server")),
    "    server_name _;",
    "    return 444;",
    "}",
  );
  const byClass = (c: HttpRoute["names"]) => model.http.filter((r) => r.names === c);
  lines.push("", "# XMPP names: from anywhere (ACME HTTP-01 for the home certificates).", ...httpServer(model, model.xmppNames, byClass("xmpp"), XMPP_HTTP_ZONE));
  if (model.webNames.length > 0) {
    lines.push("", "# Web names: through Cloudflare only when the origin lock is on.", ...httpServer(model, model.webNames, byClass("web")));
  }
  if (model.turnTlsName !== undefined) {
    lines.push(
      "",
      "# The TURN name: its ACME challenges from the edge's own webroot, nothing else, nothing sent home.",
      ...httpServer(model, [model.turnTlsName], byClass("turn")).slice(0, -1),
      "    location / {",
      "        return 444;",
      "    }",
      "}",
    );
  }
  return lines;
}

export function renderNginxConf(model: EdgeModel, facts: HostFacts): string {
  return [
    generatedHeader("#", "nginx for the xmpp-edge VPS: 80/443 and the PROXY-protocol XMPP ports."),
    // Loaded here rather than via modules-enabled/, so this file is complete on its own.
    `load_module ${NGINX_MODULE_PATH};`,
    "",
    "user www-data;",
    "worker_processes auto;",
    `worker_rlimit_nofile ${WORKER_RLIMIT_NOFILE};`,
    "pid /run/nginx.pid;",
    "error_log /var/log/nginx/error.log warn;",
    "",
    "events {",
    `    worker_connections ${WORKER_CONNECTIONS};`,
    "}",
    "",
    "stream {",
    ...indent(streamBlock(model, facts)),
    "}",
    "",
    "http {",
    ...indent(httpBlock(model, facts)),
    "}",
    "",
  ].join("\n");
}
