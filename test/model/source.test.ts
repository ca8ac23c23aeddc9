import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readPulumiConfig, readStackFile } from "../../model/source";
import { validateConfig } from "../../model/validate";

test("Pulumi's string form (JSON for lists, bools, objects) validates like the stack file", () => {
  const all: Record<string, string> = {
    "xmpp-edge:domain": "chat.example.com",
    "xmpp-edge:webHostnames": JSON.stringify(["www.example.com"]),
    "xmpp-edge:homeTailnetIPv4": "100.101.102.103",
    "xmpp-edge:directTls": "false",
    "xmpp-edge:sshAllowFrom": JSON.stringify(["203.0.113.0/24"]),
    "xmpp-edge:extraForwards": JSON.stringify([{ port: "6000-6001", protocol: "udp" }]),
    "xmpp-edge:turnSecret": "never kept",
    "hcloud:token": "not ours",
  };
  const raw = readPulumiConfig(all);
  expect(raw.turnSecret).toBe(true);
  expect(raw).not.toHaveProperty("token");
  const c = validateConfig(raw);
  expect(c.directTls).toBe(false);
  expect(c.turnSecretSet).toBe(true);
  expect(c.webHostnames).toEqual(["www.example.com"]);
  expect(c.extraForwards[0].ports).toEqual({ from: 6000, to: 6001 });
});

test("bad JSON and unknown keys reach validation, named by their key", () => {
  const all = { "xmpp-edge:domain": "chat.example.com", "xmpp-edge:homeTailnetIPv4": "100.101.102.103", "xmpp-edge:sshAllowFrom": "[203.0.113.0/24", "xmpp-edge:webHostname": '["a.example.com"]' };
  expect(() => validateConfig(readPulumiConfig(all))).toThrow(/xmpp-edge:sshAllowFrom: expected array, received string; got "\[203\.0\.113\.0\/24"[\s\S]*xmpp-edge:webHostname: unknown key/);
});

test("a stack file: our keys only, secure values opaque", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xe-"));
  const file = path.join(dir, "Pulumi.t.yaml");
  fs.writeFileSync(file, "config:\n  hcloud:token: {secure: abc}\n  xmpp-edge:domain: chat.example.com\n  xmpp-edge:turnSecret:\n    secure: AAAB\n");
  expect(readStackFile(file)).toEqual({ domain: "chat.example.com", turnSecret: { secure: "AAAB" } });
  fs.writeFileSync(file, "config: [\n");
  expect(() => readStackFile(file)).toThrow(/cannot read stack config .*Pulumi\.t\.yaml/);
});
