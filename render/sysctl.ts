import { generatedHeader } from "./header";

export const SYSCTL_PATH = "/etc/sysctl.d/60-xmpp-edge.conf";

export function renderSysctl(): string {
  return [
    generatedHeader("#", "Kernel settings for the xmpp-edge forwards (DNAT to the home server over the tailnet)."),
    "net.ipv4.ip_forward = 1",
    "net.ipv6.conf.all.forwarding = 1",
    "# Forwarding turns off router advertisements unless accept_ra is 2; keep IPv6 autoconfiguration working.",
    "net.ipv6.conf.all.accept_ra = 2",
    "net.ipv6.conf.default.accept_ra = 2",
    "",
  ].join("\n");
}
