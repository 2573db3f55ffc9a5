// Every hint validate prints for Freemarker is tested by following it: the advice is read from the
// printed message, written into the template in place of what it names, and the fixed template must
// compile (it passes validate's template checks) and render the value Freemarker would have written.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTemplate, TemplateMistakeError, TemplateSyntaxError, TemplateUnsafeError, type CompileOptions } from '../../daemon/render/index.js';

const ADVICE = /^(.*?) is Freemarker(?: \([^)]*\))?, which nunjucks (?:writes as text|does not have): write (.*)$/;

/** The template with every printed hint applied, last place first; fails when a hint names text that is not at its place. */
function followAdvice(source: string, options: CompileOptions): { fixed: string; hints: string[] } {
  let mistakes: ReadonlyArray<{ line: number; column: number; message: string }>;
  try {
    compileTemplate(source, 'body.njk', options);
    assert.fail(`no advice for ${source}`);
  } catch (error) {
    assert.ok(error instanceof TemplateMistakeError || error instanceof TemplateUnsafeError, `advice, got ${String(error)}`);
    mistakes = error.all;
  }
  const lines = source.split('\n');
  const offsetOf = (line: number, column: number) => lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0) + column - 1;
  let fixed = source;
  const hints: string[] = [];
  for (const mistake of [...mistakes].sort((a, b) => b.line - a.line || b.column - a.column)) {
    const parsed = ADVICE.exec(mistake.message);
    assert.ok(parsed, `a hint that says what to write: ${mistake.message}`);
    const [, text, instead] = parsed;
    const offset = offsetOf(mistake.line, mistake.column);
    assert.equal(fixed.slice(offset, offset + text.length), text, `the hint names the text at ${mistake.line}:${mistake.column}`);
    fixed = fixed.slice(0, offset) + instead + fixed.slice(offset + text.length);
    hints.push(`${text} -> ${instead}`);
  }
  return { fixed, hints: hints.reverse() };
}

function rendered(source: string, options: CompileOptions, context: object): string {
  try {
    return compileTemplate(source, 'body.njk', options).render(context);
  } catch (error) {
    if (error instanceof TemplateSyntaxError) assert.fail(`the fixed template ${JSON.stringify(source)} is refused: ${error.message}`);
    throw error;
  }
}

const EVENT = { event_type: 'Purchase "Done"', user_id: 'u 1/2', price: 5, city: 'Paris', event_properties: { items: [1, 2, 3] } };
const WITHOUT = { event_type: 'Open', user_id: 'u2' };
const PARAMETERS = { api_key: 'k-1', endpoint: 'https://api.example.com' };
const context = (input: object) => ({ input, parameters: PARAMETERS, mappedProperties: {}, mappedFields: {} });
const body: CompileOptions = { position: 'body', parameters: ['api_key', 'endpoint'] };
const url: CompileOptions = { position: 'url', parameters: ['api_key', 'endpoint'] };
const header: CompileOptions = { position: 'header', parameters: ['api_key', 'endpoint'] };

/** Each case: the Freemarker, where it goes, and what Freemarker renders (as JSON value for a body) for an event with the values and one without. */
const CASES: Array<{ name: string; source: string; options: CompileOptions; with: unknown; without?: unknown }> = [
  { name: '"${x}" in a body', source: '{"event": "${event_type}"}', options: body, with: { event: 'Purchase "Done"' }, without: { event: 'Open' } },
  { name: '${x?c} in a body', source: '{"price": ${price?c}}', options: body, with: { price: 5 } },
  { name: '"${x?c}" in a body', source: '{"price": "${price?c}"}', options: body, with: { price: '5' } },
  { name: '"${x?string}" in a body', source: '{"price": "${price?string}"}', options: body, with: { price: '5' } },
  { name: '"${x!"d"}" in a body', source: '{"city": "${city!"none"}"}', options: body, with: { city: 'Paris' }, without: { city: 'none' } },
  { name: 'text around ${x} in a JSON string', source: '{"title": "Bought: ${event_type} in ${city}!"}', options: body, with: { title: 'Bought: Purchase "Done" in Paris!' } },
  { name: '<#if x??> in a body', source: '{"a": 1<#if price??>, "price": ${price?c}</#if>}', options: body, with: { a: 1, price: 5 }, without: { a: 1 } },
  { name: '<#if x??> <#else> in a body', source: '{"city": <#if city??>"${city}"<#else>null</#if>}', options: body, with: { city: 'Paris' }, without: { city: null } },
  {
    name: '<#list> with <#sep> in a body',
    source: '{"items": [<#list event_properties.items as item>${item?c}<#sep>,</#sep></#list>]}',
    options: body,
    with: { items: [1, 2, 3] },
  },
  { name: '{% if x?? %} in nunjucks', source: '{"a": 1{% if input.price?? %}, "p": {{ input.price | json }}{% endif %}}', options: body, with: { a: 1, p: 5 }, without: { a: 1 } },
  { name: '{{ x?c }} in nunjucks', source: '{"p": {{ input.price?c }}}', options: body, with: { p: 5 } },
  { name: '{{ x!"d" }} in nunjucks', source: '{"c": {{ input.city!"none" | json }}}', options: body, with: { c: 'Paris' }, without: { c: 'none' } },
  { name: '{{ x?string }} in nunjucks', source: '{"p": {{ input.price?string | json }}}', options: body, with: { p: '5' } },
];

describe('render: Freemarker advice, followed', () => {
  for (const testCase of CASES) {
    it(`${testCase.name}: the advice compiles and renders what Freemarker would`, () => {
      const { fixed } = followAdvice(testCase.source, testCase.options);
      assert.deepEqual(JSON.parse(rendered(fixed, testCase.options, context(EVENT))), testCase.with, fixed);
      if (testCase.without !== undefined) assert.deepEqual(JSON.parse(rendered(fixed, testCase.options, context(WITHOUT))), testCase.without, fixed);
    });
  }

  it('in a URL, an event value is percent-encoded (not JSON-quoted) and a parameter starting the URL is written as it is', () => {
    const { fixed, hints } = followAdvice('${endpoint}/users/${user_id}/track?price=${price?c}&city=${city!"none"}', url);
    assert.ok(!hints.some((hint) => hint.includes('json')), hints.join('\n'));
    assert.equal(rendered(fixed, url, context(EVENT)), 'https://api.example.com/users/u%201%2F2/track?price=5&city=Paris');
    assert.equal(rendered(fixed, url, context({ ...WITHOUT, price: 7 })), 'https://api.example.com/users/u2/track?price=7&city=none');
  });

  it('in a header, the value is written as text (the daemon encodes event data in headers)', () => {
    const { fixed } = followAdvice('Bearer ${api_key}', header);
    assert.equal(rendered(fixed, header, context(EVENT)), 'Bearer k-1');
    const event = followAdvice('${event_type}/${city!"none"}', header).fixed;
    assert.equal(rendered(event, header, context(EVENT)), 'Purchase "Done"/Paris');
    assert.equal(rendered(event, header, context(WITHOUT)), 'Open/none');
  });

  it('refuses ?? and the other Freemarker operators inside nunjucks tags instead of rendering them as always false or missing', () => {
    for (const source of ['{% if input.price?? %}x{% endif %}', '{% if price?? %}x{% endif %}', '{{ input.price?c }}', '{{ input.city!"d" }}', '{{ input.city?upper_case }}']) {
      assert.throws(() => compileTemplate(source, 'body.njk'), (error: unknown) => error instanceof TemplateSyntaxError && /Freemarker/.test(error.message), source);
    }
  });
});
