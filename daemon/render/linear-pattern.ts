// A template's `r/…/` pattern, run by a linear-time matcher (re2js, a pure-JavaScript port of RE2)
// instead of JavaScript's backtracking one, where `(a+)+$` on forty a's and a "!" never ends. A
// pattern is translated (pattern-translation.ts) and compiled once, when the template compiles;
// `replace` runs it with JavaScript's replacement syntax and measures its result before building it.
// One search costs at most (characters searched × instructions of the pattern) steps, so the
// budget refuses a text and pattern whose product is too large before searching, and a replace
// of every match checks the clock between matches (a search for each match can scan to the end).
import { RE2JS, RE2JSException, RE2JSSyntaxException } from 're2js';
import { PatternRefusal, translatePattern } from './pattern-translation.js';
import { budget, RenderBudgetError } from './render-budget.js';

/** The longest pattern source a template may write (compiling costs more than linear time in it). */
export const PATTERN_MAX_LENGTH = 1_000;
/** The most instructions one compiled pattern may have (RE2's "program size"). */
export const PATTERN_MAX_INSTRUCTIONS = 1_000;
/** All of a template's patterns together (its compile time, in validate too). */
export const TEMPLATE_PATTERNS_MAX_LENGTH = 4_000;
/** Measured cost of one search step (a character against one instruction), rounded up; the filter-cost test checks it. */
export const PATTERN_COST_PER_STEP = 128;

/** Flags nunjucks' lexer reads after `r/…/`: g, i, m, y. */
const SUPPORTED_FLAGS = /^[gim]*$/;

/** What a part of a replacement inserts: text, the match, the text before or after it, or a group. */
const MATCH = -1;
const BEFORE = -2;
const AFTER = -3;
/** A named group that does not exist: inserts nothing (as in JavaScript). */
const NOTHING = -4;
type Part = string | number;

function describe(source: string, flags: string): string {
  const shown = source.length > 60 ? `${source.slice(0, 57)}…` : source;
  return `r/${shown}/${flags}`;
}

/** Compiled patterns by `flags/source`, for the compiled templates' `runtime.pattern` (patterns come only from template text). */
const compiled = new Map<string, LinearPattern>();
const MAX_KEPT = 4_096;

export class LinearPattern {
  readonly global: boolean;
  /** Instructions of the compiled program: the cost of one step of a search. */
  readonly instructions: number;
  readonly #re: RE2JS;
  readonly #groups: number;
  readonly #names: Record<string, number> | undefined;
  #lastReplacement: string | undefined;
  #lastParts: Part[] = [];

  private constructor(
    readonly source: string,
    readonly flags: string,
  ) {
    if (!SUPPORTED_FLAGS.test(flags)) {
      throw new PatternRefusal(0, 'the y flag (sticky) is not offered: start the pattern with ^ to match at the start');
    }
    if (source.length > PATTERN_MAX_LENGTH) throw new PatternRefusal(0, `a pattern over ${PATTERN_MAX_LENGTH} characters: split it, or match less at once`);
    const translated = translatePattern(source);
    let re: RE2JS;
    try {
      re = RE2JS.compile(translated, (flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0) | (flags.includes('m') ? RE2JS.MULTILINE : 0));
    } catch (error) {
      if (!(error instanceof RE2JSException)) throw error;
      const detail = error instanceof RE2JSSyntaxException ? error.getDescription() : error.message;
      if (/invalid repeat count/.test(detail)) throw new PatternRefusal(0, `its repeats multiply past ${1_000} ({n} inside {m} counts n × m): repeat less`);
      throw new PatternRefusal(0, `the linear-time matcher cannot run it (${detail})`);
    }
    if (re.programSize() > PATTERN_MAX_INSTRUCTIONS) {
      throw new PatternRefusal(0, `it compiles to ${re.programSize()} steps, over the ${PATTERN_MAX_INSTRUCTIONS} allowed: repeat less ({n} counts) or split it`);
    }
    this.#re = re;
    this.global = flags.includes('g');
    this.instructions = re.programSize();
    this.#groups = re.groupCount();
    const names = re.namedGroups();
    this.#names = Object.keys(names).length > 0 ? names : undefined;
  }

  /** The pattern `r/source/flags` of a template; throws PatternRefusal (with its offset) when it cannot run here. */
  static of(source: string, flags: string): LinearPattern {
    const key = `${flags}/${source}`;
    let pattern = compiled.get(key);
    if (pattern === undefined) {
      pattern = new LinearPattern(source, flags);
      if (compiled.size >= MAX_KEPT) compiled.clear();
      compiled.set(key, pattern);
    }
    return pattern;
  }

  /** The key a compiled template names this pattern by (see `runtime.pattern`). */
  static keyOf(source: string, flags: string): string {
    return `${flags}/${source}`;
  }

  /** The pattern for a key made by keyOf (the compiled template's); compiled again if it was dropped. */
  static byKey(key: string): LinearPattern {
    const pattern = compiled.get(key);
    if (pattern !== undefined) return pattern;
    const slash = key.indexOf('/');
    return LinearPattern.of(key.slice(slash + 1), key.slice(0, slash));
  }

  toString(): string {
    return describe(this.source, this.flags);
  }

