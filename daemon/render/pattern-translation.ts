// A template's `r/…/` pattern, written in JavaScript's syntax (nunjucks reads it that way, without
// the `u` flag), rewritten for RE2's: the same matches wherever RE2 can express them, and a clear
// refusal (with the offset in the pattern) where it cannot. What RE2 reads differently is rewritten
// to JavaScript's meaning: `.` and `\s` (JavaScript's include more characters than RE2's), `{` that
// is not a repeat (`a{,5}` is text in JavaScript, a repeat in RE2), `[` inside a class (RE2 reads
// `[:alpha:]`), `[]` and `[^]`, `\0`, `\cX`, `\uXXXX` and `(?<name>…)`.

/** JavaScript's white space and line terminators (what `\s` matches), as RE2 ranges. */
const SPACE_RANGES = '\\x{9}-\\x{d}\\x{20}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}';
/** Everything else (what `\S` matches), for use inside a class, where a negated class cannot go. */
const NON_SPACE_RANGES =
  '\\x{0}-\\x{8}\\x{e}-\\x{1f}\\x{21}-\\x{9f}\\x{a1}-\\x{167f}\\x{1681}-\\x{1fff}\\x{200b}-\\x{2027}\\x{202a}-\\x{202e}\\x{2030}-\\x{205e}\\x{2060}-\\x{2fff}\\x{3001}-\\x{fefe}\\x{ff00}-\\x{10ffff}';
/** JavaScript's `.` without the s flag: anything but a line terminator. */
const ANY_BUT_LINE_END = '[^\\x{a}\\x{d}\\x{2028}\\x{2029}]';
const ANY = '[\\x{0}-\\x{10ffff}]';
const NOTHING = '[^\\x{0}-\\x{10ffff}]';

const HEX2 = /^[0-9A-Fa-f]{2}$/;
const HEX4 = /^[0-9A-Fa-f]{4}$/;
const REPEAT = /\{(\d+)(,(\d*))?\}/y;
const GROUP_NAME = /^<([A-Za-z_][A-Za-z0-9_]*)>/;

/** RE2's largest repeat count. */
const MAX_REPEAT = 1_000;

export class PatternRefusal extends Error {
  override name = 'PatternRefusal';
  constructor(
    /** 0-based offset in the pattern's source. */
    readonly offset: number,
    detail: string,
  ) {
    super(detail);
  }
}

/** One item of a character class: a code point, or RE2 text for a class escape (`\d`, JavaScript's `\s`). */
type ClassItem = { codePoint: number } | { text: string };

function hex(codePoint: number): string {
  return `\\x{${codePoint.toString(16)}}`;
}

class Translator {
  private at = 0;
  private out = '';

  constructor(private readonly source: string) {}

  translate(): string {
    while (this.at < this.source.length) this.term();
    return this.out;
  }

  private refuse(offset: number, detail: string): never {
    throw new PatternRefusal(offset, detail);
  }

  private term(): void {
    const char = this.source[this.at];
    switch (char) {
      case '\\':
        this.out += this.escapeOutsideClass();
        return;
      case '.':
        this.at++;
        this.out += ANY_BUT_LINE_END;
        return;
      case '[':
        this.out += this.characterClass();
        return;
      case '(':
        this.out += this.groupOpening();
        return;
      case '{': {
        REPEAT.lastIndex = this.at;
        const repeat = REPEAT.exec(this.source);
        if (repeat) {
          for (const count of [repeat[1], repeat[3]]) {
            if (count && Number(count) > MAX_REPEAT) this.refuse(this.at, `a repeat count over ${MAX_REPEAT} (${repeat[0]}): the linear-time matcher counts at most ${MAX_REPEAT}`);
          }
          this.at += repeat[0].length;
          this.out += repeat[0];
          return;
        }
        // Not a repeat: JavaScript reads it as text.
        this.at++;
        this.out += '\\{';
        return;
      }
      case '}':
      case ']':
        this.at++;
        this.out += `\\${char}`;
        return;
      case '^':
      case '$':
      case '|':
      case ')':
      case '*':
      case '+':
      case '?':
        this.at++;
        this.out += char;
        return;
      default: {
        const item = this.literal() as { codePoint: number };
        // Letters and digits as they are (readable in a debugger); anything else by its code.
        this.out += /[A-Za-z0-9_ ]/.test(char) ? char : hex(item.codePoint);
      }
    }
  }

