// The program as a whole: config errors before any resource (in the plan's
// words), secrets that stay secret, components that own their children.
import * as pulumi from "@pulumi/pulumi";
import { makePlan } from "../../render/plan";
import { BASE, DEPLOY_KEY, HOST_KEY } from "../fixtures";
import { isSecretInput, ofType, runProgram, type Run } from "./harness";

const ZONE = { cloudflareZoneId: "0123456789abcdef0123456789abcdef" };

function planError(raw: Record<string, unknown>): string {
  try {
    makePlan(raw);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("makePlan accepted the config");
}

describe("invalid config fails before any resource, with the plan's messages", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["several problems at once", { ...BASE, domain: "Chat.Example.com", homeTailnetIPv4: "10.0.0.1", sshAllowFrom: ["tailnet", "203.0.113.0/24"], extraForwards: [{ port: 5222, protocol: "tcp" }] }],
    ["a missing required key and an unknown key", { ...BASE, domain: undefined, webHostname: ["www.example.com"] }],
    ["a type error", { ...BASE, directTls: "yes", turnRelayPorts: "3000-3001" }],
    ["Headscale without its auth key", { ...BASE, tailscaleLoginServer: "https://hs.example.com" }],
  ];
  test.each(cases)("%s", async (_label, raw) => {
    const clean = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
    const run = await runProgram(clean);
    expect(run.error).toBeDefined();
    expect(run.error!.message).toBe(planError(clean));
    expect(run.error!.message).toMatch(/^invalid xmpp-edge configuration/);
    expect(pulumi.RunError.isInstance(run.error)).toBe(true); // printed without a stack trace
    expect(run.resources).toEqual([]);
    expect(run.invokes).toEqual([]);
  });
});

describe("existingHost is checked by the plan and the program alike", () => {
  test("it needs a host key to pin, a public IPv4 and a deploy key it accepts", async () => {
    const raw = { ...BASE, ...ZONE, existingHost: { address: "100.70.1.2" } };
    const msg = planError(raw);
    expect(msg).toContain("xmpp-edge:existingHost.hostKey: is required");
    expect(msg).toContain("xmpp-edge:existingHost.ipv4: is required");
    expect(msg).not.toContain("existingHost.ipv6"); // an IPv4-only host is fine
    expect(msg).toContain("xmpp-edge:sshPrivateKey: is required with existingHost");
    const run = await runProgram(raw);
    expect(run.error?.message).toBe(msg);
    expect(run.resources).toEqual([]);
  });

  test("its addresses must be public (no tailnet or private address in DNS)", async () => {
    const raw = { ...BASE, ...ZONE, existingHost: { address: "edge.example.net", hostKey: HOST_KEY, ipv4: "192.168.1.2", ipv6: "fd7a:115c:a1e0::1" }, sshPublicKey: DEPLOY_KEY };
    const run = await runProgram(raw, { sshPrivateKey: "k" });
    expect(run.error?.message).toContain('xmpp-edge:existingHost.ipv4: "192.168.1.2" is not a public IPv4 address');
    expect(run.error?.message).toContain('xmpp-edge:existingHost.ipv6: "fd7a:115c:a1e0::1" is not a public IPv6 address');
    expect(run.error?.message).toBe(planError({ ...raw, sshPrivateKey: { secure: "k" } }));
    expect(run.resources).toEqual([]);
  });

  test("an unknown key inside it is named with its path", () => {
    expect(planError({ ...BASE, existingHost: { address: "5.9.10.11", hostname: "x" } })).toContain("xmpp-edge:existingHost.hostname: unknown key; valid keys: address, user, port, hostKey, ipv4, ipv6");
  });
});

describe("the program reads secrets as the engine marks them", () => {
  test("a secret the engine passes in plain text is refused with the plan's words, its value not shown", async () => {
    const run = await runProgram({ ...BASE, ...ZONE, turnSecret: "plain-turn-secret-value" });
    expect(run.error?.message).toMatch(/xmpp-edge:turnSecret: is a plain value, and secrets must be encrypted .*pulumi config set --secret xmpp-edge:turnSecret/);
    expect(run.error?.message).not.toContain("plain-turn-secret-value");
    expect(run.resources).toEqual([]);
  });
  test("the same value passed as a secret is accepted", async () => {
    const run = await runProgram({ ...BASE, ...ZONE }, { turnSecret: "plain-turn-secret-value" });
    expect(run.error).toBeUndefined();
  });
  test("a non-secret key passed as a secret is refused: the plan could not check it", async () => {
    const { zone: _zone, ...raw }: Record<string, unknown> = { ...BASE, ...ZONE };
    const run = await runProgram(raw, { zone: "example.com" });
    expect(run.error?.message).toMatch(/xmpp-edge:zone: is encrypted, but only tailscaleAuthKey, sshPrivateKey, turnSecret are secrets/);
  });
});

describe("secrets stay secret", () => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram({ ...BASE, ...ZONE });
    if (run.error) throw run.error;
  });

  test("the push's stdin, every connection's private key and the server's user-data", () => {
    const cmds = ofType(run, "command:remote:Command");
    const push = cmds.filter((c) => c.inputs.stdin !== undefined);
    expect(push).toHaveLength(1);
    expect(isSecretInput(push[0].inputs.stdin)).toBe(true);
    for (const c of cmds) {
      const conn = c.inputs.connection;
      // Either the whole connection or its privateKey field is marked secret.
      expect(isSecretInput(conn) || isSecretInput(conn.privateKey)).toBe(true);
    }
    expect(isSecretInput(ofType(run, "hcloud:index/server:Server")[0].inputs.userData)).toBe(true);
  });

  test("stack outputs: homeSnippets, turnSecret and deployPrivateKey are secret; addresses are not", async () => {
    const out = run.exports as Record<string, pulumi.Output<unknown>>;
    expect(await pulumi.isSecret(out.homeSnippets)).toBe(true);
    expect(await pulumi.isSecret(out.turnSecret)).toBe(true);
    expect(await pulumi.isSecret(out.deployPrivateKey)).toBe(true);
    expect(await pulumi.isSecret(out.vpsIPv4)).toBe(false);
    expect(await pulumi.isSecret(out.tailscaleAclSnippet)).toBe(false);
    expect(String(run.outputs.deployPrivateKey)).toContain("PRIVATE-vps-deploy-key");
  });

  test("no non-secret output carries the TURN secret, a private key or the auth key", async () => {
    const out = run.exports as Record<string, unknown>;
    for (const [name, value] of Object.entries(run.outputs)) {
      if (pulumi.Output.isInstance(out[name]) && (await pulumi.isSecret(out[name] as pulumi.Output<unknown>))) continue;
      const text = JSON.stringify(value) ?? "";
      expect([name, text.includes("R".repeat(40)) || text.includes("PRIVATE KEY") || text.includes("tskey-auth")]).toEqual([name, false]);
    }
  });
});

test("every provider resource is the child of one of the four components", async () => {
  const run = await runProgram({ ...BASE, ...ZONE });
  if (run.error) throw run.error;
  const components = ["Vps", "Tailnet", "Dns", "Push"].map((t) => `xmpp-edge:index:${t}`);
  for (const urn of run.urns) {
    const type = urn.split("::")[2];
    if (components.includes(type)) continue; // the components themselves, at the top
    expect([urn, components.some((c) => type.startsWith(`${c}$`))]).toEqual([urn, true]);
  }
  expect(run.urns.filter((u) => components.includes(u.split("::")[2]))).toHaveLength(4);
});
