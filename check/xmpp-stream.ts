// A minimal XMPP stream reader for the live check: open a stream, read the
// header and top-level elements, STARTTLS, SASL PLAIN, bind. Only what the
// check asks of a server; XML parsing is saxes (a strict, streaming parser).
import * as net from "node:net";
import * as tls from "node:tls";
import { SaxesParser, type SaxesTagNS } from "saxes";
import { withTimeout } from "./timed";

export const NS = {
  streams: "http://etherx.jabber.org/streams",
  tls: "urn:ietf:params:xml:ns:xmpp-tls",
  sasl: "urn:ietf:params:xml:ns:xmpp-sasl",
  bind: "urn:ietf:params:xml:ns:xmpp-bind",
} as const;

export interface El {
  local: string;
  uri: string;
  attrs: Record<string, string>;
  children: El[];
  text: string;
}

export const child = (el: El, local: string, uri?: string) => el.children.find((c) => c.local === local && (uri === undefined || c.uri === uri));

type Event = { kind: "header"; attrs: Record<string, string> } | { kind: "element"; el: El } | { kind: "end"; why: string };

/** One XML stream over a socket; a STARTTLS or SASL restart makes a new one. */
export class XmppStream {
  private parser = new SaxesParser({ xmlns: true });
  private stack: El[] = [];
  private events: Event[] = [];
  private wake: (() => void) | undefined;
  private onData = (d: Buffer) => {
    try {
      this.parser.write(d.toString("utf8"));
    } catch (e) {
      this.push({ kind: "end", why: `malformed XML from the server: ${(e as Error).message}` });
    }
  };
  private onEnd = () => this.push({ kind: "end", why: "the server closed the connection" });
  private onError = (e: Error) => this.push({ kind: "end", why: `connection error: ${e.message}` });

  constructor(readonly socket: net.Socket, private readonly timeoutMs: number) {
    this.parser.on("opentag", (t: SaxesTagNS) => {
      const el: El = { local: t.local, uri: t.uri, attrs: Object.fromEntries(Object.values(t.attributes).map((a) => [a.local === "" ? a.name : a.prefix === "xml" ? `xml:${a.local}` : a.local, a.value])), children: [], text: "" };
      if (this.stack.length === 0 && t.local === "stream" && t.uri === NS.streams) {
        this.stack.push(el);
        this.push({ kind: "header", attrs: el.attrs });
        return;
      }
      this.stack[this.stack.length - 1]?.children.push(el);
      this.stack.push(el);
    });
    this.parser.on("text", (text: string) => {
      const top = this.stack[this.stack.length - 1];
      if (top && this.stack.length > 1) top.text += text;
    });
    this.parser.on("closetag", () => {
      const el = this.stack.pop();
      if (el && this.stack.length === 1) this.push({ kind: "element", el });
      if (this.stack.length === 0) this.push({ kind: "end", why: "the server closed the stream" });
    });
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("error", this.onError);
  }

  /** Stops reading (before the socket is handed to TLS or to a restarted stream). */
  detach(): void {
    this.socket.off("data", this.onData);
    this.socket.off("end", this.onEnd);
    this.socket.off("error", this.onError);
  }

  send(xml: string): void {
    this.socket.write(xml);
  }

  private push(e: Event) {
    this.events.push(e);
    this.wake?.();
  }

  private async next(what: string): Promise<Event> {
    while (this.events.length === 0) {
      await withTimeout(this.timeoutMs, what, new Promise<void>((resolve) => (this.wake = resolve)));
    }
    const e = this.events.shift()!;
    if (e.kind === "end") this.events.unshift(e); // sticky: every later read sees it too
    return e;
  }

  /** Opens the stream (ns jabber:client or jabber:server) and returns the server's header and features. */
  async open(ns: "jabber:client" | "jabber:server", to: string): Promise<{ header: Record<string, string>; features: El }> {
    const header = await this.openHeader(ns, to);
    return { header, features: await this.features() };
  }

