// The tailnet: a self-hosted control server (Headscale) and the VPS's tags.
import type { ParsedConfig } from "../config";
import { PROJECT_NAME } from "../config";
import { ipFamily } from "../net";
import { isHostname, TAILNET_TAG, URL_TEXT } from "../shapes";
import { quoteRedacted, type Checks } from "./report";

export function checkTailnet(p: ParsedConfig, c: Checks): void {
  if (p.tailscaleLoginServer !== undefined) {
    const problem = loginServerProblem(p.tailscaleLoginServer, p.tailscaleLoginServerAllowHttp);
    if (problem) c.report("tailscaleLoginServer", `${quoteRedacted(p.tailscaleLoginServer)} ${problem}`);
    if (p.tailscaleAuthKey === undefined && c.ok("tailscaleAuthKey")) c.report("tailscaleAuthKey", `is required with tailscaleLoginServer (the Tailscale API is not used there); set it with "pulumi config set --secret ${PROJECT_NAME}:tailscaleAuthKey KEY"`);
  } else if (p.tailscaleLoginServerAllowHttp) {
    c.report("tailscaleLoginServerAllowHttp", `is only meaningful with tailscaleLoginServer; remove it`);
  }
  if (p.tailscaleTags.length === 0) {
    c.report("tailscaleTags", `is empty; expected at least one tag, e.g. ["tag:xmpp-edge"]: the auth key is tagged with them and tailscaleAclSnippet grants by them`);
  }
  p.tailscaleTags.forEach((t, i) => {
    if (!TAILNET_TAG.test(t)) c.report(`tailscaleTags[${i}]`, `${quoteRedacted(t)} is not a tailnet tag; expected "tag:name"`);
  });
  checkSshFrom(p, c);
}

/** Tailnet policy sources allowed to SSH to the edge: named users, groups, tags, the admins; never everyone. */
const TAILNET_SSH_PRINCIPAL = /^([a-z0-9._+-]+@([a-z0-9-]+(\.[a-z0-9-]+)+)?|(group|tag):[a-z0-9][a-z0-9-]*|autogroup:(admin|owner|it-admin|network-admin))$/i;

function checkSshFrom(p: ParsedConfig, c: Checks): void {
  if (p.tailscaleSshFrom.length === 0) c.report("tailscaleSshFrom", `is empty; expected who may SSH to the edge over the tailnet, e.g. ["autogroup:admin"] or ["you@example.com", "tag:ci"]`);
  const headscaleTailnetSsh = p.tailscaleLoginServer !== undefined && p.sshAllowFrom.includes("tailnet");
  p.tailscaleSshFrom.forEach((who, i) => {
    if (!TAILNET_SSH_PRINCIPAL.test(who)) {
      c.report(`tailscaleSshFrom[${i}]`, `${quoteRedacted(who)} is not allowed; expected a user ("you@example.com", Headscale "you@"), "group:name", "tag:name" or "autogroup:admin" (not "*" or "autogroup:member": every tailnet device would reach the edge's SSH)`);
    } else if (p.tailscaleTags.some((t) => t.toLowerCase() === who.toLowerCase())) {
      // Every edge carries these tags: one compromised edge would reach every edge's SSH.
      c.report(`tailscaleSshFrom[${i}]`, `${quoteRedacted(who)} is one of the edges' own tags (tailscaleTags): any edge could then SSH into every edge, so one taken edge takes them all; name the deployers ("you@example.com", "group:name") or a tag no edge carries ("tag:ci")`);
    } else if (headscaleTailnetSsh && who.startsWith("autogroup:")) {
      c.report(`tailscaleSshFrom[${i}]`, `${quoteRedacted(who)}: Headscale (tailscaleLoginServer) has no ${who}; name the deployers' users ("you@") or tags ("tag:ci")`);
    }
  });
}

/**
 * The control server URL goes into the root join script: parsed by the
 * WHATWG URL parser, https (http only when allowed explicitly), a host and
 * optionally a port and path, nothing a shell would interpret.
 */
function loginServerProblem(text: string, allowHttp: boolean): string | undefined {
  const expected = `expected e.g. "https://headscale.example.com" (a scheme, a host name or address, optionally a port and a path)`;
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(text)?.[1];
  if (authority?.includes("@")) return `carries credentials (user:password@, not shown): they would be written into the join script and the server's logs; ${expected}`;
  const port = authority === undefined ? undefined : /:(\d+)$/.exec(authority)?.[1];
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535)) return `has port ${Number(port)}; expected a port in 1-65535, or none (443 for https)`;
  if (!URL_TEXT.test(text)) return `is not a plain URL; ${expected}, with no spaces, quotes or shell characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `is not a URL; ${expected}`;
  }
  if (url.protocol === "http:" && !allowHttp) return `is http: the node's keys and the tailnet's map would travel unencrypted; use https, or set tailscaleLoginServerAllowHttp: true for a control server on a trusted network`;
  if (url.protocol !== "https:" && url.protocol !== "http:") return `has scheme ${quoteRedacted(url.protocol)}; ${expected}`;
  if (url.username || url.password || url.search || url.hash) return `carries credentials, a query or a fragment; ${expected}`;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!isHostname(host) && ipFamily(host) === undefined) return `has no valid host name; ${expected}`;
  return undefined;
}
