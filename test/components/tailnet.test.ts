// The tailnet join and lookups: a single-use, pre-authorized, tagged key for
// cloud-init; device lookups only through the Tailscale API; none at all with
// Headscale; the ACL snippet wired to the home addresses.
import { joinedDeviceIPv4 } from "../../components/tailnet";
import { BASE } from "../fixtures";
import { bundleFiles, MOCK, ofType, plain, pushStdin, runProgram, type Run } from "./harness";

const ZONE = { cloudflareZoneId: "0123456789abcdef0123456789abcdef" };
const KEY = "tailscale:index/tailnetKey:TailnetKey";
const GET_DEVICE = "tailscale:index/getDevice:getDevice";
const GET_DEVICES = "tailscale:index/getDevices:getDevices";

describe("Tailscale (API)", () => {
  let run: Run;
  beforeAll(async () => {
    // The confirm reports nothing (tailscale did not answer): the API's device is what is known.
    run = await runProgram({ ...BASE, ...ZONE, tailscaleTags: ["tag:xmpp-edge", "tag:edge"] }, {}, { reports: { "push-confirm": null } });
    if (run.error) throw run.error;
  });

  test("the auth key is single-use, pre-authorized, tagged, short-lived, not ephemeral, never recreated", () => {
    const keys = ofType(run, KEY).map((k) => plain(k.inputs));
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ reusable: false, preauthorized: true, ephemeral: false, tags: ["tag:xmpp-edge", "tag:edge"], recreateIfInvalid: "never" });
    expect(keys[0].expiry).toBeLessThanOrEqual(3600);
  });

  test("the VPS's tailnet address is looked up by server name, once (the readiness command waited for the join)", () => {
    const lookups = run.invokes.filter((i) => i.token === GET_DEVICES);
    expect(lookups).toEqual([{ token: GET_DEVICES, inputs: { filters: [{ name: "hostname", values: ["xmpp-edge"] }] } }]);
    expect(run.outputs.vpsTailnetIPv4).toBe(MOCK.vpsTailnetIPv4);
  });

  test("the home snippets trust exactly the VPS's tailnet address", () => {
    const snippets = run.outputs.homeSnippets as Record<string, string>;
    expect(snippets["nginx-realip.conf"]).toContain(`set_real_ip_from ${MOCK.vpsTailnetIPv4};`);
    expect(snippets["snikket.conf"]).toContain(`SNIKKET_TWEAK_TURNSERVER_SECRET=${"R".repeat(40)}`);
  });
});

test("the key is renewed exactly when the server is replaced anyway (image), not for forwards or records", async () => {
  const base = await runProgram({ ...BASE, ...ZONE });
  const forwards = await runProgram({ ...BASE, ...ZONE, extraForwards: [{ port: 6000, protocol: "tcp" }], webHostnames: ["cloud.example.com"] });
  const image = await runProgram({ ...BASE, ...ZONE, image: "debian-12" });
  const key = (r: Run) => plain(ofType(r, KEY)[0].inputs);
  expect(key(forwards)).toEqual(key(base));
  expect(key(image).description).not.toBe(key(base).description);
  expect(key(base).description).toMatch(/^[A-Za-z0-9 -]{1,50}$/);
});

test("the default tag is tag:xmpp-edge", async () => {
  const run = await runProgram({ ...BASE, ...ZONE });
  expect(plain(ofType(run, KEY)[0].inputs).tags).toEqual(["tag:xmpp-edge"]);
});

test("homeTailnetHostname: the home addresses come from the tailnet and reach the bundle", async () => {
  const { homeTailnetIPv4: _4, homeTailnetIPv6: _6, ...rest } = BASE;
  const run = await runProgram({ ...rest, ...ZONE, homeTailnetHostname: "homebox" });
  if (run.error) throw run.error;
  expect(run.invokes.filter((i) => i.token === GET_DEVICE).map((i) => i.inputs.hostname)).toEqual(["homebox"]);
  expect(run.invokes.filter((i) => i.token === GET_DEVICES)).toHaveLength(1);
  const nft = bundleFiles(pushStdin(run))["/etc/xmpp-edge/xmpp-edge.nft"];
  expect(nft).toContain(`dnat ip to ${MOCK.homeLookupIPv4}`);
  expect(nft).toContain(`dnat ip6 to ${MOCK.homeLookupIPv6}`);
  expect(run.outputs.tailscaleAclSnippet).toContain(MOCK.homeLookupIPv4);
});