  async openHeader(ns: "jabber:client" | "jabber:server", to: string): Promise<Record<string, string>> {
    const db = ns === "jabber:server" ? " xmlns:db='jabber:server:dialback'" : "";
    this.send(`<?xml version='1.0'?><stream:stream xmlns='${ns}'${db} xmlns:stream='${NS.streams}' to='${xmlAttr(to)}' version='1.0'>`);
    const h = await this.next("the stream header");
    if (h.kind !== "header") throw new Error(h.kind === "end" ? h.why : `expected a stream header, got <${h.el.local}>`);
    return h.attrs;
  }

  features(): Promise<El> {
    return this.until((el) => el.local === "features" && el.uri === NS.streams, "stream features");
  }

  /** Reads elements until one matches; a stream error or the end of the stream throws. */
  async until(match: (el: El) => boolean, what: string): Promise<El> {
    for (;;) {
      const e = await this.next(what);
      if (e.kind === "end") throw new Error(`${e.why} (waiting for ${what})`);
      if (e.kind === "header") continue;
      if (e.el.local === "error" && e.el.uri === NS.streams) throw new Error(`stream error: ${e.el.children.map((c) => c.local).join(", ") || "unspecified"} (waiting for ${what})`);
      if (match(e.el)) return e.el;
    }
  }

  close(): void {
    this.detach();
    if (!this.socket.destroyed) this.socket.end("</stream:stream>");
    setTimeout(() => this.socket.destroy(), 200).unref();
  }
}

export function xmlAttr(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/'/g, "&apos;").replace(/"/g, "&quot;");
}
export const xmlText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export interface TlsTarget {
  host: string;
  port: number;
  servername: string;
  alpn?: string;
  /** Trusted CAs (PEM); undefined: Node's bundled roots. */
  ca?: string[];
}

/** Opens TCP, bounded. */
export function connectTcp(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return withTimeout(timeoutMs, `TCP connect to ${host} port ${port}`, new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host, port });
    s.once("connect", () => resolve(s));
    s.once("error", (e) => reject(new Error(`TCP connect to ${host} port ${port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
  }));
}

/**
 * TLS with the certificate judged by the caller (rejectUnauthorized off so a
 * bad certificate is reported with its names and dates, not as a bare error).
 */
export function connectTls(t: TlsTarget & { socket?: net.Socket }, timeoutMs: number): Promise<tls.TLSSocket> {
  return withTimeout(timeoutMs, `TLS handshake with ${t.host} port ${t.port} (SNI ${t.servername})`, new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ host: t.host, port: t.port, socket: t.socket, servername: t.servername, ALPNProtocols: t.alpn ? [t.alpn] : undefined, ca: t.ca, rejectUnauthorized: false });
    s.once("secureConnect", () => resolve(s));
    s.once("error", (e) => reject(new Error(`TLS to ${t.host} port ${t.port} (SNI ${t.servername}${t.alpn ? `, ALPN ${t.alpn}` : ""}): ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    s.once("close", () => reject(new Error(`TLS to ${t.host} port ${t.port} (SNI ${t.servername}${t.alpn ? `, ALPN ${t.alpn}` : ""}): closed before the handshake`)));
  }));
}

/** Why the peer's certificate is not valid for `name` (chain, dates, name), or undefined when it is. */
export function certificateProblem(s: tls.TLSSocket, name: string): string | undefined {
  const cert = s.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return "no certificate";
  const names = (cert.subjectaltname ?? `CN=${cert.subject?.CN}`).replace(/DNS:/g, "");
  const idError = tls.checkServerIdentity(name, cert);
  if (idError) return `certificate for ${names}, not ${name}`;
  if (!s.authorized) return `certificate for ${names} not trusted: ${s.authorizationError}`;
  return undefined;
}

export function certificateSummary(s: tls.TLSSocket): string {
  const cert = s.getPeerCertificate();
  return `certificate ${(cert.subjectaltname ?? "").replace(/DNS:/g, "")} until ${new Date(cert.valid_to).toISOString().slice(0, 10)}`;
}
