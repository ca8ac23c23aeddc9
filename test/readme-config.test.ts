import * as fs from "node:fs";
import { configTable, README, withTable } from "../scripts/gen-readme-config";

test("the README's configuration table is the schema's (regenerate with npx tsx scripts/gen-readme-config.ts --write)", () => {
  const readme = fs.readFileSync(README, "utf8");
  expect(readme).toContain(configTable());
  expect(withTable(readme)).toBe(readme);
});

test("a drifted table is caught (the check can fail)", () => {
  const readme = fs.readFileSync(README, "utf8");
  const drifted = readme.replace("| `domain` | string, **required** |", "| `domain` | string, optional |");
  expect(drifted).not.toBe(readme);
  expect(withTable(drifted)).not.toBe(drifted);
});
