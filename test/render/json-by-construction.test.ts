import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTemplate, RenderError } from '../../daemon/render/index.js';

const byConstruction = (source: string) => compileTemplate(source, 'body.njk').jsonByConstruction;

/** Values a hostile event can hold, each a way to break JSON written by hand. */
const HOSTILE: unknown[] = [
  'plain', '', 'quote " and backslash \\', '"}, "injected": true, "x": {"', 'line\nbreak\r\ttab', '\u0000\u001f', '\u2028\u2029', '\ud800 lone', 'é😀',
  0, -1.5, 1e308, Number.NaN, Number.POSITIVE_INFINITY, 12345678901234567890n, true, false, null,
  [], [1, 'a', null, { b: [2n] }], {}, { '"': '"', 'a\nb': ['\u2028'] }, { deep: { deeper: { deepest: [[[]]] } } },
];

describe('render: bodies that are JSON by construction', () => {
  it('recognises literal JSON with json-filtered values in value positions', () => {
    for (const source of [
      '{\n  "event": {{ input.event_type | json }},\n  "properties": {{ mappedProperties | json }}\n}\n',
      '{{ input | json }}',
      '[{{ a | json }}, {"b": {{ b | json }}, "c": [1, {{ c | json }}]}]',
      '{"a": {{- a | json -}} }{# a comment #}',
      '{"a": {{ input.x | default(1) | json }}}',
    ]) {
      assert.equal(byConstruction(source), true, source);
    }
  });

  it('leaves every other body to the check: holes in strings or keys, touching holes, indents, other filters, control flow, broken text', () => {
    for (const source of [
      '{"a": "x{{ y | json }}"}',
      '{"a": "\\{{ y | json }}"}',
      '{"a": "\\\\{{ y | json }}"}',
      '{ {{ k | json }}: 1 }',
      '[{{ a | json }}{{ b | json }}]',
      '[1{{ a | json }}]',
      '{"a": {{ x | json(2) }}}',
      '{"a": {{ x | json | upper }}}',
      '{"a": {{ x | dump }}}',
      '{"a": {{ x }}}',
      '{"a": {% if x %}1{% else %}2{% endif %}}',
      '[{% for e in events %}{{ e | json }}{% endfor %}]',
      '{"a": {{ x | json }}',
      '',
    ]) {
      assert.equal(byConstruction(source), false, source);
    }
  });

  it('renders JSON whatever a hole is given', () => {
    const template = compileTemplate('{"a": {{ input.a | json }}, "b": [{{ input.b | json }}, "lit\\"eral"], "c": {"d": {{ input.c | json }}}}', 'body.njk');
    assert.equal(template.jsonByConstruction, true);
    for (const a of HOSTILE) {
      for (const b of [HOSTILE[3], HOSTILE[14]]) {
        const output = template.render({ input: { a, b, c: a } });
        assert.doesNotThrow(() => JSON.parse(output), output);
      }
    }
  });

  it('a value json cannot write is a render error, not a hole left empty', () => {
    const template = compileTemplate('{"a": {{ range | json }}}', 'body.njk');
    assert.equal(template.jsonByConstruction, true);
    assert.throws(() => template.render({}), (error: unknown) => error instanceof RenderError && /filter json was given a function/.test(error.detail));
  });
});
