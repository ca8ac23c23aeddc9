// npm run check -- [--stack NAME | --config FILE] [--vps-ipv4 A] [--vps-ipv6 A]
//   [--resolver ADDR] [--ca FILE] [--json] [--timeout SECONDS]
//   [--turn-secret-from-stack | --turn-secret-env VAR] [--account JID --password-env VAR]
//   [--allow-documentation-addresses]
// The live check of a deployed edge: what the model says must be true (check/expected.ts),
// checked from the outside. Exit 0: all passed; 1: a check failed; 2: bad arguments or config.
// The command line is check/cli.ts; this file runs the checks and prints them.
import * as path from "node:path";
import { resolveCheck, USAGE } from "../check/cli";
import { checkDns } from "../check/dns";
import { expectedFacts } from "../check/expected";
import { checkPorts } from "../check/ports";
import { runPulumi, UsageError } from "../check/pulumi-cli";
import { noRouteNotes } from "../check/reach";
import { failures, renderJson, renderTable } from "../check/report";
import { checkTurn } from "../check/turn";
import { checkTurnTls } from "../check/turn-tls";
import { checkWeb } from "../check/web";
import { checkXmpp } from "../check/xmpp";

async function main() {
  let run;
  try {
    run = resolveCheck(process.argv.slice(2), { root: path.resolve(__dirname, ".."), cwd: process.env.INIT_CWD ?? process.cwd(), env: process.env, pulumi: runPulumi() });
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`check: ${e.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if ("help" in run) {
    process.stdout.write(run.help + "\n");
    return;
  }
  const expected = expectedFacts(run.model, run.edges, { allowDocumentationAddresses: run.allowDocumentationAddresses });
  const addresses = expected.edges.flatMap((e) => [e.ipv4, e.ipv6].filter((x): x is string => x !== undefined));
  // No route from here to an address: its failures below are this machine's, not the edge's.
  for (const note of await noRouteNotes(addresses)) process.stderr.write(`check: ${note}\n`);
  const t0 = performance.now();
  const groups = await Promise.all([
    checkDns(expected, { resolver: run.resolver, timeoutMs: run.timeoutMs }),
    ...addresses.map((host) => checkXmpp(expected, host, { ca: run.ca, timeoutMs: run.timeoutMs, account: run.account })),
    checkTurn(expected, { secret: run.turnSecret, timeoutMs: run.timeoutMs }),
    checkTurnTls(expected, { secret: run.turnSecret, ca: run.ca, timeoutMs: run.timeoutMs }),
    checkWeb(expected, { resolver: run.resolver, ca: run.ca, timeoutMs: run.timeoutMs }),
    checkPorts(expected, Math.min(run.timeoutMs, 3000)),
  ]);
  const results = groups.flat();
  const totalMs = performance.now() - t0;
  const text = run.json ? renderJson(results, totalMs, { stack: run.target, edges: expected.edges }) : renderTable(results, totalMs, process.stdout.columns || 160);
  // Exit once written: a probe's socket the server left half-open must not keep the run alive.
  process.stdout.write(text, () => process.exit(failures(results).length === 0 ? 0 : 1));
}

main().catch((e) => {
  process.stderr.write(`check: ${(e as Error).stack ?? e}\n`);
  process.exit(2);
});
