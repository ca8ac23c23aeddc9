// --out: the plan replaces only a directory it wrote (its marker file) or an
// empty or new one, and refuses the repository, the home directory, a parent
// of either, and any other directory with something in it: nothing there is
// touched.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runPlan } from "../../scripts/plan";
import { PLAN_MARKER } from "../../scripts/plan-out";

const ROOT = path.join(__dirname, "..", "..");

function plan(args: string[], cwd = ROOT) {
  let stdout = "";
  let stderr = "";
  const code = runPlan(["--stack", "prod", ...args], { cwd, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "xmpp-edge-out-"));

test("a directory with other files in it is refused and left as it was", () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, "thesis.tex"), "years of work");
  const r = plan(["--out", dir]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`--out ${dir}: exists, is not empty and holds no plan (no ${PLAN_MARKER} file`);
  expect(fs.readdirSync(dir)).toEqual(["thesis.tex"]);
});

test("a new directory, an empty one, and an earlier plan are written; the plan carries its marker", () => {
  const base = tmp();
  const fresh = path.join(base, "new");
  expect(plan(["--out", fresh]).code).toBe(0);
  expect(fs.existsSync(path.join(fresh, PLAN_MARKER))).toBe(true);
  fs.writeFileSync(path.join(fresh, "stale.txt"), "from an older plan");
  expect(plan(["--out", fresh]).code).toBe(0);
  expect(fs.existsSync(path.join(fresh, "stale.txt"))).toBe(false);
  const empty = path.join(base, "empty");
  fs.mkdirSync(empty);
  expect(plan(["--out", empty]).code).toBe(0);
  expect(fs.existsSync(path.join(empty, "PLAN.md"))).toBe(true);
});

test("a plan written without the marker is replaced; the same names around other files are not", () => {
  const dir = path.join(tmp(), "plan");
  expect(plan(["--out", dir]).code).toBe(0);
  fs.rmSync(path.join(dir, PLAN_MARKER));
  expect(plan(["--out", dir])).toMatchObject({ code: 0, stderr: "" });
  expect(fs.existsSync(path.join(dir, PLAN_MARKER))).toBe(true);
  const mixed = tmp();
  fs.writeFileSync(path.join(mixed, "PLAN.md"), "# xmpp-edge plan: chat.example.com\n");
  fs.writeFileSync(path.join(mixed, "notes.txt"), "mine");
  expect(plan(["--out", mixed]).stderr).toContain("holds no plan");
  const other = tmp();
  fs.writeFileSync(path.join(other, "PLAN.md"), "# My plan for the week\n");
  expect(plan(["--out", other]).stderr).toContain("holds no plan");
  expect(fs.readFileSync(path.join(other, "PLAN.md"), "utf8")).toBe("# My plan for the week\n");
});

test("the repository, a parent of it and the file system root are refused", () => {
  const before = fs.readdirSync(ROOT).sort();
  expect(plan(["--out", "."]).stderr).toContain(`--out ${ROOT}: is the repository;`);
  expect(plan(["--out", ".."]).stderr).toMatch(/: holds the repository \(/);
  expect(plan(["--out", "/"]).stderr).toContain("--out /: holds the repository");
  expect(fs.readdirSync(ROOT).sort()).toEqual(before);
});

test("the home directory and a parent of it are refused, even with a marker in it", () => {
  // A home one level below a directory of its own: its parent then holds the home
  // and nothing else (a checkout under the temporary directory would make
  // that directory a parent of the repository too, which is refused first).
  const home = path.join(tmp(), "user");
  fs.mkdirSync(home);
  fs.writeFileSync(path.join(home, ".profile"), "keep me");
  fs.writeFileSync(path.join(home, PLAN_MARKER), "");
  // The command as a user runs it, with HOME pointing here (os.homedir() reads it).
  const cli = (out: string) =>
    spawnSync(path.join(ROOT, "node_modules", ".bin", "tsx"), [path.join(ROOT, "scripts", "plan.ts"), "--out", out], { encoding: "utf8", cwd: ROOT, env: { ...process.env, HOME: home, INIT_CWD: ROOT } });
  const r = cli(home);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(`--out ${home}: is your home directory;`);
  expect(cli(path.dirname(home)).stderr).toContain(": holds your home directory");
  expect(fs.readdirSync(home).sort()).toEqual([PLAN_MARKER, ".profile"].sort());
});

test("a symbolic link to a directory is refused", () => {
  const base = tmp();
  fs.mkdirSync(path.join(base, "real"));
  fs.writeFileSync(path.join(base, "real", "keep"), "");
  fs.symlinkSync(path.join(base, "real"), path.join(base, "link"));
  expect(plan(["--out", path.join(base, "link")]).stderr).toContain("is a symbolic link");
  expect(fs.readdirSync(path.join(base, "real"))).toEqual(["keep"]);
});
