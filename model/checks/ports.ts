// Ports: the TURN relay range, the extra forwards, an existing host's SSH
// port, and that no two things the edge listens on, relays or forwards share
// a port, nor does a forward reach home's PROXY-protocol ports.
import type { ExtraForward, ParsedConfig } from "../config";
import * as P from "../ports";
import { formatRange, overlaps, parsePortRange, type PortRange, type Protocol } from "../ports";
import { planHostPorts, planServices } from "../services";
import { LABEL_TEXT } from "../shapes";
import { show, type Checks } from "./report";

/** The relay range, or undefined when it was rejected (nothing is then checked against it). */
export function checkTurnRelayPorts(p: ParsedConfig, c: Checks): PortRange | undefined {
  const relay = parsePortRange(p.turnRelayPorts);
  if (typeof relay === "string") c.report("turnRelayPorts", relay);
  else if (relay.to - relay.from < 15) c.report("turnRelayPorts", `${show(p.turnRelayPorts)} is too small; coturn needs a range of at least 16 ports (e.g. "49152-65535")`);
  else return relay;
  return undefined;
}

/** One TURN session's cap, in whole kbit/s. */
export function checkTurnSession(p: ParsedConfig, c: Checks): void {
  const r = P.TURN_SESSION_KBPS_RANGE;
  if (!Number.isInteger(p.turnSessionKbps) || p.turnSessionKbps < r.min || p.turnSessionKbps > r.max) {
    c.report("turnSessionKbps", `${show(p.turnSessionKbps)} is not a session bandwidth cap; expected whole kbit/s from ${r.min} to ${r.max} (default ${P.DEFAULT_TURN_SESSION_KBPS}: HD video needs about 2500)`);
  }
}

/** What each UDP forward may send home, in whole packets/s. */
export function checkUdpForwardBudget(p: ParsedConfig, c: Checks): void {
  const r = P.UDP_FORWARD_PPS_RANGE;
  const v = p.udpForwardPacketsPerSecond;
  if (!Number.isInteger(v) || v < r.min || v > r.max) {
    c.report("udpForwardPacketsPerSecond", `${show(v)} is not a packet rate; expected whole packets/s from ${r.min} to ${r.max} (default ${P.DEFAULT_UDP_FORWARD_PPS})`);
  }
}

export function checkExtraForwards(p: ParsedConfig, turnRelayPorts: PortRange | undefined, c: Checks): ExtraForward[] {
  const extraForwards: ExtraForward[] = [];
  const extraIndex: number[] = []; // each valid entry's position in the user's list, for messages
  p.extraForwards.forEach((f, i) => {
    const key = `extraForwards[${i}]`;
    if (f.description !== undefined && !LABEL_TEXT.test(f.description)) {
      c.report(`${key}.description`, `${show(f.description)} is not a plain label; it is written into PLAN.md and the firewall's rule descriptions, so expected up to 80 letters, digits, spaces and . _ , : ( ) / + -`);
    }
    const ports = typeof f.port === "number" ? parsePortRange(String(f.port)) : parsePortRange(f.port);
    if (typeof ports === "string") return c.report(`${key}.port`, ports);
    if (f.toPort !== undefined) {
      if (f.toPort < 1 || f.toPort > 65535) return c.report(`${key}.toPort`, `${f.toPort} is outside 1-65535`);
      if (ports.from !== ports.to) return c.report(`${key}.toPort`, `toPort is only allowed with a single port; a range (${formatRange(ports)}) is forwarded to the same ports at home`);
    }
    if (!c.ok(`${key}.description`)) return;
    extraForwards.push({ ports, protocol: f.protocol, toPort: f.toPort, description: f.description });
    extraIndex.push(i);
  });
  checkPortConflicts(extraForwards, extraIndex, p, turnRelayPorts, c);
  return extraForwards;
}

interface Taken {
  protocol: Protocol;
  ports: PortRange;
  /** The setting that put it there; undefined for the edge's fixed ports. */
  key?: string;
  what: string;
}

/** Services whose presence or ports come from a setting: not checked against when that setting was rejected. */
const SERVICE_DEPENDS_ON: Record<string, string[]> = {
  proxy65: ["preset"],
  "stun-turn-udp": ["turn"],
  "stun-turn-tcp": ["turn"],
  "turn-relay": ["turn", "turnRelayPorts"],
  "turn-relay-tcp": ["turn", "turnRelayPorts", "turnTcpRelay"],
};

