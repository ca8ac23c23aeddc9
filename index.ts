// xmpp-edge: stack config → model → tailnet, VPS, DNS, push → outputs.
// All decisions live in model/ and render/; this file only wires them.
import * as pulumi from "@pulumi/pulumi";
import { loadDeployConfig } from "./components/config";
import { Dns } from "./components/dns";
import { forwardedPorts as portTable, knownHostsLine, sshCommand as sshLine } from "./components/outputs";
import { allPresent, derive } from "./components/maybe-absent";
import { Push, type FactsInput } from "./components/push";
import { Tailnet } from "./components/tailnet";
import { Vps } from "./components/vps";
import { forEdge, type HostFacts } from "./model/model";
import { ConfigError } from "./model/validate";
import { renderDnsRecords } from "./render/dns";
import { renderHomeSnippets } from "./render/home";

function load() {
  try {
    return loadDeployConfig(new pulumi.Config());
  } catch (e) {
    // The plan's words, without a stack trace, before any resource exists.
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}
const { model, secrets } = load();
const c = model.config;

// Per edge its own model (server name, location, existing host): every
// per-host renderer then renders that edge. The first edge keeps the
// single-VPS stack's resource names ("vps", "push"), so an upgraded stack
// replaces nothing; later edges add "vps-<name>", "push-<name>".
const edgeModels = c.edges.map((_, i) => forEdge(model, i));
const suffix = (i: number) => (i === 0 ? "" : `-${c.edges[i].name}`);

const tailnet = new Tailnet("tailnet", { model, configAuthKey: secrets.tailscaleAuthKey, joinsServer: c.edges.map((e) => !e.existingHost) });

interface DeployedEdge {
  ipv4: pulumi.Output<string>;
  ipv6?: pulumi.Output<string>;
  vps?: Vps;
  /** From the Tailscale API once the server is ready; undefined without it. */
  tailnetIPv4?: pulumi.Output<string>;
  target: { host: pulumi.Output<string>; port: number; user: string };
  hostKey: pulumi.Output<string>;
}

let firstVps: Vps | undefined; // owns the deploy key every later VPS shares
const deployed: DeployedEdge[] = edgeModels.map((em, i) => {
  const existingHost = em.config.existingHost;
  let vps: Vps | undefined;
  if (!existingHost) {
    vps = new Vps(`vps${suffix(i)}`, { model: em, tailscaleAuthKey: tailnet.authKeys[i]!, deployPublicKey: c.deployKey.publicKey, deployPrivateKey: secrets.sshPrivateKey, deployKeyFrom: firstVps });
    firstVps ??= vps;
  }
  const tailnetIPv4 = vps && tailnet.vpsTailnetIPv4(em, vps.ready);
  const ipv4 = vps ? vps.ipv4 : pulumi.output(existingHost!.ipv4);
  // An existing host may have no IPv6: then no AAAA records and coturn on IPv4 only.
  const ipv6 = vps ? vps.ipv6 : existingHost!.ipv6 === undefined ? undefined : pulumi.output(existingHost!.ipv6);
  // Where the deploy connects. With sshAllowFrom ["tailnet"] there is no public
  // SSH: the VPS's tailnet address from the API, else (Headscale, or a key from
  // config) its MagicDNS name; the pinned host key guards against a wrong name.
  const target = existingHost
    ? { host: pulumi.output(existingHost.address), port: existingHost.port, user: existingHost.user }
    : { host: c.ssh.mode === "tailnet" ? (tailnetIPv4 ?? pulumi.output(em.config.server.name)) : ipv4, port: 22, user: "root" };
  const hostKey = existingHost ? pulumi.output(existingHost.hostKey) : vps!.hostKey;
  return { ipv4, ipv6, vps, tailnetIPv4, target, hostKey };
});

if (c.dns === "cloudflare") new Dns("dns", { model, edges: deployed.map((d) => ({ ipv4: d.ipv4, ipv6: d.ipv6 })) });

// Every coturn shares one TURN secret (the first push's, configured or
// generated): home hands out one kind of credentials, valid on every edge.
let firstPush: Push | undefined;
const pushes = deployed.map((d, i) => {
  // The bundle needs no tailnet address of the VPS; the home snippets trust it (knownTailnet below).
  const facts: FactsInput = { vpsIPv4: d.ipv4, vpsIPv6: d.ipv6, homeIPv4: tailnet.homeIPv4, homeIPv6: tailnet.homeIPv6 };
  const push = new Push(`push${suffix(i)}`, {
    model: edgeModels[i],
    facts,
    turnSecret: firstPush ? firstPush.turnSecret : secrets.turnSecret,
    serverId: d.vps?.serverId,
    after: d.vps ? [d.vps.ready] : [],
    connection: { ...d.target, privateKey: secrets.sshPrivateKey ?? d.vps!.deployPrivateKey!, hostKey: d.hostKey },
  });
  firstPush ??= push;
  return { push, facts };
});
const first = deployed[0];
const push = pushes[0].push;

// What home trusts: the address the edge itself reports in the confirm, over
// the pinned host key (any device could carry the edge's name, and another
// stack's edge its name and tags too); the API's device only when the
// confirm reported none.
const knownTailnet = deployed.map((d, i): pulumi.Output<string | undefined> => {
  const reported = pushes[i].push.reportedTailnetIPv4;
  return d.tailnetIPv4 ? pulumi.all([reported, d.tailnetIPv4]).apply(([r, api]) => r ?? api) : reported;
});

export const vpsIPv4 = first.ipv4;
export const vpsIPv6 = first.ipv6;
export const vpsTailnetIPv4 = knownTailnet[0].apply((a) => a ?? "unknown");
/** Every edge, the first one first: its name, server, own DNS name and addresses. */
export const edges = pulumi.all(
  deployed.map((d, i) =>
    pulumi.all([d.ipv4, d.ipv6, knownTailnet[i]]).apply(([ipv4, ipv6, tailnetIPv4]) => ({
      name: c.edges[i].name,
      serverName: c.edges[i].serverName,
      dnsName: c.edges.length > 1 ? c.edges[i].dnsName : c.xmppHost,
      location: c.edges[i].existingHost ? null : c.edges[i].location,
      existingHost: c.edges[i].existingHost?.address ?? null,
      ipv4,
      ipv6: ipv6 ?? null,
      tailnetIPv4: tailnetIPv4 ?? "unknown",
    })),
  ),
);
export const dnsRecords = pulumi.output(renderDnsRecords(model, deployed.map((d) => ({ ipv4: d.ipv4, ipv6: d.ipv6 }))));
export const forwardedPorts = portTable(model);
export const homeSnippets = pulumi.secret(
  pulumi
    .all([pulumi.output(pushes[0].facts), push.turnSecret, pulumi.all(knownTailnet)])
    .apply(([f, turn, tailnetIPv4s]) =>
      allPresent([f.vpsIPv4, f.homeIPv4, turn]) ? renderHomeSnippets(model, { ...(f as HostFacts), vpsTailnetIPv4: tailnetIPv4s[0], edgeTailnetIPv4s: tailnetIPv4s }, turn) : undefined,
    ),
);
export const tailscaleAclSnippet = tailnet.aclSnippet;
/** The TURN shared secret (configured or generated), secret: `npm run check -- --turn-secret-from-stack` reads it. */
export const turnSecret = push.turnSecret;
export const sshCommand = derive([first.target.host], (host) => sshLine({ ...first.target, host }));
export const sshKnownHosts = derive([first.target.host, first.hostKey], (host, key) => knownHostsLine({ host, port: first.target.port }, key));
/** Only when generated (save it to the key file sshCommand names); null when the key is yours (sshPrivateKey, existingHost). */
export const deployPrivateKey = firstVps?.deployPrivateKey ?? null;
