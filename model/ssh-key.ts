// OpenSSH public keys, parsed rather than matched: the base64 blob must
// decode, its wire-format type must equal the line's type, and its fields
// must have the sizes of that type. A truncated key, or a blob of another
// type, fails here instead of at connect time.
import { SSH_PUBLIC_KEY } from "./shapes";

export interface SshPublicKey {
  type: string;
  /** "type base64", without the comment: what is pinned and authorized. */
  key: string;
}

/** Parses an OpenSSH public key line; returns a reason (never quoting the value) when it is not one. */
export function parseSshPublicKey(text: string): SshPublicKey | string {
  const line = text.trim();
  if (/PRIVATE KEY/.test(line)) return "looks like a PRIVATE key; only the public key goes here (the value is not shown)";
  const m = SSH_PUBLIC_KEY.exec(line);
  if (!m) return `is not an OpenSSH public key line; expected "TYPE BASE64 [comment]" with TYPE one of ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa`;
  const [type, b64] = line.split(" ");
  const blob = Buffer.from(b64, "base64");
  if (blob.toString("base64") !== b64) return `has a ${type} key whose base64 does not decode cleanly (truncated or altered)`;
  const fields = readStrings(blob);
  if (fields === undefined) return `has a ${type} key whose blob is not in SSH wire format (truncated?)`;
  const wireType = fields[0]?.toString("latin1");
  if (wireType !== type) return `says ${type}, but its blob holds a ${wireType === undefined ? "nothing" : JSON.stringify(wireType.slice(0, 40))} key; the two halves come from different keys`;
  const sizeProblem = checkFields(type, fields.slice(1));
  if (sizeProblem) return `has a ${type} key that is ${sizeProblem} (truncated or altered)`;
  return { type, key: `${type} ${b64}` };
}

/** The SSH wire format: uint32 length + bytes, repeated, consuming the whole blob. */
function readStrings(blob: Buffer): Buffer[] | undefined {
  const out: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) return undefined;
    const len = blob.readUInt32BE(at);
    if (at + 4 + len > blob.length) return undefined;
    out.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

const ECDSA_POINT_BYTES: Record<string, number> = { nistp256: 65, nistp384: 97, nistp521: 133 };

function checkFields(type: string, f: Buffer[]): string | undefined {
  if (type === "ssh-ed25519") return f.length === 1 && f[0].length === 32 ? undefined : "not 32 bytes of ED25519 key";
  if (type.startsWith("ecdsa-sha2-")) {
    const curve = type.slice("ecdsa-sha2-".length);
    if (f.length !== 2 || f[0].toString("latin1") !== curve) return `not a ${curve} point`;
    return f[1].length === ECDSA_POINT_BYTES[curve] && f[1][0] === 4 ? undefined : `not an uncompressed ${curve} point`;
  }
  // ssh-rsa: exponent and modulus; below 2048 bits is refused as weak (ssh-audit flags it too).
  if (f.length !== 2) return "not an RSA exponent and modulus";
  const bits = (f[1].length - (f[1][0] === 0 ? 1 : 0)) * 8;
  return bits >= 2048 ? undefined : `an RSA modulus of ${bits} bits, below 2048`;
}
