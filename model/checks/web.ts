// Who may reach the web names besides Cloudflare.
import type { ParsedConfig } from "../config";
import { cidrFamily, normaliseCidr } from "../net";
import { show, type Checks } from "./report";

export function checkWebOrigins(p: ParsedConfig, c: Checks): string[] {
  p.webOriginExtraAllow.forEach((cidr, i) => {
    if (cidrFamily(cidr) === undefined) c.report(`webOriginExtraAllow[${i}]`, `${show(cidr)} is not a valid CIDR; expected e.g. "198.51.100.0/24"`);
  });
  return p.webOriginExtraAllow.filter((c) => cidrFamily(c) !== undefined).map(normaliseCidr);
}