  private groupOpening(): string {
    const start = this.at;
    this.at++;
    if (this.source[this.at] !== '?') return '(';
    const rest = this.source.slice(this.at + 1, this.at + 3);
    if (rest.startsWith(':')) {
      this.at += 2;
      return '(?:';
    }
    if (rest.startsWith('=') || rest.startsWith('!') || rest === '<=' || rest === '<!') {
      const kind = rest.startsWith('<') ? 'look-behind' : 'look-ahead';
      this.refuse(start, `a ${kind} "${this.source.slice(start, start + (rest.startsWith('<') ? 4 : 3))}…": the linear-time matcher has none; match the text itself and keep it with $1, or use two replaces`);
    }
    const name = GROUP_NAME.exec(this.source.slice(this.at + 1));
    if (name) {
      this.at += 1 + name[0].length;
      return `(?P<${name[1]}>`;
    }
    return this.refuse(
      start,
      '"(?" that is not (?: or (?<name> with a name of letters, digits and _: inline flags are not offered; put flags after the pattern (r/…/i)',
    );
  }

  /** `\…` outside a class: what JavaScript (without the u flag) means by it, in RE2's syntax. */
  private escapeOutsideClass(): string {
    const item = this.escape(false);
    if ('text' in item) return item.text;
    return hex(item.codePoint);
  }

