// DNS: every planned record answered as planned, direct TLS sorted first,
// proxied names on the proxy's addresses, and no answer anywhere a home,
// tailnet, private or documentation address.
import { Resolver } from "node:dns/promises";
import { inCidr, isLocalOnly } from "../model/net";
import type { Expected } from "./expected";
import { isNoDnsAnswer } from "./reach";
import type { CheckResult } from "./report";
import { fail, pass, run, withTimeout, type Outcome } from "./timed";

export interface DnsOptions {
  /** The resolver to ask (ADDR or ADDR:PORT); default: the system's. */
  resolver?: string;
  timeoutMs: number;
}

export function makeResolver(opts: DnsOptions): Resolver {
  const r = new Resolver({ timeout: Math.min(opts.timeoutMs, 2000), tries: 2 });
  if (opts.resolver) r.setServers([opts.resolver]);
  return r;
}

/** The answer, [] for "no such record" (NXDOMAIN/NODATA); other errors throw. */
async function answer<T>(what: string, timeoutMs: number, q: () => Promise<T[]>): Promise<T[]> {
  try {
    return await withTimeout(timeoutMs, what, q());
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOTFOUND" || code === "ENODATA") return [];
    throw new Error(`${what}: ${code ?? (e as Error).message}`);
  }
}

const same = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
const show = (a: string[]) => (a.length ? a.join(", ") : "no answer");

/** Why an address must not be published, or undefined if it may be. */
export function forbiddenReason(address: string, forbidden: Expected["dns"]["forbidden"]): string | undefined {
  for (const f of forbidden) if (inCidr(address, f.cidr)) return f.why;
  if (isLocalOnly(address)) return "a private or local-only address";
  return undefined;
}

/**
 * Why the resolver cannot be asked anything, or undefined when it answers.
 * Any DNS answer counts, "no such name" and "refused" included: only silence
 * or an unreachable server means the records cannot be judged from here.
 */
export async function resolverProblem(r: Resolver, name: string, timeoutMs: number): Promise<string | undefined> {
  try {
    await withTimeout(timeoutMs, `SOA ${name}`, r.resolveSoa(name));
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (isNoDnsAnswer(code)) return `${code} (SOA ${name})`;
    if (code === undefined && /no answer within/.test((e as Error).message)) return (e as Error).message;
    return undefined;
  }
}

/** What the DNS rows say when the resolver does not answer: one failure naming it, every record not judged. */
function resolverDown(exp: Expected, opts: DnsOptions, problem: string): CheckResult[] {
  const who = opts.resolver ? `--resolver ${opts.resolver}` : "the system's resolver";
  const notAsked = "not asked: the resolver does not answer";
  const names = [
    ...exp.dns.addressNames.flatMap((n) => [n.ipv4.length ? `A ${n.name}` : [], n.ipv6.length ? `AAAA ${n.name}` : []].flat()),
    ...exp.dns.cnames.map((c) => `CNAME ${c.name}`),
    ...exp.dns.srv.map((s) => `SRV ${s.name}`),
  ];
  return [
    { area: "dns", name: `resolver (${who})`, status: "fail", expected: "answers DNS queries", seen: problem, ms: 0,
      fix: `this machine gets no DNS answer from ${who}: no network here, or a wrong --resolver. Nothing is known about the records, and nothing needs changing at Cloudflare; check this machine's network, or pass --resolver ADDR` },
    ...names.map((name): CheckResult => ({ area: "dns", name, status: "skip", expected: "as planned", seen: notAsked, ms: 0 })),
  ];
}

