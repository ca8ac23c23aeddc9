// Web names: answered over HTTPS through the proxy (Cloudflare), and — with
// the origin lock on — refused when asked of the edge directly, on 443 and 80.
import * as http from "node:http";
import * as https from "node:https";
import { makeResolver } from "./dns";
import type { Expected } from "./expected";
import { isNoDnsAnswer } from "./reach";
import type { CheckResult } from "./report";
import { fail, pass, run, skip, withTimeout, type Outcome } from "./timed";

export interface WebOptions {
  resolver?: string;
  ca?: string[];
  timeoutMs: number;
}

/** The HTTP status of GET / for `name` at `address` (no redirects followed). */
export function httpStatus(scheme: "http" | "https", address: string, name: string, opts: WebOptions): Promise<number> {
  const what = `${scheme}://${name}/ at ${address}`;
  return withTimeout(opts.timeoutMs, what, new Promise<number>((resolve, reject) => {
    const mod = scheme === "https" ? https : http;
    const req = mod.request({ host: address, port: scheme === "https" ? 443 : 80, path: "/", method: "GET", headers: { host: name, "user-agent": "xmpp-edge-check" }, servername: name, ca: opts.ca, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on("error", (e) => reject(new Error(`${what}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    req.end();
  }));
}

const wrap6 = (a: string) => (a.includes(":") ? `[${a}]` : a);

export async function checkWeb(exp: Expected, opts: WebOptions): Promise<CheckResult[]> {
  const r = makeResolver({ resolver: opts.resolver, timeoutMs: opts.timeoutMs });
  const checks: Promise<CheckResult>[] = [];
  for (const name of exp.web.names) {
    const expected = "an HTTPS answer through the proxy (status below 500)";
    checks.push(run("web", `https://${name}/ through Cloudflare`, expected, "see the DNS rows for this name; a 52x from Cloudflare means it cannot reach the edge (origin lock without Cloudflare's ranges? nginx down?)", async (): Promise<Outcome> => {
      let addresses: string[];
      try {
        addresses = await withTimeout(opts.timeoutMs, `A ${name}`, r.resolve4(name));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (isNoDnsAnswer(code) || /no answer within/.test((e as Error).message)) {
          return fail(expected, `A ${name}: ${code ?? (e as Error).message}`, "the resolver does not answer: this machine's network or --resolver, not the record (see the DNS rows)");
        }
        addresses = [];
      }
      if (addresses.length === 0) return fail(expected, `${name} has no A record`, "create the proxied record (pulumi up with dns: cloudflare)");
      const status = await httpStatus("https", addresses[0], name, opts);
      return status > 0 && status < 500 ? pass(expected, `HTTP ${status} via ${addresses[0]}`) : fail(expected, `HTTP ${status} via ${addresses[0]}`, "the proxy answers but the origin does not: nginx on the edge, the tailnet, the home web server");
    }));
    for (const address of exp.edges.flatMap((e) => [e.ipv4, e.ipv6].filter((a): a is string => a !== undefined))) {
      const lockFix = "webOriginLock must be cloudflare and pushed: nginx on the edge refuses web names from outside Cloudflare's ranges (re-deploy)";
      const e443 = "refused: the TLS connection is closed (origin lock)";
      checks.push(run("web", `https://${name}/ directly at ${wrap6(address)}`, e443, lockFix, async (): Promise<Outcome> => {
        if (!exp.web.originLock) return skip("answered (webOriginLock is off)", "origin lock off by configuration");
        try {
          const status = await httpStatus("https", address, name, opts);
          return fail(e443, `answered: HTTP ${status}`, lockFix);
        } catch (e) {
          const msg = (e as Error).message;
          if (/no answer within/.test(msg)) return fail(e443, msg, "the edge neither answers nor closes: nginx hangs, or a firewall drops 443 from here");
          return pass(e443, msg.replace(/^.*?: /, ""));
        }
      }));
      const e80 = "refused: 403 or no answer (origin lock)";
      checks.push(run("web", `http://${name}/ directly at ${wrap6(address)}`, e80, lockFix, async (): Promise<Outcome> => {
        if (!exp.web.originLock) return skip("answered (webOriginLock is off)", "origin lock off by configuration");
        try {
          const status = await httpStatus("http", address, name, opts);
          return status === 403 ? pass(e80, "HTTP 403") : fail(e80, `answered: HTTP ${status}`, lockFix);
        } catch (e) {
          const msg = (e as Error).message;
          if (/no answer within/.test(msg)) return fail(e80, msg, "the edge neither answers nor closes port 80: nginx down, or a firewall drops 80 from here");
          return pass(e80, msg.replace(/^.*?: /, ""));
        }
      }));
    }
  }
  return Promise.all(checks);
}
