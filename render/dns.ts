// The DNS records, as data. Generic in the address type: the plan passes
// strings, the Pulumi program passes Outputs. Web names are proxied by
// Cloudflare; XMPP names are DNS-only (XMPP, TURN and federation need the
// VPS itself). Nothing here ever points at the home server.
import type { EdgeModel } from "../model/model";
import { HTTPS_PORT, XMPP_C2S_PORT, XMPP_S2S_PORT } from "../model/ports";
import { snikketAliases } from "../model/names";

export const DNS_ONLY_TTL = 300;
/** Cloudflare requires ttl 1 ("automatic") on proxied records. */
export const PROXIED_TTL = 1;
/** SRV: lower priority wins; direct TLS on 443 sorts before STARTTLS (XEP-0368). */
export const SRV_PRIORITY_DIRECT_TLS = 5;
export const SRV_PRIORITY_STARTTLS = 10;
const SRV_WEIGHT = 5;

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface DnsRecord<A = string> {
  type: "A" | "AAAA" | "CNAME" | "SRV";
  name: string;
  content: A | string;
  proxied: boolean;
  ttl: number;
  priority?: number;
  data?: SrvData;
}

/** `vps.ipv6` undefined (an IPv4-only existing host): no AAAA records. */
export function renderDnsRecords<A>(model: EdgeModel, vps: { ipv4: A; ipv6?: A }): DnsRecord<A>[] {
  const c = model.config;
  const records: DnsRecord<A>[] = [];
  const address = (name: string, proxied: boolean) => {
    const ttl = proxied ? PROXIED_TTL : DNS_ONLY_TTL;
    records.push({ type: "A", name, content: vps.ipv4, proxied, ttl });
    if (vps.ipv6 !== undefined) records.push({ type: "AAAA", name, content: vps.ipv6, proxied, ttl });
  };
  for (const name of model.webNames) address(name, true);

  const aliases = c.preset === "snikket" ? snikketAliases(c.domain) : [];
  for (const name of model.xmppNames.filter((n) => !aliases.includes(n))) address(name, false);
  for (const name of aliases) records.push({ type: "CNAME", name, content: c.domain, proxied: false, ttl: DNS_ONLY_TTL });

  const srv = (service: string, priority: number, port: number) => {
    const data = { priority, weight: SRV_WEIGHT, port, target: c.xmppHost };
    records.push({ type: "SRV", name: `${service}._tcp.${c.domain}`, content: `${SRV_WEIGHT} ${port} ${c.xmppHost}`, proxied: false, ttl: DNS_ONLY_TTL, priority, data });
  };
  if (c.directTls) {
    srv("_xmpps-client", SRV_PRIORITY_DIRECT_TLS, HTTPS_PORT);
    srv("_xmpps-server", SRV_PRIORITY_DIRECT_TLS, HTTPS_PORT);
  }
  srv("_xmpp-client", SRV_PRIORITY_STARTTLS, XMPP_C2S_PORT);
  srv("_xmpp-server", SRV_PRIORITY_STARTTLS, XMPP_S2S_PORT);
  return records;
}
