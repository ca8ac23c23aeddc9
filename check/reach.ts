// Whether this machine can reach the network at all: a run from a machine
// without a route, or whose resolver does not answer, must say so, not
// advise changes to the edge or its DNS records.
import * as dgram from "node:dgram";
import * as net from "node:net";

/**
 * node:dns error codes that mean no DNS answer came at all (ECONNREFUSED is
 * c-ares' "could not contact DNS servers"), as opposed to an answer saying
 * no such record (ENOTFOUND, ENODATA) or a server failure (ESERVFAIL).
 */
const NO_DNS_ANSWER = ["ECONNREFUSED", "ETIMEOUT", "ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH"];

export function isNoDnsAnswer(code: string | undefined): boolean {
  return code !== undefined && NO_DNS_ANSWER.includes(code);
}

/**
 * Whether the kernel has a route to `address`: a connected UDP socket sends
 * nothing, but fails at once without a route (no network, or no IPv6 here).
 */
export function routeProblem(address: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(net.isIPv6(address) ? "udp6" : "udp4");
    const done = (problem: string | undefined) => {
      s.close();
      resolve(problem);
    };
    // A failed connect goes to the callback (Node passes it the error), not to "error".
    const connected = ((err?: NodeJS.ErrnoException) => done(err ? (err.code ?? err.message) : undefined)) as () => void;
    s.once("error", (e) => done((e as NodeJS.ErrnoException).code ?? e.message));
    s.connect(9, address, connected);
  });
}

/** A note for every address this machine has no route to. */
export async function noRouteNotes(addresses: string[]): Promise<string[]> {
  const problems = await Promise.all(addresses.map(routeProblem));
  return addresses.flatMap((a, i) => (problems[i] ? [`this machine has no route to ${a} (${problems[i]}): its network or its IPv6 is missing, so the checks of ${a} fail whatever the edge does`] : []));
}