/** Home ports that trust a PROXY protocol header: an internet client must never reach them directly. */
const HOME_PROXY_PROTOCOL_PORTS = [P.HOME_C2S_PROXY_PROTOCOL_PORT, P.HOME_S2S_PROXY_PROTOCOL_PORT];

/** The first edge's existing host and its key: the top-level one, or edges[0]'s. */
export function firstExistingHost(p: ParsedConfig): { key: string; host: NonNullable<ParsedConfig["existingHost"]> } | undefined {
  if (p.existingHost) return { key: "existingHost", host: p.existingHost };
  const first = p.edges?.[0]?.existingHost;
  return first ? { key: "edges[0].existingHost", host: first } : undefined;
}

/** The SSH port of the (first) host: an existing host's own, else 22. Later edges' own ports: checks/edges.ts. */
export function sshPortOf(p: ParsedConfig): number {
  return firstExistingHost(p)?.host.port ?? P.SSH_PORT;
}

/** Every port the edge listens on, relays or forwards, checked against every other. */
function checkPortConflicts(extra: ExtraForward[], index: number[], p: ParsedConfig, turnRelayPorts: PortRange | undefined, c: Checks) {
  const relay = turnRelayPorts ?? P.single(0); // a placeholder the filter below drops
  const planned = planServices({ preset: p.preset, clientIp: p.clientIp, turn: p.turn, turnRelayPorts: relay, turnTcpRelay: p.turnTcpRelay, extraForwards: [] })
    .filter((s) => (SERVICE_DEPENDS_ON[s.id] ?? []).every((k) => c.ok(k)))
    .map((s): Taken => ({ protocol: s.protocol, ports: s.ports, key: s.id === "turn-relay" ? "turnRelayPorts" : undefined, what: `the planned ${s.id} port (${s.purpose})` }));
  // An existing host's SSH port is the user's; a rejected one (or a rejected existingHost) is not checked against.
  const first = firstExistingHost(p);
  const hostKey = c.given("existingHost") ? "existingHost" : first?.key;
  const sshKey = hostKey ? `${hostKey}.port` : undefined;
  const sshKnown = sshKey === undefined || (first !== undefined && c.ok(sshKey));
  const reserved = planHostPorts({ port: sshPortOf(p), from: [] })
    .filter((h) => h.id !== "ssh" || sshKnown)
    .map((h): Taken => ({ protocol: h.protocol, ports: h.ports, what: h.purpose, key: h.id === "ssh" ? sshKey : undefined }));
  // Fixed ports first, then the configurable ones in the order they appear in the stack file.
  const fixed = [...planned, ...reserved].filter((t) => t.key === undefined);
  const set = [...planned, ...reserved].filter((t) => t.key !== undefined);
  const forwards = extra.map((f, i): Taken => ({ protocol: f.protocol, ports: f.ports, key: `extraForwards[${index[i]}].port`, what: `extraForwards[${index[i]}]` }));
  const all = [...fixed, ...set, ...forwards];
  const label = (t: Taken) => `${formatRange(t.ports)}/${t.protocol}`;
  for (let j = 0; j < all.length; j++) {
    const b = all[j];
    if (b.key === undefined) continue;
    for (let i = 0; i < j; i++) {
      const a = all[i];
      if (a.protocol !== b.protocol || !overlaps(a.ports, b.ports)) continue;
      if (a.key?.startsWith("extraForwards[")) {
        c.report(b.key, `${label(b)} overlaps ${a.what} (${label(a)}); each port may be forwarded once`);
      } else {
        c.report(b.key, `${label(b)} overlaps ${label(a)}, ${a.what}; choose ports outside it`);
      }
    }
  }
  extra.forEach((f, i) => {
    const home = f.toPort === undefined ? f.ports : P.single(f.toPort);
    const hit = HOME_PROXY_PROTOCOL_PORTS.find((port) => overlaps(home, P.single(port)));
    if (hit === undefined) return;
    const key = `extraForwards[${index[i]}].${f.toPort === undefined ? "port" : "toPort"}`;
    c.report(key, `forwards to home port ${hit}, where Prosody trusts a PROXY protocol header (clientIp "proxy-protocol"): anyone on the internet could send one and pose as any client address; choose another home port`);
  });
}
