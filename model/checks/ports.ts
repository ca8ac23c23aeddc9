// Ports: the TURN relay range, the extra forwards (each against the others
// and every port an edge serves: port-conflicts.ts), and that no forward
// reaches home's PROXY-protocol ports.
import type { ExtraForward, ParsedConfig } from "../config";
import * as P from "../ports";
import { formatRange, overlaps, parsePortRange, type PortRange } from "../ports";
import { LABEL_TEXT } from "../shapes";
import { checkPortConflicts } from "./port-conflicts";
import { quoteRedacted, type Checks } from "./report";

/** The relay range, or undefined when it was rejected (nothing is then checked against it). */
export function checkTurnRelayPorts(p: ParsedConfig, c: Checks): PortRange | undefined {
  const relay = parsePortRange(p.turnRelayPorts);
  if (typeof relay === "string") c.report("turnRelayPorts", relay);
  else if (relay.to - relay.from < 15) c.report("turnRelayPorts", `${quoteRedacted(p.turnRelayPorts)} is too small; coturn needs a range of at least 16 ports (e.g. "49152-65535")`);
  // Below 1024 are the host's own daemons, some opened by the ruleset outside the services list (DHCP replies on 68/udp, 546/udp).
  else if (relay.from < P.FIRST_UNPRIVILEGED_PORT) c.report("turnRelayPorts", `${quoteRedacted(p.turnRelayPorts)} reaches below ${P.FIRST_UNPRIVILEGED_PORT}, where the host's own daemons listen (SSH 22, DHCP 68, NTP 123); choose a range within ${P.FIRST_UNPRIVILEGED_PORT}-65535 (e.g. "${P.DEFAULT_TURN_RELAY_PORTS}")`);
  else if (ephemeralLeft(relay) < P.MIN_EPHEMERAL_LEFT) c.report("turnRelayPorts", `${quoteRedacted(p.turnRelayPorts)} leaves ${ephemeralLeft(relay)} of the kernel's ephemeral ports (${formatRange(P.EPHEMERAL_PORTS)}) for the host's own connections, which the relay range is reserved from; leave at least ${P.MIN_EPHEMERAL_LEFT} (e.g. "${P.DEFAULT_TURN_RELAY_PORTS}")`);
  else return relay;
  return undefined;
}

/** How many of the kernel's ephemeral ports the reserved relay range leaves. */
const ephemeralLeft = (relay: PortRange) => P.ephemeralLeft(P.reservedWithin([relay]));

/** One TURN session's cap, in whole kbit/s. */
export function checkTurnSession(p: ParsedConfig, c: Checks): void {
  const r = P.TURN_SESSION_KBPS_RANGE;
  if (!Number.isInteger(p.turnSessionKbps) || p.turnSessionKbps < r.min || p.turnSessionKbps > r.max) {
    c.report("turnSessionKbps", `${quoteRedacted(p.turnSessionKbps)} is not a session bandwidth cap; expected whole kbit/s from ${r.min} to ${r.max} (default ${P.DEFAULT_TURN_SESSION_KBPS}: HD video needs about 2500)`);
  }
}

/** What each UDP forward may send home, in whole packets/s. */
export function checkUdpForwardBudget(p: ParsedConfig, c: Checks): void {
  const r = P.UDP_FORWARD_PPS_RANGE;
  const v = p.udpForwardPacketsPerSecond;
  if (!Number.isInteger(v) || v < r.min || v > r.max) {
    c.report("udpForwardPacketsPerSecond", `${quoteRedacted(v)} is not a packet rate; expected whole packets/s from ${r.min} to ${r.max} (default ${P.DEFAULT_UDP_FORWARD_PPS})`);
  }
}

/** The window scale the SYN proxy announces for home. */
export function checkSynProxy(p: ParsedConfig, c: Checks): void {
  const r = P.SYN_PROXY_WSCALE_RANGE;
  const v = p.synProxyWindowScale;
  if (!Number.isInteger(v) || v < r.min || v > r.max) {
    c.report("synProxyWindowScale", `${quoteRedacted(v)} is not a TCP window scale; expected a whole number from ${r.min} to ${r.max}, at most home's own (default ${P.DEFAULT_SYN_PROXY_WSCALE}, Linux's with default buffers)`);
  }
}

export function checkExtraForwards(p: ParsedConfig, turnRelayPorts: PortRange | undefined, c: Checks): ExtraForward[] {
  const extraForwards: ExtraForward[] = [];
  const extraIndex: number[] = []; // each valid entry's position in the user's list, for messages
  p.extraForwards.forEach((f, i) => {
    const key = `extraForwards[${i}]`;
    if (f.description !== undefined && !LABEL_TEXT.test(f.description)) {
      c.report(`${key}.description`, `${quoteRedacted(f.description)} is not a plain label; it is written into PLAN.md and the firewall's rule descriptions, so expected up to 80 letters, digits, spaces and . _ , : ( ) / + -`);
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
  checkProxyProtocolHomePorts(extraForwards, extraIndex, c);
  return extraForwards;
}

/** Home ports that trust a PROXY protocol header: an internet client must never reach them directly. */
const HOME_PROXY_PROTOCOL_PORTS = [P.HOME_C2S_PROXY_PROTOCOL_PORT, P.HOME_S2S_PROXY_PROTOCOL_PORT];

function checkProxyProtocolHomePorts(extra: ExtraForward[], index: number[], c: Checks): void {
  extra.forEach((f, i) => {
    const home = f.toPort === undefined ? f.ports : P.single(f.toPort);
    const hit = HOME_PROXY_PROTOCOL_PORTS.find((port) => overlaps(home, P.single(port)));
    if (hit === undefined) return;
    const key = `extraForwards[${index[i]}].${f.toPort === undefined ? "port" : "toPort"}`;
    c.report(key, `forwards to home port ${hit}, where Prosody trusts a PROXY protocol header (clientIp "proxy-protocol"): anyone on the internet could send one and pose as any client address; choose another home port`);
  });
}
