// Every check of a schema-valid config, by area, and the EdgeConfig they
// build from the values that passed.
import type { EdgeConfig, ParsedConfig } from "../config";
import { checkEdges } from "./edges";
import { checkHome, checkHomeIsNoEdge } from "./home";
import { checkNames } from "./names";
import { checkForwardsPastTheLock } from "./origin-lock";
import { firstExistingHost } from "./port-conflicts";
import { checkExtraForwards, checkTurnRelayPorts, checkSynProxy, checkTurnSession, checkUdpForwardBudget } from "./ports";
import { checkLimits } from "./limits";
import type { Checks } from "./report";
import { checkServer } from "./server";
import { checkDeployKey, checkExistingHost, checkSshAllowFrom } from "./ssh";
import { checkTailnet } from "./tailnet";
import { checkTurnTls } from "./turn-tls";
import { checkWebOrigins } from "./web";

export type { Checks } from "./report";

/** Runs every check; the EdgeConfig it returns is only used when none reported a problem. */
export function checkFields(p: ParsedConfig, c: Checks): EdgeConfig {
  const { xmppHost } = checkNames(p, c);
  const home = checkHome(p, c);
  const relay = checkTurnRelayPorts(p, c);
  checkTurnSession(p, c);
  checkUdpForwardBudget(p, c);
  checkSynProxy(p, c);
  checkLimits(p, c);
  const ssh = checkSshAllowFrom(p, c);
  const webOriginExtraAllow = checkWebOrigins(p, c);
  const extraForwards = checkExtraForwards(p, relay, c);
  checkForwardsPastTheLock(p, c);
  checkTailnet(p, c);
  checkDeployKey(p, c);
  const first = firstExistingHost(p);
  const existingHost = first && checkExistingHost(p, first.host, c, first.key);
  const release = checkServer(p, c);
  const edges = checkEdges(p, xmppHost, existingHost, c);
  checkHomeIsNoEdge(p, edges, c);
  const turnTlsName = checkTurnTls(p, xmppHost, edges, c);
  const firstEdge = edges[0];
  // A rejected range means the config is refused (ConfigError); the default only satisfies the type.
  const turnRelayPorts = relay ?? { from: 0, to: 0 };

  return {
    domain: p.domain,
    xmppHost,
    webHostnames: p.webHostnames,
    home,
    preset: p.preset,
    directTls: p.directTls,
    clientIp: p.clientIp,
    turn: p.turn,
    turnRelayPorts,
    turnTcpRelay: p.turnTcpRelay,
    turnSessionKbps: p.turnSessionKbps,
    turnCapacityMbps: p.turnCapacityMbps,
    turnMemoryMB: p.turnMemoryMB,
    conntrackMax: p.conntrackMax,
    turnTlsName,
    unattendedUpgrades: p.unattendedUpgrades,
    ssh,
    webOriginLock: p.webOriginLock,
    webOriginExtraAllow,
    extraForwards,
    udpForwardPacketsPerSecond: p.udpForwardPacketsPerSecond,
    synProxy: p.synProxy,
    synProxyWindowScale: p.synProxyWindowScale,
    server: { name: p.serverName, type: firstEdge?.type ?? p.serverType, location: firstEdge?.location ?? p.location, image: firstEdge?.image ?? p.image, release: firstEdge?.release ?? release },
    cloudflareZoneId: p.cloudflareZoneId,
    zone: p.zone,
    dns: p.dns,
    existingHost,
    edges,
    edgeMode: p.edgeMode,
    tailscale: { tags: p.tailscaleTags, sshFrom: p.tailscaleSshFrom, loginServer: p.tailscaleLoginServer, authKeySet: p.tailscaleAuthKey !== undefined },
    deployKey: { publicKey: p.sshPublicKey, privateKeySet: p.sshPrivateKey !== undefined },
    turnSecretSet: p.turnSecret !== undefined,
  };
}
