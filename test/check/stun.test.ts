// The STUN encoder/decoder against the RFC 5769 test vectors (hex below is
// the RFC's, section by section), plus the TURN REST credentials.
import * as crypto from "node:crypto";
import { Attr, attr, decode, decodeXorAddress, encode, encodeXorAddress, errorCode, longTermKey, Method, turnRestCredentials, verifyFingerprint, verifyIntegrity } from "../../check/stun";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

// RFC 5769 2.1 Sample Request (short-term credentials; padding bytes are 0x20).
const SAMPLE_REQUEST = hex(`
  00010058 2112a442 b7e7a701 bc34d686 fa87dfae
  80220010 5354554e 20746573 7420636c 69656e74
  00240004 6e0001ff
  80290008 932ff9b1 51263b36
  00060009 6576746a 3a683676 59202020
  00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  80280004 e57a3bcf`);
// 2.2 Sample IPv4 Response: 192.0.2.1 port 32853.
const SAMPLE_IPV4_RESPONSE = hex(`
  0101003c 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200008 0001a147 e112a643
  00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
  80280004 c07d4c96`);
// 2.3 Sample IPv6 Response: 2001:db8:1234:5678:11:2233:4455:6677 port 32853.
const SAMPLE_IPV6_RESPONSE = hex(`
  01010048 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
  00080014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
  80280004 c8fb0b4c`);
// 2.4 Sample Request with Long-Term Authentication (zero padding).
const SAMPLE_LONG_TERM = hex(`
  00010060 2112a442 78ad3433 c6ad72c0 29da412e
  00060012 e3839ee3 8388e383 aae38383 e382afe3 82b90000
  0015001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341
  0014000b 6578616d 706c652e 6f726700
  00080014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666`);
const SHORT_TERM_PASSWORD = Buffer.from("VOkJxbRl1RmTxUk/WvJxBt");

describe("STUN against the RFC 5769 test vectors", () => {
  test("2.1: a binding request with its integrity and fingerprint", () => {
    const m = decode(SAMPLE_REQUEST);
    expect(m.method).toBe(Method.Binding);
    expect(m.cls).toBe("request");
    expect(attr(m, Attr.Username)?.toString()).toBe("evtj:h6vY");
    expect(attr(m, Attr.Software)?.toString()).toBe("STUN test client");
    expect(verifyIntegrity(m, SHORT_TERM_PASSWORD)).toBe(true);
    expect(verifyFingerprint(m)).toBe(true);
  });

  test("2.2: an IPv4 success response: the mapped address, integrity, fingerprint", () => {
    const m = decode(SAMPLE_IPV4_RESPONSE);
    expect(m.cls).toBe("success");
    expect(decodeXorAddress(attr(m, Attr.XorMappedAddress)!, m.transactionId)).toEqual({ address: "192.0.2.1", port: 32853 });
    expect(verifyIntegrity(m, SHORT_TERM_PASSWORD)).toBe(true);
    expect(verifyFingerprint(m)).toBe(true);
  });

  test("2.3: an IPv6 success response", () => {
    const m = decode(SAMPLE_IPV6_RESPONSE);
    expect(decodeXorAddress(attr(m, Attr.XorMappedAddress)!, m.transactionId)).toEqual({ address: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853 });
    expect(verifyIntegrity(m, SHORT_TERM_PASSWORD)).toBe(true);
    expect(verifyFingerprint(m)).toBe(true);
  });

  test("2.3 encoded: the XOR-MAPPED-ADDRESS value is byte for byte the RFC's", () => {
    const m = decode(SAMPLE_IPV6_RESPONSE);
    expect(encodeXorAddress({ address: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853 }, m.transactionId)).toEqual(attr(m, Attr.XorMappedAddress));
    const v4 = decode(SAMPLE_IPV4_RESPONSE);
    expect(encodeXorAddress({ address: "192.0.2.1", port: 32853 }, v4.transactionId)).toEqual(attr(v4, Attr.XorMappedAddress));
  });

  test("2.4: encoding the long-term request gives the RFC's bytes (MD5 key, HMAC over the header)", () => {
    const d = decode(SAMPLE_LONG_TERM);
    const key = longTermKey("マトリックス", "example.org", "TheMatrIX"); // the password after SASLprep
    expect(verifyIntegrity(d, key)).toBe(true);
    const encoded = encode(Method.Binding, "request", d.transactionId, [
      { type: Attr.Username, value: Buffer.from("マトリックス") },
      { type: Attr.Nonce, value: Buffer.from("f//499k954d6OL34oL9FSTvy64sA") },
      { type: Attr.Realm, value: Buffer.from("example.org") },
    ], { integrityKey: key });
    expect(encoded.toString("hex")).toBe(SAMPLE_LONG_TERM.toString("hex"));
  });

  test("a changed byte fails the integrity and the fingerprint (the checks can fail)", () => {
    for (const vector of [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE]) {
      const broken = Buffer.from(vector);
      broken[30] ^= 0x01; // inside SOFTWARE
      expect(verifyIntegrity(decode(broken), SHORT_TERM_PASSWORD)).toBe(false);
      expect(verifyFingerprint(decode(broken))).toBe(false);
    }
    expect(verifyIntegrity(decode(SAMPLE_REQUEST), Buffer.from("wrong password"))).toBe(false);
  });

  test("encode → decode round trip keeps class, method, attributes, fingerprint", () => {
    const tid = crypto.randomBytes(12);
    const buf = encode(Method.CreatePermission, "request", tid, [{ type: Attr.XorPeerAddress, value: encodeXorAddress({ address: "203.0.113.9", port: 0 }, tid) }], { integrityKey: Buffer.from("k"), fingerprint: true });
    const m = decode(buf);
    expect([m.method, m.cls]).toEqual([Method.CreatePermission, "request"]);
    expect(decodeXorAddress(attr(m, Attr.XorPeerAddress)!, tid)).toEqual({ address: "203.0.113.9", port: 0 });
    expect(verifyIntegrity(m, Buffer.from("k"))).toBe(true);
    expect(verifyFingerprint(m)).toBe(true);
    const err = encode(Method.Allocate, "error", tid, [{ type: Attr.ErrorCode, value: Buffer.concat([Buffer.from([0, 0, 4, 1]), Buffer.from("Unauthorized")]) }]);
    expect(errorCode(decode(err))).toEqual({ code: 401, reason: "Unauthorized" });
    expect(decode(err).cls).toBe("error");
  });

  test("garbage and truncated messages are rejected", () => {
    expect(() => decode(Buffer.from("GET / HTTP/1.1\r\n\r\n"))).toThrow(/not a STUN message/);
    expect(() => decode(SAMPLE_REQUEST.subarray(0, 40))).toThrow(/truncated/);
  });
});

describe("TURN REST credentials", () => {
  test("username = expiry:user, password = base64(HMAC-SHA1(secret, username))", () => {
    const c = turnRestCredentials("s3cret", "check", 1700000000.7);
    expect(c.username).toBe("1700000000:check");
    // openssl: printf 1700000000:check | openssl dgst -sha1 -hmac s3cret -binary | base64
    expect(c.password).toBe("g8aCK4G8Xg04cc8IgG1zq2vsdbg=");
  });
});
