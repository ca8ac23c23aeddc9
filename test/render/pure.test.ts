// Renderers are pure functions of the model: no module under render/ reads
// or writes files, spawns processes, reads the environment or the clock.
// What they need from disk (the apply script) comes in through an import of
// the module that owns it.
import * as fs from "node:fs";
import * as path from "node:path";

const RENDER = path.join(__dirname, "..", "..", "render");
/** Imports and globals that mean I/O or a value that changes between runs. */
const IMPURE = [/from "node:(fs|child_process|os|net|http|https|dns)"/, /from "(fs|child_process|os)"/, /\bprocess\.(env|argv|cwd)\b/, /\bDate\.now\(\)|new Date\(\)/, /\bMath\.random\(\)/];

export function impurities(source: string): string[] {
  return IMPURE.filter((re) => re.test(source)).map((re) => re.source);
}

test("no module under render/ does I/O or reads the environment, the clock or chance", () => {
  const found = fs
    .readdirSync(RENDER)
    .filter((f) => f.endsWith(".ts"))
    .flatMap((f) => impurities(fs.readFileSync(path.join(RENDER, f), "utf8")).map((what) => `render/${f}: ${what}`));
  expect(found).toEqual([]);
});

test("the check can fail: a renderer that reads a file is caught", () => {
  expect(impurities('import * as fs from "node:fs";\nexport const X = fs.readFileSync("x", "utf8");')).toEqual(['from "node:(fs|child_process|os|net|http|https|dns)"']);
  expect(impurities("const t = Date.now();")).toHaveLength(1);
});
