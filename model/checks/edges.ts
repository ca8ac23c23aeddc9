// Several edges: the `edges` list, or the one edge today's keys
// describe. The first edge keeps serverName exactly, so a stack that adds
// `edges` later keeps its server, tailnet device and resource names.
import { IMPLICIT_EDGE_NAME, type EdgeSpec, type ExistingHost, type ParsedConfig } from "../config";
import { DEFAULT_IMAGE, releaseOf, type DebianRelease } from "../images";
import { snikketAliases, xmppNames } from "../names";
import { HETZNER_NAME, HOST_LABEL, isHostname } from "../shapes";
import { quoteRedacted, type Checks } from "./report";
import { checkOwnHost, type PlacedHost } from "./edge-hosts";
import { checkEdgeSshPort, firstExistingHost } from "./port-conflicts";
import { checkExistingHost } from "./ssh";

/** The Hetzner server name (and tailnet hostname) of edge `index`: the first keeps serverName. */
export function edgeServerName(serverName: string, edgeName: string, index: number): string {
  return index === 0 ? serverName : `${serverName}-${edgeName}`;
}

/** An edge's own DNS-only name: below xmppHost, so it lies in the zone whenever xmppHost does. */
export function edgeDnsName(edgeName: string, xmppHost: string): string {
  return `${edgeName}.${xmppHost}`;
}

/**
 * `firstHost`: the first edge's existing host, already checked (top level or
 * edges[0], checks/index.ts); the others are checked here. Returns every
 * edge, the first one first.
 */
export function checkEdges(p: ParsedConfig, xmppHost: string, firstHost: ExistingHost | undefined, c: Checks): EdgeSpec[] {
  if (p.edges === undefined) {
    // An unsupported image is reported by checkServer; the config is then refused whatever stands in here.
    const release = releaseOf(p.image) ?? (releaseOf(DEFAULT_IMAGE) as DebianRelease);
    return [{ name: IMPLICIT_EDGE_NAME, serverName: p.serverName, type: p.serverType, location: p.location, existingHost: firstHost, image: p.image, release, dnsName: edgeDnsName(IMPLICIT_EDGE_NAME, xmppHost), drain: false }];
  }
  if (p.edges.length === 0) {
    c.report("edges", `is empty; expected at least one edge like [{name: "fsn"}], or leave edges out for one edge from serverName, location and serverType`);
    return [];
  }
  // Two places for the first edge's host would be read two ways.
  if (p.existingHost !== undefined) {
    c.report("existingHost", `is set together with edges; with edges, each edge's host is its own: move it into edges[0].existingHost (the first edge), or leave edges out`);
  }

  const taken = new Map<string, string>(); // DNS names the stack already serves -> what they are
  for (const n of xmppNames({ domain: p.domain, xmppHost, preset: p.preset })) taken.set(n, "an XMPP name");
  if (p.preset === "snikket") for (const n of snikketAliases(p.domain)) taken.set(n, "one of Snikket's CNAMEs");
  for (const n of p.webHostnames) taken.set(n, "a web name (webHostnames)");
  const namesKnown = c.ok("domain") && c.ok("xmppHost") && c.ok("webHostnames");

  const seen = new Set<string>();
  const specs: EdgeSpec[] = [];
  const first = firstExistingHost(p);
  const placed: PlacedHost[] = first && firstHost ? [{ key: first.key, raw: first.host, host: firstHost }] : [];
  p.edges.forEach((e, i) => {
    const at = `edges[${i}]`;
    let ok = true;
    if (!HOST_LABEL.test(e.name)) {
      c.report(`${at}.name`, `${quoteRedacted(e.name)} is not a DNS label; expected 1-63 lower-case letters, digits and inner hyphens, e.g. "fsn" or "hel"`);
      ok = false;
    } else if (seen.has(e.name)) {
      c.report(`${at}.name`, `${quoteRedacted(e.name)} is used by an earlier edge; every edge needs its own name (it names its DNS name and server)`);
      ok = false;
    } else {
      const dnsName = edgeDnsName(e.name, xmppHost);
      const serverName = edgeServerName(p.serverName, e.name, i);
      if (namesKnown && !isHostname(dnsName)) {
        c.report(`${at}.name`, `${quoteRedacted(e.name)} makes the edge's DNS name ${quoteRedacted(dnsName)} too long (at most 253 characters); choose a shorter name`);
        ok = false;
      } else if (namesKnown && taken.has(dnsName)) {
        c.report(`${at}.name`, `${quoteRedacted(e.name)} makes the edge's DNS name ${quoteRedacted(dnsName)}, which is already ${taken.get(dnsName)}; choose another name`);
        ok = false;
      } else if (c.ok("serverName") && !HOST_LABEL.test(serverName)) {
        c.report(`${at}.name`, `${quoteRedacted(e.name)} makes the server name ${quoteRedacted(serverName)} (serverName-name), longer than a host label's 63 characters; choose a shorter name or serverName`);
        ok = false;
      }
    }
    seen.add(e.name);
    for (const key of ["location", "serverType"] as const) {
      const value = e[key];
      if (value !== undefined && !HETZNER_NAME.test(value)) {
        c.report(`${at}.${key}`, `${quoteRedacted(value)} is not a Hetzner ${key === "serverType" ? "server type" : "location"} name; expected lower-case letters, digits, dots and hyphens, e.g. ${key === "serverType" ? '"cax11"' : '"hel1"'}`);
        ok = false;
      }
    }
    let host: ExistingHost | undefined;
    if (i === 0) host = firstHost;
    else if (e.existingHost !== undefined) {
      host = checkExistingHost(p, e.existingHost, c, `${at}.existingHost`);
      if (host) {
        const here = { key: `${at}.existingHost`, raw: e.existingHost, host };
        ok = checkOwnHost(here, placed, c) && checkEdgeSshPort(p, host.port, `${at}.existingHost.port`, c) && ok;
        placed.push(here);
      } else ok = false;
    }
    if (e.existingHost !== undefined && i === 0 && !firstHost) ok = false;
    // Reported by checkServer (edges[i].image, or image for the default).
    const image = e.image ?? p.image;
    const release = releaseOf(image);
    if (!ok || !release) return;
    specs.push({
      name: e.name,
      serverName: edgeServerName(p.serverName, e.name, i),
      type: e.serverType ?? p.serverType,
      location: e.location ?? p.location,
      existingHost: host,
      image,
      release,
      dnsName: edgeDnsName(e.name, xmppHost),
      drain: e.drain ?? false,
    });
  });
  checkDrain(p.edges, c);
  return specs;
}

/**
 * A draining edge leaves the shared records to the others: with none left,
 * the domain would have no SRV target and its names no address.
 */
function checkDrain(edges: { name: string; drain?: boolean }[], c: Checks): void {
  if (edges.length === 0 || !edges.every((e) => e.drain === true)) return;
  const at = `edges[${edges.length - 1}].drain`;
  const why =
    edges.length === 1
      ? "drains the only edge: the domain would have no SRV target and its names no address. Drain an edge only once another one (a new edge in edges) can take its clients"
      : `drains every edge (${edges.map((e) => e.name).join(", ")}): the domain would have no SRV target and its names no address. Leave at least one edge without drain: true`;
  c.report(at, `is true and ${why}`);
}
