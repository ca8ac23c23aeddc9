// Ports: the TURN relay range, the extra forwards, and that no two things
// the edge listens on, relays or forwards share a port.
import type { ExtraForward, ParsedConfig } from "../config";
import { formatRange, overlaps, parsePortRange, type PortRange } from "../ports";
import { planServices, reservedPorts } from "../services";
import { show, type Report } from "./report";

export function checkTurnRelayPorts(p: ParsedConfig, report: Report): PortRange {
  let turnRelayPorts: PortRange = { from: 49152, to: 65535 };
  const relay = parsePortRange(p.turnRelayPorts);
  if (typeof relay === "string") report("turnRelayPorts", relay);
  else if (relay.to - relay.from < 15) report("turnRelayPorts", `${show(p.turnRelayPorts)} is too small; coturn needs a range of at least 16 ports (e.g. "49152-65535")`);
  else turnRelayPorts = relay;
  return turnRelayPorts;
}

export function checkExtraForwards(p: ParsedConfig, turnRelayPorts: PortRange, report: Report): ExtraForward[] {
  const extraForwards: ExtraForward[] = [];
  const extraIndex: number[] = []; // each valid entry's position in the user's list, for messages
  p.extraForwards.forEach((f, i) => {
    const key = `extraForwards[${i}]`;
    const ports = typeof f.port === "number" ? parsePortRange(String(f.port)) : parsePortRange(f.port);
    if (typeof ports === "string") return report(`${key}.port`, ports);
    if (f.toPort !== undefined) {
      if (f.toPort < 1 || f.toPort > 65535) return report(`${key}.toPort`, `${f.toPort} is outside 1-65535`);
      if (ports.from !== ports.to) return report(`${key}.toPort`, `toPort is only allowed with a single port; a range (${formatRange(ports)}) is forwarded to the same ports at home`);
    }
    extraForwards.push({ ports, protocol: f.protocol, toPort: f.toPort, description: f.description });
    extraIndex.push(i);
  });
  checkPortConflicts(extraForwards, extraIndex, p, turnRelayPorts, report);
  return extraForwards;
}

/** extraForwards must not overlap each other, a planned port, SSH or tailscaled. */
function checkPortConflicts(extra: ExtraForward[], index: number[], p: ParsedConfig, turnRelayPorts: PortRange, report: Report) {
  const planned = planServices({ preset: p.preset, clientIp: p.clientIp, turn: p.turn, turnRelayPorts, extraForwards: [] });
  const taken = [
    ...planned.map((s) => ({ protocol: s.protocol, ports: s.ports, what: `the planned ${s.id} port (${s.purpose})` })),
    ...reservedPorts(),
  ];
  extra.forEach((f, i) => {
    const key = `extraForwards[${index[i]}].port`;
    const label = `${formatRange(f.ports)}/${f.protocol}`;
    for (const t of taken) {
      if (t.protocol === f.protocol && overlaps(t.ports, f.ports)) {
        report(key, `${label} overlaps ${formatRange(t.ports)}/${t.protocol}, ${t.what}; choose ports outside it`);
      }
    }
    for (let j = 0; j < i; j++) {
      const o = extra[j];
      if (o.protocol === f.protocol && overlaps(o.ports, f.ports)) {
        report(key, `${label} overlaps extraForwards[${index[j]}] (${formatRange(o.ports)}/${o.protocol}); each port may be forwarded once`);
      }
    }
  });
}
