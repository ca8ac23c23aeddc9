// Renders one lab stack into what test/lab/run.sh and bench/run.sh push and
// serve, exactly as components/push.ts sends it (renderPushScript of
// renderVpsBundle on the stdin of one SSH session running PUSH_COMMAND):
//   OUT/push.sh            renderPushScript(bundle, confirmTimeout): the real push
//   OUT/push-command       PUSH_COMMAND    (the ssh command that reads push.sh on stdin)
//   OUT/confirm-command    CONFIRM_COMMAND (run over a second ssh connection)
//   OUT/remove-command     REMOVE_COMMAND
//   OUT/bundle/<path>      the bundle tree (for reading and sha comparisons)
//   OUT/home/<snippet>     renderHomeSnippets with the lab TURN secret
//   OUT/bundle-notes       what the lab changed in the bundle (--break)
//   OUT/sizes.json         bytes of the push's stdin and of every bundle file (the bench's control plane)
//   OUT/tailnet-acl.json   renderAclSnippet (render/tailscale-acl.ts): the stack's tailscaleAclSnippet output
// usage: tsx test/lab/render.ts --config FILE --out DIR --vps-ipv4 A --vps-ipv6 A
//          --vps-tailnet-ipv4 A --turn-secret S [--confirm-timeout N]
//          [--set KEY=JSON]... [--break nginx|nft] [--weaken LIST] [--edge N]
// --edge N renders edge N (0: the first) of a stack with several edges
// (several edges): that edge's bundle (its own addresses, from existingHost).
// --set overrides one xmpp-edge: key (e.g. sshAllowFrom='["198.51.100.64/26"]').
// --break makes a bundle that must fail validation on the host (nginx -t / nft -c).
// --weaken takes protections out of a scratch copy, so an attack can be shown
// to get through without them (attack_on_weakened); a comma list of:
//   turn-coturn  coturn's denied-peer-ip lines and no-tcp-relay
//   turn-guard   the output chain's jump to turn_relay_guard (coturn's uid)
//   turn-tls-guard  the guard's exception for coturn answering nginx's TLS
//                terminator on loopback (turnTls): TURN over TLS then fails
//   tailnet      the input chain accepts all of tailscale0 again
//   metadata     the output chain's rule keeping 169.254.169.254 to root
//   web          every name on 80/443 to the home web server from anywhere
//                (the origin lock off, XMPP and unknown names included), no
//                chain source_limits, an input chain that accepts everything
//   proxy-protocol  nginx sends no PROXY header of its own
//   origin       a forward 8443 -> home 443 and 0.0.0.0/0, ::/0 as extra
//                origins, built into the model past the checks that refuse them
//   relay-over-ssh  the ruleset of this edge's model taken past its port
//                checks: TCP relays on 10-3000, over SSH (22) and the served
//                ports (what a model past the checks renders)
//   floods       the per-source limits without their rules for the sources a
//                full set cannot hold (those sources then go unlimited)
//   synproxy     no SYN proxy in front of the forwarded TCP ports (every SYN
//                tracked and DNAT'd home, spoofed or not)
//   tcp-loose    conntrack's loose TCP tracking back on (the kernel's default:
//                a bare ACK starts a connection)
//   turn-tcp-limit  coturn's TCP port out of the per-source limits
//   icmp-echo    ICMP echo requests answered at any rate
//   http-rate    no request rate on 80 for the XMPP names
//   udp-budget   no budget on what a UDP forward sends home
//   tailscaled-junk  no budget for packets to tailscaled's port that no
//                answered flow carries
//   ipv6-site    no per-/48 level in the per-source limits (each /64 of a
//                /48 counted alone)
//   turn-new-flows  new flows to coturn's UDP port straight to it at any
//                rate (a spoofed source's one packet reaches coturn)
//   turn-allocate  coturn's max-allocate-timeout out (its default, 60 s:
//                an unauthenticated client's state stays six times longer)
// Each must change the file it names, or render.ts fails: a weakening that
// no longer matches the renderer would make the check unable to fail.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { isSecretKey, PROJECT_NAME } from "../../model/config";
import { readStackFile } from "../../model/source";
import { MANIFEST_PATH, renderManifest, renderVpsBundle, type Bundle } from "../../render/bundle";
import { renderHomeSnippets } from "../../render/home";
import { NGINX_CONF_PATH } from "../../render/nginx";
import { COTURN_CONF_PATH } from "../../render/coturn";
import { TAILNET_INTERFACE } from "../../model/net";
import { NFT_RULESET_PATH, renderNftables, TAILSCALED_JUNK_COMMENT, UDP_BUDGET_COMMENT } from "../../render/nftables";
import { SYSCTL_PATH } from "../../render/sysctl";
import { TURN_CERT_CONF_PATH } from "../../render/turn-cert";
import { OVERFLOW_COMMENT, SITE_COMMENT, SOURCE_LIMITS_CHAIN } from "../../render/source-limits";
import { SYNPROXY_COMMENT } from "../../render/synproxy";
import { TURN_NEW_FLOWS_COMMENT } from "../../render/turn-new-flows";
import { buildModel, type EdgeModel, type HttpRoute, type HttpsRoute } from "../../model/model";
import { HTTP_PORT, HTTPS_PORT, single } from "../../model/ports";
import { makePlan } from "../../render/plan";
import { CONFIRM_COMMAND, PUSH_COMMAND, REMOVE_COMMAND, renderPushScript } from "../../render/push";
import { renderAclSnippet } from "../../render/tailscale-acl";

