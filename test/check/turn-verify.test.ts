// The TURN check believes no answer it cannot verify: a fake STUN/TURN server
// on loopback answers as coturn does (FINGERPRINT on everything,
// MESSAGE-INTEGRITY on authenticated answers), then alters its answers; every
// altered answer fails the check that reads it, naming the failed attribute.
import * as crypto from "node:crypto";
import * as dgram from "node:dgram";
import * as net from "node:net";
import type { Expected } from "../../check/expected";
import type { CheckResult } from "../../check/report";
import * as S from "../../check/stun";
import { checkTurn } from "../../check/turn";

const SECRET = "the-turn-secret";
const REALM = "chat.example.com";
const NONCE = Buffer.from("0123456789abcdef");
const RELAY = { address: "127.0.0.1", port: 50010 };

/**
 * How the server spoils its answers: "none"; "flip" alters a byte of every
 * success answer after encoding (CRC and HMAC no longer match); "forge" signs
 * authenticated answers with another key (a valid CRC over a forged HMAC);
 * "bare" sends no FINGERPRINT at all.
 */
type Spoil = "none" | "flip" | "forge" | "bare";

/** Encodes an answer as coturn would, then spoils it as asked. */
function answer(spoil: Spoil, req: S.StunMessage, cls: S.MessageClass, attrs: S.Attribute[], key?: Buffer): Buffer {
  const signKey = key && spoil === "forge" ? S.longTermKey("someone", REALM, "else") : key;
  const out = S.encode(req.method, cls, req.transactionId, attrs, { integrityKey: signKey, fingerprint: spoil !== "bare" });
  // The low bit of the first address attribute's port: still a plausible answer, only a check of the bytes tells.
  if (spoil === "flip" && cls === "success") out[27] ^= 0x01;
  return out;
}

/** The answer to one request from `from`: binding, or a TURN request with REST credentials. */
function respond(spoil: Spoil, buf: Buffer, from: S.TransportAddress): Buffer | undefined {
  const req = S.decode(buf);
  const mappedAttr = { type: S.Attr.XorMappedAddress, value: S.encodeXorAddress(from, req.transactionId) };
  if (req.method === S.Method.Binding) return answer(spoil, req, "success", [mappedAttr]);
  const username = S.attr(req, S.Attr.Username)?.toString();
  if (username === undefined) {
    const err = Buffer.concat([Buffer.from([0, 0, 4, 1]), Buffer.from("Unauthorized")]);
    return answer(spoil, req, "error", [{ type: S.Attr.ErrorCode, value: err }, { type: S.Attr.Realm, value: Buffer.from(REALM) }, { type: S.Attr.Nonce, value: NONCE }]);
  }
  const key = S.longTermKey(username, REALM, crypto.createHmac("sha1", SECRET).update(username).digest("base64"));
  if (req.method === S.Method.Allocate) {
    return answer(spoil, req, "success", [{ type: S.Attr.XorRelayedAddress, value: S.encodeXorAddress(RELAY, req.transactionId) }, mappedAttr, { type: S.Attr.Lifetime, value: S.u32(60) }], key);
  }
  if (req.method === S.Method.Refresh || req.method === S.Method.CreatePermission) return answer(spoil, req, "success", [], key);
  return undefined; // Send indications: nothing is relayed here
}

/** A fake coturn on 127.0.0.1, UDP and TCP on one port. */
async function fakeTurn(spoil: Spoil): Promise<{ port: number; close: () => void }> {
  const udp = dgram.createSocket("udp4");
  udp.on("message", (buf, rinfo) => {
    const out = S.isStun(buf) ? respond(spoil, buf, { address: rinfo.address, port: rinfo.port }) : undefined;
    if (out) udp.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
  const port = udp.address().port;
  const tcp = net.createServer((s) => s.on("data", (buf) => {
    const out = respond(spoil, buf, { address: s.remoteAddress!, port: s.remotePort! });
    if (out) s.write(out);
  }));
  await new Promise<void>((resolve, reject) => tcp.once("error", reject).listen(port, "127.0.0.1", resolve));
  return { port, close: () => { udp.close(); tcp.close(); } };
}

async function check(spoil: Spoil): Promise<Map<string, CheckResult>> {
  const server = await fakeTurn(spoil);
  try {
    const expected = { edges: [{ ipv4: "127.0.0.1" }], turn: { port: server.port, relayPorts: { from: 50000, to: 50100 }, deniedPeers: [] } } as unknown as Expected;
    const results = await checkTurn(expected, { secret: SECRET, timeoutMs: 800 });
    return new Map(results.map((r) => [r.name.replace(/ 127\.0\.0\.1.*| on 127.*/, ""), r]));
  } finally {
    server.close();
  }
}

test("answers as coturn gives them pass: the fake is a fair stand-in", async () => {
  const r = await check("none");
  expect(r.get("STUN binding UDP")?.status).toBe("pass");
  expect(r.get("STUN binding TCP")?.status).toBe("pass");
  expect(r.get("TURN allocation")).toMatchObject({ status: "pass", seen: "relay 127.0.0.1:50010" });
});

test("an altered byte fails every check that reads the answer, on its FINGERPRINT", async () => {
  const r = await check("flip");
  for (const name of ["STUN binding UDP", "STUN binding TCP", "TURN allocation"]) {
    expect(r.get(name)).toMatchObject({ status: "fail", seen: expect.stringMatching(/fails verification: its FINGERPRINT does not match/), fix: expect.stringMatching(/alters STUN messages/) });
  }
});

test("a forged MESSAGE-INTEGRITY behind a valid FINGERPRINT fails the allocation", async () => {
  const r = await check("forge");
  expect(r.get("STUN binding UDP")?.status).toBe("pass");
  expect(r.get("TURN allocation")).toMatchObject({ status: "fail", seen: expect.stringMatching(/fails verification: its MESSAGE-INTEGRITY does not match the TURN credentials/) });
});

test("answers without a FINGERPRINT fail", async () => {
  const r = await check("bare");
  for (const name of ["STUN binding UDP", "STUN binding TCP", "TURN allocation"]) {
    expect(r.get(name)).toMatchObject({ status: "fail", seen: expect.stringMatching(/no FINGERPRINT/), fix: expect.stringMatching(/must run with fingerprint/) });
  }
});
