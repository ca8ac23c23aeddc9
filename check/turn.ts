// STUN/TURN: binding requests on 3478 over UDP and TCP; with the TURN secret
// an allocation whose relay is the edge's public address, a datagram relayed
// back to this client, and relays to the edge itself, the tailnet, private
// and loopback addresses refused. Every answer is verified (FINGERPRINT, and
// MESSAGE-INTEGRITY on authenticated ones) before anything in it is believed.
import * as crypto from "node:crypto";
import * as dgram from "node:dgram";
import * as net from "node:net";
import type { DeniedPeer, Expected } from "./expected";
import { DatagramQueue, type Datagram } from "./datagrams";
import type { CheckResult } from "./report";
import * as S from "./stun";
import { CHECK_BUDGET_MS, fail, pass, run, withTimeout, type Outcome } from "./timed";

export interface TurnOptions {
  /** The TURN shared secret (static-auth-secret); undefined: the allocation checks are skipped. */
  secret?: string;
  timeoutMs: number;
}

/** How an allocation speaks to the server: UDP here, TLS in check/turn-tls.ts. */
export interface StunTransport {
  request(msg: Buffer, tid: Buffer, timeoutMs: number, what: string): Promise<S.StunMessage>;
  indicate(msg: Buffer): void;
  datagram(match: (d: { from: string; data: Buffer }) => boolean, timeoutMs: number, what: string): Promise<Datagram>;
  close(): void;
}

/** A UDP socket speaking STUN to one server; other datagrams (relayed data) are kept apart. */
class StunUdp implements StunTransport {
  readonly socket: dgram.Socket;
  private waiting = new Map<string, (m: S.StunMessage) => void>();
  readonly datagrams = new DatagramQueue();

  constructor(readonly server: string, readonly port: number) {
    this.socket = dgram.createSocket(net.isIPv6(server) ? "udp6" : "udp4");
    this.socket.on("message", (buf, rinfo) => {
      if (rinfo.address === server && rinfo.port === port && S.isStun(buf)) {
        const m = S.decode(buf);
        const data = S.attr(m, S.Attr.Data);
        const from = S.attr(m, S.Attr.XorPeerAddress);
        if (m.method === S.Method.Data && m.cls === "indication" && data && from) {
          // An indication answers nothing, so nothing can report it: one that fails its FINGERPRINT is dropped (RFC 5389 7.3).
          if (S.responseProblem(m) !== undefined) return;
          // Relayed to this allocation by the server (RFC 5766 10.3): the peer's datagram.
          const p = S.decodeXorAddress(from, m.transactionId);
          this.datagrams.push({ from: p.address, port: p.port, data });
        } else {
          this.waiting.get(m.transactionId.toString("hex"))?.(m);
        }
      } else {
        this.datagrams.push({ from: rinfo.address, port: rinfo.port, data: buf });
      }
    });
    this.socket.on("error", () => undefined); // ICMP errors surface as timeouts of the request
  }

  /** Sends with RFC 5389 retransmissions (0.5, 1, 2 s …) until an answer or the timeout. */
  async request(msg: Buffer, tid: Buffer, timeoutMs: number, what: string): Promise<S.StunMessage> {
    const key = tid.toString("hex");
    let timer: NodeJS.Timeout | undefined;
    try {
      return await withTimeout(timeoutMs, what, new Promise<S.StunMessage>((resolve) => {
        this.waiting.set(key, resolve);
        let rto = 500;
        const send = () => {
          this.socket.send(msg, this.port, this.server);
          timer = setTimeout(send, rto);
          rto *= 2;
        };
        send();
      }));
    } finally {
      clearTimeout(timer);
      this.waiting.delete(key);
    }
  }

  indicate(msg: Buffer): void {
    this.socket.send(msg, this.port, this.server);
  }

  datagram(match: (d: { from: string; data: Buffer }) => boolean, timeoutMs: number, what: string): Promise<Datagram> {
    return this.datagrams.wait(match, timeoutMs, what);
  }

  close(): void {
    this.socket.close();
  }
}

