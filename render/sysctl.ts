import type { EdgeModel } from "../model/model";
import { formatRange } from "../model/ports";
import { generatedHeader } from "./header";

export const SYSCTL_PATH = "/etc/sysctl.d/60-xmpp-edge.conf";

export function renderSysctl(model: EdgeModel): string {
  const c = model.config;
  return [
    generatedHeader("#", "Kernel settings for the xmpp-edge forwards (DNAT to the home server over the tailnet) and coturn's relay range."),
    "net.ipv4.ip_forward = 1",
    "net.ipv6.conf.all.forwarding = 1",
    "# Forwarding turns off router advertisements unless accept_ra is 2; keep IPv6 autoconfiguration working.",
    "net.ipv6.conf.all.accept_ra = 2",
    "net.ipv6.conf.default.accept_ra = 2",
    // coturn binds its relay ports by number (unaffected); only the ports the kernel picks for others skip the range (IPv4 and IPv6).
    ...(c.turn === "edge"
      ? [
          "# No socket but coturn's relays gets a port in the TURN relay range: its relay guard (nftables) lets relays reach this host there.",
          `net.ipv4.ip_local_reserved_ports = ${formatRange(c.turnRelayPorts)}`,
        ]
      : []),
    "",
  ].join("\n");
}
