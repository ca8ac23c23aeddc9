// Every probe of the live check is bounded, and a thrown error is a failed row.
import { pass, run, withTimeout } from "../../check/timed";

test("withTimeout rejects a promise that never settles, naming what it waited for", async () => {
  await expect(withTimeout(30, "the stream header", new Promise(() => undefined))).rejects.toThrow("no answer within 0.03 s (the stream header)");
  await expect(withTimeout(1000, "x", Promise.resolve(7))).resolves.toBe(7);
});

test("run turns an exception into a failed row with the fix, and keeps a pass", async () => {
  const failed = await run("dns", "A chat.example.com", "198.51.100.10", "set the record", async () => {
    throw new Error("A chat.example.com: ESERVFAIL");
  });
  expect(failed).toMatchObject({ area: "dns", status: "fail", seen: "A chat.example.com: ESERVFAIL", fix: "set the record" });
  const ok = await run("dns", "A chat.example.com", "198.51.100.10", "", async () => pass("198.51.100.10", "198.51.100.10"));
  expect(ok.status).toBe("pass");
});
