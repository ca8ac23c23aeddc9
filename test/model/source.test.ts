import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readPulumiConfig, readStackFile } from "../../model/source";
import { validateConfig } from "../../model/validate";
import { BASE } from "../fixtures";

test("Pulumi's string form (JSON for lists, bools, objects) validates like the stack file", () => {
  const strings: Record<string, string> = {
    domain: "chat.example.com",
    webHostnames: JSON.stringify(["www.example.com"]),
    homeTailnetIPv4: "100.101.102.103",
    directTls: "false",
    sshAllowFrom: JSON.stringify(["203.0.113.0/24"]),
    extraForwards: JSON.stringify([{ port: "6000-6001", protocol: "udp" }]),
    turnSecret: "should never be read here",
  };
  const raw = readPulumiConfig((k) => strings[k], (k) => k === "turnSecret");
  expect(raw).not.toHaveProperty("turnSecret");
  const c = validateConfig(raw);
  expect(c.directTls).toBe(false);
  expect(c.webHostnames).toEqual(["www.example.com"]);
  expect(c.extraForwards[0].ports).toEqual({ from: 6000, to: 6001 });
});

test("bad JSON reaches validation as text, named by its key", () => {
  const raw = readPulumiConfig((k) => ({ ...Object.fromEntries(Object.entries(BASE).map(([a, b]) => [a, JSON.stringify(b)])), domain: "chat.example.com", homeTailnetIPv4: "100.101.102.103", sshAllowFrom: "[203.0.113.0/24" } as Record<string, string>)[k], () => false);
  expect(() => validateConfig(raw)).toThrow(/xmpp-edge:sshAllowFrom: expected array, received string; got "\[203\.0\.113\.0\/24"/);
});

test("a stack file: our keys only, secure values opaque", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xe-"));
  const file = path.join(dir, "Pulumi.t.yaml");
  fs.writeFileSync(file, "config:\n  hcloud:token: {secure: abc}\n  xmpp-edge:domain: chat.example.com\n  xmpp-edge:turnSecret:\n    secure: AAAB\n");
  expect(readStackFile(file)).toEqual({ domain: "chat.example.com", turnSecret: { secure: "AAAB" } });
  fs.writeFileSync(file, "config: [\n");
  expect(() => readStackFile(file)).toThrow(/cannot read stack config .*Pulumi\.t\.yaml/);
});
