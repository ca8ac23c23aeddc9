// What the home server must serve on its tailnet address for this edge, and
// where on the VPS each one is reached from. Read off the model's services and
// routes, so PLAN.md's "At home" table names exactly the ports the edge sends to.
import { homeRoutes, type EdgeModel } from "./model";
import { formatRange, HTTP_PORT, HTTPS_PORT, single, type PortRange, type Protocol } from "./ports";

export interface HomeListener {
  protocol: Protocol;
  ports: PortRange;
  /** What the home server serves there. */
  serves: string[];
  /** Where on the VPS the traffic comes in. */
  from: string[];
}

export function homeListeners(model: EdgeModel): HomeListener[] {
  const out: HomeListener[] = [];
  const add = (protocol: Protocol, ports: PortRange, serves: string, from: string) => {
    const same = out.find((l) => l.protocol === protocol && l.ports.from === ports.from && l.ports.to === ports.to);
    if (!same) out.push({ protocol, ports, serves: [serves], from: [from] });
    else {
      if (!same.serves.includes(serves)) same.serves.push(serves);
      if (!same.from.includes(from)) same.from.push(from);
    }
  };
  // The route tables (model.ts) list every home port 443 and 80 lead to, with the condition.
  for (const r of homeRoutes(model.https)) {
    const alpn = r.alpn === "any" ? "" : r.alpn === "other" ? ", other ALPN" : r.alpn === "not-xmpp" ? ", no XMPP ALPN" : `, ALPN ${r.alpn}`;
    const names = r.names === "any" ? "" : `, SNI ${r.names === "xmpp" ? "an XMPP name" : r.names === "web" ? "a web name" : "another name"}`;
    add("tcp", single(r.homePort), r.what, `${HTTPS_PORT}/tcp${alpn}${names}`);
  }
  for (const r of homeRoutes(model.http)) {
    // A path row to the same port as its names' "/" row says nothing more.
    if (r.path !== "/" && model.http.some((o) => o.path === "/" && o.names === r.names && o.homePort === r.homePort)) continue;
    const path = r.path === "/" ? "" : `, path ${r.path}`;
    add("tcp", single(r.homePort), r.what, `${HTTP_PORT}/tcp, Host ${r.names === "xmpp" ? "an XMPP name" : "a web name"}${path}`);
  }
  for (const s of model.services) {
    if (!s.home) continue;
    add(s.protocol, s.home, `${s.purpose}${s.proxyProtocol ? ", behind a PROXY v1 header" : ""}`, `${formatRange(s.ports)}/${s.protocol}`);
  }
  return out.sort((a, b) => a.ports.from - b.ports.from || a.protocol.localeCompare(b.protocol));
}
