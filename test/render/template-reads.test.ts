import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTemplate } from '../../daemon/render/index.js';

const readsOnlyParameters = (source: string) => compileTemplate(source, 't').readsOnlyParameters;

describe('render template reads', () => {
  it('finds the templates whose output depends on parameters alone', () => {
    for (const source of [
      '{{ parameters.url }}/track',
      'Bearer {{ parameters.token }}',
      'Basic {{ (parameters.site ~ ":" ~ parameters.key) | base64 }}',
      '{{ parameters.region | default("us") | upper }}.example.com',
      '{{ parameters.a if parameters.b is defined else "x" }}',
      '{{ parameters["x-y"] }}{% if parameters.n is number %}n{% endif %}',
      'no variables at all',
    ]) {
      assert.equal(readsOnlyParameters(source), true, source);
    }
  });

  it('leaves out every template that reads, calls or binds another name', () => {
    for (const source of [
      '{{ input.user_id }}',
      '{{ parameters.url }}/{{ mappedFields.id }}',
      '{{ events | length }}',
      '{% for p in parameters.list %}{{ p }}{% endfor %}',
      '{% set x = parameters.a %}{{ x }}',
      '{{ range(3) | join(",") }}',
      '{% set j = joiner() %}{{ j() }}{{ j() }}',
      '{% macro m() %}{{ parameters.a }}{% endmacro %}{{ m() }}',
    ]) {
      assert.equal(readsOnlyParameters(source), false, source);
    }
  });
});
