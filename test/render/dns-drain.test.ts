// Draining an edge: the step before removing it. Its own name stays (the
// sessions on it continue), it leaves every shared record, and no other
// record changes, so draining and removing are each a change to that
// edge's records only.
import { renderDnsRecordSet, type KeyedRecord } from "../../render/dns";
import { makePlan } from "../../render/plan";
import { BASE, model, problems } from "../fixtures";

const OLD = { ipv4: "95.217.1.2", ipv6: "2a01:4f9:c010::1" };
const NEW = { ipv4: "65.108.3.4", ipv6: "2a01:4f9:c011::1" };
const edges = (drainOld: boolean) => ({ edges: [{ name: "old", drain: drainOld }, { name: "new", image: "debian-13" }] });
const keyed = (recs: KeyedRecord[]) => new Map(recs.map((r) => [r.key, JSON.stringify(r.record)]));
const addresses = (recs: KeyedRecord[], a: string) => recs.filter((r) => r.record.content === a || r.record.data?.target.startsWith("old.")).map((r) => r.record.name);

describe.each(["failover", "active-active"])("%s: draining the old edge", (edgeMode) => {
  const before = renderDnsRecordSet(model({ ...edges(false), edgeMode }), [OLD, NEW]);
  const drained = renderDnsRecordSet(model({ ...edges(true), edgeMode }), [OLD, NEW]);

  test("keeps only its own name: no SRV record and no shared name points at it", () => {
    expect(addresses(drained, OLD.ipv4)).toEqual(["old.chat.example.com"]);
    expect(addresses(drained, OLD.ipv6)).toEqual(["old.chat.example.com"]);
    expect(drained.filter((r) => r.record.type === "SRV").every((r) => r.record.data!.target === "new.chat.example.com")).toBe(true);
    // Every service keeps an SRV record (on the new edge).
    expect(new Set(drained.filter((r) => r.record.type === "SRV").map((r) => r.record.name)).size).toBe(4);
  });

  test("removes records and changes none: every record left is the same resource with the same content", () => {
    const b = keyed(before);
    const d = keyed(drained);
    for (const [key, record] of d) expect([key, b.get(key)]).toEqual([key, record]);
    const gone = [...b.keys()].filter((k) => !d.has(k));
    // Its A and AAAA on www, chat (the XMPP host) and its 4 SRV records.
    expect(gone).toHaveLength(8);
  });

  test("removing the drained edge afterwards leaves the shared names' answers as they were while it drained", () => {
    const removed = renderDnsRecordSet(model({ edges: [{ name: "new", image: "debian-13" }], edgeMode }), [NEW]);
    // Only the answers are compared: the remaining edge becomes the first and
    // takes the single-edge record keys (docs/operating.md: the identity of
    // the first edge is what removing it still changes).
    const content = (recs: KeyedRecord[]) => recs.filter((r) => !r.record.name.startsWith("old.") && !r.record.name.startsWith("new.")).map((r) => `${r.record.type} ${r.record.name} ${r.record.content}`).sort();
    expect(content(removed).filter((l) => !l.startsWith("SRV"))).toEqual(content(drained).filter((l) => !l.startsWith("SRV")));
  });
});

describe("refused", () => {
  test("draining the only edge", () => {
    expect(problems({ edges: [{ name: "old", drain: true }] })).toEqual([expect.stringMatching(/^xmpp-edge:edges\[0\]\.drain: is true and drains the only edge: the domain would have no SRV target/)]);
  });
  test("draining every edge", () => {
    expect(problems({ edges: [{ name: "old", drain: true }, { name: "new", drain: true }] })).toEqual([
      expect.stringMatching(/^xmpp-edge:edges\[1\]\.drain: is true and drains every edge \(old, new\): .* Leave at least one edge without drain: true$/),
    ]);
  });
  test("a drain that is not a boolean", () => {
    expect(problems({ edges: [{ name: "old", drain: "yes" }, { name: "new" }] })).toEqual([expect.stringMatching(/^xmpp-edge:edges\[0\]\.drain: expected boolean/)]);
  });
});

test("PLAN.md names the draining edge and what it means", () => {
  const md = makePlan({ ...BASE, ...edges(true) }).files["PLAN.md"];
  expect(md).toContain("| old (draining) |");
  expect(md).toMatch(/Draining: `old`\. Out of the SRV records .* still up, pushed and answering on its own name/);
  expect(md).toMatch(/`failover`: the SRV records send clients and servers to `new` first/);
  expect(makePlan({ ...BASE, ...edges(false) }).files["PLAN.md"]).not.toContain("Draining");
});

test("draining is DNS only: every file the plan pushes or shows, but dns.json and PLAN.md, is byte for byte the undrained one", () => {
  const undrained = makePlan({ ...BASE, ...edges(false) });
  const drained = makePlan({ ...BASE, ...edges(true) });
  expect(Object.keys(drained.files).sort()).toEqual(Object.keys(undrained.files).sort());
  const changed = Object.keys(drained.files).filter((f) => drained.files[f] !== undrained.files[f]);
  expect(changed.sort()).toEqual(["PLAN.md", "dns.json"]);
});
