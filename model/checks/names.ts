// DNS names: the domain, the XMPP host, the proxied web names, the zone they
// must lie in and the Cloudflare zone (by id or by name) the deploy puts
// the records in.
import type { ParsedConfig } from "../config";
import { snikketAliases, xmppNames } from "../names";
import { CLOUDFLARE_ZONE_ID, isHostname, isInZone } from "../shapes";
import { quoteRedacted, type Checks } from "./report";

/** Returns xmppHost with its default (the domain) filled in. */
export function checkNames(p: ParsedConfig, c: Checks): { xmppHost: string } {
  const hostname = (key: string, value: string) => {
    if (!isHostname(value)) c.report(key, `${quoteRedacted(value)} is not a valid hostname; expected a lower-case fully qualified name like "chat.example.com" (no trailing dot, no scheme)`);
  };
  hostname("domain", p.domain);
  const xmppHost = p.xmppHost ?? p.domain;
  if (p.xmppHost !== undefined) hostname("xmppHost", p.xmppHost);
  // The SRV records point at xmppHost; an SRV target must not be an alias (RFC 2782).
  if (p.preset === "snikket" && c.ok("domain") && c.ok("xmppHost") && snikketAliases(p.domain).includes(xmppHost)) {
    c.report("xmppHost", `${quoteRedacted(xmppHost)} is one of Snikket's CNAME records (${snikketAliases(p.domain).join(", ")}), and the SRV records' target must not be an alias (RFC 2782); use the domain itself or another name, e.g. "xmpp.${p.domain}"`);
  }

  const namesKnown = c.ok("domain") && c.ok("xmppHost");
  const xmpp = xmppNames({ domain: p.domain, xmppHost, preset: p.preset });
  const seen = new Set<string>();
  p.webHostnames.forEach((name, i) => {
    const key = `webHostnames[${i}]`;
    hostname(key, name);
    if (namesKnown && xmpp.includes(name)) {
      c.report(key, `${quoteRedacted(name)} is a DNS-only XMPP name (${xmpp.join(", ")}); XMPP, TURN and federation need it unproxied, so it cannot be a Cloudflare-proxied web name. Use another name, or change xmppHost`);
    }
    if (seen.has(name)) c.report(key, `${quoteRedacted(name)} is listed twice`);
    seen.add(name);
  });

  if (p.zone !== undefined) {
    hostname("zone", p.zone);
    // Only a valid zone can contain anything, and only a valid name can lie outside it.
    const check = (key: string, name: string) => {
      if (c.ok("zone") && c.ok(key) && !isInZone(name, p.zone!)) c.report(key, `${quoteRedacted(name)} is outside the zone ${quoteRedacted(p.zone)}; every record must be ${p.zone} or a name below it`);
    };
    check("domain", p.domain);
    if (p.xmppHost !== undefined) check("xmppHost", p.xmppHost);
    p.webHostnames.forEach((n, i) => check(`webHostnames[${i}]`, n));
  }
  if (p.cloudflareZoneId !== undefined && !CLOUDFLARE_ZONE_ID.test(p.cloudflareZoneId)) {
    const name = isHostname(p.cloudflareZoneId) ? `; it looks like a zone name: put that in zone` : "";
    c.report("cloudflareZoneId", `${quoteRedacted(p.cloudflareZoneId)} is not a Cloudflare zone id; expected the 32 hex digits shown as "Zone ID" on the zone's overview page${name}`);
  }
  // The deploy puts the records in a Cloudflare zone it must find: by id, or by name.
  // A zone or id given but refused is reported already: not "missing" as well.
  if (p.dns === "cloudflare" && p.cloudflareZoneId === undefined && p.zone === undefined && c.ok("zone") && c.ok("cloudflareZoneId")) {
    c.report("cloudflareZoneId", `is required to create the DNS records (dns "cloudflare"); set it, or zone (the zone is then looked up by name), or dns "off" and create the records from the dnsRecords output yourself`);
  }
  return { xmppHost };
}
