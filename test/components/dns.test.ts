// The Cloudflare records the program creates: exactly the model's, proxied
// where the model says, never pointing anywhere but the VPS's public addresses.
import { isNonPublic } from "../../model/net";
import { makePlan } from "../../render/plan";
import { BASE } from "../fixtures";
import { MOCK, ofType, plain, runProgram, type Run } from "./harness";

const DNS = "cloudflare:index/dnsRecord:DnsRecord";
const ZONE_ID = "0123456789abcdef0123456789abcdef";
const records = (run: Run) => ofType(run, DNS).map((r) => plain(r.inputs));

function expectedRecords(raw: Record<string, unknown>) {
  return JSON.parse(makePlan(raw, { vpsIPv4: MOCK.vpsIPv4, vpsIPv6: MOCK.vpsIPv6 }).files["dns.json"]) as Array<Record<string, any>>;
}

const SCENARIOS: [string, Record<string, unknown>][] = [
  ["snikket, direct TLS", { ...BASE, cloudflareZoneId: ZONE_ID }],
  ["prosody, own xmppHost, no direct TLS", { ...BASE, cloudflareZoneId: ZONE_ID, preset: "prosody", xmppHost: "xmpp.example.com", directTls: false, webHostnames: ["www.example.com", "cloud.example.com"] }],
];

describe.each(SCENARIOS)("%s", (_label, raw) => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram(raw);
    if (run.error) throw run.error;
  });

  test("every record of the model exists exactly once, with its type, proxied flag and ttl", () => {
    const got = records(run);
    const want = expectedRecords(raw);
    expect(got).toHaveLength(want.length);
    for (const w of want) {
      const same = got.filter((g) => g.type === w.type && g.name === w.name);
      expect(same).toHaveLength(1);
      const g = same[0];
      expect(g.zoneId).toBe(ZONE_ID);
      expect(g.proxied).toBe(w.proxied);
      expect(g.ttl).toBe(w.ttl);
      if (w.type === "SRV") {
        // Cloudflare builds SRV content from data; top-level priority equals data.priority.
        expect(g.data).toEqual(w.data);
        expect(g.priority).toBe(w.data.priority);
        expect(g.content).toBeUndefined();
      } else {
        expect(g.content).toBe(w.content);
      }
    }
  });

  test("web names are proxied with ttl 1; XMPP names are DNS-only", () => {
    const web = (raw.webHostnames as string[]) ?? [];
    for (const r of records(run)) {
      if (web.includes(r.name)) {
        expect({ name: r.name, proxied: r.proxied, ttl: r.ttl }).toEqual({ name: r.name, proxied: true, ttl: 1 });
        expect(["A", "AAAA"]).toContain(r.type);
      } else {
        expect(r.proxied).toBe(false);
        expect(r.ttl).toBeGreaterThan(1);
      }
    }
    const xmppHost = raw.xmppHost ?? raw.domain;
    expect(records(run).filter((r) => r.name === xmppHost && r.type === "A")).toEqual([expect.objectContaining({ proxied: false, content: MOCK.vpsIPv4 })]);
  });

  test("no record points at the home server, the tailnet or a private address", () => {
    const forbidden = [raw.homeTailnetIPv4, raw.homeTailnetIPv6, MOCK.vpsTailnetIPv4, MOCK.vpsTailnetIPv6];
    for (const r of records(run)) {
      if (r.type !== "A" && r.type !== "AAAA") continue;
      expect(forbidden).not.toContain(r.content);
      expect(isNonPublic(r.content)).toBe(false);
      expect([MOCK.vpsIPv4, MOCK.vpsIPv6]).toContain(r.content);
    }
  });

  test("the dnsRecords output lists the same records", () => {
    expect(run.outputs.dnsRecords).toEqual(expectedRecords(raw));
  });
});

test("resource names come from type and name: reordering webHostnames renames nothing", async () => {
  const a = await runProgram({ ...BASE, cloudflareZoneId: ZONE_ID, webHostnames: ["www.example.com", "cloud.example.com"] });
  const b = await runProgram({ ...BASE, cloudflareZoneId: ZONE_ID, webHostnames: ["cloud.example.com", "www.example.com"] });
  const names = (run: Run) => ofType(run, DNS).map((r) => r.name).sort();
  expect(names(a)).toEqual(names(b));
  expect(names(a)).toContain("dns-AAAA-cloud.example.com");
});

test("without cloudflareZoneId the zone is looked up by name", async () => {
  const run = await runProgram({ ...BASE });
  if (run.error) throw run.error;
  const lookups = run.invokes.filter((i) => i.token === "cloudflare:index/getZone:getZone");
  expect(lookups).toHaveLength(1);
  expect(lookups[0].inputs.filter.name).toBe("example.com");
  expect(new Set(records(run).map((r) => r.zoneId))).toEqual(new Set([MOCK.zoneIdByName]));
});

test("dns off: no Cloudflare resource and no lookup, but the dnsRecords output stays", async () => {
  const run = await runProgram({ ...BASE, dns: "off" });
  if (run.error) throw run.error;
  expect(run.resources.filter((r) => r.type.startsWith("cloudflare:"))).toEqual([]);
  expect(run.invokes.filter((i) => i.token.startsWith("cloudflare:"))).toEqual([]);
  expect(run.outputs.dnsRecords).toEqual(expectedRecords(BASE));
});
