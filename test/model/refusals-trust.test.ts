// Refusals of configs that validated but would hurt: a URL's credentials in
// an error, a login server on port 0, home looked up under an edge's own
// name, a push as a user the apply refuses.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadConfig, readStackFile } from "../../model/source";
import { DEPLOY_KEY, HOST_KEY, problems } from "../fixtures";

const HS = { tailscaleAuthKey: { secure: "v1:x" } };

describe("a login server's credentials never appear in an error", () => {
  test.each([
    ["user and password", "https://admin:hunter2pw@hs.example.com"],
    ["user and password on http", "http://admin:hunter2pw@hs.example.com:8080/x"],
    ["a token as the user", "https://hunter2pw@hs.example.com"],
  ])("%s: refused, naming the key and why, without them", (_name, url) => {
    const found = problems({ ...HS, tailscaleLoginServer: url });
    expect(found).toEqual([expect.stringMatching(/^xmpp-edge:tailscaleLoginServer: "https?:\/\/\(credentials not shown\)@hs\.example\.com.*" carries credentials \(user:password@, not shown\)/)]);
    expect(found.join("\n")).not.toContain("hunter2pw");
  });

  test("nor in a type error (the URL given inside a list)", () => {
    const found = problems({ ...HS, tailscaleLoginServer: ["https://admin:hunter2pw@hs.example.com"] });
    expect(found).toEqual([expect.stringMatching(/^xmpp-edge:tailscaleLoginServer: expected string, received array/)]);
    expect(found.join("\n")).not.toContain("hunter2pw");
  });

  test("an e-mail address (a tailscaleSshFrom user) is shown as it is", () => {
    expect(problems({ tailscaleSshFrom: ["you@example.com", "*"] })).toEqual([expect.stringMatching(/^xmpp-edge:tailscaleSshFrom\[1\]: "\*" is not allowed/)]);
    expect(problems({ tailscaleSshFrom: ["You @example.com"] })[0]).toContain('"You @example.com"');
  });
});

describe("a login server's port is 1-65535", () => {
  test.each([
    ["port 0", "https://hs.example.com:0", 0],
    ["port 00 (the URL parser makes it 0)", "https://hs.example.com:00/", 0],
    ["port 65536", "https://hs.example.com:65536", 65536],
    ["port 0 on an IPv6 address", "https://[2001:db8::1]:0", 0],
  ])("%s is refused, naming the port", (_name, url, port) => {
    expect(problems({ ...HS, tailscaleLoginServer: url })).toEqual([
      `xmpp-edge:tailscaleLoginServer: ${JSON.stringify(url)} has port ${port}; expected a port in 1-65535, or none (443 for https)`,
    ]);
  });

  test("ports 1 and 65535, and none, stay accepted", () => {
    for (const url of ["https://hs.example.com:1", "https://hs.example.com:65535/", "https://hs.example.com", "https://[2001:db8::1]"]) expect(problems({ ...HS, tailscaleLoginServer: url })).toEqual([]);
  });
});

describe("homeTailnetHostname is never an edge's own name", () => {
  const lookup = { homeTailnetIPv4: undefined, homeTailnetIPv6: undefined };
  test("the server name", () => {
    expect(problems({ ...lookup, homeTailnetHostname: "xmpp-edge" })).toEqual([
      expect.stringMatching(/^xmpp-edge:homeTailnetHostname: "xmpp-edge" is serverName, the edge's own tailnet hostname: the lookup would take the edge for home; expected the home server's machine name/),
    ]);
  });
  test("a later edge's server name", () => {
    expect(problems({ ...lookup, serverName: "chat", edges: [{ name: "fsn" }, { name: "hel" }], homeTailnetHostname: "chat-hel" })).toEqual([
      expect.stringMatching(/^xmpp-edge:homeTailnetHostname: "chat-hel" is edge "hel"'s server name, the edge's own tailnet hostname/),
    ]);
  });
  test("also next to homeTailnetIPv4 (the name is then unused, and still wrong)", () => {
    expect(problems({ homeTailnetHostname: "xmpp-edge" })).toEqual([expect.stringMatching(/^xmpp-edge:homeTailnetHostname: "xmpp-edge" is serverName.*machine name \("tailscale status" there\)$/)]);
  });
  test("another name stays accepted", () => {
    expect(problems({ ...lookup, serverName: "chat", edges: [{ name: "fsn" }, { name: "hel" }], homeTailnetHostname: "homebox" })).toEqual([]);
  });
});

describe("an existing host is pushed to as root", () => {
  const existing = (user: string) => ({ existingHost: { address: "5.9.10.11", hostKey: HOST_KEY, user }, sshPublicKey: DEPLOY_KEY, sshPrivateKey: { secure: "v1:x" } });
  test("another user is refused in the plan, saying why", () => {
    expect(problems(existing("deploy"))).toEqual([
      expect.stringMatching(/^xmpp-edge:existingHost\.user: "deploy" is not root, and the push runs xmpp-edge-apply as the SSH user, which must be root .*"must run as root"\); expected "root"/),
    ]);
  });
  test("also for a later edge's host", () => {
    const found = problems({ edges: [{ name: "a" }, { name: "b", existingHost: { address: "5.9.10.12", hostKey: HOST_KEY, user: "admin" } }], sshPublicKey: DEPLOY_KEY, sshPrivateKey: { secure: "v1:x" } });
    expect(found).toEqual([expect.stringMatching(/^xmpp-edge:edges\[1\]\.existingHost\.user: "admin" is not root/)]);
  });
  test("root, given or by default, stays accepted", () => {
    expect(problems(existing("root"))).toEqual([]);
  });
});

describe("the stack file reader never shows a URL's credentials either", () => {
  const file = (body: string) => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "xe-url-")), "Pulumi.t.yaml");
    fs.writeFileSync(f, body);
    return f;
  };

  test("a YAML error quoting the line with the URL", () => {
    const f = file("config:\n  xmpp-edge:tailscaleLoginServer: https://admin:hunter2pw@hs.example.com\n    bad: indent\n");
    expect(() => readStackFile(f)).toThrow(/cannot read stack config .*\n\s+xmpp-edge:tailscaleLoginServer: https:\/\/\(credentials not shown\)@hs\.example\.com\n/);
    expect(() => readStackFile(f)).not.toThrow(/hunter2pw/);
  });

  test("a list written as text, echoed as the YAML list it should be", () => {
    const f = file("config:\n  xmpp-edge:domain: chat.example.com\n  xmpp-edge:homeTailnetIPv4: 100.101.102.103\n  xmpp-edge:sshAllowFrom: https://admin:hunter2pw@x.example.com\n");
    expect(() => loadConfig(readStackFile(f))).toThrow(/xmpp-edge:sshAllowFrom: is text, but Pulumi\.yaml declares a list here/);
    expect(() => loadConfig(readStackFile(f))).not.toThrow(/hunter2pw/);
  });
});
