// STUN (RFC 5389) and the few TURN (RFC 5766) messages the live check needs:
// encode, decode, MESSAGE-INTEGRITY (HMAC-SHA1) and FINGERPRINT (CRC-32).
// Pure functions on Buffers; test/check/stun.test.ts checks them against the
// RFC 5769 test vectors.
import * as crypto from "node:crypto";
import * as net from "node:net";
import * as ipaddr from "ipaddr.js";
import * as zlib from "node:zlib";

export const MAGIC_COOKIE = 0x2112a442;
const FINGERPRINT_XOR = 0x5354554e;
const HEADER_BYTES = 20;

export const Method = { Binding: 0x001, Allocate: 0x003, Refresh: 0x004, Send: 0x006, Data: 0x007, CreatePermission: 0x008 } as const;
export type MessageClass = "request" | "indication" | "success" | "error";
const CLASS_BITS: Record<MessageClass, number> = { request: 0x000, indication: 0x010, success: 0x100, error: 0x110 };

export const Attr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedTransport: 0x0019,
  XorMappedAddress: 0x0020,
  Software: 0x8022,
  Fingerprint: 0x8028,
} as const;

export interface Attribute {
  type: number;
  value: Buffer;
}

export interface StunMessage {
  method: number;
  cls: MessageClass;
  transactionId: Buffer;
  attributes: Attribute[];
  /** The encoded message (decode keeps it for integrity checks). */
  raw: Buffer;
}

export interface TransportAddress {
  address: string;
  port: number;
}

export function newTransactionId(): Buffer {
  return crypto.randomBytes(12);
}

function messageType(method: number, cls: MessageClass): number {
  // Method bits M0-M3, M4-M6, M7-M11 around the class bits C0 (bit 4) and C1 (bit 8).
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | CLASS_BITS[cls];
}

function splitType(type: number): { method: number; cls: MessageClass } {
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const bits = type & 0x0110;
  const cls = (Object.keys(CLASS_BITS) as MessageClass[]).find((c) => CLASS_BITS[c] === bits)!;
  return { method, cls };
}

function header(type: number, length: number, transactionId: Buffer): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(length, 2);
  h.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(h, 8);
  return h;
}

function encodeAttribute(a: Attribute): Buffer {
  const pad = (4 - (a.value.length % 4)) % 4;
  const out = Buffer.alloc(4 + a.value.length + pad);
  out.writeUInt16BE(a.type, 0);
  out.writeUInt16BE(a.value.length, 2);
  a.value.copy(out, 4);
  return out;
}

export interface EncodeOptions {
  /** Key for MESSAGE-INTEGRITY (long-term: longTermKey(); short-term: the password). */
  integrityKey?: Buffer;
  fingerprint?: boolean;
}

export function encode(method: number, cls: MessageClass, transactionId: Buffer, attributes: Attribute[], opts: EncodeOptions = {}): Buffer {
  if (transactionId.length !== 12) throw new Error("a STUN transaction id has 12 bytes");
  const type = messageType(method, cls);
  let body = Buffer.concat(attributes.map(encodeAttribute));
  if (opts.integrityKey) {
    // The HMAC covers the header with a length that already counts the MESSAGE-INTEGRITY attribute.
    const hmac = crypto.createHmac("sha1", opts.integrityKey).update(header(type, body.length + 24, transactionId)).update(body).digest();
    body = Buffer.concat([body, encodeAttribute({ type: Attr.MessageIntegrity, value: hmac })]);
  }
  if (opts.fingerprint) {
    const crc = (zlib.crc32(Buffer.concat([header(type, body.length + 8, transactionId), body])) ^ FINGERPRINT_XOR) >>> 0;
    const v = Buffer.alloc(4);
    v.writeUInt32BE(crc, 0);
    body = Buffer.concat([body, encodeAttribute({ type: Attr.Fingerprint, value: v })]);
  }
  return Buffer.concat([header(type, body.length, transactionId), body]);
}