const USAGE =
  "usage: tsx test/lab/render.ts --config FILE --out DIR --vps-ipv4 A --vps-ipv6 A --vps-tailnet-ipv4 A --turn-secret S [--confirm-timeout N] [--set KEY=JSON]... [--break nginx|nft] [--weaken LIST]";

const { values } = parseArgs({
  options: {
    config: { type: "string" },
    out: { type: "string" },
    "vps-ipv4": { type: "string" },
    "vps-ipv6": { type: "string" },
    "vps-tailnet-ipv4": { type: "string" },
    "turn-secret": { type: "string" },
    "confirm-timeout": { type: "string" },
    set: { type: "string", multiple: true, default: [] },
    break: { type: "string" },
    weaken: { type: "string" },
    edge: { type: "string" },
  },
});
for (const k of ["config", "out", "vps-ipv4", "vps-ipv6", "vps-tailnet-ipv4", "turn-secret"] as const) {
  if (!values[k]) {
    process.stderr.write(`${USAGE}\nmissing --${k}\n`);
    process.exit(2);
  }
}

const raw = readStackFile(values.config!);
for (const s of values.set ?? []) {
  const eq = s.indexOf("=");
  if (eq < 1) {
    process.stderr.write(`--set ${s}: expected KEY=JSON\n`);
    process.exit(2);
  }
  // Given on the command line like `pulumi config set [--secret]`: secrets as secrets.
  const [key, value] = [s.slice(0, eq), JSON.parse(s.slice(eq + 1)) as unknown];
  raw.values.set(`${PROJECT_NAME}:${key}`, { text: typeof value === "string" ? value : JSON.stringify(value), secret: isSecretKey(key) });
}

const plan = makePlan(raw, { vpsIPv4: values["vps-ipv4"], vpsIPv6: values["vps-ipv6"] });
const edgeIndex = Number(values.edge ?? "0");
const planEdge = plan.edges[edgeIndex];
if (!Number.isInteger(edgeIndex) || !planEdge) {
  process.stderr.write(`--edge ${values.edge}: the stack has ${plan.edges.length} edge(s)\n`);
  process.exit(2);
}
const facts = { ...planEdge.facts, vpsTailnetIPv4: values["vps-tailnet-ipv4"] };
const notes: string[] = [];
const weakenings = values.weaken ? values.weaken.split(",") : [];
let edge: EdgeModel = planEdge.model;
if (weakenings.includes("web")) {
  // The prosody preset's routing with XMPP names sent to the home web server, the lock off.
  const https: HttpsRoute[] = [
    ...edge.https.filter((r) => r.alpn === "xmpp-client" || r.alpn === "xmpp-server"),
    { alpn: "any", names: "any", from: "anywhere", homePort: HTTPS_PORT, what: "weakened: the home web server" },
  ];
  const http: HttpRoute[] = (["xmpp", "web"] as const).map((names) => ({ names, path: "/", from: "anywhere", homePort: HTTP_PORT, what: "weakened: the home web server" }));
  edge = { ...edge, https, http, webOrigins: null };
  notes.push("weakened: every name on 80/443 to the home web server from anywhere");
}
/** The public port of the "origin" weakening's forward onto home 443. */
const WEAK_ORIGIN_PORT = 8443;
if (weakenings.includes("origin")) {
  // Built past validation (checks/origin-lock.ts, checks/web.ts refuse both), with the renderers unchanged.
  const c = edge.config;
  edge = buildModel({
    ...c,
    extraForwards: [...c.extraForwards, { ports: single(WEAK_ORIGIN_PORT), protocol: "tcp", toPort: HTTPS_PORT, description: "weakened: to home 443" }],
    webOriginExtraAllow: [...c.webOriginExtraAllow, "0.0.0.0/0", "::/0"],
  });
  notes.push(`weakened: extraForwards ${WEAK_ORIGIN_PORT} -> home ${HTTPS_PORT}, webOriginExtraAllow 0.0.0.0/0 and ::/0`);
}
/** pebble on the lab's dns host (test/lab/setup.sh start_acme): its ACME directory. */
const LAB_ACME_SERVER = "https://acme.example.net:14000/dir";
const LAB_ACME_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

