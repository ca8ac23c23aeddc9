// Where home is on the tailnet: an address, or a device name looked up at deploy.
import type { EdgeConfig, EdgeSpec, ParsedConfig } from "../config";
import { inCidr, parseAddress, TAILNET_IPV4_RANGE, TAILNET_IPV6_RANGE, TAILSCALE_SERVICE_ADDRESSES } from "../net";
import { HOST_LABEL } from "../shapes";
import { quoteRedacted, type Checks } from "./report";

export function checkHome(p: ParsedConfig, c: Checks): EdgeConfig["home"] {
  const home: EdgeConfig["home"] = {};
  const address = (key: "homeTailnetIPv4" | "homeTailnetIPv6", family: 4 | 6, range: string) => {
    const value = p[key];
    if (value === undefined) return undefined;
    const expected = `expected an address in ${range} (see "tailscale ip -${family}" on the home server)`;
    const parsed = parseAddress(value);
    if (!parsed.ok && !parsed.malformed) {
      c.report(key, `${quoteRedacted(value)} ${parsed.problem}; ${expected}`);
    } else if (!parsed.ok || parsed.value.family !== family || !inCidr(parsed.value.address, range)) {
      c.report(key, `${quoteRedacted(value)} is not a tailnet IPv${family} address; ${expected}`);
    } else if (TAILSCALE_SERVICE_ADDRESSES.includes(parsed.value.address)) {
      c.report(key, `${quoteRedacted(value)} is Tailscale's own service address (MagicDNS), reserved on every node; expected the home server's address (see "tailscale ip -${family}" on it)`);
    } else return parsed.value.address;
    return undefined;
  };
  home.ipv4 = address("homeTailnetIPv4", 4, TAILNET_IPV4_RANGE);
  home.ipv6 = address("homeTailnetIPv6", 6, TAILNET_IPV6_RANGE);
  if (home.ipv4 === undefined) delete home.ipv4;
  if (home.ipv6 === undefined) delete home.ipv6;
  if (p.homeTailnetHostname !== undefined) {
    if (!HOST_LABEL.test(p.homeTailnetHostname)) {
      c.report("homeTailnetHostname", `${quoteRedacted(p.homeTailnetHostname)} is not a tailnet machine name; expected the short name shown by "tailscale status" (letters, digits, hyphens)`);
    } else home.hostname = p.homeTailnetHostname;
    if (p.tailscaleLoginServer !== undefined && p.homeTailnetIPv4 === undefined) {
      c.report("homeTailnetHostname", `looking up a device needs the Tailscale API, which is not used with tailscaleLoginServer; set homeTailnetIPv4 instead`);
    }
  }
  if (p.homeTailnetIPv4 === undefined && p.homeTailnetHostname === undefined) {
    c.report("homeTailnetIPv4", `is required unless homeTailnetHostname is set; expected the home server's tailnet address in ${TAILNET_IPV4_RANGE}`);
  }
  return home;
}

/**
 * The home device looked up by name must not be an edge: its address would
 * become home's, and the edge would forward to itself and be granted its own
 * ports in the tailnet policy.
 */
export function checkHomeIsNoEdge(p: ParsedConfig, edges: EdgeSpec[], c: Checks): void {
  const name = p.homeTailnetHostname;
  if (name === undefined || !c.ok("homeTailnetHostname")) return;
  const edge = edges.find((e) => e.serverName === name);
  if (edge) {
    const which = edges.length > 1 ? `edge ${quoteRedacted(edge.name)}'s server name` : "serverName";
    c.report("homeTailnetHostname", `${quoteRedacted(name)} is ${which}, the edge's own tailnet hostname: the lookup would take the edge for home; expected the home server's machine name ("tailscale status" there)${p.homeTailnetIPv4 === undefined ? ", or set homeTailnetIPv4 instead" : ""}`);
  }
}
