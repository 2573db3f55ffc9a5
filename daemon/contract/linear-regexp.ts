// The regular-expression engine contracts' `pattern` and `patternProperties` run on. A contract is
// written by a folder's author (hostile in CI's validate of an unreviewed pull request), and
// JavaScript's backtracking RegExp on `(a+)+$` never ends: the patterns run on re2js instead
// (linear time), translated from JavaScript's syntax as templates' r/…/ patterns are.
import { RE2JS } from 're2js';
import type { RegExpEngine, RegExpLike } from 'ajv/dist/types/index.js';
import { translatePattern } from '../render/index.js';

/** The longest pattern a contract may write (compiling costs more than linear time in it). */
export const CONTRACT_PATTERN_MAX_LENGTH = 1_000;
/** The most instructions one compiled pattern may have (RE2's program size). */
export const CONTRACT_PATTERN_MAX_INSTRUCTIONS = 2_000;

function linearRegExp(pattern: string): RegExpLike {
  if (pattern.length > CONTRACT_PATTERN_MAX_LENGTH) throw new Error(`pattern over ${CONTRACT_PATTERN_MAX_LENGTH} characters`);
  const re = RE2JS.compile(translatePattern(pattern));
  if (re.programSize() > CONTRACT_PATTERN_MAX_INSTRUCTIONS) throw new Error(`pattern ${JSON.stringify(pattern.slice(0, 60))} compiles to ${re.programSize()} steps, over ${CONTRACT_PATTERN_MAX_INSTRUCTIONS}`);
  // ajv keeps each compiled pattern under its toString(): without one, every pattern would be the first.
  return { test: (text: string) => re.matcher(text).find(), toString: () => `/${pattern}/` } as RegExpLike;
}

/** ajv's `code.regExp`: `code` is only read by ajv's standalone code, which contracts do not use. */
export const LINEAR_REGEXP: RegExpEngine = Object.assign((pattern: string) => linearRegExp(pattern), { code: 'linearRegExp' });
