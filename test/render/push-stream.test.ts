// The push script through a real `bash -s`, whole and cut short at every byte:
// a stream cut anywhere must run nothing (render/push.ts's first line).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { APPLY_PATH, type Bundle } from "../../render/bundle";
import { renderPushScript } from "../../render/push";

// A stand-in apply that notes how it was called; one more file to stage.
const BUNDLE: Bundle = {
  [APPLY_PATH]: { content: '#!/bin/bash\nprintf "%s\\n" "${*:2}" >>"$XEA_MARK"\n', mode: "0755" },
  "/etc/xmpp-edge/manifest": { content: "0755 root:root /usr/local/sbin/xmpp-edge-apply\n", mode: "0644" },
};
const SCRIPT = renderPushScript(BUNDLE, 120);

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "xmpp-edge-push-stream-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs `bash -s` on the first `bytes` bytes of the script; what the apply saw, if it ran. */
function push(bytes: number): { ran: string | undefined; status: number | null; err: string } {
  const mark = path.join(dir, `mark-${bytes}`);
  const r = spawnSync("bash", ["-s"], { input: Buffer.from(SCRIPT).subarray(0, bytes), env: { PATH: "/usr/bin:/bin", XEA_MARK: mark }, encoding: "utf8" });
  return { ran: fs.existsSync(mark) ? fs.readFileSync(mark, "utf8") : undefined, status: r.status, err: r.stderr };
}

test("the whole script stages the bundle and runs the apply with its --confirm-timeout", () => {
  expect(push(Buffer.byteLength(SCRIPT))).toEqual({ ran: "--confirm-timeout 120\n", status: 0, err: "" });
});

test("a stream cut short runs nothing: no apply, with or without its arguments", () => {
  // Every byte of the first line and of the last 100, every 5th in between.
  const length = Buffer.byteLength(SCRIPT);
  const first = SCRIPT.indexOf("\n") + 1;
  const ran: number[] = [];
  for (let bytes = 0; bytes < length; bytes++) {
    if (bytes > first && bytes < length - 100 && bytes % 5 !== 0) continue;
    if (push(bytes).ran !== undefined) ran.push(bytes);
  }
  expect(ran).toEqual([]);
}, 120000);

test("a cut after the first line says so and exits 3", () => {
  const r = push(SCRIPT.indexOf("\n") + 20);
  expect(r.status).toBe(3);
  expect(r.err).toMatch(/did not arrive whole .* nothing of it ran/);
});
