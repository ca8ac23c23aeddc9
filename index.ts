// xmpp-edge: stack config → model → tailnet, VPS, DNS, push → outputs.
// All decisions live in model/ and render/; this file only wires them.
import * as pulumi from "@pulumi/pulumi";
import { loadDeployConfig } from "./components/config";
import { Dns } from "./components/dns";
import { forwardedPorts as portTable, knownHostsLine, sshCommand as sshLine } from "./components/outputs";
import { allPresent, derive } from "./components/present";
import { Push, type FactsInput } from "./components/push";
import { Tailnet } from "./components/tailnet";
import { Vps } from "./components/vps";
import type { HostFacts } from "./model/model";
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
const existingHost = c.existingHost;

const tailnet = new Tailnet("tailnet", { model, configAuthKey: secrets.tailscaleAuthKey, joinsServer: !existingHost });
const vps = existingHost
  ? undefined
  : new Vps("vps", { model, tailscaleAuthKey: tailnet.authKey!, deployPublicKey: c.deployKey.publicKey, deployPrivateKey: secrets.sshPrivateKey });
const vpsTailnet = vps && tailnet.vpsTailnetIPv4(model, vps.ready);

const ipv4 = vps ? vps.ipv4 : pulumi.output(existingHost!.ipv4);
// An existing host may have no IPv6: then no AAAA records and coturn on IPv4 only.
const ipv6 = vps ? vps.ipv6 : existingHost!.ipv6 === undefined ? undefined : pulumi.output(existingHost!.ipv6);
// The bundle needs no tailnet address of the VPS; the home snippets trust it (knownTailnet below).
const bundleFacts: FactsInput = { vpsIPv4: ipv4, vpsIPv6: ipv6, homeIPv4: tailnet.homeIPv4, homeIPv6: tailnet.homeIPv6 };

if (c.dns === "cloudflare") new Dns("dns", { model, ipv4, ipv6 });

// Where the deploy connects. With sshAllowFrom ["tailnet"] there is no public
// SSH: the VPS's tailnet address from the API, else (Headscale, or a key from
// config) its MagicDNS name; the pinned host key guards against a wrong name.
const target = existingHost
  ? { host: pulumi.output(existingHost.address), port: existingHost.port, user: existingHost.user }
  : { host: c.ssh.mode === "tailnet" ? (vpsTailnet ?? pulumi.output(c.server.name)) : ipv4, port: 22, user: "root" };
const hostKey = existingHost ? pulumi.output(existingHost.hostKey) : vps!.hostKey;

const push = new Push("push", {
  model,
  facts: bundleFacts,
  turnSecret: secrets.turnSecret,
  serverId: vps?.serverId,
  after: vps ? [vps.ready] : [],
  connection: { ...target, privateKey: secrets.sshPrivateKey ?? vps!.deployPrivateKey!, hostKey },
});

export const vpsIPv4 = ipv4;
export const vpsIPv6 = ipv6;
// Without the Tailscale API (Headscale, a configured key, an existing host) the confirm reports it.
const knownTailnet: pulumi.Output<string | undefined> = vpsTailnet ?? push.reportedTailnetIPv4;
export const vpsTailnetIPv4 = knownTailnet.apply((a) => a ?? "unknown");
export const dnsRecords = pulumi.output(renderDnsRecords(model, { ipv4, ipv6 }));
export const forwardedPorts = portTable(model);
export const homeSnippets = pulumi.secret(
  pulumi
    .all([pulumi.output(bundleFacts), push.turnSecret, knownTailnet])
    .apply(([f, turn, tailnetIPv4]) => (allPresent([f.vpsIPv4, f.homeIPv4, turn]) ? renderHomeSnippets(model, { ...(f as HostFacts), vpsTailnetIPv4: tailnetIPv4 }, turn) : undefined)),
);
export const tailscaleAclSnippet = tailnet.aclSnippet;
/** The TURN shared secret (configured or generated), secret: `npm run check -- --turn-secret-from-stack` reads it. */
export const turnSecret = push.turnSecret;
export const sshCommand = derive([target.host], (host) => sshLine({ ...target, host }));
export const sshKnownHosts = derive([target.host, hostKey], (host, key) => knownHostsLine({ host, port: target.port }, key));
/** Only when generated (save it to the key file sshCommand names); null when the key is yours (sshPrivateKey, existingHost). */
export const deployPrivateKey = vps?.deployPrivateKey ?? null;
