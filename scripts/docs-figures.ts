// Measured figures in the prose, checked against where they were measured.
// A figure in a Markdown file is followed, with nothing in between, by a
// marker naming its source:
//
//   ×1.09<!-- fig: results.json summary/tcp_mbit_s/paths/dnat@tailnet/ratio -->
//   1.98<!-- fig: results.json summary/tcp_mbit_s/paths/dnat@tailnet/median /1000 -->
//   17.8<!-- fig: scale.json summary/[path=443,n=19000]/per_session/nginx_rss_bytes/median /1024 -->
//   2026-12-01<!-- fig: results.json meta/date date -->
//
// Sources: results.json, scale.json and flood.json (bench/, written by npm run
// bench, npm run bench:scale and npm run bench:flood) and measurements.json (docs/: figures from runs of the
// test suites, each with its date and commit). The path is split at "/"; a
// segment [k=v,…] picks the one list element whose fields match. Then an
// optional transform: /N or *N (units), date (the first 10 characters).
// A number is compared at the precision it is printed with (1.98 against
// 1977.0 /1000 rounds the source to two decimals; thousands commas are
// ignored); anything else must be the text itself (a range "838–3,312").
// test/docs-figures.test.ts runs this over the README and docs/; run it as
// `npx tsx scripts/docs-figures.ts` to list every figure and its source.
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");

export const SOURCES: Record<string, string> = {
  "results.json": "bench/results.json",
  "scale.json": "bench/scale.json",
  "measurements.json": "docs/measurements.json",
  "flood.json": "bench/flood.json",
};

/** The files whose figures are checked. */
export function documents(): string[] {
  const docs = fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
  return ["README.md", ...docs.sort(), "test/lab/README.md"];
}

export interface Figure {
  file: string;
  line: number;
  printed: string;
  source: string;
  path: string;
  transform?: string;
  /** The source's value, after the transform, printed as the prose prints it. */
  expected?: string;
  problem?: string;
}

const MARKER = /<!-- fig: (\S+) (\S+)(?: (\S+))? -->/g;
// The figure right before a marker: a number (thousands commas, decimals), or the source's text.
const NUMBER = /(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?$/;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function lookup(root: Json, p: string): Json | undefined {
  let at: Json | undefined = root;
  for (const seg of p.split("/")) {
    if (at === undefined || at === null) return undefined;
    const pick = /^\[(.+)\]$/.exec(seg);
    if (pick) {
      if (!Array.isArray(at)) return undefined;
      const want = pick[1].split(",").map((kv) => kv.split("=") as [string, string]);
      const hits: Json[] = at.filter((e) => e !== null && typeof e === "object" && !Array.isArray(e) && want.every(([k, v]) => String((e as Record<string, Json>)[k]) === v));
      if (hits.length !== 1) return undefined;
      at = hits[0];
    } else if (Array.isArray(at)) at = /^\d+$/.test(seg) ? at[Number(seg)] : undefined;
    else if (typeof at === "object") at = Object.prototype.hasOwnProperty.call(at, seg) ? (at as Record<string, Json>)[seg] : undefined;
    else return undefined;
  }
  return at;
}

const cache = new Map<string, Json>();
function source(name: string): Json | undefined {
  const rel = SOURCES[name];
  if (!rel) return undefined;
  if (!cache.has(rel)) cache.set(rel, JSON.parse(fs.readFileSync(path.join(ROOT, rel), "utf8")) as Json);
  return cache.get(rel);
}

const dash = (s: string) => s.replace(/[-‐‑–]/g, "–");

/** Every marked figure of one document's text, with a problem where it disagrees with its source. */
export function checkText(text: string, file: string): Figure[] {
  const out: Figure[] = [];
  for (const m of text.matchAll(MARKER)) {
    const [, src, p, transform] = m;
    const before = text.slice(0, m.index);
    const line = before.split("\n").length;
    const fig: Figure = { file, line, printed: "", source: src, path: p, transform };
    out.push(fig);
    const data = source(src);
    if (data === undefined) {
      fig.problem = `unknown source ${src} (one of ${Object.keys(SOURCES).join(", ")})`;
      continue;
    }
    let value = lookup(data, p);
    if (value === undefined || value === null) {
      fig.problem = `${src} has nothing at ${p}`;
      continue;
    }
    if (transform === "date") value = String(value).slice(0, 10);
    else if (transform) {
      const t = /^([*/])(\d+(?:\.\d+)?)$/.exec(transform);
      if (!t || typeof value !== "number") {
        fig.problem = `transform ${transform} does not apply to ${JSON.stringify(value)}`;
        continue;
      }
      value = t[1] === "*" ? value * Number(t[2]) : value / Number(t[2]);
    }
    if (typeof value === "number") {
      const n = NUMBER.exec(before);
      if (!n) {
        fig.problem = `no number right before the marker (the source says ${value})`;
        continue;
      }
      fig.printed = n[0];
      const decimals = n[2] ? n[2].length - 1 : 0;
      fig.expected = value.toFixed(decimals);
      if (fig.printed.replace(/,/g, "") !== fig.expected) fig.problem = `prints ${fig.printed}, the source says ${fig.expected} (${value})`;
    } else {
      const want = String(value);
      fig.expected = want;
      const tail = before.slice(-want.length);
      fig.printed = tail;
      if (dash(tail) !== dash(want)) fig.problem = `prints "…${before.slice(-Math.max(want.length, 12))}", the source says "${want}"`;
    }
  }
  return out;
}

export function checkAll(): Figure[] {
  return documents().flatMap((f) => checkText(fs.readFileSync(path.join(ROOT, f), "utf8"), f));
}

if (require.main === module) {
  const figs = checkAll();
  for (const f of figs) console.log(`${f.problem ? "✗" : "✓"} ${f.file}:${f.line}  ${f.printed}  ← ${f.source} ${f.path}${f.transform ? " " + f.transform : ""}${f.problem ? "  " + f.problem : ""}`);
  const bad = figs.filter((f) => f.problem).length;
  console.log(`${figs.length} figures, ${bad} disagree with their source`);
  process.exitCode = bad ? 1 : 0;
}