export async function checkDns(exp: Expected, opts: DnsOptions): Promise<CheckResult[]> {
  const r = makeResolver(opts);
  const t = opts.timeoutMs;
  const down = await resolverProblem(r, exp.domain, t);
  if (down !== undefined) return resolverDown(exp, opts, down);
  const checks: Promise<CheckResult>[] = [];

  for (const n of exp.dns.addressNames) {
    for (const [type, want] of [["A", n.ipv4], ["AAAA", n.ipv6]] as const) {
      if (want.length === 0) continue;
      const expected = n.proxied ? `proxied: Cloudflare's addresses, not the edge's (${want.join(", ")})` : want.join(", ");
      const fix = n.proxied
        ? `create the record proxied (orange cloud) at Cloudflare, or run pulumi up (dns: cloudflare)`
        : `set ${n.name} ${type} to the edge (pulumi stack output dnsRecords), DNS-only`;
      checks.push(run("dns", `${type} ${n.name}`, expected, fix, async (): Promise<Outcome> => {
        const seen = await answer(`${type} ${n.name}`, t, () => (type === "A" ? r.resolve4(n.name) : r.resolve6(n.name)));
        const bad = seen.map((a) => [a, forbiddenReason(a, exp.dns.forbidden)] as const).find(([, why]) => why);
        if (bad) return fail(expected, `${show(seen)}: ${bad[0]} is ${bad[1]}`, `the record leaks an address that must never be public: ${fix}`);
        if (!n.proxied) return same(seen, want) ? pass(expected, show(seen)) : fail(expected, show(seen), fix);
        if (seen.length === 0) return fail(expected, "no answer", fix);
        const edge = seen.filter((a) => want.includes(a));
        if (edge.length) return fail(expected, `${show(seen)}: the edge's own address (not proxied: the origin lock refuses browsers)`, fix);
        const outside = seen.filter((a) => !exp.dns.proxyRanges.some((cidr) => inCidr(a, cidr)));
        if (outside.length) return fail(expected, `${show(seen)}: ${outside.join(", ")} is not Cloudflare's (nor in webOriginExtraAllow)`, fix);
        return pass(expected, `${show(seen)} (proxy)`);
      }));
    }
  }

  for (const cn of exp.dns.cnames) {
    const fix = `create ${cn.name} CNAME ${cn.target}, DNS-only (Snikket's groups./share. names)`;
    checks.push(run("dns", `CNAME ${cn.name}`, cn.target, fix, async () => {
      const seen = await answer(`CNAME ${cn.name}`, t, () => r.resolveCname(cn.name));
      return same(seen, [cn.target]) ? pass(cn.target, show(seen)) : fail(cn.target, show(seen), fix);
    }));
  }

  const srvSeen = new Map<string, Promise<{ priority: number; weight: number; port: number; name: string }[]>>();
  const srvOf = (name: string) => {
    if (!srvSeen.has(name)) srvSeen.set(name, answer(`SRV ${name}`, t, () => r.resolveSrv(name)));
    return srvSeen.get(name)!;
  };
  for (const s of exp.dns.srv) {
    const fmt = (d: { priority: number; weight: number; port: number; target?: string; name?: string }) => `${d.priority} ${d.weight} ${d.port} ${d.target ?? d.name}`;
    const expected = s.records.map(fmt).join("; ");
    const fix = `create ${s.name} SRV ${expected} (pulumi stack output dnsRecords)`;
    checks.push(run("dns", `SRV ${s.name}`, expected, fix, async () => {
      const seen = await srvOf(s.name);
      const seenText = seen.length ? seen.map(fmt).join("; ") : "no answer";
      return same(seen.map(fmt), s.records.map(fmt)) ? pass(expected, seenText) : fail(expected, seenText, fix);
    }));
  }
  for (const o of exp.dns.srvOrder) {
    const expected = `${o.first} sorts before ${o.then} (lower priority)`;
    const fix = "give the _xmpps-* (direct TLS, 443) records a lower priority number than the _xmpp-* ones (XEP-0368)";
    checks.push(run("dns", `SRV order ${o.first.split(".")[0]}`, expected, fix, async () => {
      const [a, b] = await Promise.all([srvOf(o.first), srvOf(o.then)]);
      if (!a.length || !b.length) return fail(expected, `missing: ${[!a.length && o.first, !b.length && o.then].filter(Boolean).join(", ")}`, fix);
      const pa = Math.min(...a.map((x) => x.priority));
      const pb = Math.min(...b.map((x) => x.priority));
      return pa < pb ? pass(expected, `${pa} < ${pb}`) : fail(expected, `${pa} ≥ ${pb}`, fix);
    }));
  }
  return Promise.all(checks);
}
