// The origin lock serves the web names only to the web origins, and the
// home web server trusts the X-Forwarded-For of whatever reaches it from the
// edge (render/home.ts). A forward onto a home port of a locked route would
// bring anyone there, masqueraded as the edge: both undone at once.
import type { ParsedConfig } from "../config";
import { homeRoutes, httpRoutes, httpsRoutes } from "../model";
import { overlaps, parsePortRange, single } from "../ports";
import type { Checks } from "./report";

/** Runs after checkExtraForwards: a forward it refused is not judged again. */
export function checkForwardsPastTheLock(p: ParsedConfig, c: Checks): void {
  if (p.webOriginLock !== "cloudflare" || !c.ok("webOriginLock") || !c.ok("preset") || !c.ok("directTls")) return;
  const locked = homeRoutes([...httpsRoutes(p), ...httpRoutes(p)]).filter((r) => r.from === "web-origins");
  p.extraForwards.forEach((f, i) => {
    const key = `extraForwards[${i}]`;
    if (!c.ok(key)) return;
    const ports = parsePortRange(String(f.port));
    if (typeof ports === "string") return;
    const home = f.toPort === undefined ? ports : single(f.toPort);
    // Either protocol: the home web server may answer HTTP/3 on 443/udp.
    const hit = locked.find((r) => overlaps(home, single(r.homePort)));
    if (!hit) return;
    c.report(
      `${key}.${f.toPort === undefined ? "port" : "toPort"}`,
      `forwards to home port ${hit.homePort}, where ${hit.what} serves the web names only to the web origins (webOriginLock "cloudflare"): ` +
        `the forward would bring anyone there, masqueraded as the edge, whose X-Forwarded-For home trusts; choose another home port, or set webOriginLock: off`,
    );
  });
}
