// replace with a pattern (r/…/): the linear-time matcher matches what JavaScript matches and fills
// the replacement as String.prototype.replace does; what RE2 cannot run is refused when the template
// compiles, with its place and the fix; the result is measured before it is built, and a replace of
// every match stops when it searches too long.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTemplate, RenderError, TemplateUnsafeError } from '../../daemon/render/index.js';

/** Renders `s | replace(PATTERN, r)` and returns the text (the body is the bare output, not JSON). */
function replaceWith(pattern: string, s: string, replacement: string): string {
  return compileTemplate(`{{ s | replace(${pattern}, r) }}`, 'body.njk').render({ s, r: replacement });
}

/** The same replace in JavaScript, from the pattern as a template writes it (r/source/flags). */
function javascript(pattern: string, s: string, replacement: string): string {
  const [, source, flags] = /^r\/(.*)\/([gim]*)$/s.exec(pattern)!;
  return s.replace(new RegExp(source, flags), replacement);
}

// [pattern, text, replacement]: JavaScript and the linear-time matcher agree on each.
const SAME: [string, string, string][] = [
  ['r/a/', 'banana', 'o'],
  ['r/a/g', 'banana', 'o'],
  ['r/A/gi', 'bAnana', '_'],
  ['r/\\s+/g', 'a \u00a0\u2003 b\t\n\u000bc\ufeffd', ' '],
  ['r/\\S+/g', 'a \u00a0b\u2028c', '<$&>'],
  ['r/[\\s,]+/g', 'a, b ,\u00a0c', '|'],
  ['r/[^\\S]/g', 'a b\u00a0c', '_'],
  ['r/./g', 'a\rb\nc\u2028d\u2029e', 'x'],
  ['r/[^]/g', 'a\nb', 'x'],
  ['r/[]/g', 'abc', 'x'],
  ['r/^b/gm', 'ab\nbc\nbd', 'B'],
  ['r/c$/gm', 'abc\nc\nx', 'C'],
  ['r/^/g', 'abc', '>'],
  ['r/$/g', 'abc', '<'],
  ['r/x*/g', 'abc', '-'],
  ['r/a*/g', 'baaac', '-'],
  ['r/a{2}/g', 'aaaaa', 'b'],
  ['r/a{2,}/g', 'aaaaa a', 'b'],
  ['r/a{1,2}?/g', 'aaaaa', 'b'],
  ['r/a{,2}/g', 'a{,2}aa', 'x'],
  ['r/a{/g', 'a{b', 'x'],
  ['r/[\\d-z]/g', '1-zq', 'x'],
  ['r/[a-c\\-]/g', 'abd-e', 'x'],
  ['r/[\\]\\[]/g', 'a[b]c', 'x'],
  ['r/[[:alpha:]]/g', 'a[:b]', 'x'],
  ['r/\\bfoo\\b/g', 'foo food foo', 'bar'],
  ['r/\\Boo/g', 'foo oo', '00'],
  ['r/\\d+/g', 'a1b22c333', '#'],
  ['r/\\w+@\\w+\\.com/g', 'me@home.com, you@work.com', 'EMAIL'],
  ['r/\\u0041\\x42\\cJ\\0/g', 'AB\n\u0000', 'ok'],
  ['r/\\ud83d\\ude00/g', 'x\u{1F600}y', 'smile'],
  ['r/[\\b]/g', 'a\bb', 'x'],
  ['r/\\/path\\//g', '/path/to', '~/'],
  ['r/(\\w+)@(\\w+)/g', 'me@home, you@work', '$2 at $1 [$&] $$ $3 $10 $01 $0 $'],
  ['r/(?<user>\\w+)@(?<host>\\w+)/g', 'me@home, you@work', '$<host>/$<user>/$<nope>/$1'],
  ['r/(\\w+)@(\\w+)/g', 'me@home', '$<host>'],
  ['r/b/g', 'abc', "[$`|$']"],
  ['r/(a)|b/g', 'ab', '[$1]'],
  ['r/(a)(b)?/g', 'ac', '[$2]'],
  ['r/(a|ab)(c|bcd)(d*)/', 'abcd', '$1-$2-$3'],
  ['r/colou?r/gi', 'Color COLOUR', 'hue'],
];

