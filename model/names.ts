// The DNS names the edge serves, derived from the config: which are the
// home XMPP server's own (DNS-only) and which Snikket adds as aliases.
import type { EdgeConfig } from "./config";

/**
 * The DNS-only names served by the home XMPP server (never proxied). Snikket
 * serves its web UI, TURN and uploads on the domain and two subdomains; a
 * plain Prosody domain may be anything, often a proxied website, so only
 * xmppHost is the XMPP server's own name there.
 */
export function xmppNames(c: Pick<EdgeConfig, "domain" | "xmppHost" | "preset">): string[] {
  if (c.preset === "prosody") return [c.xmppHost];
  return [...new Set([c.domain, c.xmppHost, ...snikketAliases(c.domain)])];
}

/** Snikket's group chat and upload hosts: CNAMEs of the domain. */
export function snikketAliases(domain: string): string[] {
  return [`groups.${domain}`, `share.${domain}`];
}
