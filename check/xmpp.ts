// XMPP: client streams on 443 (direct TLS, ALPN xmpp-client) and 5222
// (STARTTLS), server streams on 443 (ALPN xmpp-server) and 5269, each with
// the certificate judged for the domain; with a test account, a SASL login
// and a message to itself on both client paths.
import * as crypto from "node:crypto";
import type * as tls from "node:tls";
import type { Expected } from "./expected";
import type { CheckResult } from "./report";
import { fail, pass, run, skip, type Outcome } from "./timed";
import { certificateProblem, certificateSummary, child, connectTcp, connectTls, NS, xmlAttr, xmlText, XmppStream, type El } from "./xmpp-stream";

export interface XmppOptions {
  ca?: string[];
  timeoutMs: number;
  account?: { jid: string; password: string };
}

type Ns = "jabber:client" | "jabber:server";

interface Path {
  label: string;
  ns: Ns;
  port: number;
  /** Direct TLS with this ALPN protocol; undefined: STARTTLS. */
  alpn?: "xmpp-client" | "xmpp-server";
}

/** A stream on `path` to `host`, through TLS; returns the secured stream and its features. */
async function secureStream(host: string, domain: string, path: Path, opts: XmppOptions): Promise<{ stream: XmppStream; tlsSocket: tls.TLSSocket; header: Record<string, string>; features: Pick<El, "local">[] | El[] }> {
  const t = opts.timeoutMs;
  let tlsSocket: tls.TLSSocket;
  if (path.alpn) {
    tlsSocket = await connectTls({ host, port: path.port, servername: domain, alpn: path.alpn, ca: opts.ca }, t);
  } else {
    const plain = new XmppStream(await connectTcp(host, path.port, t), t);
    try {
      const { features } = await plain.open(path.ns, domain);
      if (!child(features, "starttls", NS.tls)) throw new Error(`no STARTTLS offered (features: ${features.children.map((c) => c.local).join(", ") || "none"})`);
      plain.send(`<starttls xmlns='${NS.tls}'/>`);
      const reply = await plain.until((el) => el.uri === NS.tls, "the STARTTLS reply");
      if (reply.local !== "proceed") throw new Error(`STARTTLS refused (<${reply.local}/>)`);
    } catch (e) {
      plain.socket.destroy();
      throw e;
    }
    plain.detach();
    tlsSocket = await connectTls({ host, port: path.port, servername: domain, ca: opts.ca, socket: plain.socket }, t);
  }
  const problem = certificateProblem(tlsSocket, domain);
  if (problem) {
    tlsSocket.destroy();
    throw new CertificateError(problem);
  }
  const stream = new XmppStream(tlsSocket, t);
  try {
    const header = await stream.openHeader(path.ns, domain);
    if (path.ns === "jabber:server") {
      // A server may close the secured stream of a peer that names no domain of its own
      // (Prosody's s2s_secure_auth does): its header, for the domain, over a valid
      // certificate, is the answer a federating server gets first.
      const features = await stream.features().then((f) => f.children, (e: Error) => [{ local: `none (${e.message.replace(/ \(waiting.*$/, "")})` }]);
      return { stream, tlsSocket, header, features };
    }
    return { stream, tlsSocket, header, features: (await stream.features()).children };
  } catch (e) {
    stream.socket.destroy();
    throw e;
  }
}

class CertificateError extends Error {}

function fixFor(path: Path, e: unknown, domain: string): string {
  if (e instanceof CertificateError) return `the home server's certificate must cover ${domain} and be valid (renew it; check the name Prosody/Snikket serves)`;
  if (path.alpn) return `nginx on the edge routes ALPN ${path.alpn} on 443 to home ${path.alpn === "xmpp-client" ? 5223 : 5270}: is nginx running, the tailnet up, Prosody listening on direct TLS (the home snippet)?`;
  return `port ${path.port} is forwarded to home: is the tailnet up and Prosody listening on ${path.port} at home?`;
}

