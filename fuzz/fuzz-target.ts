// What a fuzz target is: a module in fuzz/targets/ that exports `fuzz(data)` (Jazzer.js calls it
// with each input) and `info`. A target turns the bytes into what untrusted input really reaches
// and states, as checks that throw FuzzFinding, what must hold whatever the bytes are.

export interface FuzzTargetInfo {
  /** What it feeds and what counts as a finding, in one line (the runner prints it). */
  summary: string;
  /** libFuzzer's -max_len: the longest input it makes. */
  maxLen: number;
  /** Tokens libFuzzer splices into inputs (its -dict), derived from the code where they can be. */
  dictionary: readonly string[];
  /** Jazzer.js bug detectors that cannot tell this target's legitimate work from an attack (see its file). */
  disableBugDetectors?: readonly string[];
}

export interface FuzzTargetModule {
  fuzz(data: Buffer): void;
  info: FuzzTargetInfo;
}

/** A property of the code that an input broke: what Jazzer.js reports as a crash. */
export class FuzzFinding extends Error {
  override name = 'FuzzFinding';
}

/** Throws a FuzzFinding when `holds` is false; `what` says what should have held. */
export function check(holds: boolean, what: string | (() => string)): asserts holds {
  if (!holds) throw new FuzzFinding(typeof what === 'string' ? what : what());
}

/** The input split at its first NUL byte (no JSON text holds one): [before, after or undefined]. */
export function splitAtNul(data: Buffer): [Buffer, Buffer | undefined] {
  const at = data.indexOf(0);
  return at === -1 ? [data, undefined] : [data.subarray(0, at), data.subarray(at + 1)];
}

/** Short JSON of a value for a finding's message (bigints as digits). */
export function shown(value: unknown, max = 300): string {
  let text: string;
  try {
    text = JSON.stringify(value, (_key, entry: unknown) => (typeof entry === 'bigint' ? `${entry}n` : entry)) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** An unexpected error for a finding's message: its class, message and where it was thrown. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}\n${error.stack?.split('\n').slice(1, 6).join('\n')}` : shown(error);
}
