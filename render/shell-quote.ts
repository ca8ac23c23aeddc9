// One word for a POSIX shell, whatever it contains: validation already keeps
// config values to strict shapes, and quoting where they are used is the
// second wall (a value that slipped through must stay one literal argument).
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
