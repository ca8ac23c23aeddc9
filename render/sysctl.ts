import type { EdgeModel } from "../model/model";
import { EPHEMERAL_PORTS, formatRange } from "../model/ports";
import { reservedLocalPorts } from "../model/model";
import { CONNTRACK_ENTRY_BYTES } from "../model/limits";
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

/**
 * conntrack's hold on a UDP flow nobody has answered yet (kernel default
 * 30 s). A UDP forward's flows leave the edge from one tailnet address to
 * one home port, so masquerade has about 64,500 source ports for all of
 * them at once: a spoofed flood the forward's budget admits (10,000 new
 * flows a second by default) filled them in 6.4 s at 30 s, and every new
 * flow to that port, a real one too, then failed its conntrack insert
 * (bench:flood's G1; measured in the flood bench's namespaces, 2026-12-07:
 * 25,000 spoofed datagrams a second for 8 s to 64738, 4,157 inserts failed
 * at 30 s and none in 15 s at 5 s). A flow answered within the kernel's
 * first 2 s, and every flow after it, follows the stream timeout (120 s);
 * a one-way stream is refreshed by each of its packets.
 */
export const CONNTRACK_UDP_UNREPLIED_SECONDS = 5;

/**
 * How long conntrack keeps an established TCP connection that sends
 * nothing (kernel default: 5 days, so a table filled by real handshakes
 * stays full). Four hours outlasts Linux's TCP keepalive (first probe
 * after 2 h, what Prosody's tcp_keepalives uses) and every XMPP client's
 * ping; a call's media is UDP, refreshed by every packet. A connection
 * idle longer than this loses its entry: its next packet is not a SYN,
 * which strict tracking (tcp_loose 0) refuses, and the client reconnects.
 */
export const CONNTRACK_ESTABLISHED_SECONDS = 4 * 3600;

export function renderSysctl(model: EdgeModel): string {
  const c = model.config;
  const reserved = reservedLocalPorts(model);
  return [
    generatedHeader("#", "Kernel settings for the xmpp-edge forwards (DNAT to the home server over the tailnet) and coturn's relay range."),
    "net.ipv4.ip_forward = 1",
    "net.ipv6.conf.all.forwarding = 1",
    "# Forwarding turns off router advertisements unless accept_ra is 2; keep IPv6 autoconfiguration working.",
    "net.ipv6.conf.all.accept_ra = 2",
    "net.ipv6.conf.default.accept_ra = 2",
    `# The host's own outgoing connections get ports ${formatRange(EPHEMERAL_PORTS)}: nginx's connections to one home port all leave from`,
    "# one tailnet address, so this range is how many sessions a home port carries per family; see model/ports.ts.",
    `net.ipv4.ip_local_port_range = ${EPHEMERAL_PORTS.from} ${EPHEMERAL_PORTS.to}`,
    // Daemons bind these by number (coturn its relays too); only the ports the kernel picks for others skip them (IPv4 and IPv6).
    ...(reserved.length > 0
      ? [
          "# No outgoing connection gets a port a daemon here listens on (nginx, coturn, sshd, tailscaled) or coturn's relay range:",
          "# a daemon restarting finds its port free, and the relay guard (nftables) lets relays reach this host only there.",
          `net.ipv4.ip_local_reserved_ports = ${reserved.map(formatRange).join(",")}`,
        ]
      : []),
    "# A TCP packet that is not a SYN starts no connection: with loose tracking (1, the default) a bare",
    "# spoofed ACK to a forwarded port became an established connection and was forwarded home.",
    "net.netfilter.nf_conntrack_tcp_loose = 0",
    "# Half-open connections (spoofed SYNs) leave conntrack soon; see render/sysctl.ts.",
    `net.netfilter.nf_conntrack_tcp_timeout_syn_recv = ${CONNTRACK_SYN_RECV_SECONDS}`,
    `net.netfilter.nf_conntrack_tcp_timeout_syn_sent = ${CONNTRACK_SYN_SENT_SECONDS}`,
    "# A UDP flow nobody answered leaves conntrack after 5 s, not 30: a spoofed flood to a UDP forward",
    "# cannot hold all of masquerade's source ports to that home port; see render/sysctl.ts.",
    `net.netfilter.nf_conntrack_udp_timeout = ${CONNTRACK_UDP_UNREPLIED_SECONDS}`,
    "# An idle established connection leaves conntrack after 4 hours, not 5 days (TCP keepalive probes after 2).",
    `net.netfilter.nf_conntrack_tcp_timeout_established = ${CONNTRACK_ESTABLISHED_SECONDS}`,
    `# conntrackMax ${c.conntrackMax} entries (about ${Math.round((c.conntrackMax * CONNTRACK_ENTRY_BYTES) / 2 ** 20)} MB): when full, every new flow fails, DNS and the tailnet included.`,
    "# Only the initial network namespace may set it: in a container the apply reports it and goes on.",
    `net.netfilter.nf_conntrack_max = ${c.conntrackMax}`,
    "",
  ].join("\n");
}
