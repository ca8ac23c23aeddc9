import * as fs from "node:fs";
import { configTable, DOC, withTable } from "../scripts/gen-config-reference";

test("docs/configuration.md's table is the schema's (regenerate with npx tsx scripts/gen-config-reference.ts --write)", () => {
  const doc = fs.readFileSync(DOC, "utf8");
  expect(doc).toContain(configTable());
  expect(withTable(doc)).toBe(doc);
});

test("a drifted table is caught (the check can fail)", () => {
  const doc = fs.readFileSync(DOC, "utf8");
  const drifted = doc.replace("| `domain` | string, **required** |", "| `domain` | string, optional |");
  expect(drifted).not.toBe(doc);
  expect(withTable(drifted)).not.toBe(drifted);
});

test("the README points to the reference and holds no copy of the table", () => {
  const readme = fs.readFileSync(`${__dirname}/../README.md`, "utf8");
  expect(readme).toContain("docs/configuration.md");
  expect(readme).not.toContain("| `domain` |");
});
