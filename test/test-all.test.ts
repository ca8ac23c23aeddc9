// scripts/test-all.sh splits a suite's npm script into its build and its test
// half (to start the build early and time the two apart), and every cache and
// lab directory derives from one root (scripts/lib/cache.sh): these keep both
// true as the scripts change.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");

/** The [suite]="command" entries of a bash associative array NAME in scripts/test-all.sh. */
export function halves(text: string, name: string): Record<string, string> {
  const block = new RegExp(`^declare -A ${name}=\\(\\n([\\s\\S]*?)^\\)`, "m").exec(text);
  if (!block) throw new Error(`scripts/test-all.sh: no declare -A ${name}=(...)`);
  return Object.fromEntries([...block[1].matchAll(/^\s*\[([\w:]+)\]="([^"]*)"$/gm)].map((m) => [m[1], m[2]]));
}

/** Suites whose npm script is not "PREP && TEST" (empty when they agree). */
export function mismatches(text: string, scripts: Record<string, string>): string[] {
  const prep = halves(text, "PREP");
  const test = halves(text, "TEST");
  const names = new Set([...Object.keys(prep), ...Object.keys(test)]);
  return [...names]
    .filter((s) => scripts[s] !== `${prep[s]} && ${test[s]}`)
    .map((s) => `${s}: package.json runs "${scripts[s]}", test-all.sh "${prep[s]} && ${test[s]}"`);
}

const scripts: Record<string, string> = JSON.parse(read("package.json")).scripts;
const testAll = read("scripts/test-all.sh");

test("each background-built suite's npm script is test-all.sh's build half && test half", () => {
  expect(Object.keys(halves(testAll, "PREP")).sort()).toEqual(["test:engine", "test:lab", "test:vm"]);
  expect(mismatches(testAll, scripts)).toEqual([]);
});

test("a build half that drifts from the npm script is caught (the check can fail)", () => {
  const drifted = testAll.replace('[test:lab]="bash scripts/lab/install-deps.sh"', '[test:lab]="bash scripts/lab/build-tailnet.sh"');
  expect(drifted).not.toBe(testAll);
  expect(mismatches(drifted, scripts)).toEqual([
    'test:lab: package.json runs "bash scripts/lab/install-deps.sh && bash test/lab/run.sh", test-all.sh "bash scripts/lab/build-tailnet.sh && bash test/lab/run.sh"',
  ]);
});

test("test-all.sh runs every suite of the npm scripts' test:all list", () => {
  const suites = /^suites=\(([^)]*)\)/m.exec(testAll)?.[1].split(/\s+/).filter(Boolean) ?? [];
  const expected = Object.keys(scripts).filter((s) => /^(test|lint)(:|$)/.test(s) && s !== "test:all");
  expect([...suites].sort()).toEqual([...expected].sort());
});

// Spelled in parts, so this file does not name it.
const DEFAULT_ROOT = ["", "var", "cache", "xmpp-edge"].join("/");

/** Tracked text files naming the cache root's default path, other than the helper and the docs. */
export function hardCoded(files: string[], readText: (f: string) => string): string[] {
  return files.filter((f) => f !== "scripts/lib/cache.sh" && !f.endsWith(".md") && readText(f).includes(DEFAULT_ROOT));
}

test("no script names the default cache root but scripts/lib/cache.sh (docs may)", () => {
  const files = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
  expect(files.length).toBeGreaterThan(100);
  expect(hardCoded(files, (f) => (fs.existsSync(path.join(ROOT, f)) ? read(f) : ""))).toEqual([]);
  // The check can fail: a script with the path written out is named.
  expect(hardCoded(["bench/x.sh"], () => `LAB=\${BENCH_LAB_DIR:-${DEFAULT_ROOT}/lab/bench}`)).toEqual(["bench/x.sh"]);
});

test("with XMPP_EDGE_CACHE set, the builders' --print and the engine's homes point inside it", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "xe-cache-"));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, XMPP_EDGE_CACHE: root };
    for (const k of ["XMPP_EDGE_TAILNET_CACHE", "XMPP_EDGE_TOOLS_CACHE", "XMPP_EDGE_ENGINE_CACHE", "PULUMI_HOME", "PULUMI_BACKEND_URL", "GOMODCACHE", "GOCACHE"]) delete env[k];
    const sh = (script: string) => execFileSync("bash", ["-c", script], { cwd: ROOT, env, encoding: "utf8" }).trim().split("\n");
    const printed = sh(
      [
        "bash scripts/tools/build-release-root.sh bookworm --print",
        "bash scripts/tools/build-release-root.sh trixie --print",
        "(. scripts/lib/cache.sh; cache_go_env; echo $GOMODCACHE; echo $GOCACHE)",
      ].join("; "),
    );
    // The Go builders need Go only to name their cache key (go env GOVERSION).
    const go = fs.existsSync("/usr/local/go/bin/go") || execFileSync("bash", ["-c", "command -v go || true"], { encoding: "utf8" }).trim() !== "";
    if (go) {
      printed.push(...sh("bash scripts/lab/build-tailnet.sh --print; bash scripts/engine/build.sh --print"));
      printed.push(...sh('XMPP_EDGE_ENGINE_NO_BUILD=1 . scripts/engine/env.sh && echo "$PULUMI_HOME" && echo "${PULUMI_BACKEND_URL#file://}"'));
    }
    expect(printed.length).toBeGreaterThanOrEqual(go ? 8 : 4);
    expect(printed.filter((p) => !p.startsWith(`${root}/`))).toEqual([]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("cache_lab_visible refuses a lab directory a lab host's tmpfs would hide, naming the setting", () => {
  const run = (dir: string) => {
    try {
      execFileSync("bash", ["-c", `. scripts/lib/cache.sh; cache_lab_visible LAB_DIR "${dir}"; echo visible`], { cwd: ROOT, encoding: "utf8", stdio: "pipe" });
      return "visible";
    } catch (e) {
      return String((e as { stderr?: Buffer }).stderr ?? "");
    }
  };
  expect(run(`${DEFAULT_ROOT}/lab/net`)).toBe("visible");
  expect(run("/tmp/xe/lab")).toMatch(/^LAB_DIR=\/tmp\/xe\/lab: lab hosts mount a fresh tmpfs on \/tmp/);
  expect(run("/run")).toMatch(/^LAB_DIR=\/run:/);
});
