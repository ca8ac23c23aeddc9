// What every check gets: a way to report a problem with a key (as the user
// wrote it, e.g. "extraForwards[2].port", with a message naming the bad value
// and what would be valid), and whether a key it depends on was already
// rejected: a check never judges one key against a rejected other key, nor
// against a default standing in for it.
export interface Checks {
  report(key: string, message: string): void;
  /** False once `key` (or a part of it) has been reported. */
  ok(key: string): boolean;
  /** True when the user set `key` (false: its default is in place). */
  given(key: string): boolean;
}

/** A URL's user and password ("https://user:pass@host"), up to the "@". */
const URL_CREDENTIALS = /([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#\s"@]*@/g;

/** Text for a message with every URL's credentials taken out. */
export function hideUrlCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, "$1(credentials not shown)@");
}

/** A value quoted for a message; anything that looks like key material, and a URL's credentials, are never echoed. */
export function quoteRedacted(v: unknown): string {
  const text = hideUrlCredentials(JSON.stringify(v) ?? String(v));
  if (/PRIVATE KEY|tskey-/i.test(text)) return "(a value that looks like secret key material, not shown)";
  return text.length > 200 ? `${text.slice(0, 200)}…(${text.length} characters)` : text;
}
