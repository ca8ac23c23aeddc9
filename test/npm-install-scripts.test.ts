// No dependency's install script runs on `npm ci`, whichever npm the machine
// has: the repository's .npmrc sets ignore-scripts, which every npm honours
// (package.json's allowScripts is read by npm 11 only; Node 20 ships npm 10),
// while `npm run` and `npm test` still run the project's own scripts.
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");
const npm = (args: string[]) => spawnSync("npm", args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, npm_config_ignore_scripts: undefined, NPM_CONFIG_IGNORE_SCRIPTS: undefined } });

test("npm reads ignore-scripts=true from the repository", () => {
  const r = npm(["config", "get", "ignore-scripts"]);
  expect(r.status).toBe(0);
  expect(r.stdout.trim()).toBe("true");
});

test("npm run still runs the project's own scripts", () => {
  const r = npm(["run", "--silent", "plan", "--", "--help"]);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^usage: npm run plan/);
});
