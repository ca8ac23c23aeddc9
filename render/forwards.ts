// The DNAT of forwarded ports to home (the nftables-handled services: XMPP
// ports in masquerade mode and every extraForward), as two lookups whatever
// their number: a set of the ports forwarded as they are (ranges included)
// and a map of the single ports remapped (toPort). One rule per forward, as
// before, is walked rule by rule for every new connection: `npm run
// bench:scale` measured connect latency to the last of 1,000 forwards
// (2,008 DNAT rules) about twice that to the last of 10 (bench/REPORT.md,
// Configuration scaling). A set or map lookup costs the same at 1 or 1,000.
import { servicesBy, type EdgeModel, type HostFacts } from "../model/model";
import { formatRange } from "../model/ports";
import type { Service } from "../model/services";

export const FORWARDS_KEPT_SET = "forwards_kept";
export const FORWARDS_REMAPPED_MAP = "forwards_remapped";

/** A single port forwarded to another port at home; a range always keeps its ports. */
function remapped(svc: Service): boolean {
  return svc.ports.from === svc.ports.to && svc.home !== undefined && svc.home.from !== svc.ports.from;
}

/** Named sets/maps (indented for the table body) and the prerouting rules that use them. */
export function renderForwards(model: EdgeModel, f: HostFacts): { sets: string[]; rules: string[] } {
  const forwarded = servicesBy(model, "nftables");
  const kept = forwarded.filter((s) => !remapped(s));
  const moved = forwarded.filter(remapped);
  const key = (s: Service) => `${s.protocol} . ${formatRange(s.ports)} comment "${s.id}"`;
  const sets: string[] = [];
  const rules: string[] = [];
  if (kept.length > 0) {
    sets.push(
      `    set ${FORWARDS_KEPT_SET} {`,
      "        type inet_proto . inet_service; flags interval;",
      `        elements = { ${kept.map(key).join(", ")} }`,
      "    }",
    );
    const match = `meta l4proto . th dport @${FORWARDS_KEPT_SET}`;
    rules.push(`meta nfproto ipv4 ${match} dnat ip to ${f.homeIPv4} comment "forwarded ports, same port at home"`);
    if (f.homeIPv6 !== undefined) rules.push(`meta nfproto ipv6 ${match} dnat ip6 to ${f.homeIPv6} comment "forwarded ports, same port at home"`);
  }
  if (moved.length > 0) {
    sets.push(
      `    map ${FORWARDS_REMAPPED_MAP} {`,
      "        type inet_proto . inet_service : inet_service;",
      `        elements = { ${moved.map((s) => `${key(s)} : ${s.home!.from}`).join(", ")} }`,
      "    }",
    );
    // nft needs a transport match before a port mapping; a port not in the map ends the rule (no DNAT).
    const port = `meta l4proto . th dport map @${FORWARDS_REMAPPED_MAP}`;
    rules.push(`meta nfproto ipv4 meta l4proto { tcp, udp } dnat ip to ${f.homeIPv4} : ${port} comment "forwarded ports, remapped (toPort)"`);
    if (f.homeIPv6 !== undefined) {
      rules.push(`meta nfproto ipv6 meta l4proto { tcp, udp } dnat ip6 to [${f.homeIPv6}] : ${port} comment "forwarded ports, remapped (toPort)"`);
    }
  }
  return { sets, rules };
}
