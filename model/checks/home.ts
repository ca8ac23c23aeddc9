// Where home is on the tailnet: an address, or a device name looked up at deploy.
import type { EdgeConfig, ParsedConfig } from "../config";
import { inCidr, ipFamily, TAILNET_IPV4_RANGE, TAILNET_IPV6_RANGE } from "../net";
import { HOST_LABEL } from "../shapes";
import { show, type Report } from "./report";

export function checkHome(p: ParsedConfig, report: Report): EdgeConfig["home"] {
  const home: EdgeConfig["home"] = {};
  if (p.homeTailnetIPv4 !== undefined) {
    if (ipFamily(p.homeTailnetIPv4) !== 4 || !inCidr(p.homeTailnetIPv4, TAILNET_IPV4_RANGE)) {
      report("homeTailnetIPv4", `${show(p.homeTailnetIPv4)} is not a tailnet IPv4 address; expected an address in ${TAILNET_IPV4_RANGE} (see "tailscale ip -4" on the home server)`);
    } else home.ipv4 = p.homeTailnetIPv4;
  }
  if (p.homeTailnetIPv6 !== undefined) {
    if (ipFamily(p.homeTailnetIPv6) !== 6 || !inCidr(p.homeTailnetIPv6, TAILNET_IPV6_RANGE)) {
      report("homeTailnetIPv6", `${show(p.homeTailnetIPv6)} is not a tailnet IPv6 address; expected an address in ${TAILNET_IPV6_RANGE} (see "tailscale ip -6" on the home server)`);
    } else home.ipv6 = p.homeTailnetIPv6;
  }
  if (p.homeTailnetHostname !== undefined) {
    if (!HOST_LABEL.test(p.homeTailnetHostname)) {
      report("homeTailnetHostname", `${show(p.homeTailnetHostname)} is not a tailnet machine name; expected the short name shown by "tailscale status" (letters, digits, hyphens)`);
    } else home.hostname = p.homeTailnetHostname;
    if (p.tailscaleLoginServer !== undefined && p.homeTailnetIPv4 === undefined) {
      report("homeTailnetHostname", `looking up a device needs the Tailscale API, which is not used with tailscaleLoginServer (${show(p.tailscaleLoginServer)}); set homeTailnetIPv4 instead`);
    }
  }
  if (p.homeTailnetIPv4 === undefined && p.homeTailnetHostname === undefined) {
    report("homeTailnetIPv4", `is required unless homeTailnetHostname is set; expected the home server's tailnet address in ${TAILNET_IPV4_RANGE}`);
  }
  return home;
}
