// Two edges on one machine: each push replaces the other's bundle (one
// nftables table, one nginx.conf, one coturn) and both fail together, so the
// failover the SRV records promise is false. Every existing host an edge
// names must be a machine of its own: another address and port to SSH to,
// and other public addresses.
import * as ipaddr from "ipaddr.js";
import type { ExistingHost, ParsedConfig } from "../config";
import { ipFamily } from "../net";
import { quoteRedacted, type Checks } from "./report";

/** An edge's existing host: the key it was given under, as written and as checked. */
export interface PlacedHost {
  key: string;
  raw: NonNullable<ParsedConfig["existingHost"]>;
  host: ExistingHost;
}

/** One spelling per IP address ("2a01:4f8::2" and "2a01:4f8:0::2" are one); host names are already lower-case (checks/ssh.ts). */
function canonical(address: string): string {
  return ipFamily(address) === undefined ? address : ipaddr.parse(address).toString();
}

/** Reports `h` when an earlier edge's host is the same machine; true when none is. */
export function checkOwnHost(h: PlacedHost, earlier: PlacedHost[], c: Checks): boolean {
  const why = "two edges on one machine overwrite each other's pushes and fail together, so failing over from one to the other is false; give each edge a host of its own";
  for (const e of earlier) {
    if (canonical(h.host.address) === canonical(e.host.address) && h.host.port === e.host.port) {
      c.report(`${h.key}.address`, `${quoteRedacted(h.host.address)} port ${h.host.port} is also where ${e.key} is (${e.key}.address, ${e.key}.port): ${why}`);
      return false;
    }
    for (const family of ["ipv4", "ipv6"] as const) {
      const mine = h.host[family];
      const theirs = e.host[family];
      if (mine === undefined || theirs === undefined || canonical(mine) !== canonical(theirs)) continue;
      // The key that gave the address: ipvN when written, else address (it defaults to it).
      const key = (x: PlacedHost) => `${x.key}.${x.raw[family] !== undefined ? family : "address"}`;
      c.report(key(h), `${quoteRedacted(mine)} is also the public ${family === "ipv4" ? "IPv4" : "IPv6"} address of ${e.key} (${key(e)}): ${why}`);
      return false;
    }
  }
  return true;
}