const bundle: Bundle = { ...renderVpsBundle(edge, facts, values["turn-secret"]) };
// turnTls: the lab's ACME server (pebble on the dns host) stands in for Let's
// Encrypt, which the lab cannot reach; the lab CA that signs pebble's HTTPS is
// in every lab host's trust store (and the VM's, by its vendor data).
if (bundle[TURN_CERT_CONF_PATH] !== undefined) {
  const conf = bundle[TURN_CERT_CONF_PATH];
  bundle[TURN_CERT_CONF_PATH] = { ...conf, content: `${conf.content}# The lab's ACME server (test/lab/render.ts).\nACME_SERVER=${LAB_ACME_SERVER}\nACME_CA_BUNDLE=${LAB_ACME_CA_BUNDLE}\n` };
}
if (weakenings.includes("origin")) {
  const nft = bundle[NFT_RULESET_PATH].content;
  const nginx = bundle[NGINX_CONF_PATH].content;
  if (!new RegExp(`tcp \\. ${WEAK_ORIGIN_PORT} comment "[^"]*" : ${HTTPS_PORT}\\b`).test(nft) || !nginx.includes("0.0.0.0/0 1;") || !nginx.includes("::/0 1;")) {
    process.stderr.write("--weaken origin: the rendered files no longer look as expected; update test/lab/render.ts\n");
    process.exit(1);
  }
}
if (weakenings.includes("web")) {
  const nginx = bundle[NGINX_CONF_PATH].content;
  const nft = bundle[NFT_RULESET_PATH].content;
  const weakNginx = nginx.replace(/(listen \[::\]:80 default_server;\n\s+server_name _;\n\s+)return 444;/, `$1location / { proxy_pass http://home_port_${HTTP_PORT}; }`);
  const weakNft = withoutSynProxy(nft)
    .replace(new RegExp(`\\n    chain (${SOURCE_LIMITS_CHAIN}|limits_prerouting|limits_synproxied) \\{[\\s\\S]*?\\n    \\}\\n`, "g"), "\n")
    .replace("type filter hook input priority filter; policy drop;", "type filter hook input priority filter; policy accept;");
  if (weakNginx === nginx || weakNft.includes(SOURCE_LIMITS_CHAIN) || !weakNft.includes("input priority filter; policy accept;")) {
    process.stderr.write("--weaken web: the rendered files no longer look as expected; update test/lab/render.ts\n");
    process.exit(1);
  }
  bundle[NGINX_CONF_PATH] = { ...bundle[NGINX_CONF_PATH], content: weakNginx };
  bundle[NFT_RULESET_PATH] = { ...bundle[NFT_RULESET_PATH], content: weakNft };
  notes.push("weakened: unknown names on 80 proxied, no chain source_limits, no SYN proxy, input policy accept");
}

