// Where the plan may write, and the replacement of an earlier plan. The plan
// replaces its directory as a whole, so it must never take a directory it did
// not write: only one holding its marker file, or an empty or new one; and
// never the repository, the user's home, or a directory that holds either.
import * as fs from "node:fs";
import * as path from "node:path";

/** Written into every plan directory: the one sign that the next plan may replace it. */
export const PLAN_MARKER = ".xmpp-edge-plan";
const MARKER_TEXT = "Written by `npm run plan`: the next plan to this directory replaces it as a whole.\n";

/** The directories --out must never be nor hold, with what to call each in a refusal. */
export interface Protected {
  repository: string;
  home: string;
}

/** What is wrong with writing the plan to `outDir` (absolute), or undefined when it may. */
export function outDirProblem(outDir: string, keep: Protected): string | undefined {
  const real = realpathOfExisting(outDir);
  const named: [string, string][] = [
    ["the repository", keep.repository],
    ["your home directory", keep.home],
    ["the file system root", path.parse(real).root],
  ];
  for (const [what, dir] of named) {
    const target = realpathOfExisting(path.resolve(dir));
    if (real === target) return `--out ${outDir}: is ${what}; the plan replaces its directory as a whole, so give a directory of its own (default out/NAME)`;
    if (isInside(target, real)) return `--out ${outDir}: holds ${what} (${target}); the plan replaces its directory as a whole, so give a directory of its own (default out/NAME)`;
  }
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(outDir);
  } catch {
    return undefined; // a new directory
  }
  if (stat.isSymbolicLink()) return `--out ${outDir}: is a symbolic link; give the directory itself`;
  if (!stat.isDirectory()) return `--out ${outDir}: exists and is not a directory`;
  const entries = fs.readdirSync(outDir);
  if (entries.length > 0 && !entries.includes(PLAN_MARKER) && !isUnmarkedPlan(outDir, entries)) {
    return `--out ${outDir}: exists, is not empty and holds no plan (no ${PLAN_MARKER} file, which every plan writes); give a new or empty directory, or remove this one yourself`;
  }
  return undefined;
}

/** What a plan directory holds at its top (render/plan.ts). */
const PLAN_ENTRIES = ["PLAN.md", "vps", "home", "edges", "dns.json", "tailscale-acl.json", "firewall.json", "cloud-init.yaml"];

/** A plan written without the marker: nothing but a plan's entries, and a plan's PLAN.md. */
function isUnmarkedPlan(dir: string, entries: string[]): boolean {
  if (!entries.every((e) => PLAN_ENTRIES.includes(e)) || !entries.includes("PLAN.md")) return false;
  try {
    return fs.readFileSync(path.join(dir, "PLAN.md"), "utf8").startsWith("# xmpp-edge plan: ");
  } catch {
    return false;
  }
}

/** Writes the files into a new directory next to `outDir`, then swaps it in: a failed write never leaves half a plan. */
export function replacePlanDir(outDir: string, files: Record<string, string>, modes: Record<string, string>): void {
  fs.mkdirSync(path.dirname(outDir), { recursive: true });
  const tmp = fs.mkdtempSync(`${outDir}.tmp-`);
  try {
    for (const [rel, content] of Object.entries(files)) {
      const file = path.join(tmp, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content, { mode: parseInt(modes[rel] ?? "0644", 8) });
    }
    fs.writeFileSync(path.join(tmp, PLAN_MARKER), MARKER_TEXT);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.renameSync(tmp, outDir);
}

/** The real path of `p`, or of its nearest existing parent joined with the rest (symbolic links resolved). */
function realpathOfExisting(p: string): string {
  const rest: string[] = [];
  let at = p;
  for (;;) {
    try {
      return path.join(fs.realpathSync(at), ...rest.reverse());
    } catch {
      const parent = path.dirname(at);
      if (parent === at) return p;
      rest.push(path.basename(at));
      at = parent;
    }
  }
}

const isInside = (child: string, parent: string) => {
  const rel = path.relative(parent, child);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
};
