// "Did you mean": the known word nearest to what was typed, for commands, flags, gate names and gate keys.

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of two neighbours cost 1. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i || j));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = rows[i] as number[];
      const above = rows[i - 1] as number[];
      row[j] = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, (rows[i - 2] as number[])[j - 2]! + 1);
      }
    }
  }
  return (rows[a.length] as number[])[b.length]!;
}

/**
 * The candidate nearest to `typed`, when it is near enough to be a typo: at most 1 edit for words of up to 4
 * letters, 2 up to 8, else 3 (case ignored). Ties go to the earlier candidate.
 */
export function suggest(typed: string, candidates: readonly string[]): string | undefined {
  const word = typed.toLowerCase();
  const limit = word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(word, name.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** ` did you mean 'x'?` or '' (to append to a message). */
export function didYouMean(typed: string, candidates: readonly string[]): string {
  const near = suggest(typed, candidates);
  return near === undefined ? '' : ` did you mean '${near}'?`;
}
