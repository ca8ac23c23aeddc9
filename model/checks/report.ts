// How a check reports a problem: the key (as the user wrote it, e.g.
// "extraForwards[2].port") and a message naming the bad value and what
// would be valid. validate.ts adds the project prefix.
export type Report = (key: string, message: string) => void;

/** A value quoted for a message. */
export const show = (v: unknown): string => JSON.stringify(v);
