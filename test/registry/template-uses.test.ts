import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findTemplateUses } from '../../daemon/registry/internal.js';

const names = (uses: Array<{ name: string }>) => uses.map((use) => use.name);

describe('registry DECLARED vs USED', () => {
  it('finds parameters.NAME and parameters["NAME"] with their places', () => {
    const uses = findTemplateUses('{{ parameters.url }}/x\n  {{ parameters["api_key"] }} {{ parameters[\'region\'] }}');
    assert.deepEqual(uses.parameters, [
      { name: 'url', line: 1, column: 4 },
      { name: 'api_key', line: 2, column: 6 },
      { name: 'region', line: 2, column: 34 },
    ]);
    assert.deepEqual(uses.uncheckable, []);
  });

  it('finds uses inside filters, conditions, loops, set and macros', () => {
    const source = [
      '{% if parameters.flag %}{{ parameters.a | json }}{% endif %}',
      '{% for item in events %}{{ item.input.x if parameters.b is defined else parameters.c }}{% endfor %}',
      '{% set d = parameters.d ~ "x" %}',
      '{% macro m() %}{{ parameters.e }}{% endmacro %}',
      '{{ (parameters.f ~ ":" ~ parameters.g) | base64 }}',
    ].join('\n');
    assert.deepEqual(names(findTemplateUses(source).parameters).sort(), ['a', 'b', 'c', 'd', 'e', 'f', 'flag', 'g']);
  });

  it('does not count names in comments, strings or other objects', () => {
    const uses = findTemplateUses('{# parameters.hidden #}"parameters.text" {{ "parameters.quoted" }} {{ input.parameters.x }} {{ other.url }}');
    assert.deepEqual(uses.parameters, []);
    assert.deepEqual(uses.uncheckable, []);
  });

  it('reports parameters looked up with a computed key, or used as a whole, as uncheckable', () => {
    const uses = findTemplateUses('{{ parameters[name] }} {{ parameters | json }}');
    assert.deepEqual(names(uses.uncheckable), ['parameters[…]', 'parameters']);
  });

  it('finds mapped fields, also through a batch item', () => {
    const uses = findTemplateUses('{{ mappedFields.external_id }}{% for e in events %}{{ e.mappedFields.email | json }}{% endfor %}{{ mappedFields | json }}');
    assert.deepEqual(names(uses.mappedFields), ['external_id', 'email']);
  });
});
