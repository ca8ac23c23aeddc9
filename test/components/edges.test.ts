// Upgrading a single-edge stack to `edges` replaces nothing: the
// resource graph (URN = parent type chain + type + name, parent URN, inputs)
// of a stack written the old way equals the one with `edges` of one entry;
// a second edge only adds resources, and changes none of the first edge's
// except the SRV records' targets (an in-place update of the same records).
import { BASE, DEPLOY_KEY, HOST_KEY } from "../fixtures";
import { bundleFiles, MOCK, ofType, plain, runProgram, type Run } from "./harness";

const ZONE = { cloudflareZoneId: "0123456789abcdef0123456789abcdef" };
const OLD_WAY = { ...BASE, ...ZONE, serverName: "chat-edge", location: "nbg1", serverType: "cx23" };
const ONE_EDGE = { ...BASE, ...ZONE, serverName: "chat-edge", location: "nbg1", serverType: "cx23", edges: [{ name: "nbg" }] };
const TWO_EDGES = { ...ONE_EDGE, edges: [{ name: "nbg" }, { name: "hel", location: "hel1" }] };
const DEVICES = [
  { hostname: "chat-edge", created: "2026-11-01T10:00:00Z", addresses: [MOCK.vpsTailnetIPv4], tags: ["tag:xmpp-edge"], authorized: true },
  { hostname: "chat-edge-hel", created: "2026-11-01T10:05:00Z", addresses: ["100.90.3.4"], tags: ["tag:xmpp-edge"], authorized: true },
];
/** Each edge's confirm reports its own device's address. */
const REPORTS = { "push-confirm": MOCK.vpsTailnetIPv4, "push-hel-confirm": "100.90.3.4" };

/** Every registered resource by URN: its parent's URN and its inputs (secret wrappers off). */
function graph(run: Run): Map<string, { parent: string; inputs: string }> {
  if (run.error) throw run.error;
  const byUrn = new Map<string, { parent: string; inputs: string }>();
  // Registration order is the same for the same program: pair URNs with the recorded inputs by name and type.
  for (const urn of run.urns) {
    const [, , typeChain, name] = urn.split("::");
    const type = typeChain.split("$").pop()!;
    const r = run.resources.find((x) => x.name === name && x.type === type);
    byUrn.set(urn, { parent: run.parents[urn], inputs: JSON.stringify(plain(r?.inputs ?? {})) });
  }
  return byUrn;
}

let oldWay: Run, oneEdge: Run, twoEdges: Run;
beforeAll(async () => {
  oldWay = await runProgram(OLD_WAY, {}, { devices: DEVICES, reports: REPORTS });
  oneEdge = await runProgram(ONE_EDGE, {}, { devices: DEVICES, reports: REPORTS });
  twoEdges = await runProgram(TWO_EDGES, {}, { devices: DEVICES, reports: REPORTS });
});

test("edges of one entry: the same URNs, types, parents and inputs as the stack written the old way", () => {
  const a = graph(oldWay);
  const b = graph(oneEdge);
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [urn, want] of a) expect([urn, b.get(urn)]).toEqual([urn, want]);
  // The proof has teeth: the graph is the whole program (server, IPs, rDNS, key, push, records).
  expect(a.size).toBeGreaterThan(20);
  expect([...a.keys()]).toEqual(expect.arrayContaining([
    "urn:pulumi:test::xmpp-edge::xmpp-edge:index:Vps$hcloud:index/server:Server::vps",
    "urn:pulumi:test::xmpp-edge::xmpp-edge:index:Vps$hcloud:index/primaryIp:PrimaryIp::vps-ipv4",
    "urn:pulumi:test::xmpp-edge::xmpp-edge:index:Tailnet$tailscale:index/tailnetKey:TailnetKey::tailnet-vps-key",
    "urn:pulumi:test::xmpp-edge::xmpp-edge:index:Push$command:remote:Command::push-apply",
  ]));
  expect(oneEdge.outputs.dnsRecords).toEqual(oldWay.outputs.dnsRecords);
  expect(oneEdge.outputs.homeSnippets).toEqual(oldWay.outputs.homeSnippets);
});

