// Every probe of the live check is bounded: a promise that does not settle
// in time becomes a rejection naming what timed out.
import type { Area, CheckResult } from "./report";

export function withTimeout<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s (${what})`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** A check's outcome before it is stamped with its area, name and duration. */
export interface Outcome {
  status: CheckResult["status"];
  expected: string;
  seen: string;
  fix?: string;
}

/**
 * No check takes longer than this, however many steps it has (each step is
 * bounded by --timeout too): the whole run, whose areas run side by side,
 * stays well under a minute.
 */
export const CHECK_BUDGET_MS = 20_000;

/** Runs one check; an exception is a failure that says what went wrong (with `fix` as the likely cause). */
export async function run(area: Area, name: string, expected: string, fix: string, body: () => Promise<Outcome>): Promise<CheckResult> {
  const t0 = performance.now();
  let o: Outcome;
  try {
    o = await withTimeout(CHECK_BUDGET_MS, `the whole check "${name}"`, body());
  } catch (e) {
    o = { status: "fail", expected, seen: (e as Error).message, fix };
  }
  return { area, name, ...o, ms: Math.round(performance.now() - t0) };
}

export const pass = (expected: string, seen: string): Outcome => ({ status: "pass", expected, seen });
export const fail = (expected: string, seen: string, fix: string): Outcome => ({ status: "fail", expected, seen, fix });
export const skip = (expected: string, seen: string): Outcome => ({ status: "skip", expected, seen });