describe('render: replace with a pattern', () => {
  it('matches and replaces what JavaScript would, on the same text', () => {
    for (const [pattern, s, replacement] of SAME) {
      assert.equal(replaceWith(pattern, s, replacement), javascript(pattern, s, replacement), `${pattern} on ${JSON.stringify(s)} with ${JSON.stringify(replacement)}`);
    }
  });

  it('reads a character as a code point where JavaScript reads UTF-16 units (documented)', () => {
    assert.equal(replaceWith('r/./g', 'a\u{1F600}', 'x'), 'xx');
  });

  it('takes a number, and a caller()\'s text; refuses a list, and a replacement that is not text', () => {
    assert.equal(compileTemplate('{{ 1234 | replace(r/2/, "x") }}', 'b').render({}), '1x34');
    assert.equal(compileTemplate('{% macro m() %}{{ caller() | replace(r/b/g, "B") }}{% endmacro %}{% call m() %}abb{% endcall %}', 'b').render({}), 'aBB');
    assert.throws(() => compileTemplate('{{ [1] | replace(r/1/, "x") }}', 'b').render({}), /a pattern is run on text, not on a list/);
    assert.throws(() => compileTemplate('{{ "a" | replace(r/a/, [1]) }}', 'b').render({}), /the replacement must be text/);
  });

  it('refuses at compile time, with the pattern\'s place and the fix, what the linear-time matcher cannot run', () => {
    const refusals: [string, RegExp][] = [
      ['r/(a)\\1/', /at character 4: a back-reference \(\\1\).*use \$1 in the replacement/],
      ['r/(?<x>a)\\k<x>/', /a back-reference \(\\k<…>\)/],
      ['r/a(?=b)/', /a look-ahead "\(\?=…": the linear-time matcher has none/],
      ['r/a(?!b)/', /a look-ahead/],
      ['r/(?<=a)b/', /a look-behind/],
      ['r/(?<!a)b/', /a look-behind/],
      ['r/a/y', /the y flag \(sticky\) is not offered/],
      ['r/\\p{L}/', /"\\p" is not an escape in a JavaScript pattern \(it would mean the letter p\): write p/],
      ['r/\\012/', /an octal escape/],
      ['r/a{1001}/', /a repeat count over 1000/],
      ['r/(?:a{40}){40}/', /its repeats multiply past 1000/],
      ['r/(.{100}){11}/', /its repeats multiply past 1000|compiles to \d+ steps, over the 1000/],
      [`r/${'a'.repeat(1001)}/`, /a pattern over 1000 characters/],
    ];
    for (const [pattern, message] of refusals) {
      assert.throws(
        () => compileTemplate(`{"s": {{ s | replace(${pattern}, "") | json }}}`, 'body.njk'),
        (error: unknown) => error instanceof TemplateUnsafeError && /^body\.njk:1:22: not allowed: the pattern r\//.test(error.message) && message.test(error.message),
        pattern,
      );
    }
  });

  it('refuses a pattern written anywhere but as the first argument of replace', () => {
    assert.throws(() => compileTemplate('{% set p = r/a/ %}{{ s | replace(p, "") }}', 'b'), /not allowed: a pattern \(r\/a\/\) can only be written as the first argument of replace/);
    assert.throws(() => compileTemplate('{{ r/a/ | string }}', 'b'), /can only be written as the first argument of replace/);
  });

  it('refuses a template whose patterns together are too long to compile quickly', () => {
    const many = Array.from({ length: 5 }, (_, i) => `{{ s | replace(r/${String(i).repeat(900)}/, "") }}`).join('');
    assert.throws(() => compileTemplate(many, 'b'), /patterns are over 4000 characters together/);
  });

  it('runs the pattern of the finding, (a+)+$ on forty a\'s and a "!", at once', { timeout: 10_000 }, () => {
    const template = compileTemplate('{{ input.event_properties.s | default("") | replace(r/(a+)+$/, "") }}', 'body.njk');
    const started = performance.now();
    assert.equal(template.render({ input: { event_properties: { s: `${'a'.repeat(40)}!` } } }), `${'a'.repeat(40)}!`);
    assert.ok(performance.now() - started < 1_000);
  });

  it('measures the result match by match and refuses it before building it ($\' on 32 KB would be 512 M characters)', { timeout: 10_000 }, () => {
    const template = compileTemplate('{{ s | replace(r/a/g, "$\'") }}', 'body.njk');
    const started = performance.now();
    assert.throws(() => template.render({ s: 'a'.repeat(32_768) }), (error: unknown) => error instanceof RenderError && /render budget exceeded: replace with r\/a\/g would make more than 5242880 characters/.test(error.message));
    assert.ok(performance.now() - started < 1_000);
  });

  it('refuses a text too long for the pattern before searching it: one search costs the text times the pattern', () => {
    const template = compileTemplate('{{ s | replace(r/(.*a){20}/, "") }}', 'b');
    assert.equal(template.render({ s: 'b'.repeat(1_000) }), 'b'.repeat(1_000));
    assert.throws(() => template.render({ s: 'b'.repeat(2_000) }), /render budget exceeded: replace with r\/\(\.\*a\)\{20\}\/ was given \d+ characters or items, over the \d+ one call may take/);
  });

  it('reads the clock between matches, and stops a replace of every match that searches too long', () => {
    // Each match of a.*b|a on a's scans to the end of the text: quadratic. The clock here moves 1 ms a read.
    let now = 0;
    const template = compileTemplate('{{ s | replace(r/a.*b|a/g, "") }}', 'b', { limits: { now: () => (now += 1) } });
    assert.throws(() => template.render({ s: 'a'.repeat(3_000) }), /render budget exceeded: replace with r\/a\.\*b\|a\/g searched for longer than 25 ms/);
    assert.ok(now < 100, `the clock was read ${now} times`);
  });
});
