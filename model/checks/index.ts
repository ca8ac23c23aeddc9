// Every check of a schema-valid config, by area, and the EdgeConfig they
// build from the values that passed.
import type { EdgeConfig, ParsedConfig } from "../config";
import { checkHome } from "./home";
import { checkNames } from "./names";
import { checkExtraForwards, checkTurnRelayPorts } from "./ports";
import type { Report } from "./report";
import { checkServer } from "./server";
import { checkDeployKey, checkExistingHost, checkSshAllowFrom } from "./ssh";
import { checkTailnet } from "./tailnet";
import { checkWebOrigins } from "./web";

export type { Report } from "./report";

export function checkFields(p: ParsedConfig, report: Report): EdgeConfig {
  const { xmppHost } = checkNames(p, report);
  const home = checkHome(p, report);
  const turnRelayPorts = checkTurnRelayPorts(p, report);
  const ssh = checkSshAllowFrom(p, report);
  const webOriginExtraAllow = checkWebOrigins(p, report);
  const extraForwards = checkExtraForwards(p, turnRelayPorts, report);
  checkTailnet(p, report);
  checkDeployKey(p, report);
  const existingHost = p.existingHost && checkExistingHost(p.existingHost, p.sshPrivateKey !== undefined, report);
  checkServer(p, report);

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
    ssh,
    webOriginLock: p.webOriginLock,
    webOriginExtraAllow,
    extraForwards,
    server: { name: p.serverName, type: p.serverType, location: p.location, image: p.image },
    cloudflareZoneId: p.cloudflareZoneId,
    zone: p.zone,
    dns: p.dns,
    existingHost,
    tailscale: { tags: p.tailscaleTags, loginServer: p.tailscaleLoginServer, authKeySet: p.tailscaleAuthKey !== undefined },
    deployKey: { publicKey: p.sshPublicKey, privateKeySet: p.sshPrivateKey !== undefined },
    turnSecretSet: p.turnSecret !== undefined,
  };
}
