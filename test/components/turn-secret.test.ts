// The program refuses a TURN secret that would break the files it is written
// into, before any resource exists, and never shows it.
import { BASE } from "../fixtures";
import { runProgram } from "./harness";

const ZONE = { cloudflareZoneId: "0123456789abcdef0123456789abcdef" };

test("a configured TURN secret with a quote and a newline: a config error naming the key, no resource, no value", async () => {
  const secret = 'ab"cd\nno-auth';
  const run = await runProgram({ ...BASE, ...ZONE }, { turnSecret: secret });
  expect(run.error?.message).toMatch(/xmpp-edge:turnSecret: has a character other than letters, digits/);
  expect(run.error?.message).not.toContain("no-auth");
  expect(run.resources.filter((r) => r.custom)).toEqual([]);
});