test("a second edge adds its own resources and changes none of the first edge's, except the SRV targets (updated in place)", () => {
  const one = graph(oneEdge);
  const two = graph(twoEdges);
  for (const [urn, want] of one) {
    expect([urn, two.has(urn)]).toEqual([urn, true]);
    const got = two.get(urn)!;
    expect([urn, got.parent]).toEqual([urn, want.parent]);
    if (urn.includes("dnsRecord:DnsRecord::dns-SRV-")) {
      // Same record, new target: the first edge's own name instead of xmppHost.
      expect(JSON.parse(got.inputs).data.target).toBe("nbg.chat.example.com");
      continue;
    }
    // The components' registered inputs are empty; every provider resource must be unchanged.
    expect([urn, got.inputs]).toEqual([urn, want.inputs]);
  }
  const added = [...two.keys()].filter((u) => !one.has(u)).map((u) => u.split("::").slice(2).join("::")).sort();
  expect(added).toEqual(
    [
      "xmpp-edge:index:Vps::vps-hel",
      "xmpp-edge:index:Vps$hcloud:index/primaryIp:PrimaryIp::vps-hel-ipv4",
      "xmpp-edge:index:Vps$hcloud:index/primaryIp:PrimaryIp::vps-hel-ipv6",
      "xmpp-edge:index:Vps$hcloud:index/firewall:Firewall::vps-hel-firewall",
      "xmpp-edge:index:Vps$hcloud:index/server:Server::vps-hel",
      "xmpp-edge:index:Vps$hcloud:index/rdns:Rdns::vps-hel-rdns-ipv4",
      "xmpp-edge:index:Vps$hcloud:index/rdns:Rdns::vps-hel-rdns-ipv6",
      "xmpp-edge:index:Vps$tls:index/privateKey:PrivateKey::vps-hel-host-key",
      "xmpp-edge:index:Vps$command:remote:Command::vps-hel-ready",
      "xmpp-edge:index:Tailnet$tailscale:index/tailnetKey:TailnetKey::tailnet-vps-key-hel",
      "xmpp-edge:index:Push::push-hel",
      "xmpp-edge:index:Push$command:remote:Command::push-hel-apply",
      "xmpp-edge:index:Push$command:remote:Command::push-hel-confirm",
    ]
      .concat(
        ["A", "AAAA"].flatMap((t) => [`${t}-chat.example.com-hel`, `${t}-www.example.com-hel`, `${t}-nbg.chat.example.com`, `${t}-hel.chat.example.com`]),
        ["_xmpps-client", "_xmpps-server", "_xmpp-client", "_xmpp-server"].map((s) => `SRV-${s}._tcp.chat.example.com-hel`),
      )
      .map((x) => (x.startsWith("xmpp-edge:") ? x : `xmpp-edge:index:Dns$cloudflare:index/dnsRecord:DnsRecord::dns-${x}`))
      .sort(),
  );
});

test("the second edge: its own server name, location, single-use key, shared deploy key, and the same TURN secret", () => {
  const servers = ofType(twoEdges, "hcloud:index/server:Server").map((s) => plain(s.inputs));
  expect(servers.map((s) => [s.name, s.location, s.serverType])).toEqual([["chat-edge", "nbg1", "cx23"], ["chat-edge-hel", "hel1", "cx23"]]);
  // Hetzner refuses two SSH keys with one fingerprint: one key, on both servers.
  expect(ofType(twoEdges, "hcloud:index/sshKey:SshKey")).toHaveLength(1);
  expect(new Set(servers.map((s) => JSON.stringify(s.sshKeys))).size).toBe(1);
  const keys = ofType(twoEdges, "tailscale:index/tailnetKey:TailnetKey").map((k) => plain(k.inputs));
  expect(keys.map((k) => k.reusable)).toEqual([false, false]);
  expect(keys[0].description).not.toBe(keys[1].description); // each server's own cloud-init
  expect(ofType(twoEdges, "random:index/randomPassword:RandomPassword")).toHaveLength(1);
  const stdin = ofType(twoEdges, "command:remote:Command").filter((c) => plain(c.inputs).stdin !== undefined).map((c) => plain(c.inputs).stdin as string);
  expect(stdin).toHaveLength(2);
  // Every coturn gets the one generated secret (the mock's RandomPassword result).
  const secrets = stdin.map((s) => Object.values(bundleFiles(s)).join("\n").match(/^static-auth-secret=(.*)$/m)?.[1]);
  expect(secrets).toEqual(["R".repeat(40), "R".repeat(40)]);
  // Each push connects to its own edge.
  const applies = ofType(twoEdges, "command:remote:Command").filter((c) => c.name.endsWith("-apply")).map((c) => plain(c.inputs).connection.host);
  expect(applies).toEqual([MOCK.vpsIPv4, MOCK.laterIPv4]);
});

