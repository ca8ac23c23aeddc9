// The root join script with hostile values (which validation refuses; this is
// the second wall): every argument reaches `tailscale up` as one literal word
// and nothing runs. The script runs for real under sh, with stub tailscale,
// systemctl and ip on PATH and the auth key file moved to a scratch directory.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AUTHKEY_PATH, renderJoinScript } from "../../render/cloud-init";
import { shellQuote } from "../../render/shell-quote";
import { model, problems } from "../fixtures";

const HOSTILE = [
  "https://hs.example.com/$(touch PWNED)",
  "https://hs.example.com/`touch PWNED`",
  "https://hs.example.com;touch PWNED",
  "https://hs.example.com/?a=1&touch PWNED&",
  "https://hs.example.com/'; touch PWNED; '",
  'https://hs.example.com/"$(touch PWNED)"',
  "https://hs.example.com/\ntouch PWNED",
];

/** Runs the join script; returns the arguments tailscale was given and whether PWNED appeared. */
function run(script: string): { args: string[]; pwned: boolean; status: number | null; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xe-join-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "tailscale"), `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done > "${dir}/args"\n`, { mode: 0o755 });
  for (const stub of ["systemctl", "ip"]) fs.writeFileSync(path.join(bin, stub), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  const key = path.join(dir, "authkey");
  fs.writeFileSync(key, "tskey-test");
  const r = spawnSync("sh", ["-c", script.split(AUTHKEY_PATH).join(key)], { cwd: dir, encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin` } });
  const args = fs.existsSync(path.join(dir, "args")) ? fs.readFileSync(path.join(dir, "args"), "utf8").split("\0").slice(0, -1) : [];
  return { args, pwned: fs.existsSync(path.join(dir, "PWNED")), status: r.status, out: r.stdout + r.stderr };
}

function hostileModel(loginServer: string) {
  const m = model();
  return { ...m, config: { ...m.config, tailscale: { ...m.config.tailscale, loginServer } } };
}

test.each(HOSTILE)("tailscaleLoginServer %j stays one argument", (url) => {
  const r = run(renderJoinScript(hostileModel(url)));
  expect(r.out).toBe("");
  expect(r.status).toBe(0);
  expect(r.pwned).toBe(false);
  expect(r.args).toContain(`--login-server=${url}`);
});

test("the check can fail: the same script without quoting runs the injected command", () => {
  const url = HOSTILE[0];
  const quoted = renderJoinScript(hostileModel(url));
  const unquoted = quoted.replace(shellQuote(`--login-server=${url}`), `--login-server=${url}`);
  expect(unquoted).not.toBe(quoted);
  const r = run(unquoted);
  expect(r.pwned).toBe(true);
  expect(r.args).not.toContain(`--login-server=${url}`);
});

test("shellQuote: a word with a single quote in it", () => {
  const r = spawnSync("sh", ["-c", `printf '%s' ${shellQuote("it's $(x) `y`")}`], { encoding: "utf8" });
  expect(r.stdout).toBe("it's $(x) `y`");
});

test.each(HOSTILE)("validation refuses tailscaleLoginServer %j in the first place", (url) => {
  expect(problems({ tailscaleLoginServer: url, tailscaleAuthKey: { secure: "x" } })).toEqual([expect.stringMatching(/^xmpp-edge:tailscaleLoginServer: .* is not a plain URL/)]);
});
