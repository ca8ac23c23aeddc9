// The VPS's complete nginx.conf. One self-contained file (no includes), so
// `nginx -t -c FILE` checks exactly what will run.
//   stream 443: ssl_preread routes by ALPN (XEP-0368) first, then by SNI class
//               (XMPP names -> home XMPP web, anything else -> home web, origin-locked);
//   stream 5222/5269 with clientIp=proxy-protocol: PROXY v1 to dedicated home ports;
//   http 80:    XMPP names from anywhere (ACME HTTP-01), web names origin-locked.
import { servicesBy, type EdgeModel, type HostFacts } from "../model/model";
import { generatedHeader } from "./header";

export const NGINX_CONF_PATH = "/etc/nginx/nginx.conf";
export const NGINX_MODULE_PATH = "/usr/lib/nginx/modules/ngx_stream_module.so";
/** Connections refused by the origin lock are handed to this local server, which closes them. */
export const NGINX_REFUSE_SOCKET = "/run/nginx-xmpp-edge-refuse.sock";

/** Long-lived XMPP sessions sit idle between stanzas; web connections do not mind a long limit. */
const STREAM_IDLE_TIMEOUT = "1h";
const CONNECT_TIMEOUT = "10s";
const PER_SOURCE_CONNECTIONS = 64;
// Shared-memory zone names are global to nginx: stream and http need their own.
const STREAM_ZONE = "edge_stream_per_source";
const HTTP_ZONE = "edge_http_per_source";

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

/** Per-source connection limit; origin (Cloudflare) addresses are exempt: they carry many users each. */
function limitZone(zone: string): string[] {
  return [
    "map $edge_from_origin $edge_limit_key {",
    '    1 "";',
    "    default $binary_remote_addr;",
    "}",
    `limit_conn_zone $edge_limit_key zone=${zone}:10m;`,
  ];
}

function streamBlock(model: EdgeModel, f: HostFacts): string[] {
  const home = f.homeIPv4;
  const lines: string[] = [
    "log_format edge '$remote_addr [$time_local] $protocol $server_port sni=\"$ssl_preread_server_name\" alpn=\"$ssl_preread_alpn_protocols\" -> $upstream_addr $status $bytes_sent $bytes_received $session_time';",
    "access_log /var/log/nginx/stream-access.log edge;",
    "",
    ...originGeo(model),
    "",
    ...limitZone(STREAM_ZONE),
    "",
  ];
  const upstreams: [string, number][] = [
    ["home_web_https", model.https.webHomePort],
    ["home_xmpp_web_https", model.https.xmppNamesHomePort],
  ];
  lines.push(
    "# SNI class: the DNS-only XMPP names go to the home XMPP web front; any other name (or none) is web.",
    "map $ssl_preread_server_name $edge_sni_class {",
    "    hostnames;",
    ...indent(model.xmppNames.map((n) => `${n} xmpp;`)),
    "    default web;",
    "}",
    "",
    'map "$edge_sni_class:$edge_from_origin" $edge_by_name {',
    '    "~^xmpp:" home_xmpp_web_https;',
    '    "web:1" home_web_https;',
    "    default edge_refuse;",
    "}",
    "",
  );
  let upstreamVar = "$edge_by_name";
  if (model.https.alpn.length > 0) {
    // XEP-0368: the ALPN id wins over the name; without one, the name decides.
    lines.push("map $ssl_preread_alpn_protocols $edge_https_upstream {");
    for (const a of model.https.alpn) {
      const name = `home_${a.protocol.replace("-", "_")}_direct_tls`;
      lines.push(`    "~(^|,)${a.protocol}(,|$)" ${name};`);
      upstreams.push([name, a.homePort]);
    }
    lines.push("    default $edge_by_name;", "}", "");
    upstreamVar = "$edge_https_upstream";
  }
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
    ...indent(listen(443, "so_keepalive=on")),
    "    ssl_preread on;",
    "    preread_timeout 10s;",
    `    proxy_pass ${upstreamVar};`,
    `    proxy_connect_timeout ${CONNECT_TIMEOUT};`,
    `    proxy_timeout ${STREAM_IDLE_TIMEOUT};`,
    `    limit_conn ${STREAM_ZONE} ${PER_SOURCE_CONNECTIONS};`,
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
      `    limit_conn ${STREAM_ZONE} ${PER_SOURCE_CONNECTIONS};`,
      "}",
    );
  }
  return lines;
}

function httpBlock(model: EdgeModel, f: HostFacts): string[] {
  const home = f.homeIPv4;
  const proxy = (upstream: string) => ["location / {", `    proxy_pass http://${upstream};`, "}"];
  const lines: string[] = [
    "access_log /var/log/nginx/access.log;",
    "server_tokens off;",
    "# Uploads and long polls pass straight through; the home server sets its own limits.",
    "client_max_body_size 0;",
    "proxy_request_buffering off;",
    "proxy_http_version 1.1;",
    "proxy_set_header Host $host;",
    "proxy_set_header X-Real-IP $remote_addr;",
    "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "proxy_set_header X-Forwarded-Proto $scheme;",
    `proxy_connect_timeout ${CONNECT_TIMEOUT};`,
    "proxy_read_timeout 300s;",
    "",
    ...originGeo(model),
    "",
    ...limitZone(HTTP_ZONE),
    `limit_conn ${HTTP_ZONE} ${PER_SOURCE_CONNECTIONS};`,
    "",
    `upstream home_web_http {`,
    `    server ${home}:${model.http.webHomePort};`,
    "}",
    `upstream home_xmpp_web_http {`,
    `    server ${home}:${model.http.xmppNamesHomePort};`,
    "}",
    "",
    "# Names this edge does not serve are closed without an answer.",
    "server {",
    ...indent(listen(80, "default_server")),
    "    server_name _;",
    "    return 444;",
    "}",
    "",
    "# XMPP names: reachable from anywhere (ACME HTTP-01 for the home certificates).",
    "server {",
    ...indent(listen(80)),
    `    server_name ${model.xmppNames.join(" ")};`,
    ...indent(proxy("home_xmpp_web_http")),
    "}",
  ];
  if (model.webNames.length > 0) {
    lines.push(
      "",
      "# Web names: through Cloudflare only when the origin lock is on.",
      "server {",
      ...indent(listen(80)),
      `    server_name ${model.webNames.join(" ")};`,
      ...(model.webOrigins ? ["    if ($edge_from_origin = 0) {", "        return 403;", "    }"] : []),
      ...indent(proxy("home_web_http")),
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
    "worker_rlimit_nofile 16384;",
    "pid /run/nginx.pid;",
    "error_log /var/log/nginx/error.log warn;",
    "",
    "events {",
    "    worker_connections 4096;",
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
