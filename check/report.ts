// One result per check, and the two ways of showing them: a table a person
// reads at a glance, and JSON for machines (the workflows' issue text).

export type Area = "dns" | "xmpp-client" | "xmpp-server" | "stun-turn" | "web" | "ports";

export interface CheckResult {
  area: Area;
  /** What was checked, e.g. "SRV _xmpps-client._tcp.chat.example.com". */
  name: string;
  /** "skip": not judged (no credentials given, or not applicable); says why in `seen`. */
  status: "pass" | "fail" | "skip";
  expected: string;
  seen: string;
  /** On a failure: the likely cause and what to do about it. */
  fix?: string;
  ms: number;
}

const MARK = { pass: "✓", fail: "✗", skip: "–" } as const;

export function failures(results: CheckResult[]): CheckResult[] {
  return results.filter((r) => r.status === "fail");
}

export function summary(results: CheckResult[], totalMs: number): string {
  const n = (s: CheckResult["status"]) => results.filter((r) => r.status === s).length;
  return `${n("pass")} passed, ${n("fail")} failed, ${n("skip")} skipped in ${(totalMs / 1000).toFixed(1)} s`;
}

/** A fixed-width table (the widest cells are wrapped so a line stays readable in a terminal). */
export function renderTable(results: CheckResult[], totalMs: number, width = 160): string {
  const head = ["", "area", "check", "expected", "seen"];
  const rows = results.map((r) => [MARK[r.status], r.area, r.name, r.expected, r.seen]);
  const cols = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  // Shrink "check", "expected" and "seen" (in that order of priority) until the table fits.
  const fixed = cols[0] + cols[1] + 4 * 2;
  const flexible = [2, 3, 4];
  while (fixed + flexible.reduce((s, i) => s + cols[i], 0) > width) {
    const widest = flexible.reduce((a, b) => (cols[a] >= cols[b] ? a : b));
    if (cols[widest] <= 20) break;
    cols[widest]--;
  }
  const lines: string[] = [];
  const emit = (cells: string[]) => {
    const wrapped = cells.map((c, i) => wrap(c, cols[i]));
    const height = Math.max(...wrapped.map((w) => w.length));
    for (let k = 0; k < height; k++) lines.push(wrapped.map((w, i) => (w[k] ?? "").padEnd(cols[i])).join("  ").trimEnd());
  };
  emit(head);
  lines.push(cols.map((c) => "-".repeat(c)).join("  "));
  results.forEach((r, i) => {
    emit(rows[i]);
    if (r.status === "fail" && r.fix) for (const l of wrap(`fix: ${r.fix}`, width - fixed)) lines.push(" ".repeat(fixed) + l);
  });
  lines.push("", summary(results, totalMs));
  return lines.join("\n") + "\n";
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/(?<=[ ,;])/)) {
    if ((line + word).trimEnd().length > width && line !== "") {
      out.push(line.trimEnd());
      line = "";
    }
    line += line === "" ? word.trimStart() : word;
    while (line.trimEnd().length > width) {
      out.push(line.slice(0, width));
      line = line.slice(width);
    }
  }
  if (line.trimEnd() !== "" || out.length === 0) out.push(line.trimEnd());
  return out;
}

export function renderJson(results: CheckResult[], totalMs: number, target: { stack: string; edges: { ipv4: string; ipv6?: string }[] }): string {
  return JSON.stringify({ ok: failures(results).length === 0, target, totalMs: Math.round(totalMs), results }, null, 2) + "\n";
}