test("Headscale: no Tailscale resource and no lookup; the configured key joins, the VPS address is unknown", async () => {
  const run = await runProgram({ ...BASE, ...ZONE, tailscaleLoginServer: "https://hs.example.com" }, { tailscaleAuthKey: "hskey-auth-config" });
  if (run.error) throw run.error;
  expect(run.resources.filter((r) => r.type.startsWith("tailscale:"))).toEqual([]);
  expect(run.invokes.filter((i) => i.token.startsWith("tailscale:"))).toEqual([]);
  const userData: string = plain(ofType(run, "hcloud:index/server:Server")[0].inputs).userData;
  expect(userData).toContain("hskey-auth-config");
  expect(userData).toContain("--login-server=https://hs.example.com");
  // No API tells the VPS's address: the confirm reports it, and the snippets trust exactly it.
  expect(run.outputs.vpsTailnetIPv4).toBe(MOCK.reportedTailnetIPv4);
  const realIp = (run.outputs.homeSnippets as Record<string, string>)["nginx-realip.conf"];
  expect(realIp.match(/^set_real_ip_from 100\..*$/gm)).toEqual([`set_real_ip_from ${MOCK.reportedTailnetIPv4};`]);
  expect(JSON.parse(run.outputs.tailscaleAclSnippet as string).tagOwners).toBeUndefined();
});

test("a Tailscale auth key from config: no key is created and the VPS is not looked up", async () => {
  const run = await runProgram({ ...BASE, ...ZONE }, { tailscaleAuthKey: "tskey-auth-config" });
  if (run.error) throw run.error;
  expect(ofType(run, KEY)).toEqual([]);
  expect(run.invokes.filter((i) => i.token.startsWith(GET_DEVICE))).toEqual([]);
  expect(plain(ofType(run, "hcloud:index/server:Server")[0].inputs).userData).toContain("tskey-auth-config");
});

describe("home trusts the edge's own address, never a device that only carries its name", () => {
  const TAGS = ["tag:xmpp-edge", "tag:edge"];
  const server = { hostname: "xmpp-edge", created: "2026-11-01T10:00:00Z", addresses: [MOCK.vpsTailnetIPv4], tags: TAGS, authorized: true };
  // Any member may register a device named like the server, later than it.
  const impostor = { hostname: "xmpp-edge", created: "2026-11-30T00:00:00Z", addresses: ["100.90.6.6"], tags: [] as string[], authorized: true };
  const trusted = (run: Run) => ((run.outputs.homeSnippets as Record<string, string>)["nginx-realip.conf"].match(/^set_real_ip_from 100\..*$/gm) ?? []).map((l) => l.slice(17, -1));

  test("a newer untagged device with the server's hostname: home trusts the address the edge reports", async () => {
    const run = await runProgram({ ...BASE, ...ZONE, tailscaleTags: TAGS }, {}, { devices: [server, impostor], reports: { "push-confirm": MOCK.vpsTailnetIPv4 } });
    if (run.error) throw run.error;
    expect(run.outputs.vpsTailnetIPv4).toBe(MOCK.vpsTailnetIPv4);
    expect(trusted(run)).toEqual([MOCK.vpsTailnetIPv4]);
  });

  test("the same when the confirm reported nothing: the API's device must carry every edge tag", async () => {
    const run = await runProgram({ ...BASE, ...ZONE, tailscaleTags: TAGS }, {}, { devices: [server, impostor], reports: { "push-confirm": null } });
    if (run.error) throw run.error;
    expect(run.outputs.vpsTailnetIPv4).toBe(MOCK.vpsTailnetIPv4);
    expect(trusted(run)).toEqual([MOCK.vpsTailnetIPv4]);
  });

  test("a newer device with only some of the tags, or not authorized, is not chosen either", async () => {
    const partial = { ...impostor, tags: ["tag:xmpp-edge"] };
    const unauthorized = { ...impostor, created: "2026-12-01T00:00:00Z", addresses: ["100.90.6.7"], tags: TAGS, authorized: false };
    const run = await runProgram({ ...BASE, ...ZONE, tailscaleTags: TAGS }, {}, { devices: [server, partial, unauthorized], reports: { "push-confirm": null } });
    if (run.error) throw run.error;
    expect(trusted(run)).toEqual([MOCK.vpsTailnetIPv4]);
  });

  test("another stack's edge with the same name and tags (a staging stack's defaults), newer: the edge's own report wins", async () => {
    const staging = { ...server, created: "2026-12-02T00:00:00Z", addresses: ["100.90.8.8"] };
    const run = await runProgram({ ...BASE, ...ZONE, tailscaleTags: TAGS }, {}, { devices: [server, staging], reports: { "push-confirm": MOCK.vpsTailnetIPv4 } });
    if (run.error) throw run.error;
    expect(trusted(run)).toEqual([MOCK.vpsTailnetIPv4]);
  });

  test("only impostors: the lookup fails, saying the untagged device is not trusted", () => {
    expect(() => joinedDeviceIPv4("xmpp-edge", TAGS, [impostor])).toThrow(
      /tailnet device "xmpp-edge" with the tags tag:xmpp-edge, tag:edge is not in the tailnet \(1 device\(s\) with that hostname lack the tags/,
    );
  });
});
