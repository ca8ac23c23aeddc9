// The push: one SSH session carries the bundle, every connection pins the
// host key, the push updates in place and the confirm re-runs per bundle.
import { sha256 } from "../../components/push";
import { WAIT_COMMAND } from "../../components/vps";
import { renderVpsBundle } from "../../render/bundle";
import { CONFIRM_COMMAND, PUSH_COMMAND, REMOVE_COMMAND } from "../../render/push";
import { BASE, model } from "../fixtures";
import { bundleFiles, MOCK, ofType, plain, pushStdin, runProgram, type Run } from "./harness";

const ZONE = { cloudflareZoneId: "0123456789abcdef0123456789abcdef" };
const COMMAND = "command:remote:Command";
const commands = (run: Run) => ofType(run, COMMAND).map((c) => ({ name: c.name, ...plain(c.inputs) }));
const byName = (run: Run, suffix: string) => commands(run).find((c) => c.name.endsWith(suffix))!;

describe("a Hetzner VPS with public SSH", () => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram({ ...BASE, ...ZONE });
    if (run.error) throw run.error;
  });

  test("every remote command pins the generated host key and uses the deploy key", () => {
    const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA" + Buffer.from("vps-host-key").toString("base64").replace(/=/g, "");
    expect(commands(run).map((c) => c.name)).toEqual(["vps-ready", "push-apply", "push-confirm"]);
    for (const c of commands(run)) {
      expect(c.connection.hostKey).toBe(hostKey);
      expect(c.connection).toMatchObject({ host: MOCK.vpsIPv4, port: 22, user: "root" });
      expect(c.connection.privateKey).toContain("PRIVATE-vps-deploy-key");
      expect(c.addPreviousOutputInEnv).toBe(false);
    }
    expect(run.outputs.sshKnownHosts).toBe(`${MOCK.vpsIPv4} ${hostKey}`);
    expect(run.outputs.sshCommand).toMatch(/^ssh -i \S+ .*StrictHostKeyChecking=yes.* root@5\.75\.140\.10$/);
  });

  test("the bundle travels in one command: create = update = PUSH_COMMAND, no triggers, delete removes", () => {
    const carriers = commands(run).filter((c) => c.stdin !== undefined);
    expect(carriers).toHaveLength(1);
    const push = carriers[0];
    expect(push).toMatchObject({ create: PUSH_COMMAND, update: PUSH_COMMAND, delete: REMOVE_COMMAND });
    expect(push.triggers).toBeUndefined();
    // The script is the rendered bundle, with the real addresses and the TURN secret.
    const files = bundleFiles(push.stdin);
    const bundle = renderVpsBundle(model(), { vpsIPv4: MOCK.vpsIPv4, vpsIPv6: MOCK.vpsIPv6, homeIPv4: BASE.homeTailnetIPv4 as string, homeIPv6: BASE.homeTailnetIPv6 as string, vpsTailnetIPv4: MOCK.vpsTailnetIPv4 }, "R".repeat(40));
    expect(Object.keys(files).sort()).toEqual(Object.keys(bundle).sort());
    for (const [path, f] of Object.entries(bundle)) expect([path, files[path]]).toEqual([path, f.content]);
    expect(files["/etc/turnserver.conf"]).toContain(`static-auth-secret=${"R".repeat(40)}`);
  });

  test("it waits for SSH and cloud-init first (the server's readiness), replaced with the server", () => {
    const wait = byName(run, "-ready");
    expect(wait.create).toBe(WAIT_COMMAND);
    expect(wait.create).toContain("cloud-init status --wait");
    expect(wait.triggers).toHaveLength(1);
    expect(wait.connection.dialErrorLimit).toBeGreaterThan(10);
    // The server id is part of the push's stdin: a new server gets an in-place update.
    expect(pushStdin(run).split("\n")[0]).toBe(`# xmpp-edge push to server ${wait.triggers[0]}`);
  });

  test("a second connection confirms, re-run for every new bundle", () => {
    const confirm = byName(run, "-confirm");
    expect(confirm.create).toBe(CONFIRM_COMMAND);
    expect(confirm.stdin).toBeUndefined();
    expect(confirm.triggers).toEqual([sha256(pushStdin(run))]);
  });

  test("a generated TURN secret: RandomPassword, 40 characters, no specials", () => {
    const pw = ofType(run, "random:index/randomPassword:RandomPassword").map((r) => plain(r.inputs));
    expect(pw).toEqual([expect.objectContaining({ length: 40, special: false })]);
  });
});

test("a TURN secret from config is used and nothing is generated", async () => {
  const run = await runProgram({ ...BASE, ...ZONE }, { turnSecret: "configured-turn-secret" });
  if (run.error) throw run.error;
  expect(ofType(run, "random:index/randomPassword:RandomPassword")).toEqual([]);
  expect(bundleFiles(pushStdin(run))["/etc/turnserver.conf"]).toContain("static-auth-secret=configured-turn-secret\n");
});

test("an unchanged config renders the same stdin (no diff, no SSH session)", async () => {
  const a = await runProgram({ ...BASE, ...ZONE });
  const b = await runProgram({ ...BASE, ...ZONE });
  expect(pushStdin(b)).toBe(pushStdin(a));
});

test('sshAllowFrom ["tailnet"]: the readiness wait uses the MagicDNS name, every later command the looked-up tailnet address', async () => {
  const run = await runProgram({ ...BASE, ...ZONE, sshAllowFrom: ["tailnet"] });
  if (run.error) throw run.error;
  for (const c of commands(run)) {
    // The address is looked up only once the server is ready (it has joined then).
    expect(c.connection.host).toBe(c.name === "vps-ready" ? "xmpp-edge" : MOCK.vpsTailnetIPv4);
    expect(c.connection.hostKey).toMatch(/^ssh-ed25519 AAAA/);
  }
  expect(run.outputs.sshCommand).toContain(`root@${MOCK.vpsTailnetIPv4}`);
});

test('Headscale with sshAllowFrom ["tailnet"]: the VPS is reached by its MagicDNS name', async () => {
  const run = await runProgram({ ...BASE, ...ZONE, sshAllowFrom: ["tailnet"], tailscaleSshFrom: ["me@"], tailscaleLoginServer: "https://hs.example.com", serverName: "edge1" }, { tailscaleAuthKey: "hskey-auth-config" });
  if (run.error) throw run.error;
  for (const c of commands(run)) expect(c.connection.host).toBe("edge1");
});
