// Measured figures in README.md and docs/ agree with where they were
// measured (bench/results.json, bench/scale.json, docs/measurements.json).
// How a figure is marked: scripts/docs-figures.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import { checkAll, checkText, documents } from "../scripts/docs-figures";

const ROOT = path.join(__dirname, "..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");

test("every marked figure agrees with its source (list them: npx tsx scripts/docs-figures.ts)", () => {
  const figures = checkAll();
  expect(figures.length).toBeGreaterThan(100);
  expect(figures.filter((f) => f.problem).map((f) => `${f.file}:${f.line}: ${f.printed} (${f.source} ${f.path}): ${f.problem}`)).toEqual([]);
});

test("a figure edited in the prose is caught (the check can fail)", () => {
  const doc = read("docs/performance.md");
  const edited = doc.replace("×1.09<!-- fig: results.json summary/tcp_mbit_s/paths/dnat@tailnet/ratio -->", "×1.05<!-- fig: results.json summary/tcp_mbit_s/paths/dnat@tailnet/ratio -->");
  expect(edited).not.toBe(doc);
  expect(checkText(edited, "docs/performance.md").filter((f) => f.problem).map((f) => f.problem)).toEqual(["prints 1.05, the source says 1.09 (1.0945371945754636)"]);
  expect(checkText("a range 838–3,311<!-- fig: measurements.json failover/client_down_range_ms -->", "x")[0].problem).toMatch(/the source says "838–3,312"/);
  expect(checkText("17.8<!-- fig: scale.json summary/[path=443,n=123] -->", "x")[0].problem).toBe("scale.json has nothing at summary/[path=443,n=123]");
});

test("every ratio (×N) in the README and docs/ is marked with its source", () => {
  const unmarked = documents().flatMap((f) =>
    [...read(f).matchAll(/×\d+(?:\.\d+)?(?!\d|\.\d|<!-- fig: )/g)].map((m) => `${f}:${read(f).slice(0, m.index).split("\n").length}: ${m[0]}`),
  );
  expect(unmarked).toEqual([]);
});

test("figures that disagreed with their source once are gone", () => {
  for (const f of documents()) {
    const text = read(f);
    expect([f, text.includes("openssl rand -hex 20")]).toEqual([f, false]); // model/config.ts's SECRET_PLACEHOLDER: -hex 32
    expect([f, /\b400 of 400\b/.test(text)]).toEqual([f, false]); // the lab's bound is 210 of 400 (docs/measurements.json oneway_udp)
    expect([f, /about 0\.3 ms of CPU/.test(text)]).toEqual([f, false]); // 0.31 at 1,000 sessions, 0.95 at 19,000 (scale.json)
  }
});
