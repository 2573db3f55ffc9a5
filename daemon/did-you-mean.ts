// "Did you mean": the names that exist nearest a mistyped one (a filter, a parameter, an event
// field). Names are short; a name over NAME_LIMIT characters is not compared, so a hostile template
// cannot make the edit distance cost more than NAME_LIMIT² steps per candidate.
const NAME_LIMIT = 64;

/** Levenshtein distance, stopping early once it is over `limit`. */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      best = Math.min(best, current[j]);
    }
    if (best > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length];
}

/** The candidates closest to `name` (at most a third of its length apart, and at least one edit allowed), nearest first. */
export function nearestNames(name: string, candidates: Iterable<string>, most = 3): string[] {
  if (name.length > NAME_LIMIT) return [];
  const limit = Math.max(1, Math.floor(name.length / 3));
  const lower = name.toLowerCase();
  const scored: Array<{ candidate: string; score: number }> = [];
  for (const candidate of new Set(candidates)) {
    if (candidate === name || candidate.length > NAME_LIMIT) continue;
    const score = candidate.toLowerCase() === lower ? 0 : distance(lower, candidate.toLowerCase(), limit);
    if (score <= limit) scored.push({ candidate, score });
  }
  return scored.sort((a, b) => a.score - b.score || a.candidate.localeCompare(b.candidate)).slice(0, most).map((entry) => entry.candidate);
}

/** ` (did you mean "json"?)`, or '' when no name is near. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const near = nearestNames(name, candidates);
  return near.length ? ` (did you mean ${near.map((candidate) => `"${candidate}"`).join(' or ')}?)` : '';
}
