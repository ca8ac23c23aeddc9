// The check's command line, in-process (no probe runs): help for every flag,
// the default stack, a missing Pulumi CLI said in words, and documentation
// addresses refused unless asked for. And the DNS and web rows when the
// resolver does not answer: they blame this machine's network, not the records.
import * as dgram from "node:dgram";
import * as path from "node:path";
import { HELP, resolveCheck, USAGE, type CheckCliIo, type CheckRun } from "../../check/cli";
import { checkDns } from "../../check/dns";
import { expectedFacts } from "../../check/expected";
import { runPulumi, UsageError, type PulumiRunner } from "../../check/pulumi-cli";
import { checkWeb } from "../../check/web";
import { model } from "../fixtures";

const ROOT = path.join(__dirname, "..", "..");

/** A pulumi CLI stand-in: the outputs it returns, and every call it got. */
function fakePulumi(outputs: Record<string, unknown>): PulumiRunner & { calls: string[] } {
  const calls: string[] = [];
  const f = ((args: string[], stack: string) => {
    calls.push(`${args.join(" ")} --stack ${stack}`);
    return JSON.stringify(outputs);
  }) as PulumiRunner & { calls: string[] };
  f.calls = calls;
  return f;
}

const io = (pulumi: PulumiRunner): CheckCliIo => ({ root: ROOT, cwd: ROOT, env: {}, pulumi });
const DEPLOYED = { vpsIPv4: "5.75.140.10", vpsIPv6: "2a01:4f8:c012:abcd::1" };

function refusal(argv: string[], pulumi: PulumiRunner = fakePulumi(DEPLOYED)): string {
  try {
    resolveCheck(argv, io(pulumi));
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error(`accepted: ${argv.join(" ")}`);
}

test("--help explains every flag of the usage line", () => {
  const r = resolveCheck(["--help"], io(fakePulumi({})));
  expect(r).toEqual({ help: HELP });
  const flags = [...new Set(USAGE.match(/--[a-z0-9-]+/g))];
  expect(flags.length).toBeGreaterThan(10);
  // Each flag has a line of its own, and it (or the next) says something besides the flag.
  const lines = HELP.split("\n");
  for (const flag of flags) {
    const i = lines.findIndex((l) => l.trimStart().startsWith(`${flag} `) || l.trim() === flag);
    expect(i).toBeGreaterThan(0);
    expect(`${lines[i]} ${lines[i + 1]}`.replace(flag, "").replace(/\b[A-Z]+\b/, "").trim().length).toBeGreaterThan(10);
  }
});

test("a bare run checks the default stack, as the plan does: its config and its outputs", () => {
  const pulumi = fakePulumi(DEPLOYED);
  const r = resolveCheck([], io(pulumi)) as CheckRun;
  expect(r.target).toBe("prod");
  expect(r.model.config.domain).toBe("chat.example.com");
  expect(r.edges).toEqual([{ ipv4: "5.75.140.10", ipv6: "2a01:4f8:c012:abcd::1" }]);
  expect(pulumi.calls).toEqual(["stack output --json --stack prod"]);
});

test("an unknown stack lists the stacks there", () => {
  expect(refusal(["--stack", "nosuch"])).toMatch(/^--stack "nosuch": there is no .*Pulumi\.nosuch\.yaml; the stacks here are: lab, prod;/);
});

test("without the Pulumi CLI on PATH it says so, and how to do without", () => {
  const message = refusal([], runPulumi({ PATH: path.join(ROOT, "no-such-dir") }));
  expect(message).toMatch(/^pulumi stack output --json --stack prod: the Pulumi CLI \(pulumi\) is not on PATH; install it .* or name the edge without it: --vps-ipv4 A/);
  expect(message).not.toContain("ENOENT");
});

describe("documentation addresses are refused unless asked for", () => {
  test.each([
    [["--stack", "prod", "--vps-ipv4", "192.0.2.10"], "192.0.2.10 (from --vps-ipv4/--vps-ipv6) is a documentation address (192.0.2.0/24)"],
    [["--stack", "prod", "--vps-ipv4", "95.217.1.2", "--vps-ipv6", "2001:db8::10"], "2001:db8::10 (from --vps-ipv4/--vps-ipv6) is a documentation address (2001:db8::/32)"],
    [["--config", "Pulumi.lab.yaml"], "192.0.2.50 (from existingHost) is a documentation address (192.0.2.0/24)"],
    [["--stack", "prod", "--vps-ipv4", "95.217.1.2", "--resolver", "203.0.113.53"], "--resolver 203.0.113.53: 203.0.113.0/24 is a documentation range"],
  ])("%j", (argv, message) => {
    expect(refusal(argv)).toContain(message);
  });

  test("from the stack's outputs too", () => {
    expect(refusal([], fakePulumi({ vpsIPv4: "198.51.100.10" }))).toContain("198.51.100.10 (from stack prod's outputs) is a documentation address (198.51.100.0/24)");
  });

  test("--allow-documentation-addresses lets them through", () => {
    const r = resolveCheck(["--config", "Pulumi.lab.yaml", "--allow-documentation-addresses"], io(fakePulumi({}))) as CheckRun;
    expect(r.edges).toEqual([{ ipv4: "192.0.2.50", ipv6: "2001:db8:e::50" }]);
  });
});

describe("a resolver that does not answer is blamed on this machine, not on the records", () => {
  /** A loopback UDP port nothing listens on: queries to it are refused at once (ICMP). */
  async function closedPort(): Promise<number> {
    const s = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
    const port = s.address().port;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    return port;
  }

  test("DNS: one failure naming the resolver and the network; no record is judged", async () => {
    const resolver = `127.0.0.1:${await closedPort()}`;
    const exp = expectedFacts(model(), [{ ipv4: "5.75.140.10", ipv6: "2a01:4f8:c012:abcd::1" }]);
    const rows = await checkDns(exp, { resolver, timeoutMs: 2000 });
    const failed = rows.filter((r) => r.status === "fail");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ name: `resolver (--resolver ${resolver})`, fix: expect.stringMatching(/^this machine gets no DNS answer from --resolver .*: no network here, or a wrong --resolver/) });
    expect(rows.filter((r) => r.status === "skip").map((r) => r.name)).toEqual(expect.arrayContaining(["A chat.example.com", "AAAA www.example.com", "SRV _xmpps-client._tcp.chat.example.com"]));
  });

  test("web: the proxied name's row says the resolver, not the record", async () => {
    const resolver = `127.0.0.1:${await closedPort()}`;
    const exp = expectedFacts(model(), [{ ipv4: "127.0.0.1" }], { allowDocumentationAddresses: true });
    const rows = (await checkWeb(exp, { resolver, timeoutMs: 2000 })).filter((r) => r.name.endsWith("through Cloudflare"));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "fail", fix: expect.stringMatching(/^the resolver does not answer: this machine's network or --resolver, not the record/) });
  });
});
