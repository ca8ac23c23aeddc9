// Who can open a connection to one of the host's own ports: those its own
// rule admits, and anyone a rule of another port covering it admits (a
// service's or a forward's, open to anyone). The checks refuse every such
// overlap, so for an accepted config the second list is empty; PLAN.md states
// what this computes from the model, so it cannot say less than the ruleset
// opens.
import { inboundPorts, type EdgeModel, type InboundPort } from "./model";
import { overlaps } from "./ports";
import type { HostPort } from "./services";

export interface Exposure {
  port: HostPort;
  /** Other inbound ports (services, forwards) whose rules cover it: each opens it to its own sources. */
  alsoThrough: InboundPort[];
}

export function exposureOf(model: EdgeModel, id: HostPort["id"]): Exposure {
  const port = model.hostPorts.find((h) => h.id === id);
  if (!port) throw new Error(`model: no host port "${id}"`);
  const alsoThrough = inboundPorts(model).filter((p) => p.id !== id && p.protocol === port.protocol && overlaps(p.ports, port.ports));
  return { port, alsoThrough };
}