/** Bytes of a complete STUN message at the start of `buf` (TCP framing), or undefined if incomplete. */
export function messageLength(buf: Buffer): number | undefined {
  if (buf.length < HEADER_BYTES) return undefined;
  const total = HEADER_BYTES + buf.readUInt16BE(2);
  return buf.length >= total ? total : undefined;
}

export function isStun(buf: Buffer): boolean {
  return buf.length >= HEADER_BYTES && (buf[0] & 0xc0) === 0 && buf.readUInt32BE(4) === MAGIC_COOKIE && buf.readUInt16BE(2) % 4 === 0;
}

export function decode(buf: Buffer): StunMessage {
  if (!isStun(buf)) throw new Error("not a STUN message (no magic cookie or bad header)");
  const length = buf.readUInt16BE(2);
  if (buf.length < HEADER_BYTES + length) throw new Error(`truncated STUN message: ${buf.length} of ${HEADER_BYTES + length} bytes`);
  const raw = buf.subarray(0, HEADER_BYTES + length);
  const attributes: Attribute[] = [];
  let at = HEADER_BYTES;
  while (at < raw.length) {
    if (at + 4 > raw.length) throw new Error("truncated STUN attribute header");
    const type = raw.readUInt16BE(at);
    const len = raw.readUInt16BE(at + 2);
    if (at + 4 + len > raw.length) throw new Error(`STUN attribute 0x${type.toString(16)} overruns the message`);
    attributes.push({ type, value: raw.subarray(at + 4, at + 4 + len) });
    at += 4 + len + ((4 - (len % 4)) % 4);
  }
  return { ...splitType(raw.readUInt16BE(0)), transactionId: raw.subarray(8, 20), attributes, raw };
}

export function attr(msg: StunMessage, type: number): Buffer | undefined {
  return msg.attributes.find((a) => a.type === type)?.value;
}

/** Offset of the first attribute of `type` in msg.raw (its 4-byte header), or -1. */
function attributeOffset(msg: StunMessage, type: number): number {
  let at = HEADER_BYTES;
  for (const a of msg.attributes) {
    if (a.type === type) return at;
    at += 4 + a.value.length + ((4 - (a.value.length % 4)) % 4);
  }
  return -1;
}

export function verifyIntegrity(msg: StunMessage, key: Buffer): boolean {
  const at = attributeOffset(msg, Attr.MessageIntegrity);
  if (at < 0 || msg.raw.length < at + 24) return false;
  const h = Buffer.from(msg.raw.subarray(0, HEADER_BYTES));
  h.writeUInt16BE(at - HEADER_BYTES + 24, 2);
  const hmac = crypto.createHmac("sha1", key).update(h).update(msg.raw.subarray(HEADER_BYTES, at)).digest();
  return crypto.timingSafeEqual(hmac, msg.raw.subarray(at + 4, at + 24));
}

export function verifyFingerprint(msg: StunMessage): boolean {
  const at = attributeOffset(msg, Attr.Fingerprint);
  if (at < 0 || msg.raw.length < at + 8) return false;
  const h = Buffer.from(msg.raw.subarray(0, HEADER_BYTES));
  h.writeUInt16BE(at - HEADER_BYTES + 8, 2);
  const crc = (zlib.crc32(Buffer.concat([h, msg.raw.subarray(HEADER_BYTES, at)])) ^ FINGERPRINT_XOR) >>> 0;
  return crc === msg.raw.readUInt32BE(at + 4);
}

/**
 * Why a message from the server is not to be trusted, or undefined. Every
 * message must end in a valid FINGERPRINT (the edge's coturn is configured
 * with `fingerprint`). With `key` (the request was authenticated), it must
 * carry a valid MESSAGE-INTEGRITY followed by nothing but the FINGERPRINT,
 * except the error responses that RFC 5389 10.2 sends without one (400, 401,
 * 438). RFC 5389 says to drop such a message; the check reports it instead.
 */
