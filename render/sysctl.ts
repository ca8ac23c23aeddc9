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

export function renderSysctl(): string {
  return [
    generatedHeader("#", "Kernel settings for the xmpp-edge forwards (DNAT to the home server over the tailnet)."),
    "net.ipv4.ip_forward = 1",
    "net.ipv6.conf.all.forwarding = 1",
    "# Forwarding turns off router advertisements unless accept_ra is 2; keep IPv6 autoconfiguration working.",
    "net.ipv6.conf.all.accept_ra = 2",
    "net.ipv6.conf.default.accept_ra = 2",
    "# A TCP packet that is not a SYN starts no connection: with loose tracking (1, the default) a bare",
    "# spoofed ACK to a forwarded port became an established connection and was forwarded home.",
    "net.netfilter.nf_conntrack_tcp_loose = 0",
    "# Half-open connections (spoofed SYNs) leave conntrack soon; see render/sysctl.ts.",
    `net.netfilter.nf_conntrack_tcp_timeout_syn_recv = ${CONNTRACK_SYN_RECV_SECONDS}`,
    `net.netfilter.nf_conntrack_tcp_timeout_syn_sent = ${CONNTRACK_SYN_SENT_SECONDS}`,
    "",
  ].join("\n");
}
