// Provider outputs may be absent. A targeted update (`pulumi up --target`)
// hands the program undefined for every output of a resource it leaves out
// that does not exist yet; the engine itself then refuses to create anything
// that needs it. So a derivation from provider outputs is undefined, never a
// crash, when one of its inputs is.
import * as pulumi from "@pulumi/pulumi";

type Present<T extends readonly unknown[]> = { [K in keyof T]: NonNullable<T[K]> };
/** The values of Inputs, present. */
type Values<T extends readonly unknown[]> = { [K in keyof T]: NonNullable<pulumi.Unwrap<T[K]>> };

/** Whether every value is there (not undefined or null). */
export function allPresent<T extends readonly unknown[]>(values: T): values is T & Present<T> {
  return values.every((v) => v !== undefined && v !== null);
}

/**
 * `pulumi.all(inputs).apply(fn)`, but undefined instead of calling fn when an
 * input is absent. Typed like the provider outputs it derives from
 * (Output<string> for an ipAddress that a targeted update leaves undefined).
 */
export function derive<T extends readonly unknown[], R>(inputs: readonly [...T], fn: (...values: Values<T>) => R): pulumi.Output<R> {
  return pulumi.all(inputs as unknown as pulumi.Input<unknown>[]).apply((values) => (allPresent(values) ? fn(...(values as unknown as Values<T>)) : undefined)) as pulumi.Output<R>;
}