// A release upgrade without an outage starts with a new edge on the new
// release beside the old one: the old edge's resources must not move.
test("an edge's own image: its server and user-data follow it; the first edge's resources are those of the same stack without it", async () => {
  const mixed = await runProgram({ ...TWO_EDGES, image: "debian-12", edges: [{ name: "nbg" }, { name: "hel", location: "hel1", image: "debian-13" }] }, {}, { devices: DEVICES, reports: REPORTS });
  const same = await runProgram({ ...TWO_EDGES, image: "debian-12" }, {}, { devices: DEVICES, reports: REPORTS });
  const servers = (r: Run) => ofType(r, "hcloud:index/server:Server").map((s) => plain(s.inputs));
  expect(servers(mixed).map((s) => [s.name, s.image])).toEqual([["chat-edge", "debian-12"], ["chat-edge-hel", "debian-13"]]);
  const kex = (s: { userData: string }) => s.userData.match(/^ *KexAlgorithms (\S+)/m)?.[1];
  expect(servers(mixed).map(kex)).toEqual(["sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org", expect.stringMatching(/^mlkem768x25519-sha256,/)]);
  const first = (r: Run) => [...graph(r)].filter(([urn]) => !urn.includes("-hel")).map(([urn, v]) => [urn, v.inputs]);
  expect(first(mixed)).toEqual(first(same));
});

test("outputs: vpsIPv4/vpsIPv6 stay the first edge's; edges lists both; home trusts both edges' tailnet addresses", () => {
  expect(twoEdges.outputs.vpsIPv4).toBe(MOCK.vpsIPv4);
  expect(twoEdges.outputs.vpsIPv6).toBe(MOCK.vpsIPv6);
  expect(twoEdges.outputs.edges).toEqual([
    { name: "nbg", serverName: "chat-edge", dnsName: "nbg.chat.example.com", location: "nbg1", existingHost: null, ipv4: MOCK.vpsIPv4, ipv6: MOCK.vpsIPv6, tailnetIPv4: MOCK.vpsTailnetIPv4 },
    { name: "hel", serverName: "chat-edge-hel", dnsName: "hel.chat.example.com", location: "hel1", existingHost: null, ipv4: MOCK.laterIPv4, ipv6: "2a01:4f8:c012:beef::1", tailnetIPv4: "100.90.3.4" },
  ]);
  const snippets = twoEdges.outputs.homeSnippets as Record<string, string>;
  expect(snippets["nginx-realip.conf"]).toContain(`set_real_ip_from ${MOCK.vpsTailnetIPv4};\nset_real_ip_from 100.90.3.4;`);
});

test("an existing host as the second edge: no Hetzner resources for it, its own push to its address", async () => {
  const run = await runProgram(
    { ...ONE_EDGE, edges: [{ name: "nbg" }, { name: "home2", existingHost: { address: "5.9.10.11", hostKey: HOST_KEY } }], sshPublicKey: DEPLOY_KEY },
    { sshPrivateKey: "k" },
    { devices: DEVICES, reports: REPORTS },
  );
  if (run.error) throw run.error;
  expect(ofType(run, "hcloud:index/server:Server")).toHaveLength(1);
  expect(ofType(run, "tailscale:index/tailnetKey:TailnetKey")).toHaveLength(1);
  const applies = ofType(run, "command:remote:Command").filter((c) => c.name.endsWith("-apply")).map((c) => [c.name, plain(c.inputs).connection.host]);
  expect(applies.sort()).toEqual([["push-apply", MOCK.vpsIPv4], ["push-home2-apply", "5.9.10.11"]]);
});
