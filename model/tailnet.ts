// What the edge needs from the tailnet: the home ports it reaches. The
// tailnet policy snippet (render/tailscale-acl.ts) grants exactly these.
import { routedHomePorts, type EdgeModel } from "./model";
import type { PortRange, Protocol } from "./ports";

/** What the edge needs to reach at home: every home port of the model, by protocol. */
export function homePorts(model: EdgeModel): Record<Protocol, PortRange[]> {
  const out: Record<Protocol, PortRange[]> = { tcp: [], udp: [] };
  const add = (protocol: Protocol, r: PortRange) => {
    if (!out[protocol].some((x) => x.from === r.from && x.to === r.to)) out[protocol].push(r);
  };
  for (const s of model.services) if (s.home) add(s.protocol, s.home);
  for (const p of routedHomePorts(model)) add("tcp", { from: p, to: p });
  for (const list of Object.values(out)) list.sort((a, b) => a.from - b.from);
  return out;
}
