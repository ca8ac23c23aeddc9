// TURN over TLS on 443 (turnTls), as Conversations and Siskin reach it: TLS
// with SNI = the TURN name and no ALPN. The certificate (names the TURN name,
// chains to a trusted root, is not the edge's placeholder, does not expire
// soon), a STUN binding over it, 401 for an Allocate without credentials,
// and with the TURN secret two allocations over TLS whose relays pass a
// datagram (the only relay path a client that has nothing but TCP 443 can
// prove). Every answer is verified as check/turn.ts verifies them.
import * as crypto from "node:crypto";
import * as tls from "node:tls";
import { DatagramQueue, type Datagram } from "./datagrams";
import type { Expected } from "./expected";
import type { CheckResult } from "./report";
import * as S from "./stun";
import { Allocation, AllocationRefused, UntrustedAnswer, verified, type StunTransport } from "./turn";
import { CHECK_BUDGET_MS, fail, pass, run, withTimeout, type Outcome } from "./timed";

/** The placeholder's subject organisation (host/xmpp-edge-turn-cert): the edge has no ACME certificate yet. */
export const PLACEHOLDER_ORG = "xmpp-edge placeholder";
/** Fewer days left than this: renewal (due 30 days before expiry, twice a day) has been failing for weeks. */
export const EXPIRY_WARNING_DAYS = 14;

export interface TurnTlsOptions {
  secret?: string;
  /** The CAs to trust (--ca: the system's roots and the lab's); undefined: the system's. */
  ca?: string[];
  timeoutMs: number;
}

/** STUN over one TLS stream: requests sent once (the stream is reliable), Data indications kept apart. */
export class StunTls implements StunTransport {
  private buf = Buffer.alloc(0);
  private waiting = new Map<string, (m: S.StunMessage) => void>();
  readonly datagrams = new DatagramQueue();
  private closed: Error | undefined;

