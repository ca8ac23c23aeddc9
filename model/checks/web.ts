// Who may reach the web names besides Cloudflare.
import type { ParsedConfig } from "../config";
import { parseCidr } from "../net";
import { show, type Checks } from "./report";

export function checkWebOrigins(p: ParsedConfig, c: Checks): string[] {
  const allowed: string[] = [];
  p.webOriginExtraAllow.forEach((text, i) => {
    const cidr = parseCidr(text);
    if (cidr.ok) allowed.push(cidr.value.text);
    else c.report(`webOriginExtraAllow[${i}]`, `${show(text)} ${cidr.problem}; expected the network of a monitoring service or another CDN, e.g. "198.51.100.0/24"`);
  });
  return allowed;
}
