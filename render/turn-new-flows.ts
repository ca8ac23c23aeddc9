// New flows to coturn's UDP port (STUN and TURN over UDP). coturn keeps
// state for every request's source until max-allocate-timeout, whether or
// not it ever answers: spoofed Binding or Allocate requests cost memory at
// the rate they come (bench:flood, 20,000/s for 60 s: 3.3 GiB without this filter, bench/REPORT.md). Up to a normal
// rate new flows go straight to coturn; beyond it, a flow's first packet is
// dropped and its address and port remembered, and its retransmission (a
// real STUN client resends an unanswered request within a second) passes.
// A spoofed source sends once, so it never reaches coturn. A flow coturn
// has answered is established in conntrack and never counted here. What
// this does not stop: an attacker who sends every spoofed request twice
// (then coturn's own max-allocate-timeout and memory ceiling hold).
import { type EdgeModel, turnListener } from "../model/model";
import { formatRange, TURN_NEW_FLOW_LIMIT } from "../model/ports";
import { SET_SIZE } from "./source-limits";

/** In the comment of each rule (the lab's --weaken turn-new-flows takes them out). */
export const TURN_NEW_FLOWS_COMMENT = "coturn's new flows";

function stunPort(model: EdgeModel): string | undefined {
  const listen = turnListener(model);
  return listen && formatRange(listen.ports);
}

/** The sets of flows that sent their first packet, indented for the table body. */
export function turnNewFlowSets(model: EdgeModel): string[] {
  if (stunPort(model) === undefined) return [];
  const l = TURN_NEW_FLOW_LIMIT;
  return (["ipv4_addr", "ipv6_addr"] as const).flatMap((addr) => [
    `    set turn_first_${addr === "ipv4_addr" ? "v4" : "v6"} {`,
    `        type ${addr} . inet_service; size ${SET_SIZE}; flags dynamic,timeout; timeout ${l.retrySeconds}s;`,
    "    }",
  ]);
}

/** Input rules for new flows to coturn's UDP port, before its accept rule. */
export function turnNewFlowRules(model: EdgeModel): string[] {
  const port = stunPort(model);
  if (port === undefined) return [];
  const l = TURN_NEW_FLOW_LIMIT;
  const match = `udp dport ${port} ct state new`;
  const c = (what: string) => `comment "${TURN_NEW_FLOWS_COMMENT}: ${what}"`;
  return [
    `${match} limit rate ${l.perSecond}/second burst ${l.burst} packets accept ${c("at a normal rate, straight to coturn")}`,
    `meta nfproto ipv4 ${match} ip saddr . udp sport @turn_first_v4 accept ${c("beyond it, a retransmission")}`,
    `meta nfproto ipv6 ${match} ip6 saddr . udp sport @turn_first_v6 accept ${c("beyond it, a retransmission")}`,
    `meta nfproto ipv4 ${match} add @turn_first_v4 { ip saddr . udp sport } counter drop ${c("beyond it, a first packet (remembered)")}`,
    `meta nfproto ipv6 ${match} add @turn_first_v6 { ip6 saddr . udp sport } counter drop ${c("beyond it, a first packet (remembered)")}`,
    // A full set remembers no more: those first packets are dropped too, and their retransmissions with them.
    `${match} counter drop ${c("beyond it, first packets a full set cannot remember")}`,
  ];
}
