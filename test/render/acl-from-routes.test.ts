// Least privilege, end to end: the model routes web traffic only when there
// are web names, and the tailnet policy snippet grants, and PLAN.md's "At
// home" table lists, exactly the home ports the model's routes and services
// lead to: derived here from the routes for every combination of the keys
// that move them.
import type { EdgeModel } from "../../model/model";
import { formatRange, HTTP_PORT, HTTPS_PORT } from "../../model/ports";
import { makePlan } from "../../render/plan";
import { BASE } from "../fixtures";

const AXES: Record<string, unknown[]> = {
  webHostnames: [[], ["www.example.com"]],
  preset: ["snikket", "prosody"],
  clientIp: ["masquerade", "proxy-protocol"],
  turn: ["edge", "off"],
  extraForwards: [[], [{ port: 40000, protocol: "udp" }, { port: "6000-6010", protocol: "tcp" }, { port: 8443, protocol: "tcp", toPort: 9443 }]],
};

/** Every combination of the axes' values. */
function combinations(axes: Record<string, unknown[]>): Record<string, unknown>[] {
  return Object.entries(axes).reduce<Record<string, unknown>[]>((acc, [key, values]) => acc.flatMap((c) => values.map((v) => ({ ...c, [key]: v }))), [{}]);
}

/** The home ports the model sends to, by protocol, read off its routes and services. */
function routedPorts(m: EdgeModel): { tcp: string[]; udp: string[] } {
  const tcp = new Set<string>([...m.https, ...m.http].map((r) => String(r.homePort)));
  const udp = new Set<string>();
  for (const s of m.services) if (s.home) (s.protocol === "tcp" ? tcp : udp).add(formatRange(s.home));
  const sorted = (set: Set<string>) => [...set].sort((a, b) => parseInt(a) - parseInt(b));
  return { tcp: sorted(tcp), udp: sorted(udp) };
}

/** The ports the snippet grants the edge at home, by protocol (one host's list; every host gets the same). */
function granted(aclJson: string): { tcp: string[]; udp: string[] } {
  const acl = JSON.parse(aclJson) as { acls: { src: string[]; proto: string; dst: string[] }[] };
  const ports = (proto: string) => acl.acls.filter((a) => a.src.includes("tag:xmpp-edge") && a.proto === proto).flatMap((a) => a.dst[0].split(":")[1].split(","));
  return { tcp: ports("tcp"), udp: ports("udp") };
}

/** PLAN.md's "At home" table: the home ports, by protocol. */
function atHome(planMd: string): { tcp: string[]; udp: string[] } {
  const section = planMd.split("## At home")[1].split("\n## ")[0];
  const rows = section.split("\n").filter((l) => /^\| \d/.test(l)).map((l) => l.split("|").map((c) => c.trim()));
  return { tcp: rows.filter((r) => r[2] === "tcp").map((r) => r[1]), udp: rows.filter((r) => r[2] === "udp").map((r) => r[1]) };
}

describe.each(combinations(AXES).map((c) => [JSON.stringify(c), c] as const))("%s", (_label, overrides) => {
  const plan = makePlan({ ...BASE, ...overrides });
  const m = plan.model;
  const web = (overrides.webHostnames as string[]).length > 0;

  test("web traffic is routed only with web names", () => {
    expect([...m.https, ...m.http].some((r) => r.names === "web")).toBe(web);
  });

  test("the snippet grants exactly the routed home ports", () => {
    expect(granted(plan.files["tailscale-acl.json"])).toEqual(routedPorts(m));
  });

  test("PLAN.md's At home lists exactly the routed home ports", () => {
    expect(atHome(plan.files["PLAN.md"])).toEqual(routedPorts(m));
  });

  test("home 443 only for web names; home 80 only for web names or Prosody's ACME challenges", () => {
    const tcp = granted(plan.files["tailscale-acl.json"]).tcp;
    expect(tcp.includes(String(HTTPS_PORT))).toBe(web);
    expect(tcp.includes(String(HTTP_PORT))).toBe(web || overrides.preset === "prosody");
  });
});
