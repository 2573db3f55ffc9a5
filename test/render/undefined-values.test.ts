import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTemplate, RenderError, renderRequest, type RequestTemplates } from '../../daemon/render/index.js';

function render(source: string, context: object): string {
  return compileTemplate(source, 'body.njk').render(context);
}

function renderError(source: string, context: object): RenderError {
  try {
    render(source, context);
  } catch (error) {
    assert.ok(error instanceof RenderError, `a RenderError, got ${String(error)}`);
    return error;
  }
  assert.fail('the template rendered');
}

describe('render: undefined is never silent', () => {
  it('a typo in an input field is an error naming the expression and the template line, not null', () => {
    const error = renderError('{\n  "type": {{ input.event_typ | json }}\n}', { input: { event_type: 'a' } });
    assert.equal(error.file, 'body.njk');
    assert.equal(error.line, 2);
    assert.match(error.detail, /input\.event_typ is undefined .*given to filter json: write input\.event_typ \| default\(…\) or guard it with \{% if input\.event_typ is defined %\}/);
  });

  it('any filter but default refuses a missing value (upper would write "", unix_seconds would say little)', () => {
    assert.match(renderError('{{ input.name | upper }}', { input: {} }).detail, /input\.name is undefined.*filter upper/);
    assert.match(renderError('{{ x | urlencode }}', {}).detail, /x is undefined.*filter urlencode/);
  });

  it('default(…) and is defined say what the template wants, and render', () => {
    assert.equal(render('{{ input.x | default(null) | json }}', { input: {} }), 'null');
    assert.equal(render('{{ input.x | d("none") | json }}', { input: {} }), '"none"');
    assert.equal(render('{{ input.x | or_default(0) | json }}', { input: {} }), '0');
    assert.equal(render('{% if input.x is defined %}{{ input.x | json }}{% else %}none{% endif %}', { input: {} }), 'none');
    assert.equal(render('{{ input.x | json if input.x is defined else "null" }}', { input: {} }), 'null');
  });

  it('a dict or list made with a missing entry is an error when written as JSON, unless compact drops it', () => {
    assert.match(renderError('{{ {"a": input.x} | json }}', { input: {} }).detail, /undefined entry \(a\)/);
    assert.match(renderError('{{ [1, input.x] | json }}', { input: {} }).detail, /undefined entry \(\[1\]\)/);
    assert.match(renderError('{{ {"outer": {"a": input.x} } | json }}', { input: {} }).detail, /undefined entry \(outer\)/);
    assert.equal(render('{{ {"a": input.x, "b": 1} | compact | json }}', { input: {} }), '{"b":1}');
  });

  it('a dict or list written as text is an error (it would be "[object Object]") that explains that json binds tighter than or', () => {
    // The static check refuses `input.p or {} | json` itself (template-hints.test.ts); this is the run-time half.
    const error = renderError('{"p": {{ input.p }}}', { input: { p: { a: 1 } } });
    assert.equal(error.line, 1);
    assert.match(error.detail, /a dict is written as text: put it through json; .*write \(a or \{\}\) \| json/);
    assert.equal(render('{"p": {{ (input.p or {}) | json }}}', { input: { p: { a: 1 } } }), '{"p": {"a":1}}');
  });

  it('a body that is not JSON is placed at the template line that wrote the offending text, not only the output line', () => {
    const body = compileTemplate('{\n  "event": {{ input.e | json }}\n{% if input.d is defined %}\n  "$device_id": {{ input.d | json }}\n{% endif %}\n}\n', 'body.njk');
    const templates: RequestTemplates = { method: 'POST', url: compileTemplate('http://127.0.0.1/', 'url'), headers: [], body, contentType: 'application/json' };
    assert.throws(
      () => renderRequest(templates, { input: { event_type: 'e', e: 'a', d: 'b' } as never, parameters: {} }),
      (error: unknown) =>
        error instanceof RenderError && error.line === 4 && error.column === 3 && /not valid JSON at output line 3, column 3 \(comma expected\)/.test(error.detail),
    );
  });
});
