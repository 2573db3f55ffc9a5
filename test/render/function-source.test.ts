// A function a template can hold (range, joiner's, a macro, caller) prints nothing of its source:
// String(range) is its JavaScript. Every registered filter is handed one as its value, as an
// argument and inside a list or dict, and every such render is refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BOUNDED_FILTERS } from '../../daemon/render/bounded-filters.js';
import { compileTemplate, RenderError } from '../../daemon/render/index.js';

/** Text from the functions' sources (range's error message, nunjucks' macro code) that must never be printed. */
const SOURCE_MARKERS = ['arguments must be finite', 'allowCall', 'first = false', 'callerFrame', 'runtime.', '=>', 'return '];

const FUNCTIONS = {
  range: '',
  joiner: '{% set f = joiner(",") %}',
  macro: '{% macro f() %}x{% endmacro %}',
} as const;

describe('render: a function handed to a filter', () => {
  for (const name of Object.keys(BOUNDED_FILTERS)) {
    it(`${name} prints nothing of a function's source`, () => {
      for (const [kind, setup] of Object.entries(FUNCTIONS)) {
        const f = kind === 'range' ? 'range' : 'f';
        for (const use of [`${f} | ${name}`, `"abc" | ${name}(${f})`, `[${f}] | ${name}`, `{"a": ${f}} | ${name}`, `nothing | ${name}(${f})`]) {
          const source = `${setup}{{ ${use} }}`;
          let output = '';
          try {
            output = compileTemplate(source, 'body.njk').render({});
          } catch (error) {
            assert.ok(error instanceof RenderError, `${source}: ${String(error)}`);
            for (const marker of SOURCE_MARKERS) assert.ok(!error.message.includes(marker), `${source}: ${error.message}`);
            continue;
          }
          for (const marker of SOURCE_MARKERS) assert.ok(!output.includes(marker), `${source} printed ${JSON.stringify(output.slice(0, 200))}`);
        }
      }
    });
  }

  it('a macro still takes caller and keyword arguments', () => {
    const template = compileTemplate('{% macro m(a, b=2) %}{{ a }}{{ b }}{{ caller() }}{% endmacro %}{% call m(1, b=3) %}c{% endcall %}', 'body.njk');
    assert.equal(template.render({}), '13c');
  });
});
