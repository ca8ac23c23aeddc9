// Reads the rendered nftables ruleset back as who may open which port: the
// input chain's accept rules (by protocol, ports and source) and the ports
// prerouting DNATs home. Written against nft's syntax, not the renderer's
// code, and strict: an accept rule it cannot read is an error, so a new kind
// of rule cannot slip past the property that uses it.
import { parsePortRange, type PortRange, type Protocol } from "../../model/ports";

/**
 * Where a rule admits from: anyone, one interface (or, negated, every other;
 * with a literal source prefix when the rule names one), or an address set.
 */
export type RuleSource =
  | { kind: "anywhere" }
  | { kind: "interface"; name: string; negated?: true; saddr?: string }
  | { kind: "set"; family: 4 | 6; elements: string[] };

export interface OpenPort {
  protocol: Protocol;
  ports: PortRange[];
  from: RuleSource;
  rule: string;
}

export interface ReadRuleset {
  /** New connections the input chain accepts from outside the host. */
  input: OpenPort[];
  /** Ports prerouting sends home (they never reach the host's own listeners). */
  dnat: { protocol: Protocol; ports: PortRange }[];
}

function block(text: string, header: RegExp): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => header.test(l));
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && /^    \}$/.test(l));
  return lines.slice(start + 1, end).map((l) => l.trim());
}

function ports(text: string): PortRange[] {
  const items = text.startsWith("{") ? text.slice(1, -1).split(",").map((x) => x.trim()) : [text];
  return items.map((x) => {
    const r = parsePortRange(x);
    if (typeof r === "string") throw new Error(`ruleset: cannot read the port "${x}"`);
    return r;
  });
}

function elements(text: string, name: string): string[] {
  const body = block(text, new RegExp(`^    (set|map) ${name} \\{$`));
  const line = body.find((l) => l.startsWith("elements = {"));
  return line ? line.slice("elements = {".length, line.lastIndexOf("}")).split(",").map((x) => x.trim()) : [];
}

/** Things an accept rule may say that admit no new connection from outside: the rule is not about ports. */
const NOT_A_PORT = [/^ct state established,related accept$/, /^iif "lo" accept$/, /^meta l4proto (icmp|ipv6-icmp) accept$/];

/**
 * Conditions that only narrow an accept rule (never widen who gets in): a
 * family, "new" connections, a rate, a set of flows already seen. A rule
 * with them is read as if it opened its port to anyone, which can only
 * overstate what is open.
 */
const NARROWING = [/^meta nfproto ipv[46] /, / ct state new(?= )/, / limit rate \d+\/second burst \d+ packets(?= )/, / ip6? saddr \. udp sport @\w+(?= )/];

export function readRuleset(text: string): ReadRuleset {
  const input: OpenPort[] = [];
  for (const raw of block(text, /^    chain input \{$/)) {
    const rule = NARROWING.reduce((r, n) => r.replace(n, ""), raw.replace(/ comment "[^"]*"$/, ""));
    if (!/\baccept$/.test(rule) || NOT_A_PORT.some((r) => r.test(rule))) continue;
    const m = /^(?:iifname (?<neg>!= )?"(?<iface>[^"]+)" )?(?:(?<fam>ip6?) saddr (?:@(?<set>\w+)|(?<cidr>[0-9a-f.:]+\/\d+)) )?(?:(?:tcp|udp) sport \d+ )?(?<proto>tcp|udp) dport (?<ports>\d+(?:-\d+)?|\{ [^}]+ \}) accept$/.exec(rule);
    if (!m?.groups) throw new Error(`ruleset: an accept rule in the input chain this reader does not know: ${raw}`);
    const g = m.groups;
    if (g.iface && g.set) throw new Error(`ruleset: an interface and an address set in one rule: ${raw}`);
    if (g.cidr && !g.iface) throw new Error(`ruleset: a literal source prefix without an interface: ${raw}`);
    const from: RuleSource = g.set
      ? { kind: "set", family: g.fam === "ip6" ? 6 : 4, elements: elements(text, g.set) }
      : g.iface
        ? { kind: "interface", name: g.iface, ...(g.neg ? { negated: true as const } : {}), ...(g.cidr ? { saddr: g.cidr } : {}) }
        : { kind: "anywhere" };
    input.push({ protocol: g.proto as Protocol, ports: ports(g.ports), from, rule: raw });
  }
  const dnat: ReadRuleset["dnat"] = [];
  for (const name of ["forwards_kept", "forwards_remapped"]) {
    for (const e of elements(text, name)) {
      const m = /^(tcp|udp) \. (\d+(?:-\d+)?)\b/.exec(e);
      if (!m) throw new Error(`ruleset: cannot read the element "${e}" of ${name}`);
      dnat.push({ protocol: m[1] as Protocol, ports: ports(m[2])[0] });
    }
  }
  return { input, dnat };
}