if (weakenings.includes("relay-over-ssh")) {
  // The checks refuse this config; the renderer, given the model anyway, opens the range to anyone.
  const relay = { from: 10, to: 3000 };
  const nft = renderNftables(buildModel({ ...edge.config, turn: "edge", turnTcpRelay: true, turnRelayPorts: relay }), facts);
  if (!nft.includes(`tcp dport { 3478, ${relay.from}-${relay.to} } accept`)) {
    process.stderr.write("--weaken relay-over-ssh: the ruleset does not open the TCP relay range as expected; update test/lab/render.ts\n");
    process.exit(1);
  }
  bundle[NFT_RULESET_PATH] = { ...bundle[NFT_RULESET_PATH], content: nft };
  notes.push(`${NFT_RULESET_PATH}: weakened on purpose (relay-over-ssh: the unchecked model's TCP relay range ${relay.from}-${relay.to})`);
}

if (values.break === "nginx") {
  // A directive nginx does not know: `nginx -t` must reject the bundle.
  bundle[NGINX_CONF_PATH] = { ...bundle[NGINX_CONF_PATH], content: bundle[NGINX_CONF_PATH].content + "\nxmpp_edge_lab_broken_directive on;\n" };
  notes.push(`${NGINX_CONF_PATH}: broken on purpose (unknown directive)`);
} else if (values.break === "nft") {
  bundle[NFT_RULESET_PATH] = { ...bundle[NFT_RULESET_PATH], content: bundle[NFT_RULESET_PATH].content.replace("policy drop;", "policy dropp;") };
  notes.push(`${NFT_RULESET_PATH}: broken on purpose (syntax)`);
} else if (values.break !== undefined) {
  process.stderr.write(`--break ${values.break}: expected nginx or nft\n`);
  process.exit(2);
}

/** The SYN proxy's notrack and synproxy rules out: SYNs to the forwarded ports are tracked and DNAT'd home again. */
function withoutSynProxy(nft: string): string {
  return nft.split("\n").filter((l) => !l.includes(`comment "${SYNPROXY_COMMENT}: answers SYNs`) && !l.includes(`comment "${SYNPROXY_COMMENT}: no conntrack entry`)).join("\n");
}

