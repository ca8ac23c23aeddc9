// What the home server must serve on its tailnet address for this edge, and
// where on the VPS each one is reached from. Read off the model's services and
// routes, so PLAN.md's "At home" table names exactly the ports the edge sends to.
import type { EdgeModel } from "./model";
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
  for (const a of model.https.alpn) {
    add("tcp", single(a.homePort), `XMPP direct TLS (${a.protocol === "xmpp-client" ? "clients" : "servers"}, XEP-0368)`, `${HTTPS_PORT}/tcp, ALPN ${a.protocol}`);
  }
  add("tcp", single(model.https.xmppNamesHomePort), "HTTPS for the XMPP names", `${HTTPS_PORT}/tcp, SNI an XMPP name`);
  add("tcp", single(model.https.webHomePort), "HTTPS for the web names", `${HTTPS_PORT}/tcp, other SNI`);
  add("tcp", single(model.http.xmppNamesHomePort), "HTTP for the XMPP names (ACME HTTP-01)", `${HTTP_PORT}/tcp, Host an XMPP name`);
  add("tcp", single(model.http.webHomePort), "HTTP for the web names", `${HTTP_PORT}/tcp, other Host`);
  for (const s of model.services) {
    if (!s.home) continue;
    add(s.protocol, s.home, `${s.purpose}${s.proxyProtocol ? ", behind a PROXY v1 header" : ""}`, `${formatRange(s.ports)}/${s.protocol}`);
  }
  return out.sort((a, b) => a.ports.from - b.ports.from || a.protocol.localeCompare(b.protocol));
}
