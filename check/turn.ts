// STUN/TURN: binding requests on 3478 over UDP and TCP; with the TURN secret
// an allocation whose relay is the edge's public address, a datagram relayed
// back to this client, and relays to the edge itself, the tailnet, private
// and loopback addresses refused.
import * as crypto from "node:crypto";
import * as dgram from "node:dgram";
import * as net from "node:net";
import type { DeniedPeer, Expected } from "./expected";
import type { CheckResult } from "./report";
import * as S from "./stun";
import { fail, pass, run, skip, withTimeout, type Outcome } from "./timed";

export interface TurnOptions {
  /** The TURN shared secret (static-auth-secret); undefined: the allocation checks are skipped. */
  secret?: string;
  timeoutMs: number;
}

/** A UDP socket speaking STUN to one server; other datagrams (relayed data) are kept apart. */
class StunUdp {
  readonly socket: dgram.Socket;
  private waiting = new Map<string, (m: S.StunMessage) => void>();
  readonly datagrams: { from: string; port: number; data: Buffer }[] = [];
  private onDatagram: (() => void) | undefined;

  constructor(readonly server: string, readonly port: number) {
    this.socket = dgram.createSocket(net.isIPv6(server) ? "udp6" : "udp4");
    this.socket.on("message", (buf, rinfo) => {
      if (rinfo.address === server && rinfo.port === port && S.isStun(buf)) {
        const m = S.decode(buf);
        this.waiting.get(m.transactionId.toString("hex"))?.(m);
      } else {
        this.datagrams.push({ from: rinfo.address, port: rinfo.port, data: buf });
        this.onDatagram?.();
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

  async datagram(match: (d: { from: string; data: Buffer }) => boolean, timeoutMs: number, what: string): Promise<{ from: string; port: number; data: Buffer }> {
    return withTimeout(timeoutMs, what, new Promise((resolve) => {
      const look = () => {
        const d = this.datagrams.find(match);
        if (d) resolve(d);
      };
      this.onDatagram = look;
      look();
    }));
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
        resolve(mapped(S.decode(buf.subarray(0, len))));
      } catch (e) {
        reject(e);
      }
    });
    s.once("error", (e) => reject(new Error(`TCP ${server} port ${port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    s.once("close", () => reject(new Error(`TCP ${server} port ${port}: closed without a STUN answer`)));
  }));
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
    checks.push(run("stun-turn", `STUN binding UDP ${server} port ${turn.port}`, expected, fixCoturn, async () => {
      const c = new StunUdp(server, turn.port);
      try {
        const tid = S.newTransactionId();
        const m = await c.request(S.encode(S.Method.Binding, "request", tid, [], { fingerprint: true }), tid, t, `STUN binding over UDP to ${server} port ${turn.port}`);
        return pass(expected, `this client is ${showAddr(mapped(m))}`);
      } finally {
        c.close();
      }
    }));
    checks.push(run("stun-turn", `STUN binding TCP ${server} port ${turn.port}`, expected, fixCoturn, async () => pass(expected, `this client is ${showAddr(await bindingTcp(server, turn.port, t))}`)));
  }
  checks.push(...exp.edges.map((e) => allocationChecks(e.ipv4, turn, opts)));
  const results = await Promise.all(checks);
  return results.flat();
}

/** One allocation on `server` (IPv4): its relay address, a relayed datagram, and the refused peers. */
async function allocationChecks(server: string, turn: NonNullable<Expected["turn"]>, opts: TurnOptions): Promise<CheckResult[]> {
  const t = opts.timeoutMs;
  const deniedFor = (relayFamilyOf: string) => turn.deniedPeers.filter((p) => net.isIPv6(p.address) === net.isIPv6(relayFamilyOf));
  const expAlloc = `an allocation with a relay on ${server} ports ${turn.relayPorts.from}-${turn.relayPorts.to}`;
  const expRelay = "a datagram relayed back to this client";
  const names = {
    alloc: `TURN allocation on ${server} (shared secret)`,
    relay: `TURN relays a datagram (${server})`,
    denied: (p: DeniedPeer) => `TURN refuses a relay to ${p.address} (${p.why})`,
  };
  const skipAll = (why: string) =>
    Promise.all([
      run("stun-turn", names.alloc, expAlloc, "", async () => skip(expAlloc, why)),
      run("stun-turn", names.relay, expRelay, "", async () => skip(expRelay, why)),
      ...deniedFor(server).map((p) => run("stun-turn", names.denied(p), "403 Forbidden", "", async () => skip("403 Forbidden", why))),
    ]);
  if (opts.secret === undefined) return skipAll("no TURN secret (--turn-secret-from-stack, or --turn-secret-env VAR)");

  const c = new StunUdp(server, turn.port);
  const t0 = performance.now();
  try {
    // 1. Unauthenticated: the server names its realm and a nonce (401).
    let tid = S.newTransactionId();
    const allocAttrs = [{ type: S.Attr.RequestedTransport, value: S.REQUESTED_TRANSPORT_UDP }];
    const first = await c.request(S.encode(S.Method.Allocate, "request", tid, allocAttrs, { fingerprint: true }), tid, t, `TURN Allocate to ${server}`);
    const realm = S.attr(first, S.Attr.Realm)?.toString("utf8");
    let nonce = S.attr(first, S.Attr.Nonce);
    if (first.cls !== "error" || S.errorCode(first)?.code !== 401 || !realm || !nonce) {
      const r = await run("stun-turn", names.alloc, expAlloc, "", async () => fail(expAlloc, `an unauthenticated Allocate got ${first.cls} ${JSON.stringify(S.errorCode(first))}`, "coturn must require credentials: use-auth-secret in turnserver.conf"));
      return [r];
    }
    // 2. Time-limited credentials from the shared secret, as Prosody and Snikket issue them.
    const creds = S.turnRestCredentials(opts.secret, "xmpp-edge-check", Date.now() / 1000 + 600);
    const key = S.longTermKey(creds.username, realm, creds.password);
    const authed = async (method: number, attrs: S.Attribute[], what: string): Promise<S.StunMessage> => {
      for (let attempt = 0; ; attempt++) {
        tid = S.newTransactionId();
        const msg = S.encode(method, "request", tid, [
          ...attrs,
          { type: S.Attr.Username, value: Buffer.from(creds.username) },
          { type: S.Attr.Realm, value: Buffer.from(realm) },
          { type: S.Attr.Nonce, value: nonce! },
        ], { integrityKey: key, fingerprint: true });
        const m = await c.request(msg, tid, t, what);
        if (m.cls === "error" && S.errorCode(m)?.code === 438 && attempt === 0) {
          nonce = S.attr(m, S.Attr.Nonce) ?? nonce; // stale nonce: once more with the new one
          continue;
        }
        return m;
      }
    };
    const alloc = await authed(S.Method.Allocate, [...allocAttrs, { type: S.Attr.Lifetime, value: S.u32(60) }], `TURN Allocate with credentials to ${server}`);
    const allocMs = Math.round(performance.now() - t0);
    if (alloc.cls !== "success") {
      const err = S.errorCode(alloc);
      const wrongSecret = err?.code === 401;
      return skipRest(await run("stun-turn", names.alloc, expAlloc, "", async () =>
        fail(expAlloc, `${err?.code ?? alloc.cls} ${err?.reason ?? ""}`.trim(), wrongSecret
          ? "the TURN secret was refused: the secret given is not the edge's static-auth-secret (xmpp-edge:turnSecret; a re-deploy after changing it)"
          : "see coturn's log on the edge (quota? relay ports exhausted?)")));
    }
    const relayed = S.decodeXorAddress(S.attr(alloc, S.Attr.XorRelayedAddress)!, alloc.transactionId);
    const self = S.decodeXorAddress(S.attr(alloc, S.Attr.XorMappedAddress)!, alloc.transactionId);
    const inRange = relayed.port >= turn.relayPorts.from && relayed.port <= turn.relayPorts.to;
    const results: CheckResult[] = [];
    results.push({
      area: "stun-turn", name: names.alloc, ms: allocMs,
      ...(relayed.address === server && inRange
        ? pass(expAlloc, `relay ${showAddr(relayed)}`)
        : fail(expAlloc, `relay ${showAddr(relayed)}`, "coturn's external-ip/relay-ip or min-port/max-port differ from the plan: re-deploy")),
    });

    // 3. Relay a datagram to this client's own public address (where the server sees us).
    results.push(await run("stun-turn", names.relay, expRelay, "the relay range must be open (UDP) in the Hetzner firewall and nftables; a NAT in front of this client may also drop it", async (): Promise<Outcome> => {
      const perm = await authed(S.Method.CreatePermission, [{ type: S.Attr.XorPeerAddress, value: S.encodeXorAddress({ address: self.address, port: 0 }, tid) }], "TURN CreatePermission for this client");
      if (perm.cls !== "success") return fail(expRelay, `CreatePermission for this client: ${JSON.stringify(S.errorCode(perm))}`, "coturn refused a public peer: check denied-peer-ip in turnserver.conf");
      const token = Buffer.from(`xmpp-edge-check ${crypto.randomBytes(6).toString("hex")}`);
      const sendTid = S.newTransactionId();
      c.indicate(S.encode(S.Method.Send, "indication", sendTid, [
        { type: S.Attr.XorPeerAddress, value: S.encodeXorAddress(self, sendTid) },
        { type: S.Attr.Data, value: token },
      ], { fingerprint: true }));
      const got = await c.datagram((d) => d.data.equals(token), t, "the relayed datagram");
      return pass(expRelay, `${token.length} bytes from ${got.from}:${got.port}`);
    }));

    // 4. Peers a relay must never reach.
    // An IPv4 allocation relays to IPv4 peers only (an IPv6 peer is a 443 family mismatch, not a refusal).
    for (const p of deniedFor(server)) {
      results.push(await run("stun-turn", names.denied(p), "403 Forbidden", "", async (): Promise<Outcome> => {
        const m = await authed(S.Method.CreatePermission, [{ type: S.Attr.XorPeerAddress, value: S.encodeXorAddress({ address: p.address, port: 0 }, tid) }], `TURN CreatePermission for ${p.address}`);
        const err = S.errorCode(m);
        if (m.cls === "error" && err?.code === 403) return pass("403 Forbidden", `${err.code} ${err.reason}`);
        return fail("403 Forbidden", m.cls === "success" ? "permission granted" : `${err?.code} ${err?.reason}`, `coturn must deny ${p.address}: add denied-peer-ip for it to turnserver.conf (render/coturn.ts)`);
      }));
    }
    // Free the allocation (lifetime 0); its answer does not matter.
    await authed(S.Method.Refresh, [{ type: S.Attr.Lifetime, value: S.u32(0) }], "TURN Refresh 0").catch(() => undefined);
    return results;
  } catch (e) {
    return skipRest({ area: "stun-turn", name: names.alloc, status: "fail", expected: expAlloc, seen: (e as Error).message, fix: "coturn on the edge does not answer on UDP 3478: running? firewall?", ms: Math.round(performance.now() - t0) });
  } finally {
    c.close();
  }

  function skipRest(allocResult: CheckResult): CheckResult[] {
    const why = "no allocation";
    return [
      allocResult,
      { area: "stun-turn", name: names.relay, status: "skip", expected: expRelay, seen: why, ms: 0 },
      ...deniedFor(server).map((p): CheckResult => ({ area: "stun-turn", name: names.denied(p), status: "skip", expected: "403 Forbidden", seen: why, ms: 0 })),
    ];
  }
}
