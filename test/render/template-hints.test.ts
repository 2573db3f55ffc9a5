import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTemplate, TemplateMistakeError } from '../../daemon/render/index.js';

function mistakes(source: string): Array<{ line: number; column: number; message: string }> {
  try {
    compileTemplate(source, 'body.njk');
  } catch (error) {
    assert.ok(error instanceof TemplateMistakeError, `a TemplateMistakeError, got ${String(error)}`);
    return error.all.map(({ line, column, message }) => ({ line, column, message }));
  }
  return [];
}

describe('render: template hints', () => {
  it('Freemarker from the partner guide is refused with its place and the nunjucks to write instead', () => {
    const found = mistakes('{\n  "name": ${input.event_type},\n<#if input.time??>\n  "t": 1\n</#if>\n<#list items as item>x</#list>\n}');
    assert.deepEqual(
      found.map((found) => `${found.line}:${found.column} ${found.message}`),
      [
        '2:11 ${input.event_type} is Freemarker, which nunjucks writes as text: write {{ input.event_type | json }}',
        '3:1 <#if input.time??> is Freemarker, which nunjucks writes as text: write {% if input.time != null %}',
        '5:1 </#if> is Freemarker, which nunjucks writes as text: write {% endif %}',
        '6:1 <#list items as item> is Freemarker, which nunjucks writes as text: write {% for item in input.items %}',
        '6:23 </#list> is Freemarker, which nunjucks writes as text: write {% endfor %}',
      ],
    );
  });

  it('a ${ written as a nunjucks string is data, not a mistake', () => {
    assert.deepEqual(mistakes('{"a": {{ "${x}" | json }}}'), []);
  });

  it('or … | json is refused: the filter binds tighter than or', () => {
    const [found] = mistakes('{"p": {{ input.p or {} | json }}}');
    assert.equal(found.line, 1);
    assert.match(found.message, /json binds tighter than or: .*write \(a or b\) \| json/);
    assert.deepEqual(mistakes('{"p": {{ (input.p or {}) | json }}}'), []);
  });
});
