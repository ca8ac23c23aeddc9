// "Did you mean": the valid name a typo most likely meant.

/** The valid name a typo most likely meant: the same letters ignoring case, or at most two edits away (one for short names). */
export function nearest(typo: string, valid: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of valid) {
    const d = name.toLowerCase() === typo.toLowerCase() ? 0 : editDistance(typo.toLowerCase(), name.toLowerCase());
    if (d <= Math.min(2, Math.floor(name.length / 3)) && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}

export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
