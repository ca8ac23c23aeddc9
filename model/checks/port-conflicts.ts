// No two things an edge listens on, relays or forwards share a port. Every
// port or range a setting moves (the TURN relay range on UDP, and on TCP with
// turnTcpRelay; each extraForward; each edge's SSH port) is compared with
// every fixed port and every other such setting, on its protocol. The stake:
// a service's accept rule over the SSH port opens SSH to anyone, past
// sshAllowFrom, and a forward over it sends SSH home.
import type { ExtraForward, ParsedConfig } from "../config";
import * as P from "../ports";
import { formatRange, overlaps, parsePortRange, type PortRange, type Protocol } from "../ports";
import { planHostPorts, planServices } from "../services";
import type { Checks } from "./report";

export interface Taken {
  protocol: Protocol;
  ports: PortRange;
  /** The setting that put it there; undefined for the edge's fixed ports. */
  key?: string;
  what: string;
  /** What the setting could be instead: the end of the message when this one is reported. */
  valid?: string;
}

/** Services whose presence or ports come from a setting: not checked against when that setting was rejected. */
const SERVICE_DEPENDS_ON: Record<string, string[]> = {
  proxy65: ["preset"],
  "stun-turn-udp": ["turn"],
  "stun-turn-tcp": ["turn"],
  "turn-relay": ["turn", "turnRelayPorts"],
  "turn-relay-tcp": ["turn", "turnRelayPorts", "turnTcpRelay"],
};

const RELAY_VALID = `choose a relay range clear of it (at least 16 ports, e.g. "${P.DEFAULT_TURN_RELAY_PORTS}")`;
const SSH_VALID = "the edge's SSH needs a port of its own: choose another port";

/** The first edge's existing host and its key: the top-level one, or edges[0]'s. */
export function firstExistingHost(p: ParsedConfig): { key: string; host: NonNullable<ParsedConfig["existingHost"]> } | undefined {
  if (p.existingHost) return { key: "existingHost", host: p.existingHost };
  const first = p.edges?.[0]?.existingHost;
  return first ? { key: "edges[0].existingHost", host: first } : undefined;
}

/** The SSH port of the (first) host: an existing host's own, else 22. */
export function sshPortOf(p: ParsedConfig): number {
  return firstExistingHost(p)?.host.port ?? P.SSH_PORT;
}

/** The services every edge serves, without extraForwards; the relay range on each protocol it is open on, keyed turnRelayPorts. */
function plannedPorts(p: ParsedConfig, relay: PortRange | undefined, c: Checks): Taken[] {
  return planServices({ preset: p.preset, clientIp: p.clientIp, turn: p.turn, turnRelayPorts: relay ?? P.single(0), turnTcpRelay: p.turnTcpRelay, extraForwards: [] })
    .filter((s) => (SERVICE_DEPENDS_ON[s.id] ?? []).every((k) => c.ok(k)) && (relay !== undefined || !s.id.startsWith("turn-relay")))
    .map((s): Taken => {
      const what = `the planned ${s.id} port (${s.purpose})`;
      if (s.id === "turn-relay") return { protocol: s.protocol, ports: s.ports, key: "turnRelayPorts", what, valid: RELAY_VALID };
      // The TCP relay range is the same setting: its accept rule opens the range to anyone over TCP.
      if (s.id === "turn-relay-tcp") return { protocol: s.protocol, ports: s.ports, key: "turnRelayPorts", what, valid: `with turnTcpRelay the range is open to anyone over TCP too; ${RELAY_VALID}, or turnTcpRelay false` };
      return { protocol: s.protocol, ports: s.ports, what };
    });
}

/** The host's own ports but SSH (tailscaled's): fixed. */
function otherHostPorts(): Taken[] {
  return planHostPorts({ port: P.SSH_PORT, from: [] })
    .filter((h) => h.id !== "ssh")
    .map((h): Taken => ({ protocol: h.protocol, ports: h.ports, what: h.purpose }));
}

/** An SSH port: the first edge's (22 when no host is given: fixed) or a later edge's. */
function sshTaken(port: number, key: string | undefined): Taken {
  const h = planHostPorts({ port, from: [] }).find((x) => x.id === "ssh")!;
  return { protocol: h.protocol, ports: h.ports, key, what: h.purpose, valid: SSH_VALID };
}