const WEAKENINGS: Record<string, { file: string; change: (text: string) => string }> = {
  "turn-coturn": { file: COTURN_CONF_PATH, change: (t) => t.replace(/^(denied-peer-ip=.*|no-tcp-relay)\n/gm, "") },
  "turn-guard": { file: NFT_RULESET_PATH, change: (t) => t.replace(/^\s*meta skuid "turnserver" jump turn_relay_guard\n/m, "") },
  "turn-tls-guard": { file: NFT_RULESET_PATH, change: (t) => t.replace(/^.*comment "coturn answering the local TLS terminator \(turnTls\)"\n/m, "") },
  tailnet: { file: NFT_RULESET_PATH, change: (t) => t.replace(/(chain input \{\n.*\n)/, `$1        iifname "${TAILNET_INTERFACE}" accept\n`) },
  metadata: { file: NFT_RULESET_PATH, change: (t) => t.replace(/^\s*ip daddr 169\.254\.169\.254 meta skuid != 0 .*\n/m, "") },
  // nginx passes the client's bytes through as they come: a PROXY header the client wrote reaches home first.
  "proxy-protocol": { file: NGINX_CONF_PATH, change: (t) => t.replace(/^\s*proxy_protocol on;\n/gm, "") },
  "tcp-loose": { file: SYSCTL_PATH, change: (t) => t.replace(/^net\.netfilter\.nf_conntrack_tcp_loose = 0$/m, "net.netfilter.nf_conntrack_tcp_loose = 1") },
  "turn-tcp-limit": { file: NFT_RULESET_PATH, change: (t) => t.replace(/(set limited_ports \{[^}]*?)(, tcp \. 3478\b|tcp \. 3478, )/, "$1") },
  "icmp-echo": { file: NFT_RULESET_PATH, change: (t) => t.split("\n").filter((l) => !/^\s*icmp(v6)? type echo-request limit rate/.test(l)).join("\n") },
  "http-rate": { file: NGINX_CONF_PATH, change: (t) => t.replace(/^\s*limit_req zone=.*\n/gm, "") },
  "udp-budget": { file: NFT_RULESET_PATH, change: (t) => t.split("\n").filter((l) => !l.includes(UDP_BUDGET_COMMENT)).join("\n") },
  "tailscaled-junk": { file: NFT_RULESET_PATH, change: (t) => t.split("\n").filter((l) => !l.includes(TAILSCALED_JUNK_COMMENT)).join("\n") },
  "ipv6-site": { file: NFT_RULESET_PATH, change: (t) => t.split("\n").filter((l) => !l.includes(SITE_COMMENT)).join("\n") },
  "turn-allocate": { file: COTURN_CONF_PATH, change: (t) => t.replace(/^max-allocate-timeout=\d+\n/m, "") },
  synproxy: { file: NFT_RULESET_PATH, change: withoutSynProxy },
  "turn-new-flows": { file: NFT_RULESET_PATH, change: (t) => t.split("\n").filter((l) => !l.includes(TURN_NEW_FLOWS_COMMENT)).join("\n") },
  floods: { file: NFT_RULESET_PATH, change: (t) => t.split("\n").filter((l) => !l.includes(OVERFLOW_COMMENT)).join("\n") },
};
for (const w of weakenings.filter((x) => x !== "web" && x !== "origin" && x !== "relay-over-ssh")) {
  const how = WEAKENINGS[w];
  if (!how) {
    process.stderr.write(`--weaken ${w}: expected some of web, origin, relay-over-ssh, ${Object.keys(WEAKENINGS).join(", ")}\n`);
    process.exit(2);
  }
  const before = bundle[how.file]?.content;
  const after = before === undefined ? undefined : how.change(before);
  if (after === undefined || after === before) {
    process.stderr.write(`--weaken ${w}: ${how.file} has nothing to take out (did the renderer change?)\n`);
    process.exit(2);
  }
  bundle[how.file] = { ...bundle[how.file], content: after };
  notes.push(`${how.file}: weakened on purpose (${w})`);
}

// The manifest lists every other file (with digests); re-render it after a
// change above, so only the tool that validates the broken file rejects it.
// An unbroken bundle stays byte for byte what the program pushes.
if (notes.length > 0) {
  const { [MANIFEST_PATH]: _old, ...files } = bundle;
  void _old;
  bundle[MANIFEST_PATH] = { content: renderManifest(files), mode: "0644" };
}

const out = path.resolve(values.out!);
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const fileBytes: Record<string, number> = {};
for (const [file, f] of Object.entries(bundle)) {
  const target = path.join(out, "bundle", file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, f.content);
  fs.chmodSync(target, parseInt(f.mode, 8));
  fileBytes[file] = Buffer.byteLength(f.content, "utf8");
}
const timeout = values["confirm-timeout"] === undefined ? undefined : Number(values["confirm-timeout"]);
const pushScript = timeout === undefined ? renderPushScript(bundle) : renderPushScript(bundle, timeout);
const stdinBytes = Buffer.byteLength(pushScript, "utf8");
fs.writeFileSync(path.join(out, "push.sh"), pushScript);
fs.writeFileSync(path.join(out, "sizes.json"), JSON.stringify({ stdinBytes, files: fileBytes }, null, 2) + "\n");
fs.writeFileSync(path.join(out, "push-command"), PUSH_COMMAND);
fs.writeFileSync(path.join(out, "confirm-command"), CONFIRM_COMMAND);
fs.writeFileSync(path.join(out, "remove-command"), REMOVE_COMMAND);
fs.mkdirSync(path.join(out, "home"));
for (const [name, text] of Object.entries(renderHomeSnippets(plan.model, facts, values["turn-secret"]))) {
  fs.writeFileSync(path.join(out, "home", name), text);
}
fs.writeFileSync(path.join(out, "dns.json"), plan.files["dns.json"]);
fs.writeFileSync(path.join(out, "services.json"), JSON.stringify(plan.model.services, null, 2) + "\n");
fs.writeFileSync(path.join(out, "bundle-notes"), notes.map((n) => n + "\n").join(""));
const home = plan.model.config.home;
if (home.ipv4) fs.writeFileSync(path.join(out, "tailnet-acl.json"), renderAclSnippet(plan.model, { ipv4: home.ipv4, ipv6: home.ipv6 }));
process.stdout.write(`rendered ${values.config} into ${out}: ${Object.keys(bundle).length} bundle files, ${stdinBytes} bytes of stdin${notes.length ? `; ${notes.join("; ")}` : ""}\n`);
