import type { EdgeModel } from "../model/model";
import { formatRange } from "../model/ports";
import { generatedHeader } from "./header";

export const SYSCTL_PATH = "/etc/sysctl.d/60-xmpp-edge.conf";

/**
 * conntrack's hold on half-open TCP, in seconds. A spoofed SYN leaves an
 * entry waiting for an ACK that never comes (SYN_RECV, kernel default 60 s)
 * or for an answer (SYN_SENT, 120 s); each also holds a per-source set
 * element. A real client's final ACK follows the SYN-ACK within its round
 * trip, and a client retrying its SYN refreshes SYN_SENT every retry.
 */
export const CONNTRACK_SYN_RECV_SECONDS = 10;
export const CONNTRACK_SYN_SENT_SECONDS = 30;

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
    "# A TCP packet that is not a SYN starts no connection: with loose tracking (1, the default) a bare",
    "# spoofed ACK to a forwarded port became an established connection and was forwarded home.",
    "net.netfilter.nf_conntrack_tcp_loose = 0",
    "# Half-open connections (spoofed SYNs) leave conntrack soon; see render/sysctl.ts.",
    `net.netfilter.nf_conntrack_tcp_timeout_syn_recv = ${CONNTRACK_SYN_RECV_SECONDS}`,
    `net.netfilter.nf_conntrack_tcp_timeout_syn_sent = ${CONNTRACK_SYN_SENT_SECONDS}`,
    "",
  ].join("\n");
}