function forwardTaken(f: { ports: PortRange; protocol: Protocol }, index: number): Taken {
  return { protocol: f.protocol, ports: f.ports, key: `extraForwards[${index}].port`, what: `extraForwards[${index}]`, valid: "choose ports outside it" };
}

const label = (t: Taken) => `${formatRange(t.ports)}/${t.protocol}`;

/** Reports `b` (a setting) for every earlier port it overlaps; true when it overlaps none. */
function compare(b: Taken & { key: string }, earlier: Taken[], c: Checks): boolean {
  let clear = true;
  for (const a of earlier) {
    if (a.protocol !== b.protocol || !overlaps(a.ports, b.ports)) continue;
    clear = false;
    if (a.key?.startsWith("extraForwards[") && b.key.startsWith("extraForwards[")) {
      c.report(b.key, `${label(b)} overlaps ${a.what} (${label(a)}); each port may be forwarded once`);
    } else {
      c.report(b.key, `${label(b)} overlaps ${label(a)}, ${a.what}${a.key && a.key !== b.key && !a.key.startsWith("extraForwards[") ? `, set by ${a.key}` : ""}; ${b.valid ?? "choose ports outside it"}`);
    }
  }
  return clear;
}

/**
 * Every port of the first edge against every other: fixed ports first, then
 * the settings in the order they appear in the stack file; each setting is
 * reported against what comes before it. Two fixed ports never meet: they
 * are constants, and a clash between them is a bug here, not the user's.
 */
export function checkPortConflicts(extra: ExtraForward[], index: number[], p: ParsedConfig, relay: PortRange | undefined, c: Checks): void {
  // An existing host's SSH port is the user's; a rejected one (or a rejected existingHost) is not checked against.
  const first = firstExistingHost(p);
  const hostKey = c.given("existingHost") ? "existingHost" : first?.key;
  const sshKey = hostKey ? `${hostKey}.port` : undefined;
  const sshKnown = sshKey === undefined || (first !== undefined && c.ok(sshKey));
  const edgePorts = [...plannedPorts(p, relay, c), ...otherHostPorts(), ...(sshKnown ? [sshTaken(sshPortOf(p), sshKey)] : [])];
  const fixed = edgePorts.filter((t) => t.key === undefined);
  const set = edgePorts.filter((t) => t.key !== undefined);
  const forwards = extra.map((f, i) => forwardTaken(f, index[i]));
  for (let j = 0; j < fixed.length; j++) {
    const clash = fixed.slice(0, j).find((a) => a.protocol === fixed[j].protocol && overlaps(a.ports, fixed[j].ports));
    if (clash) throw new Error(`model/ports.ts: the fixed ports ${label(clash)} (${clash.what}) and ${label(fixed[j])} (${fixed[j].what}) overlap`);
  }
  const all = [...fixed, ...set, ...forwards];
  all.forEach((b, j) => {
    if (b.key !== undefined) compare({ ...b, key: b.key }, all.slice(0, j), c);
  });
}

/**
 * A later edge's SSH port (the first edge's is in checkPortConflicts) against
 * every port every edge serves, relays or forwards, and tailscaled's: that
 * edge's ruleset opens its SSH port beside all of them. Settings already
 * rejected are not judged against.
 */
export function checkEdgeSshPort(p: ParsedConfig, port: number, key: string, c: Checks): boolean {
  const parsed = c.ok("turnRelayPorts") ? parsePortRange(p.turnRelayPorts) : undefined;
  const relay = typeof parsed === "string" ? undefined : parsed;
  const forwards = p.extraForwards.flatMap((f, i) => {
    const ports = parsePortRange(String(f.port));
    return typeof ports === "string" || !c.ok(`extraForwards[${i}].port`) ? [] : [forwardTaken({ ports, protocol: f.protocol }, i)];
  });
  return compare({ ...sshTaken(port, key), key }, [...plannedPorts(p, relay, c), ...otherHostPorts(), ...forwards], c);
}
