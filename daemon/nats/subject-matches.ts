// NATS subject matching, as the server does it: `*` is one token, a final `>` one or more.

/** True when `subject` (no wildcards) is one of the subjects `pattern` names. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const want = pattern.split('.');
  const have = subject.split('.');
  if (have.some((token) => token === '' || token === '*' || token === '>')) return false;
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '>' && i === want.length - 1) return have.length > i;
    if (i >= have.length || (want[i] !== '*' && want[i] !== have[i])) return false;
  }
  return have.length === want.length;
}