  /**
   * `text` with the first match (every match, with g) replaced as String.prototype.replace would:
   * $&, $1…$99, $<name>, $`, $' and $$ in `replacement`. The result's length is added up match by
   * match and refused once it passes the budget, before any of it is built.
   */
  replace(text: string, replacement: string): string {
    const length = text.length;
    const what = `replace with ${this}`;
    budget.call((length + 1) * this.instructions, PATTERN_COST_PER_STEP, what);
    const parts = this.partsOf(replacement);
    let groupsNeeded = 0;
    for (const part of parts) if (typeof part === 'number' && part > groupsNeeded) groupsNeeded = part;
    const stride = 2 + 2 * groupsNeeded;
    const limit = budget.limits.maxOutputBytes;
    const matcher = this.#re.matcher(text);
    // Checked between searches: each is bounded, all of them together are not (a search can scan to the end).
    const clockEvery = (length + 1) * this.instructions > 65_536 ? 1 : 16;
    const startedAt = budget.checkDeadline();
    const spans: number[] = [];
    let total = 0;
    let lastEnd = 0;
    let position = 0;
    let searches = 0;
    while (position <= length && matcher.find(position)) {
      const start = matcher.start();
      const end = matcher.end();
      spans.push(start, end);
      for (let group = 1; group <= groupsNeeded; group++) spans.push(matcher.start(group), matcher.end(group));
      total += start - lastEnd;
      const at = spans.length - stride;
      for (const part of parts) total += this.partLength(part, spans, at, length);
      if (total > limit) throw new RenderBudgetError(`${what} would make more than ${limit} characters`);
      lastEnd = end;
      if (!this.global) break;
      // As JavaScript: after an empty match the next search starts one character on.
      position = end === start ? end + 1 : end;
      if (++searches % clockEvery === 0 && budget.checkDeadline() - startedAt > budget.limits.maxCallMillis) {
        throw new RenderBudgetError(`${what} searched for longer than ${budget.limits.maxCallMillis} ms`);
      }
    }
    if (spans.length === 0) return text;
    total += length - lastEnd;
    budget.text(total, what);
    let result = '';
    let from = 0;
    for (let at = 0; at < spans.length; at += stride) {
      result += text.slice(from, spans[at]);
      for (const part of parts) result += typeof part === 'string' ? part : this.partText(part, spans, at, text);
      from = spans[at + 1];
    }
    return result + text.slice(from);
  }

  private partLength(part: Part, spans: number[], at: number, length: number): number {
    if (typeof part === 'string') return part.length;
    switch (part) {
      case MATCH:
        return spans[at + 1] - spans[at];
      case BEFORE:
        return spans[at];
      case AFTER:
        return length - spans[at + 1];
      case NOTHING:
        return 0;
      default: {
        const start = spans[at + 2 * part];
        return start < 0 ? 0 : spans[at + 2 * part + 1] - start;
      }
    }
  }

  private partText(part: number, spans: number[], at: number, text: string): string {
    switch (part) {
      case MATCH:
        return text.slice(spans[at], spans[at + 1]);
      case BEFORE:
        return text.slice(0, spans[at]);
      case AFTER:
        return text.slice(spans[at + 1]);
      case NOTHING:
        return '';
      default: {
        const start = spans[at + 2 * part];
        return start < 0 ? '' : text.slice(start, spans[at + 2 * part + 1]);
      }
    }
  }

  /** A replacement read as String.prototype.replace reads it (GetSubstitution), for this pattern's groups. */
  private partsOf(replacement: string): Part[] {
    if (replacement === this.#lastReplacement) return this.#lastParts;
    const parts: Part[] = [];
    let literal = '';
    const flush = () => {
      if (literal !== '') parts.push(literal);
      literal = '';
    };
    let at = 0;
    while (at < replacement.length) {
      const char = replacement[at];
      const next = replacement[at + 1];
      if (char !== '$' || next === undefined) {
        literal += char;
        at++;
        continue;
      }
      if (next === '$') {
        literal += '$';
        at += 2;
      } else if (next === '&' || next === '`' || next === "'") {
        flush();
        parts.push(next === '&' ? MATCH : next === '`' ? BEFORE : AFTER);
        at += 2;
      } else if (next >= '0' && next <= '9') {
        const two = replacement[at + 2];
        let digits = two !== undefined && two >= '0' && two <= '9' ? next + two : next;
        if (digits.length === 2 && Number(digits) > this.#groups) digits = next;
        const index = Number(digits);
        if (index >= 1 && index <= this.#groups) {
          flush();
          parts.push(index);
        } else {
          literal += `$${digits}`;
        }
        at += 1 + digits.length;
      } else if (next === '<' && this.#names !== undefined && replacement.indexOf('>', at + 2) !== -1) {
        const close = replacement.indexOf('>', at + 2);
        const name = replacement.slice(at + 2, close);
        flush();
        parts.push(Object.hasOwn(this.#names, name) ? this.#names[name] : NOTHING);
        at = close + 1;
      } else {
        literal += '$';
        at++;
      }
    }
    flush();
    this.#lastReplacement = replacement;
    this.#lastParts = parts;
    return parts;
  }
}
