// Ports: a TCP connect probe of the planned ports and a short fixed list of
// common ones on every edge address (never a sweep): exactly the planned
// ones answer.
import * as net from "node:net";
import { SSH_PORT } from "../model/ports";
import type { Expected } from "./expected";
import type { CheckResult } from "./report";

export type PortState = "open" | "closed" | "filtered" | "unreachable";

/** open: connected; closed: refused (RST); filtered: no answer in time (dropped); unreachable: no route from here. */
export function probe(host: string, port: number, timeoutMs: number): Promise<PortState> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (state: PortState) => {
      clearTimeout(timer);
      s.destroy();
      resolve(state);
    };
    const timer = setTimeout(() => done("filtered"), timeoutMs);
    s.once("connect", () => done("open"));
    s.once("error", (e) => {
      const code = (e as NodeJS.ErrnoException).code;
      done(code === "ECONNREFUSED" ? "closed" : code === "ENETUNREACH" || code === "EHOSTUNREACH" || code === "ENETDOWN" ? "unreachable" : "filtered");
    });
  });
}

/** At most `limit` probes at once: a burst of hundreds would look like (and be treated as) a scan. */
async function limited<T, R>(items: T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  }));
  return out;
}

export async function checkPorts(exp: Expected, timeoutMs: number): Promise<CheckResult[]> {
  const addresses = exp.edges.flatMap((e) => [e.ipv4, e.ipv6].filter((a): a is string => a !== undefined));
  // SSH gets its own row: its verdict depends on sshAllowFrom, not on the service list.
  const probes = exp.ports.probes.filter((p) => p.port !== SSH_PORT);
  const jobs = addresses.flatMap((address) => [...probes, { port: SSH_PORT }].map((p) => ({ address, port: p.port })));
  const t0 = performance.now();
  const states = await limited(jobs, 32, (j) => probe(j.address, j.port, timeoutMs));
  const ms = Math.round(performance.now() - t0);
  const results: CheckResult[] = [];
  for (const address of addresses) {
    const seen = (port: number) => states[jobs.findIndex((j) => j.address === address && j.port === port)];
    const wantOpen = probes.filter((p) => p.expect === "open");
    const notOpen = wantOpen.filter((p) => seen(p.port) !== "open");
    const extra = probes.filter((p) => p.expect === "closed" && seen(p.port) === "open");
    const openList = probes.filter((p) => seen(p.port) === "open").map((p) => p.port);
    const expected = `open: exactly ${wantOpen.map((p) => p.port).join(", ")} (of ${probes.length} probed)`;
    const problems = [
      ...notOpen.map((p) => `${p.port} ${seen(p.port)} (${p.why})`),
      ...extra.map((p) => `${p.port} open (${p.why})`),
    ];
    results.push(problems.length === 0
      ? { area: "ports", name: `TCP ports of ${address}`, status: "pass", expected, seen: `open: ${openList.join(", ")}`, ms }
      : {
          area: "ports", name: `TCP ports of ${address}`, status: "fail", expected, seen: problems.join("; "), ms,
          fix: notOpen.some((p) => seen(p.port) === "unreachable")
            ? `this machine has no route to ${address} (no network here, or no IPv6): nothing is known about the edge's ports from here`
            : extra.length
            ? "something listens and is let through that the plan does not serve: close it, or check the Hetzner firewall and nftables (the apply loads only the planned ports)"
            : "a planned port does not answer: closed = the edge forwards but nothing listens at home; filtered = a firewall drops it (Hetzner firewall, nftables)",
        });
    if (exp.ports.sshJudged) {
      const state = seen(SSH_PORT);
      results.push(state === "open"
        ? { area: "ports", name: `SSH on ${address}`, status: "fail", expected: "closed (sshAllowFrom tailnet)", seen: "open", ms, fix: 'SSH answers on a public address although sshAllowFrom is ["tailnet"]: check the Hetzner firewall and sshd' }
        : { area: "ports", name: `SSH on ${address}`, status: "pass", expected: "closed (sshAllowFrom tailnet)", seen: state, ms });
    } else {
      results.push({ area: "ports", name: `SSH on ${address}`, status: "skip", expected: "open to sshAllowFrom only", seen: `${seen(SSH_PORT)} from here (not judged: this run's source may or may not be in sshAllowFrom)`, ms });
    }
  }
  return results;
}
