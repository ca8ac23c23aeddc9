// What the real engine showed and mocks did not: a preview must never wait
// for a tailnet device, a missing device is a clear error at once, and a
// targeted update that leaves resources out must not crash the program.
import { joinedDeviceIPv4 } from "../../components/tailnet";
import { BASE } from "../fixtures";
import { ofType, plain, runProgram, type Run } from "./harness";

const ZONE = { cloudflareZoneId: "0123456789abcdef0123456789abcdef" };
const TAGS = ["tag:xmpp-edge"];
const lookups = (run: Run) => run.invokes.filter((i) => i.token.startsWith("tailscale:index/getDevice"));

describe("the VPS's tailnet device", () => {
  test("a preview looks it up without waiting", async () => {
    const run = await runProgram({ ...BASE, ...ZONE }, {}, { dryRun: true });
    expect(run.error).toBeUndefined();
    for (const l of lookups(run)) expect(l.inputs.waitFor).toBeUndefined();
  });

  test("an update looks it up once the server is ready (cloud-init, and so the join, done), without waiting", async () => {
    const run = await runProgram({ ...BASE, ...ZONE });
    if (run.error) throw run.error;
    const order = run.events.map((e) => (e.kind === "resource" ? e.name : e.token));
    const ready = order.indexOf("vps-ready");
    const lookup = order.indexOf("tailscale:index/getDevices:getDevices");
    expect(ready).toBeGreaterThanOrEqual(0);
    expect(lookup).toBeGreaterThan(ready);
    for (const l of lookups(run)) expect(l.inputs.waitFor).toBeUndefined();
    expect(plain(lookups(run)[0].inputs).filters).toEqual([{ name: "hostname", values: ["xmpp-edge"] }]);
  });

  test("a missing device is a clear error, at once: no wait in the lookup, the message says what to do", async () => {
    const run = await runProgram({ ...BASE, ...ZONE }, {}, { dryRun: true });
    for (const l of lookups(run)) expect(l.inputs.waitFor).toBeUndefined();
    const missing = () => joinedDeviceIPv4("xmpp-edge", TAGS, [{ hostname: "other", created: "2026-11-01T10:00:00Z", addresses: ["100.90.9.9"], tags: TAGS }]);
    expect(missing).toThrow(/tailnet device "xmpp-edge" with the tags tag:xmpp-edge is not in the tailnet/);
    expect(missing).toThrow(/cloud-init-output\.log/);
    expect(missing).toThrow(/pulumi up --replace/);
    expect(() => joinedDeviceIPv4("xmpp-edge", TAGS, [{ hostname: "xmpp-edge", created: "2026-11-01T10:00:00Z", addresses: ["fd7a:115c:a1e0::1"], tags: TAGS }])).toThrow(/no IPv4 address in 100\.64\.0\.0\/10/);
  });

  test("of several devices with the server's name (a replaced server), the newest is the server", async () => {
    const run = await runProgram({ ...BASE, ...ZONE }, {}, {
      reports: { "push-confirm": null },
      devices: [
        { hostname: "xmpp-edge", created: "2026-01-01T00:00:00Z", addresses: ["100.90.0.1"], tags: TAGS, authorized: true },
        { hostname: "xmpp-edge", created: "2026-11-20T00:00:00Z", addresses: ["100.90.0.2"], tags: TAGS, authorized: true },
      ],
    });
    if (run.error) throw run.error;
    expect(run.outputs.vpsTailnetIPv4).toBe("100.90.0.2");
  });
});

describe("a targeted update that leaves resources out (their outputs are undefined)", () => {
  test("without the primary IPs the program runs to the end", async () => {
    const run = await runProgram({ ...BASE, ...ZONE }, {}, { absent: ["hcloud:index/primaryIp:PrimaryIp"] });
    expect(run.error).toBeUndefined();
    expect(run.outputs.vpsIPv4).toBeUndefined();
    expect(run.outputs.vpsIPv6).toBeUndefined();
    expect(ofType(run, "hcloud:index/server:Server")).toHaveLength(1);
  });

  test("without any provider resource (keys, server, IPs, commands) the program runs to the end", async () => {
    const absent = [
      "hcloud:index/primaryIp:PrimaryIp",
      "hcloud:index/server:Server",
      "hcloud:index/firewall:Firewall",
      "hcloud:index/sshKey:SshKey",
      "tls:index/privateKey:PrivateKey",
      "tailscale:index/tailnetKey:TailnetKey",
      "random:index/randomPassword:RandomPassword",
      "command:remote:Command",
    ];
    const run = await runProgram({ ...BASE, ...ZONE }, {}, { absent });
    expect(run.error).toBeUndefined();
  });
});
