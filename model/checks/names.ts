// DNS names: the domain, the XMPP host, the proxied web names and the zone
// they must lie in.
import type { ParsedConfig } from "../config";
import { xmppNames } from "../names";
import { isHostname, isInZone } from "../shapes";
import { show, type Report } from "./report";

/** Returns xmppHost with its default (the domain) filled in. */
export function checkNames(p: ParsedConfig, report: Report): { xmppHost: string } {
  const hostname = (key: string, value: string) => {
    if (!isHostname(value)) report(key, `${show(value)} is not a valid hostname; expected a lower-case fully qualified name like "chat.example.com" (no trailing dot, no scheme)`);
  };
  hostname("domain", p.domain);
  const xmppHost = p.xmppHost ?? p.domain;
  if (p.xmppHost !== undefined) hostname("xmppHost", p.xmppHost);

  const xmpp = xmppNames({ domain: p.domain, xmppHost, preset: p.preset });
  const seen = new Set<string>();
  p.webHostnames.forEach((name, i) => {
    const key = `webHostnames[${i}]`;
    hostname(key, name);
    if (xmpp.includes(name)) {
      report(key, `${show(name)} is a DNS-only XMPP name (${xmpp.join(", ")}); XMPP, TURN and federation need it unproxied, so it cannot be a Cloudflare-proxied web name. Use another name, or change xmppHost`);
    }
    if (seen.has(name)) report(key, `${show(name)} is listed twice`);
    seen.add(name);
  });

  if (p.zone !== undefined) {
    hostname("zone", p.zone);
    // An invalid name is already reported; "outside the zone" would only repeat it.
    const check = (key: string, name: string) => {
      if (isHostname(name) && !isInZone(name, p.zone!)) report(key, `${show(name)} is outside the zone ${show(p.zone)}; every record must be ${p.zone} or a name below it`);
    };
    check("domain", p.domain);
    if (p.xmppHost !== undefined) check("xmppHost", p.xmppHost);
    p.webHostnames.forEach((n, i) => check(`webHostnames[${i}]`, n));
  }
  return { xmppHost };
}