  /** An escape, at `\`; inside a class, `\b` is a backspace and class escapes are returned as items. */
  private escape(inClass: boolean): ClassItem {
    const start = this.at;
    const char = this.source[this.at + 1];
    if (char === undefined) this.refuse(start, 'a pattern cannot end with "\\"');
    this.at += 2;
    switch (char) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
        return { text: `\\${char}` };
      case 'b':
        return inClass ? { codePoint: 8 } : { text: '\\b' };
      case 'B':
        if (inClass) this.refuse(start, '"\\B" inside [ ] means the letter B in JavaScript: write B');
        return { text: '\\B' };
      case 's':
        return { text: inClass ? SPACE_RANGES : `[${SPACE_RANGES}]` };
      case 'S':
        return { text: inClass ? NON_SPACE_RANGES : `[^${SPACE_RANGES}]` };
      case 't':
        return { codePoint: 9 };
      case 'n':
        return { codePoint: 10 };
      case 'v':
        return { codePoint: 11 };
      case 'f':
        return { codePoint: 12 };
      case 'r':
        return { codePoint: 13 };
      case '0':
        if (/[0-9]/.test(this.source[this.at] ?? '')) this.refuse(start, 'an octal escape (\\0…): write the character as \\xHH');
        return { codePoint: 0 };
      case 'c': {
        const letter = this.source[this.at] ?? '';
        if (!/[A-Za-z]/.test(letter)) this.refuse(start, '"\\c" must be followed by a letter (a control character): write \\xHH');
        this.at++;
        return { codePoint: letter.charCodeAt(0) % 32 };
      }
      case 'x': {
        const digits = this.source.slice(this.at, this.at + 2);
        if (!HEX2.test(digits)) this.refuse(start, '"\\x" must be followed by two hexadecimal digits');
        this.at += 2;
        return { codePoint: parseInt(digits, 16) };
      }
      case 'u':
        return { codePoint: this.unicodeEscape(start) };
      case 'k':
        return this.refuse(start, 'a back-reference (\\k<…>): the linear-time matcher has none; match the text itself and keep it with $<name>');
      default:
        if (/[1-9]/.test(char)) {
          this.refuse(start, `a back-reference (\\${char}): the linear-time matcher has none; capture the text with ( ) and use $${char} in the replacement instead`);
        }
        if (/[A-Za-z0-9_]/.test(char)) this.refuse(start, `"\\${char}" is not an escape in a JavaScript pattern (it would mean the letter ${char}): write ${char}`);
        // A punctuation mark or any other character, escaped: the character itself.
        this.at = start + 1;
        return this.literal();
    }
  }

  /** `\uXXXX`, with a surrogate pair written as two escapes read as one character. */
  private unicodeEscape(start: number): number {
    const digits = this.source.slice(this.at, this.at + 4);
    if (!HEX4.test(digits)) this.refuse(start, '"\\u" must be followed by four hexadecimal digits');
    this.at += 4;
    const unit = parseInt(digits, 16);
    if (unit < 0xd800 || unit > 0xdfff) return unit;
    const low = this.source.slice(this.at, this.at + 6);
    if (unit <= 0xdbff && /^\\u[dD][c-fC-F][0-9A-Fa-f]{2}$/.test(low)) {
      this.at += 6;
      return 0x10000 + ((unit - 0xd800) << 10) + (parseInt(low.slice(2), 16) - 0xdc00);
    }
    return this.refuse(start, 'half of a surrogate pair (\\uD800–\\uDFFF alone): the matcher reads whole characters');
  }

  /** `[…]`: every character written as \x{…}, so nothing in it means what RE2 would make of it. */
  private characterClass(): string {
    const start = this.at;
    this.at++;
    const negated = this.source[this.at] === '^';
    if (negated) this.at++;
    // A raw "-" is kept apart: between two characters it makes a range, anywhere else it is the character.
    const items: (ClassItem | 'dash')[] = [];
    while (this.source[this.at] !== ']') {
      if (this.at >= this.source.length) this.refuse(start, 'a "[" without its "]"');
      if (this.source[this.at] === '-') {
        this.at++;
        items.push('dash');
      } else {
        items.push(this.source[this.at] === '\\' ? this.classEscape() : this.literal());
      }
    }
    this.at++;
    if (items.length === 0) return negated ? ANY : NOTHING;
    let body = '';
    for (let index = 0; index < items.length; index++) {
      const item = items[index];
      const next = items[index + 1];
      const end = items[index + 2];
      if (item !== 'dash' && 'codePoint' in item && next === 'dash' && end !== undefined && end !== 'dash' && 'codePoint' in end) {
        if (end.codePoint < item.codePoint) this.refuse(start, 'a range out of order inside [ ]');
        body += `${hex(item.codePoint)}-${hex(end.codePoint)}`;
        index += 2;
      } else if (item === 'dash') {
        body += hex(0x2d);
      } else {
        body += 'text' in item ? item.text : hex(item.codePoint);
      }
    }
    return `[${negated ? '^' : ''}${body}]`;
  }

  private classEscape(): ClassItem {
    const escaped = this.source[this.at + 1];
    if (escaped !== undefined && /[1-9]/.test(escaped)) this.refuse(this.at, `an octal escape (\\${escaped}) inside [ ]: write the character as \\xHH`);
    return this.escape(true);
  }

  private literal(): ClassItem {
    const codePoint = this.source.codePointAt(this.at)!;
    this.at += codePoint > 0xffff ? 2 : 1;
    return { codePoint };
  }
}

/**
 * A JavaScript pattern's source (RegExp.prototype.source, no u flag) in RE2's syntax with
 * JavaScript's meaning; throws PatternRefusal for what RE2 cannot run (back-references,
 * look-arounds, inline flags) and for escapes JavaScript reads as plain letters.
 */
export function translatePattern(source: string): string {
  return new Translator(source).translate();
}
