// The `pulumi` CLI as the check uses it: a stack's outputs. Its failures are
// said in words (the CLI missing, the stack unknown), never with a secret.
import { execFileSync } from "node:child_process";

/** A problem with the command line or its surroundings: the check exits 2 with this message. */
export class UsageError extends Error {}

export type PulumiRunner = (args: string[], stack: string) => string;

/** `pulumi ARGS --stack STACK`, with PATH from `env` (default: this process's). */
export function runPulumi(env: NodeJS.ProcessEnv = process.env): PulumiRunner {
  return (args, stack) => {
    try {
      return execFileSync("pulumi", [...args, "--stack", stack], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000, env });
    } catch (e) {
      const err = e as { code?: string; stderr?: string; message: string };
      const shown = `pulumi ${args.filter((a) => a !== "--show-secrets").join(" ")} --stack ${stack}`;
      if (err.code === "ENOENT") {
        throw new UsageError(`${shown}: the Pulumi CLI (pulumi) is not on PATH; install it (https://www.pulumi.com/docs/install/) and log in to the stack's backend, or name the edge without it: --vps-ipv4 A [--vps-ipv6 A] with --stack NAME or --config FILE`);
      }
      throw new UsageError(`${shown} failed: ${(err.stderr || err.message).trim().split("\n").slice(-2).join(" ")}`);
    }
  };
}