async function bindingTcp(server: string, port: number, timeoutMs: number): Promise<S.TransportAddress> {
  const tid = S.newTransactionId();
  return withTimeout(timeoutMs, `STUN binding over TCP to ${server} port ${port}`, new Promise<S.TransportAddress>((resolve, reject) => {
    const s = net.connect({ host: server, port });
    let buf = Buffer.alloc(0);
    s.once("connect", () => s.write(S.encode(S.Method.Binding, "request", tid, [], { fingerprint: true })));
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      const len = S.messageLength(buf);
      if (len === undefined) return;
      s.destroy();
      try {
        resolve(mapped(verified(S.decode(buf.subarray(0, len)), `the STUN binding answer over TCP from ${server}`)));
      } catch (e) {
        reject(e);
      }
    });
    s.once("error", (e) => reject(new Error(`TCP ${server} port ${port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    s.once("close", () => reject(new Error(`TCP ${server} port ${port}: closed without a STUN answer`)));
  }));
}

/** An answer from the server that failed verification: its fix says what that means. */
export class UntrustedAnswer extends Error {
  readonly fix = /no FINGERPRINT/.test(this.message)
    ? "the edge's coturn must run with fingerprint (the pushed turnserver.conf has it: re-deploy), unless something between this client and the edge strips it"
    : "something between this client and the edge alters STUN messages, or another server answers for the edge's address: compare with a run from another network";
}

/** The message, once its FINGERPRINT (and with `key` its MESSAGE-INTEGRITY) holds; else UntrustedAnswer. */
export function verified(m: S.StunMessage, what: string, key?: Buffer): S.StunMessage {
  const problem = S.responseProblem(m, key);
  if (problem !== undefined) throw new UntrustedAnswer(`${what} fails verification: ${problem}`);
  return m;
}

/** A check's body whose untrusted answers fail with their own fix rather than the check's. */
function trusting(expected: string, body: () => Promise<Outcome>): () => Promise<Outcome> {
  return () => body().catch((e: Error) => {
    if (e instanceof UntrustedAnswer) return fail(expected, e.message, e.fix);
    throw e;
  });
}

function mapped(m: S.StunMessage): S.TransportAddress {
  if (m.cls !== "success") throw new Error(`binding answered with ${m.cls} ${JSON.stringify(S.errorCode(m))}`);
  const v = S.attr(m, S.Attr.XorMappedAddress);
  if (!v) throw new Error("binding success without XOR-MAPPED-ADDRESS");
  return S.decodeXorAddress(v, m.transactionId);
}

const showAddr = (a: S.TransportAddress) => (a.address.includes(":") ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);

export async function checkTurn(exp: Expected, opts: TurnOptions): Promise<CheckResult[]> {
  const turn = exp.turn;
  if (!turn) return [];
  const t = opts.timeoutMs;
  const addresses = exp.edges.flatMap((e) => [e.ipv4, e.ipv6].filter((a): a is string => a !== undefined));
  const fixCoturn = "coturn on the edge: is it running (the apply starts it), and 3478 open in the Hetzner firewall and nftables?";
  const checks: Promise<CheckResult | CheckResult[]>[] = [];
  for (const server of addresses) {
    const expected = "a binding response with this client's public address";
    checks.push(run("stun-turn", `STUN binding UDP ${server} port ${turn.port}`, expected, fixCoturn, trusting(expected, async () => {
      const c = new StunUdp(server, turn.port);
      try {
        const tid = S.newTransactionId();
        const what = `STUN binding over UDP to ${server} port ${turn.port}`;
        const m = await c.request(S.encode(S.Method.Binding, "request", tid, [], { fingerprint: true }), tid, t, what);
        return pass(expected, `this client is ${showAddr(mapped(verified(m, `the answer to the ${what}`)))}`);
      } finally {
        c.close();
      }
    })));
    checks.push(run("stun-turn", `STUN binding TCP ${server} port ${turn.port}`, expected, fixCoturn, trusting(expected, async () => pass(expected, `this client is ${showAddr(await bindingTcp(server, turn.port, t))}`))));
  }
  // The allocation's steps run one after another: bounded together, like one check.
  checks.push(...exp.edges.map((e) => withTimeout(2 * CHECK_BUDGET_MS, `TURN on ${e.ipv4}`, allocationChecks(e.ipv4, turn, opts)).catch((err: Error): CheckResult => (
    { area: "stun-turn", name: `TURN allocation on ${e.ipv4} (shared secret)`, status: "fail", expected: "the TURN checks finish", seen: err.message, fix: "coturn answers some requests but not others: see its log on the edge", ms: 2 * CHECK_BUDGET_MS }))));
  const results = await Promise.all(checks);
  return results.flat();
}

/** A TURN allocation (over UDP, or the transport given) with time-limited credentials, as Prosody and Snikket hand them out. */
export class Allocation<T extends StunTransport = StunUdp> {
  relayed!: S.TransportAddress;
  /** This client as the server sees it. */
  self!: S.TransportAddress;
  private realm = "";
  private nonce: Buffer = Buffer.alloc(0);
  private key: Buffer = Buffer.alloc(0);
  private username = "";

  private constructor(readonly client: T, private readonly timeoutMs: number) {}

  /** Allocates; a refusal is thrown as AllocationRefused with the server's error. */
  static async open(server: string, port: number, secret: string, timeoutMs: number): Promise<Allocation<StunUdp>>;
  static async open<U extends StunTransport>(server: string, port: number, secret: string, timeoutMs: number, connect: () => Promise<U>): Promise<Allocation<U>>;
  static async open(server: string, port: number, secret: string, timeoutMs: number, connect?: () => Promise<StunTransport>): Promise<Allocation<StunTransport>> {
    const a = new Allocation<StunTransport>(connect ? await connect() : new StunUdp(server, port), timeoutMs);
    try {
      // Unauthenticated first: the server names its realm and a nonce (401).
      const tid = S.newTransactionId();
      const first = verified(await a.client.request(S.encode(S.Method.Allocate, "request", tid, [ALLOC_UDP], { fingerprint: true }), tid, timeoutMs, `TURN Allocate to ${server}`), `the answer to an unauthenticated TURN Allocate to ${server}`);
      const realm = S.attr(first, S.Attr.Realm)?.toString("utf8");
      const nonce = S.attr(first, S.Attr.Nonce);
      if (first.cls !== "error" || S.errorCode(first)?.code !== 401 || !realm || !nonce) {
        throw new AllocationRefused(`an unauthenticated Allocate got ${first.cls} ${JSON.stringify(S.errorCode(first))}`, "coturn must require credentials: use-auth-secret in turnserver.conf");
      }
      const creds = S.turnRestCredentials(secret, "xmpp-edge-check", Date.now() / 1000 + 600);
      Object.assign(a, { realm, nonce, username: creds.username, key: S.longTermKey(creds.username, realm, creds.password) });
      const m = await a.request(S.Method.Allocate, [ALLOC_UDP, { type: S.Attr.Lifetime, value: S.u32(60) }], `TURN Allocate with credentials to ${server}`);
      if (m.cls !== "success") {
        const err = S.errorCode(m);
        throw new AllocationRefused(`${err?.code ?? m.cls} ${err?.reason ?? ""}`.trim(), err?.code === 401
          ? "the TURN secret was refused: it is not the edge's static-auth-secret (xmpp-edge:turnSecret; re-deploy after changing it)"
          : "see coturn's log on the edge (quota? relay ports exhausted?)");
      }
      a.relayed = S.decodeXorAddress(S.attr(m, S.Attr.XorRelayedAddress)!, m.transactionId);
      a.self = S.decodeXorAddress(S.attr(m, S.Attr.XorMappedAddress)!, m.transactionId);
      return a;
    } catch (e) {
      a.client.close();
      throw e;
    }
  }

  /** An authenticated request; a stale nonce (438) is retried once with the new one. */
  async request(method: number, attrs: S.Attribute[], what: string): Promise<S.StunMessage> {
    for (let attempt = 0; ; attempt++) {
      const tid = S.newTransactionId();
      const msg = S.encode(method, "request", tid, [
        ...attrs.map((a) => (a.type === S.Attr.XorPeerAddress ? { type: a.type, value: S.encodeXorAddress(S.decodeXorAddress(a.value, ZERO_TID), tid) } : a)),
        { type: S.Attr.Username, value: Buffer.from(this.username) },
        { type: S.Attr.Realm, value: Buffer.from(this.realm) },
        { type: S.Attr.Nonce, value: this.nonce },
      ], { integrityKey: this.key, fingerprint: true });
      const m = verified(await this.client.request(msg, tid, this.timeoutMs, what), `the answer to the ${what}`, this.key);
      if (m.cls === "error" && S.errorCode(m)?.code === 438 && attempt === 0) {
        this.nonce = S.attr(m, S.Attr.Nonce) ?? this.nonce;
        continue;
      }
      return m;
    }
  }

  permit(address: string): Promise<S.StunMessage> {
    return this.request(S.Method.CreatePermission, [peer({ address, port: 0 })], `TURN CreatePermission for ${address}`);
  }

  send(to: S.TransportAddress, data: Buffer): void {
    const tid = S.newTransactionId();
    this.client.indicate(S.encode(S.Method.Send, "indication", tid, [
      { type: S.Attr.XorPeerAddress, value: S.encodeXorAddress(to, tid) },
      { type: S.Attr.Data, value: data },
    ], { fingerprint: true }));
  }

  /** Frees the allocation (lifetime 0); its answer does not matter. */
  async close(): Promise<void> {
    await this.request(S.Method.Refresh, [{ type: S.Attr.Lifetime, value: S.u32(0) }], "TURN Refresh 0").catch(() => undefined);
    this.client.close();
  }
}

export class AllocationRefused extends Error {
  constructor(message: string, readonly fix: string) {
    super(message);
  }
}

const ALLOC_UDP = { type: S.Attr.RequestedTransport, value: S.REQUESTED_TRANSPORT_UDP };
/** Peer addresses are written with a zero transaction id and re-encoded per request (the XOR depends on it). */
const ZERO_TID = Buffer.alloc(12);
const peer = (a: S.TransportAddress) => ({ type: S.Attr.XorPeerAddress, value: S.encodeXorAddress(a, ZERO_TID) });

/** Allocations on `server` (IPv4): the relay address, a datagram relayed to this client, two users relaying to each other, and the refused peers. */
async function allocationChecks(server: string, turn: NonNullable<Expected["turn"]>, opts: TurnOptions): Promise<CheckResult[]> {
  const t = opts.timeoutMs;
  // An IPv4 allocation relays to IPv4 peers only (an IPv6 peer is a 443 family mismatch, not a refusal).
  const denied = turn.deniedPeers.filter((p) => net.isIPv6(p.address) === net.isIPv6(server));
  const expAlloc = `an allocation with a relay on ${server} ports ${turn.relayPorts.from}-${turn.relayPorts.to}`;
  const expRelay = "a datagram relayed back to this client";
  const expPair = "a datagram from one allocation's relay to another's (two users of this edge in a call)";
  const names = {
    alloc: `TURN allocation on ${server} (shared secret)`,
    relay: `TURN relays a datagram to this client (${server})`,
    pair: `TURN relays between two allocations (${server})`,
    denied: (p: DeniedPeer) => `TURN refuses a relay to ${p.address} (${p.why})`,
  };
  const skipped = (why: string): CheckResult[] => [
    { area: "stun-turn", name: names.relay, status: "skip", expected: expRelay, seen: why, ms: 0 },
    { area: "stun-turn", name: names.pair, status: "skip", expected: expPair, seen: why, ms: 0 },
    ...denied.map((p): CheckResult => ({ area: "stun-turn", name: names.denied(p), status: "skip", expected: "403 Forbidden", seen: why, ms: 0 })),
  ];
  if (opts.secret === undefined) {
    const why = "no TURN secret (--turn-secret-from-stack, or --turn-secret-env VAR)";
    return [{ area: "stun-turn", name: names.alloc, status: "skip", expected: expAlloc, seen: why, ms: 0 }, ...skipped(why)];
  }
  const secret = opts.secret;

  const t0 = performance.now();
  let a: Allocation;
  try {
    a = await Allocation.open(server, turn.port, secret, t);
  } catch (e) {
    const fix = e instanceof AllocationRefused || e instanceof UntrustedAnswer ? e.fix : "coturn on the edge does not answer on UDP 3478: running? firewall?";
    return [{ area: "stun-turn", name: names.alloc, status: "fail", expected: expAlloc, seen: (e as Error).message, fix, ms: Math.round(performance.now() - t0) }, ...skipped("no allocation")];
  }
  try {
    const results: CheckResult[] = [];
    const inRange = a.relayed.port >= turn.relayPorts.from && a.relayed.port <= turn.relayPorts.to;
    results.push({
      area: "stun-turn", name: names.alloc, ms: Math.round(performance.now() - t0),
      ...(a.relayed.address === server && inRange
        ? pass(expAlloc, `relay ${showAddr(a.relayed)}`)
        : fail(expAlloc, `relay ${showAddr(a.relayed)}`, "coturn's external-ip/relay-ip or min-port/max-port differ from the plan: re-deploy")),
    });
    const relayFix = "the relay range must be open (UDP) in the Hetzner firewall and nftables";

    // A datagram to this client's own public address, where the server sees it.
    results.push(await run("stun-turn", names.relay, expRelay, `${relayFix}; a NAT in front of this client that maps each destination to another port (symmetric) also drops it`, trusting(expRelay, async (): Promise<Outcome> => {
      const perm = await a.permit(a.self.address);
      if (perm.cls !== "success") return fail(expRelay, `CreatePermission for this client: ${JSON.stringify(S.errorCode(perm))}`, "coturn refused a public peer: check denied-peer-ip in turnserver.conf");
      // A datagram from this socket to the relay first: a NAT in front of this client
      // (a CI runner's) then lets the relay's answer in (address- and port-restricted
      // filtering). The relay hands it to the allocation as a Data indication; unused.
      a.client.socket.send(Buffer.from("xmpp-edge-check punch"), a.relayed.port, a.relayed.address);
      const token = Buffer.from(`xmpp-edge-check ${crypto.randomBytes(6).toString("hex")}`);
      a.send(a.self, token);
      const got = await a.client.datagram((d) => d.data.equals(token), t, "the relayed datagram");
      return pass(expRelay, `${token.length} bytes from ${got.from}:${got.port}`);
    })));

    // Two users of this edge, both relayed: each permits the other's relay (the edge's own
    // address), one sends, the other gets a Data indication. This is why the edge's own
    // address is not among the refused peers: coturn admits its relay addresses as peers.
    results.push(await run("stun-turn", names.pair, expPair, relayFix, trusting(expPair, async (): Promise<Outcome> => {
      const b = await Allocation.open(server, turn.port, secret, t);
      try {
        for (const [x, y] of [[a, b], [b, a]] as const) {
          const perm = await x.permit(y.relayed.address);
          if (perm.cls !== "success") return fail(expPair, `CreatePermission for the edge's relay ${y.relayed.address}: ${JSON.stringify(S.errorCode(perm))}`, "coturn must admit its own relay addresses as peers (no denied-peer-ip for them)");
        }
        const token = Buffer.from(`xmpp-edge-check pair ${crypto.randomBytes(6).toString("hex")}`);
        a.send(b.relayed, token);
        const got = await b.client.datagram((d) => d.data.equals(token), t, "the datagram from the other allocation");
        return pass(expPair, `${showAddr(a.relayed)} → ${showAddr(b.relayed)}: ${token.length} bytes (from ${got.from}:${got.port})`);
      } finally {
        await b.close();
      }
    })));

    for (const p of denied) {
      results.push(await run("stun-turn", names.denied(p), "403 Forbidden", "", trusting("403 Forbidden", async (): Promise<Outcome> => {
        const m = await a.permit(p.address);
        const err = S.errorCode(m);
        if (m.cls === "error" && err?.code === 403) return pass("403 Forbidden", `${err.code} ${err.reason}`);
        return fail("403 Forbidden", m.cls === "success" ? "permission granted" : `${err?.code} ${err?.reason}`, `coturn must deny ${p.address}: denied-peer-ip in turnserver.conf (render/coturn.ts TURN_DENIED_PEERS)`);
      })));
    }
    return results;
  } finally {
    await a.close();
  }
}
