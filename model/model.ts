// The validated config turned into the edge's plan: names, services, routes.
// Renderers read only this (plus HostFacts, the addresses known at deploy).
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "./cloudflare-ranges";
import { cidrFamily } from "./net";
import * as P from "./ports";
import { planServices, type Service } from "./services";
import type { EdgeConfig } from "./config";
import { xmppNames } from "./names";

/** Addresses that exist only once resources do: Outputs at deploy, flags or documentation addresses in the plan. */
export interface HostFacts {
  vpsIPv4: string;
  /** Absent for an IPv4-only existingHost. */
  vpsIPv6?: string;
  homeIPv4: string;
  homeIPv6?: string;
  /** The VPS's own tailnet address: Prosody trusts PROXY headers from it. */
  vpsTailnetIPv4?: string;
}

export interface EdgeModel {
  config: EdgeConfig;
  /** DNS-only names served by the home XMPP server (SNI/Host class "xmpp"). */
  xmppNames: string[];
  webNames: string[];
  services: Service[];
  /** The port SSH listens on: 22, or an existing host's own. The ruleset and the firewall open this one. */
  sshPort: number;
  https: {
    /** ALPN protocol -> home port (XEP-0368 direct TLS); empty without directTls. */
    alpn: { protocol: "xmpp-client" | "xmpp-server"; homePort: number }[];
    xmppNamesHomePort: number;
    webHomePort: number;
  };
  http: { xmppNamesHomePort: number; webHomePort: number };
  /** Sources allowed to reach web names; null = anyone (origin lock off). */
  webOrigins: { ipv4: string[]; ipv6: string[] } | null;
}

export function buildModel(config: EdgeConfig): EdgeModel {
  const snikket = config.preset === "snikket";
  const extra = config.webOriginExtraAllow;
  return {
    config,
    xmppNames: xmppNames(config),
    webNames: config.webHostnames,
    services: planServices(config),
    sshPort: config.existingHost?.port ?? P.SSH_PORT,
    https: {
      alpn: config.directTls
        ? [
            { protocol: "xmpp-client", homePort: P.HOME_C2S_DIRECT_TLS_PORT },
            { protocol: "xmpp-server", homePort: P.HOME_S2S_DIRECT_TLS_PORT },
          ]
        : [],
      xmppNamesHomePort: snikket ? P.SNIKKET_HOME_HTTPS_PORT : P.HTTPS_PORT,
      webHomePort: P.HTTPS_PORT,
    },
    http: { xmppNamesHomePort: snikket ? P.SNIKKET_HOME_HTTP_PORT : P.HTTP_PORT, webHomePort: P.HTTP_PORT },
    webOrigins:
      config.webOriginLock === "cloudflare"
        ? {
            ipv4: [...CLOUDFLARE_IPV4, ...extra.filter((c) => cidrFamily(c) === 4)],
            ipv6: [...CLOUDFLARE_IPV6, ...extra.filter((c) => cidrFamily(c) === 6)],
          }
        : null,
  };
}

export function servicesBy(model: EdgeModel, handler: Service["handler"]): Service[] {
  return model.services.filter((s) => s.handler === handler);
}