export async function checkXmpp(exp: Expected, host: string, opts: XmppOptions): Promise<CheckResult[]> {
  const domain = exp.domain;
  const paths: Path[] = [
    ...(exp.xmpp.directTls ? [{ label: "443 direct TLS, ALPN xmpp-client", ns: "jabber:client" as Ns, port: exp.xmpp.httpsPort, alpn: "xmpp-client" as const }] : []),
    { label: `${exp.xmpp.c2sPort} STARTTLS`, ns: "jabber:client", port: exp.xmpp.c2sPort },
    ...(exp.xmpp.directTls ? [{ label: "443 direct TLS, ALPN xmpp-server", ns: "jabber:server" as Ns, port: exp.xmpp.httpsPort, alpn: "xmpp-server" as const }] : []),
    { label: `${exp.xmpp.s2sPort} STARTTLS`, ns: "jabber:server", port: exp.xmpp.s2sPort },
  ];
  const checks = paths.map((path) => {
    const area = path.ns === "jabber:client" ? "xmpp-client" : "xmpp-server";
    const expected = `a ${area === "xmpp-client" ? "client stream for " + domain + " with features" : "server stream for " + domain}, certificate valid for ${domain}`;
    return run(area, `${host} ${path.label}`, expected, fixFor(path, undefined, domain), async (): Promise<Outcome> => {
      try {
        const { stream, tlsSocket, header, features } = await secureStream(host, domain, path, opts);
        stream.close();
        if (header.from !== undefined && header.from !== domain) return fail(expected, `a stream from ${header.from}`, `the server behind the edge answers for ${header.from}: is ${domain} a VirtualHost there?`);
        const f = features.map((c) => c.local).join(", ") || "no features";
        return pass(expected, `stream from ${header.from ?? "(no from)"}; features ${f}; ${certificateSummary(tlsSocket)}`);
      } catch (e) {
        return fail(expected, (e as Error).message, fixFor(path, e, domain));
      }
    });
  });
  const clientPaths = paths.filter((p) => p.ns === "jabber:client");
  const logins = clientPaths.map((path) => {
    const name = `${host} ${path.label}: login, message to self`;
    const expected = "SASL PLAIN succeeds, a message to the own full JID comes back";
    if (!opts.account) return run("xmpp-client", name, expected, "", async () => skip(expected, "no test account (--account JID --password-env VAR)"));
    const account = opts.account;
    return run("xmpp-client", name, expected, "check the test account and its password; if the login works at home but not here, the edge's path is broken (see the stream checks)", () => loginRoundTrip(host, domain, path, account, opts));
  });
  return Promise.all([...checks, ...logins]);
}

async function loginRoundTrip(host: string, domain: string, path: Path, account: { jid: string; password: string }, opts: XmppOptions): Promise<Outcome> {
  const expected = "SASL PLAIN succeeds, a message to the own full JID comes back";
  const [local, server] = account.jid.split("@");
  if (server !== domain) return fail(expected, `the account ${account.jid} is not on ${domain}`, `use an account of ${domain}`);
  const { stream, tlsSocket, features } = await secureStream(host, domain, path, opts);
  try {
    const mechanisms = (features as El[]).find((f) => f.local === "mechanisms");
    const offered = (mechanisms?.children ?? []).map((m) => m.text.trim());
    if (!offered.includes("PLAIN")) return fail(expected, `PLAIN not offered (offered: ${offered.join(", ") || "none"})`, "enable PLAIN over TLS at the home server (Prosody offers it with internal_hashed)");
    const creds = Buffer.from(`\0${local}\0${account.password}`, "utf8").toString("base64");
    stream.send(`<auth xmlns='${NS.sasl}' mechanism='PLAIN'>${creds}</auth>`);
    const outcome = await stream.until((el) => el.uri === NS.sasl && (el.local === "success" || el.local === "failure"), "the SASL outcome");
    if (outcome.local === "failure") return fail(expected, `SASL failure: ${outcome.children.map((c) => c.local).join(", ")}`, "wrong password or account (--account, --password-env)");
    stream.detach();
    const s2 = new XmppStream(tlsSocket, opts.timeoutMs);
    const { features: f2 } = await s2.open("jabber:client", domain);
    if (!child(f2, "bind", NS.bind)) return fail(expected, "no resource binding offered after login", "the home server's c2s stream is unusual; see its log");
    s2.send(`<iq type='set' id='bind-1'><bind xmlns='${NS.bind}'><resource>xmpp-edge-check-${crypto.randomBytes(4).toString("hex")}</resource></bind></iq>`);
    const bound = await s2.until((el) => el.local === "iq" && el.attrs.id === "bind-1", "the bind result");
    const jid = bound.children.find((c) => c.local === "bind")?.children.find((c) => c.local === "jid")?.text;
    if (bound.attrs.type !== "result" || !jid) return fail(expected, `bind failed (${bound.attrs.type})`, "see the home server's log");
    const token = `xmpp-edge-check ${crypto.randomBytes(6).toString("hex")}`;
    s2.send(`<presence/><message to='${xmlAttr(jid)}' type='chat' id='check-1'><body>${xmlText(token)}</body></message>`);
    await s2.until((el) => el.local === "message" && el.children.some((c) => c.local === "body" && c.text === token), "the message to self");
    s2.close();
    return pass(expected, `logged in as ${jid}, the message came back`);
  } finally {
    tlsSocket.destroy();
  }
}
