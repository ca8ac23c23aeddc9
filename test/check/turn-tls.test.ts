// The TURN-over-TLS certificate check against a local TLS server holding each
// kind of certificate an edge may serve: the right one passes; the
// placeholder, another name, an untrusted chain and one about to expire fail.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { certificateOutcome, PLACEHOLDER_ORG } from "../../check/turn-tls";
import { expectedFacts } from "../../check/expected";
import { model } from "../fixtures";

const NAME = "turn.chat.example.com";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xmpp-edge-turn-tls-check-"));
const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });

/** A key and a certificate: self-signed, or signed by the lab CA made below. */
function cert(file: string, subject: string, san: string, signed: boolean, days = 60): { key: string; cert: string } {
  openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", subject, "-keyout", `${file}.key`, "-out", `${file}.csr`);
  fs.writeFileSync(path.join(dir, `${file}.ext`), `subjectAltName=DNS:${san}\n`);
  const sign = signed ? ["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"] : ["-key", `${file}.key`];
  openssl("x509", "-req", "-in", `${file}.csr`, ...sign, "-days", String(days), "-extfile", `${file}.ext`, "-out", `${file}.pem`);
  return { key: fs.readFileSync(path.join(dir, `${file}.key`), "utf8"), cert: fs.readFileSync(path.join(dir, `${file}.pem`), "utf8") };
}

let ca: string;
const servers: tls.Server[] = [];
beforeAll(() => {
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "3", "-subj", "/CN=xmpp-edge test CA", "-keyout", "ca.key", "-out", "ca.pem");
  ca = fs.readFileSync(path.join(dir, "ca.pem"), "utf8");
});
afterAll(() => servers.forEach((s) => s.close()));

async function serving(pair: { key: string; cert: string }): Promise<number> {
  const s = tls.createServer({ ...pair }, (c) => c.end());
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return (s.address() as AddressInfo).port;
}

const judge = async (pair: { key: string; cert: string }, now?: Date) => certificateOutcome("127.0.0.1", await serving(pair), NAME, { ca: [...tls.rootCertificates, ca], timeoutMs: 5000, now });

test("a certificate for the TURN name from a trusted CA passes", async () => {
  const o = await judge(cert("good", `/CN=${NAME}`, NAME, true));
  expect(o.status).toBe("pass");
  expect(o.seen).toMatch(/^CN=turn\.chat\.example\.com, issuer xmpp-edge test CA, serial [0-9A-F]+, 59 days left$/);
});

test("the placeholder fails, naming it and where to look", async () => {
  const o = await judge(cert("placeholder", `/O=${PLACEHOLDER_ORG}/CN=${NAME}`, NAME, false));
  expect(o.status).toBe("fail");
  expect(o.seen).toMatch(/^O=xmpp-edge placeholder, CN=turn\.chat\.example\.com/);
  expect(o.fix).toMatch(/still serves its placeholder.*xmpp-edge-turn-cert/);
});

test("a certificate for another name fails", async () => {
  const o = await judge(cert("wrong", "/CN=chat.example.com", "chat.example.com", true));
  expect(o.status).toBe("fail");
  expect(o.seen).toMatch(/Host: turn\.chat\.example\.com\. is not in the cert's altnames: DNS:chat\.example\.com/);
});

test("a chain that does not verify fails", async () => {
  const o = await judge(cert("selfsigned", `/CN=${NAME}`, NAME, false));
  expect(o.status).toBe("fail");
  expect(o.seen).toMatch(/SELF_SIGNED|self[- ]signed/i);
});

test(`fewer than 14 days left fails`, async () => {
  const pair = cert("expiring", `/CN=${NAME}`, NAME, true, 20);
  expect((await judge(pair, new Date(Date.now() + 5 * 86_400_000))).status).toBe("pass");
  const o = await judge(pair, new Date(Date.now() + 8 * 86_400_000));
  expect(o.status).toBe("fail");
  expect(o.seen).toMatch(/11 days left$/);
  expect(o.fix).toMatch(/renewal has been failing/);
});

test("expected: one target per edge with turnTls, none without", () => {
  const edges = [{ ipv4: "192.0.2.10" }, { ipv4: "192.0.2.20" }];
  const two = { edges: [{ name: "fsn" }, { name: "hel" }] };
  expect(expectedFacts(model({ ...two, turnTls: true }), edges, { allowDocumentationAddresses: true }).turnTls).toEqual({
    port: 443,
    targets: [{ name: "fsn.turn.chat.example.com", address: "192.0.2.10" }, { name: "hel.turn.chat.example.com", address: "192.0.2.20" }],
  });
  expect(expectedFacts(model(two), edges, { allowDocumentationAddresses: true }).turnTls).toBeNull();
});