export function responseProblem(msg: StunMessage, key?: Buffer): string | undefined {
  const last = msg.attributes[msg.attributes.length - 1];
  if (last?.type !== Attr.Fingerprint) return "no FINGERPRINT as its last attribute";
  if (!verifyFingerprint(msg)) return "its FINGERPRINT does not match the message (altered on the way?)";
  if (key === undefined) return undefined;
  const code = msg.cls === "error" ? errorCode(msg)?.code : undefined;
  if (code !== undefined && UNAUTHENTICATED_ERRORS.includes(code)) return undefined;
  const at = msg.attributes.findIndex((a) => a.type === Attr.MessageIntegrity);
  if (at < 0) return "no MESSAGE-INTEGRITY on the answer to an authenticated request";
  if (at !== msg.attributes.length - 2) return "attributes between MESSAGE-INTEGRITY and FINGERPRINT, which the integrity does not cover";
  if (!verifyIntegrity(msg, key)) return "its MESSAGE-INTEGRITY does not match the TURN credentials (altered on the way, or not the edge's coturn)";
  return undefined;
}

/** Error responses to an authenticated request that carry no MESSAGE-INTEGRITY (RFC 5389 10.2.2, 10.2.4). */
const UNAUTHENTICATED_ERRORS = [400, 401, 438];

/** RFC 5389 15.4: key = MD5(username ":" realm ":" password) (the inputs already SASLprep'd). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return crypto.createHash("md5").update(`${username}:${realm}:${password}`, "utf8").digest();
}

/** XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS (RFC 5389 15.2). */
export function encodeXorAddress(a: TransportAddress, transactionId: Buffer): Buffer {
  const family = net.isIP(a.address);
  if (family === 0) throw new Error(`not an IP address: ${a.address}`);
  const addr = Buffer.from(ipaddr.parse(a.address).toByteArray());
  const out = Buffer.alloc(4 + addr.length);
  out.writeUInt16BE(family === 4 ? 0x01 : 0x02, 0);
  out.writeUInt16BE(a.port ^ (MAGIC_COOKIE >>> 16), 2);
  const mask = xorMask(transactionId);
  for (let i = 0; i < addr.length; i++) out[4 + i] = addr[i] ^ mask[i];
  return out;
}

export function decodeXorAddress(value: Buffer, transactionId: Buffer): TransportAddress {
  const family = value.readUInt16BE(0);
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const len = family === 0x01 ? 4 : family === 0x02 ? 16 : 0;
  if (len === 0 || value.length < 4 + len) throw new Error(`bad XOR address attribute (family ${family})`);
  const mask = xorMask(transactionId);
  const bytes = Buffer.alloc(len);
  for (let i = 0; i < len; i++) bytes[i] = value[4 + i] ^ mask[i];
  return { address: ipaddr.fromByteArray([...bytes]).toString(), port };
}

function xorMask(transactionId: Buffer): Buffer {
  const m = Buffer.alloc(16);
  m.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(m, 4);
  return m;
}

export function errorCode(msg: StunMessage): { code: number; reason: string } | undefined {
  const v = attr(msg, Attr.ErrorCode);
  if (!v || v.length < 4) return undefined;
  return { code: (v[2] & 0x07) * 100 + v[3], reason: v.subarray(4).toString("utf8") };
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** REQUESTED-TRANSPORT: UDP (17) followed by three reserved bytes. */
export const REQUESTED_TRANSPORT_UDP = Buffer.from([17, 0, 0, 0]);

/**
 * TURN REST API credentials (draft-uberti-behave-turn-rest, as coturn's
 * use-auth-secret, Prosody's mod_turn_external and Snikket issue them):
 * username = "<expiry unix time>:<user>", password = base64(HMAC-SHA1(secret, username)).
 */
export function turnRestCredentials(secret: string, user: string, expiresAt: number): { username: string; password: string } {
  const username = `${Math.floor(expiresAt)}:${user}`;
  return { username, password: crypto.createHmac("sha1", secret).update(username).digest("base64") };
}
