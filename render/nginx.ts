// The VPS's complete nginx.conf. One self-contained file (no includes), so
// `nginx -t -c FILE` checks exactly what will run.
//   stream 443: ssl_preread routes by the model's https table: ALPN class, SNI
//               class and origin (model/model.ts); unmatched connections are closed;
//   stream 5222/5269 with clientIp=proxy-protocol: PROXY v1 to dedicated home ports;
//   http 80:    the model's http table: XMPP names from anywhere (ACME HTTP-01),
//               web names origin-locked, other names closed (444).
// Per-source connection limits live in nftables (render/nftables.ts), which
// can count IPv6 sources per /64.
import { ACME_CHALLENGE_PATH, ACME_TOKEN, listenerOf, servicesBy, type EdgeModel, type HostFacts, type HttpRoute, type HttpsRoute } from "../model/model";
import { XMPP_HTTP_REQUEST_LIMIT } from "../model/ports";
import { generatedHeader } from "./header";

export const NGINX_CONF_PATH = "/etc/nginx/nginx.conf";
export const NGINX_MODULE_PATH = "/usr/lib/nginx/modules/ngx_stream_module.so";
/** Connections refused by the origin lock are handed to this local server, which closes them. */
export const NGINX_REFUSE_SOCKET = "/run/nginx-xmpp-edge-refuse.sock";

/** Long-lived XMPP sessions sit idle between stanzas; web connections do not mind a long limit. */
const STREAM_IDLE_TIMEOUT = "1h";
const CONNECT_TIMEOUT = "10s";
/**
 * Sized by `npm run bench:scale` (bench/REPORT.md, Scale). An idle session on
 * 443 holds two connections in one worker (client and home side) and ~17 KiB
 * of nginx memory, and the workers share the sessions evenly. 4096 per worker
 * capped the edge at 4,090 sessions on 443; 32768 lets the two workers of a
 * 2 vCPU server hold 32,768, past the limits that server meets next (28,232
 * source ports from the edge's one tailnet address toward one home port; a
 * 4 GB kernel's 65,536 conntrack entries, two per session). The workers
 * allocate their connection slots up front (about 14 MiB each).
 */
export const WORKER_CONNECTIONS = 32768;
/** One descriptor per connection, with room for the listeners, logs and a second client surge. */
export const WORKER_RLIMIT_NOFILE = 65536;

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
    "    default other;",
    "}",
  ];
}

const upstreamName = (port: number) => `home_port_${port}`;

/** One map key per route: "ALPN-CLASS NAME-CLASS FROM-ORIGIN" (the first matching regex wins). */
function httpsRouteKey(r: HttpsRoute): string {
  const alpn = r.alpn === "any" ? "[a-z-]+" : r.alpn;
  const names = r.names === "any" ? "[a-z]+" : r.names;
  return `"~^${alpn} ${names} ${r.from === "anywhere" ? "[01]" : "1"}$"`;
}

function streamBlock(model: EdgeModel, f: HostFacts): string[] {
  const home = f.homeIPv4;
  const ports = [...new Set(model.https.map((r) => r.homePort))];
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
    ...indent(model.https.map((r) => `${httpsRouteKey(r)} ${upstreamName(r.homePort)};`)),
    "    default edge_refuse;",
    "}",
    "",
  ];
  const upstreams: [string, number][] = ports.map((p) => [upstreamName(p), p]);
  for (const svc of servicesBy(model, "nginx-stream").filter((s) => s.proxyProtocol)) {
    upstreams.push([`home_${svc.id.replace(/-/g, "_")}_proxy_protocol`, svc.home!.from]);
  }
  for (const [name, port] of upstreams) lines.push(`upstream ${name} {`, `    server ${home}:${port};`, "}");
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
  for (const svc of servicesBy(model, "nginx-stream").filter((s) => s.proxyProtocol)) {
    lines.push(
      "",
      `# ${svc.purpose}: PROXY protocol v1 carries the client's address to Prosody's mod_net_proxy.`,
      "server {",
      ...indent(listen(svc.ports.from, "so_keepalive=on")),
      `    proxy_pass home_${svc.id.replace(/-/g, "_")}_proxy_protocol;`,
      "    proxy_protocol on;",
      `    proxy_connect_timeout ${CONNECT_TIMEOUT};`,
      `    proxy_timeout ${STREAM_IDLE_TIMEOUT};`,
      "}",
    );
  }
  return lines;
}

/** A server block for one name class on 80: its routes as locations, the origin check for web-origins routes. */
/** The request rate zone of the XMPP names on 80, per client address. */
const XMPP_HTTP_ZONE = "xmpp_http";

function httpServer(model: EdgeModel, names: string[], routes: HttpRoute[], limitZone?: string): string[] {
  const locked = model.webOrigins !== null;
  const lines = ["server {", ...indent(listen(listenerOf(model, "http"))), `    server_name ${names.join(" ")};`];
  for (const r of routes) {
    const acme = r.path === ACME_CHALLENGE_PATH;
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
  const home = f.homeIPv4;
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
  for (const port of [...new Set(model.http.map((r) => r.homePort))]) lines.push(`upstream ${upstreamName(port)} {`, `    server ${home}:${port};`, "}");
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