  private constructor(readonly socket: tls.TLSSocket) {
    socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (let len = S.messageLength(this.buf); len !== undefined; len = S.messageLength(this.buf)) {
        const raw = this.buf.subarray(0, len);
        this.buf = this.buf.subarray(len);
        if (!S.isStun(raw)) continue;
        const m = S.decode(raw);
        const data = S.attr(m, S.Attr.Data);
        const from = S.attr(m, S.Attr.XorPeerAddress);
        if (m.method === S.Method.Data && m.cls === "indication" && data && from) {
          if (S.responseProblem(m) !== undefined) continue;
          const p = S.decodeXorAddress(from, m.transactionId);
          this.datagrams.push({ from: p.address, port: p.port, data });
        } else {
          this.waiting.get(m.transactionId.toString("hex"))?.(m);
        }
      }
    });
    socket.on("error", (e) => (this.closed = e));
    socket.on("close", () => (this.closed ??= new Error("the TLS connection closed")));
  }

  /** TLS to `address` with SNI `name` and no ALPN; the certificate is judged apart (checkCertificate), not here. */
  static connect(address: string, port: number, name: string, timeoutMs: number): Promise<StunTls> {
    return withTimeout(timeoutMs, `TLS to ${address} port ${port} (${name})`, new Promise<StunTls>((resolve, reject) => {
      const s = tls.connect({ host: address, port, servername: name, rejectUnauthorized: false, minVersion: "TLSv1.2" });
      s.once("secureConnect", () => resolve(new StunTls(s)));
      s.once("error", (e) => reject(new Error(`TLS to ${address} port ${port} (${name}): ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
      s.once("close", () => reject(new Error(`TLS to ${address} port ${port} (${name}): closed during the handshake`)));
    }));
  }

  async request(msg: Buffer, tid: Buffer, timeoutMs: number, what: string): Promise<S.StunMessage> {
    if (this.closed) throw new Error(`${what}: ${this.closed.message}`);
    const key = tid.toString("hex");
    try {
      return await withTimeout(timeoutMs, what, new Promise<S.StunMessage>((resolve) => {
        this.waiting.set(key, resolve);
        this.socket.write(msg);
      }));
    } finally {
      this.waiting.delete(key);
    }
  }

  indicate(msg: Buffer): void {
    this.socket.write(msg);
  }

  datagram(match: (d: { from: string; data: Buffer }) => boolean, timeoutMs: number, what: string): Promise<Datagram> {
    return this.datagrams.wait(match, timeoutMs, what);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The certificate a server sends for `name` on `address`, judged: names it, chains to a trusted root, not the placeholder, not about to expire. */
export async function certificateOutcome(address: string, port: number, name: string, opts: { ca?: string[]; timeoutMs: number; now?: Date }): Promise<Outcome> {
  const expected = `a certificate for ${name} from a trusted CA, not the placeholder, valid ${EXPIRY_WARNING_DAYS}+ days`;
  const ca = opts.ca;
  const peer = await withTimeout(opts.timeoutMs, `TLS to ${address} port ${port} (${name})`, new Promise<{ cert: tls.DetailedPeerCertificate; authorized: boolean; why?: string }>((resolve, reject) => {
    const s = tls.connect({ host: address, port, servername: name, ca, rejectUnauthorized: false, minVersion: "TLSv1.2", checkServerIdentity: () => undefined });
    s.once("secureConnect", () => {
      resolve({ cert: s.getPeerCertificate(true), authorized: s.authorized, why: s.authorizationError?.toString() });
      s.destroy();
    });
    s.once("error", (e) => reject(new Error(`TLS to ${address} port ${port} (${name}): ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
  }));
  const c = peer.cert;
  const now = opts.now ?? new Date();
  const days = Math.floor((new Date(c.valid_to).getTime() - now.getTime()) / 86_400_000);
  const seen = `${c.subject?.O ? `O=${c.subject.O}, ` : ""}CN=${c.subject?.CN ?? "?"}, issuer ${c.issuer?.O ?? c.issuer?.CN ?? "?"}, serial ${c.serialNumber}, ${days} days left`;
  if (c.subject?.O === PLACEHOLDER_ORG) {
    return fail(expected, seen, "the edge still serves its placeholder: certbot has not got a certificate yet. On the edge: systemctl status xmpp-edge-turn-cert; journalctl -u xmpp-edge-turn-cert (port 80 reachable for the TURN name? its DNS record the edge's?)");
  }
  const mismatch = tls.checkServerIdentity(name, c);
  if (mismatch) return fail(expected, `${seen}: ${mismatch.message}`, "the certificate is for another name: re-deploy (the edge asks for the TURN name's certificate)");
  if (!peer.authorized) return fail(expected, `${seen}: ${peer.why}`, "the chain does not verify: browsers refuse this TURN server (Conversations and Siskin do not check)");
  if (days < EXPIRY_WARNING_DAYS) return fail(expected, seen, "renewal has been failing (it is due 30 days before expiry): journalctl -u xmpp-edge-turn-cert on the edge");
  return pass(expected, seen);
}

export async function checkTurnTls(exp: Expected, opts: TurnTlsOptions): Promise<CheckResult[]> {
  const t = exp.turnTls;
  if (!t || !exp.turn) return [];
  const turn = exp.turn;
  const checks: Promise<CheckResult | CheckResult[]>[] = [];
  for (const target of t.targets) {
    const where = `${target.name} on ${target.address} port ${t.port}`;
    const fixReach = `443 with SNI ${target.name} must reach the edge's TLS terminator (nginx) and coturn on 127.0.0.1:${turn.port}: re-deploy with turnTls on; see nginx's stream log on the edge`;
    checks.push(run("stun-turn", `TURN over TLS: certificate of ${where}`, "a trusted certificate for the name", fixReach, () => certificateOutcome(target.address, t.port, target.name, opts)));
    const expBinding = "a binding response over TLS";
    checks.push(run("stun-turn", `TURN over TLS: STUN binding ${where}`, expBinding, fixReach, async () => {
      const c = await StunTls.connect(target.address, t.port, target.name, opts.timeoutMs);
      try {
        const tid = S.newTransactionId();
        const m = verified(await c.request(S.encode(S.Method.Binding, "request", tid, [], { fingerprint: true }), tid, opts.timeoutMs, `STUN binding over TLS (${where})`), `the binding answer over TLS (${where})`);
        if (m.cls !== "success") return fail(expBinding, `${m.cls} ${JSON.stringify(S.errorCode(m))}`, fixReach);
        // coturn sees the terminator, not this client: the mapped address is the edge's loopback.
        return pass(expBinding, "binding success (coturn behind the edge's TLS terminator)");
      } finally {
        c.close();
      }
    }));
    const exp401 = "401 Unauthorized with a realm and a nonce";
    checks.push(run("stun-turn", `TURN over TLS: Allocate without credentials ${where}`, exp401, fixReach, async () => {
      const c = await StunTls.connect(target.address, t.port, target.name, opts.timeoutMs);
      try {
        const tid = S.newTransactionId();
        const m = verified(await c.request(S.encode(S.Method.Allocate, "request", tid, [{ type: S.Attr.RequestedTransport, value: S.REQUESTED_TRANSPORT_UDP }], { fingerprint: true }), tid, opts.timeoutMs, `Allocate over TLS (${where})`), `the Allocate answer over TLS (${where})`);
        const err = S.errorCode(m);
        if (m.cls === "error" && err?.code === 401 && S.attr(m, S.Attr.Realm) && S.attr(m, S.Attr.Nonce)) return pass(exp401, `${err.code} ${err.reason}`);
        return fail(exp401, `${m.cls} ${JSON.stringify(err)}`, "coturn must require credentials: use-auth-secret in turnserver.conf");
      } finally {
        c.close();
      }
    }));
    checks.push(withTimeout(2 * CHECK_BUDGET_MS, `TURN over TLS on ${where}`, relayOverTls(target, t.port, turn, opts)).catch((e: Error): CheckResult => (
      { area: "stun-turn", name: `TURN over TLS: two allocations relay a datagram (${where})`, status: "fail", expected: "the TURN checks finish", seen: e.message, fix: "see coturn's and nginx's logs on the edge", ms: 2 * CHECK_BUDGET_MS })));
  }
  return (await Promise.all(checks)).flat();
}

/** Two allocations over TLS: each a relay on the edge in the relay range, and a datagram from one relay to the other. */
async function relayOverTls(target: { name: string; address: string }, port: number, turn: NonNullable<Expected["turn"]>, opts: TurnTlsOptions): Promise<CheckResult> {
  const name = `TURN over TLS: two allocations relay a datagram (${target.name} on ${target.address} port ${port})`;
  const expected = `allocations over TLS with relays on ${target.address} ports ${turn.relayPorts.from}-${turn.relayPorts.to}, and a datagram from one to the other`;
  if (opts.secret === undefined) return { area: "stun-turn", name, status: "skip", expected, seen: "no TURN secret (--turn-secret-from-stack, or --turn-secret-env VAR)", ms: 0 };
  const secret = opts.secret;
  return run("stun-turn", name, expected, "coturn behind the terminator: see its log on the edge", async () => {
    const open = () => Allocation.open(target.address, port, secret, opts.timeoutMs, () => StunTls.connect(target.address, port, target.name, opts.timeoutMs));
    let a: Allocation<StunTls> | undefined;
    let b: Allocation<StunTls> | undefined;
    try {
      a = await open();
      b = await open();
      for (const r of [a.relayed, b.relayed]) {
        if (r.address !== target.address || r.port < turn.relayPorts.from || r.port > turn.relayPorts.to) {
          return fail(expected, `relay ${r.address}:${r.port}`, "coturn's relay-ip or min-port/max-port differ from the plan: re-deploy");
        }
      }
      for (const [x, y] of [[a, b], [b, a]] as const) {
        const perm = await x.permit(y.relayed.address);
        if (perm.cls !== "success") return fail(expected, `CreatePermission for ${y.relayed.address}: ${JSON.stringify(S.errorCode(perm))}`, "coturn must admit its own relay addresses as peers");
      }
      const token = Buffer.from(`xmpp-edge-check tls ${crypto.randomBytes(6).toString("hex")}`);
      a.send(b.relayed, token);
      const got = await b.client.datagram((d) => d.data.equals(token), opts.timeoutMs, "the datagram relayed over TLS");
      return pass(expected, `${a.relayed.address}:${a.relayed.port} → ${b.relayed.address}:${b.relayed.port}: ${token.length} bytes (from ${got.from}:${got.port})`);
    } catch (e) {
      if (e instanceof AllocationRefused || e instanceof UntrustedAnswer) return fail(expected, e.message, e.fix);
      throw e;
    } finally {
      await a?.close();
      await b?.close();
    }
  });
}
