import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTemplate, RenderError, renderRequest, TemplateSyntaxError, TemplateUnsafeError, type RequestTemplates } from '../../daemon/render/index.js';
import { compileTemplateWithoutStaticCheck } from '../../daemon/render/template.js';

function templates(body: string, overrides: Partial<RequestTemplates> = {}): RequestTemplates {
  return {
    method: 'POST',
    url: compileTemplate('{{ parameters.url }}', 'url'),
    headers: [],
    body: compileTemplate(body, 'body.njk'),
    contentType: 'application/json',
    ...overrides,
  };
}

describe('render templates', () => {
  it('a syntax error names the template, line and column', () => {
    assert.throws(
      () => compileTemplate('{\n  "a": {{ input.x | json }\n}', 'body.njk'),
      (error: unknown) => error instanceof TemplateSyntaxError && error.file === 'body.njk' && error.line === 2 && error.column !== undefined,
    );
  });

  it('an unclosed block is placed at the end of the file', () => {
    assert.throws(
      () => compileTemplate('line 1\n{% if x %}\nline 3', 'body.njk'),
      (error: unknown) => error instanceof TemplateSyntaxError && error.line === 3,
    );
  });

  it('printing an undefined value is an error, not an empty string', () => {
    const template = compileTemplate('{{ input.missing }}', 'body.njk');
    assert.throws(() => template.render({ input: {} }), RenderError);
  });

  it('does not escape HTML characters', () => {
    assert.equal(compileTemplate('{{ v }}', 't').render({ v: '<a href="x">&</a>' }), '<a href="x">&</a>');
  });

  it('a loop sees every loop member, over a list and over an object, and an inner loop shadows the outer one only inside it', () => {
    const members = '{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}';
    const list = compileTemplate(`{% for x in input.list %}[${members}]{% endfor %}`, 'list');
    assert.equal(list.render({ input: { list: ['a', 'b', 'c'] } }), '[1032truefalse3][2121falsefalse3][3210falsetrue3]');
    const object = compileTemplate(`{% for k, v in input.map %}{{ k }}={{ v }}:{{ loop.index }}/{{ loop.length }}{{ "," if not loop.last }}{% endfor %}`, 'object');
    assert.equal(object.render({ input: { map: { a: 1, b: 2 } } }), 'a=1:1/2,b=2:2/2');
    const nested = compileTemplate('{% for x in [1, 2] %}{% for y in [1, 2, 3] %}{{ loop.index }}{% endfor %}/{{ loop.index }} {% endfor %}', 'nested');
    assert.equal(nested.render({}), '123/1 123/2 ');
  });

  it('variables keep nunjucks scoping: set inside a loop or an if, macro arguments, caller, set blocks, loop unpacking', () => {
    const cases: Array<[string, string]> = [
      ['{% set x = 1 %}{% for i in [1, 2] %}{% set x = i %}{% endfor %}{{ x }}', '2'],
      ['{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}', '2'],
      ['{% for i in [1, 2] %}{% set z = i * 10 %}{{ z }}{% endfor %}{{ z is defined }}', '1020false'],
      ['{% macro m(a, b=2) %}{{ a }}-{{ b }}{% endmacro %}{{ m(1) }} {{ m(3, b=4) }}', '1-2 3-4'],
      ['{% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}in{% endcall %}', '<in>'],
      ['{% set y %}captured{% endset %}{{ y }}', 'captured'],
      ['{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{{ loop.index }}{% endfor %}', '3172'],
    ];
    for (const [source, expected] of cases) assert.equal(compileTemplate(source, 't').render({}), expected, source);
  });

  it('the budget stops a range(0, 1000000000) loop before it builds the list', () => {
    const template = compileTemplate('{% for i in range(0, 1000000000) %}{{ i }}{% endfor %}', 'loop.njk');
    assert.throws(() => template.render({}), /render budget exceeded/);
  });

  it('the budget stops a loop over a range given by the data', () => {
    const template = compileTemplate('{% for i in range(0, n) %}x{% endfor %}', 'loop.njk');
    assert.throws(() => template.render({ n: 1e9 }), /render budget exceeded/);
  });

  it('range(0, 1e9) is an error rather than a silently empty loop, since nunjucks reads 1e9 as a name', () => {
    const template = compileTemplate('{% for i in range(0, 1e9) %}x{% endfor %}', 'loop.njk');
    assert.throws(() => template.render({}), /range: arguments must be finite numbers.*write 1000000000/);
  });

  it('the budget stops nested loops whose total is too large, and is fresh for each render', () => {
    const nested = compileTemplate('{% for i in items %}{% for j in items %}{% endfor %}{% endfor %}', 'loop.njk');
    const items = Array.from({ length: 400 }, (_, index) => index);
    assert.throws(() => nested.render({ items }), /render budget exceeded/);
    const small = compileTemplate('{% for i in range(0, 60000) %}{% endfor %}ok', 'loop.njk');
    assert.equal(small.render({}), 'ok');
    assert.equal(small.render({}), 'ok');
  });

  it('the budget stops recursive macros', () => {
    const template = compileTemplate('{% macro down(n) %}{{ down(n + 1) }}{% endmacro %}{{ down(0) }}', 'macro.njk');
    assert.throws(() => template.render({}), /render budget exceeded|Maximum call stack/);
  });

  it('an output larger than the budget is an error', () => {
    const template = compileTemplate('{% for i in range(0, 60000) %}{{ chunk }}{% endfor %}', 'big.njk');
    assert.throws(() => template.render({ chunk: 'x'.repeat(100) }), /output over/);
  });
});

describe('render requests', () => {
  it('a body that is not valid JSON is an error naming the template and the output line', () => {
    const body = '{\n  "a": 1,\n  "b": {{ value }}\n}';
    assert.throws(
      () => renderRequest(templates(body), { parameters: { url: 'http://127.0.0.1/' }, value: 'not json' } as never),
      (error: unknown) =>
        error instanceof RenderError &&
        error.file === 'body.njk' &&
        /rendered body is not valid JSON at output line 3/.test(error.message) &&
        error.message.includes('not json'),
    );
  });

  it('lower-cases header names, sets the content type and the idempotency header', () => {
    const request = renderRequest(
      templates('{}', { headers: [['X-Api-Key', compileTemplate('{{ parameters.key }}', 'h')]], idempotencyHeader: 'Idempotency-Key' }),
      { parameters: { url: 'https://example.com/in', key: 'k' } },
      { idempotencyKey: 'abc' },
    );
    assert.deepEqual(request, {
      method: 'POST',
      url: 'https://example.com/in',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'abc', 'x-api-key': 'k' },
      body: '{}',
    });
  });

  it('leaves out a header whose template renders to nothing', () => {
    const header = compileTemplate("{{ parameters.secret if parameters.secret is defined else '' }}", 'h');
    const request = renderRequest(templates('{}', { headers: [['X-Secret', header]] }), { parameters: { url: 'http://127.0.0.1/' } });
    assert.equal('x-secret' in request.headers, false);
  });

  it('makes a header that reads event data visible ASCII (a line break cannot split it), and sends one from parameters as rendered', () => {
    const request = renderRequest(
      templates('{}', { headers: [['X-User', compileTemplate('{{ input.user_id }}', 'h')], ['X-V', compileTemplate('{{ parameters.v }}', 'h')]] }),
      { parameters: { url: 'http://127.0.0.1/', v: 'a\r\nX-Injected: 1' }, input: { user_id: 'jos\u00e9\r\nX-Injected: 😀' } } as never,
    );
    assert.equal(request.headers['x-user'], 'jos%C3%A9%0D%0AX-Injected: %F0%9F%98%80');
    // The operator's own value: the sender refuses it, naming the header (http-sender, classify).
    assert.equal(request.headers['x-v'], 'a\r\nX-Injected: 1');
  });

  it('a rendered URL must be an http or https URL', () => {
    assert.throws(() => renderRequest(templates('{}'), { parameters: { url: 'not a url' } }), /not a URL/);
    assert.throws(() => renderRequest(templates('{}'), { parameters: { url: 'file:///etc/passwd' } }), /must be http or https/);
  });

  it('refuses a path segment that is . or .., also written with %2e, since the URL parser would drop it and the one before', () => {
    const url = compileTemplate('{{ parameters.url }}/customers/{{ mappedFields.id | urlencode }}/events?q={{ mappedFields.q | urlencode }}', 'url');
    for (const id of ['..', '.']) {
      assert.throws(
        () => renderRequest(templates('{}', { url }), { parameters: { url: 'http://127.0.0.1/api' }, mappedFields: { id, q: 'x' } }),
        (error: unknown) => error instanceof RenderError && /dot segment "\.{1,2}" in its path/.test(error.message),
        id,
      );
    }
    for (const raw of ['http://127.0.0.1/a/%2e%2E/b', 'http://127.0.0.1/a/.%2e', 'http://127.0.0.1/a\\..\\b']) {
      assert.throws(() => renderRequest(templates('{}'), { parameters: { url: raw } }), /dot segment/, raw);
    }
    // The URL parser drops tabs and line breaks, and controls at the ends, before it reads dots (found by the fuzzer).
    const around = compileTemplate('{{ parameters.url }}/{{ mappedFields.id | urlencode }}{{ parameters.tail }}', 'url');
    for (const tail of ['\u0001', '\t/b', '\n/b', '\u007f']) {
      assert.throws(
        () => renderRequest(templates('{}', { url: around }), { parameters: { url: 'http://127.0.0.1/a', tail }, mappedFields: { id: '..' } }),
        (error: unknown) => error instanceof RenderError && /control character \(U\+00(01|09|0A|7F)\)/.test(error.message),
        JSON.stringify(tail),
      );
    }
    // Dots elsewhere are plain text: inside a segment, in the query, in the fragment.
    const fine = renderRequest(templates('{}', { url }), { parameters: { url: 'http://127.0.0.1/api' }, mappedFields: { id: '..x', q: '../..' } });
    assert.equal(fine.url, 'http://127.0.0.1/api/customers/..x/events?q=..%2F..');
  });

  it('returns the URL as the WHATWG parser serialises it, so what is sent is what was checked', () => {
    const render = (url: string) => renderRequest(templates('{}'), { parameters: { url } }).url;
    assert.equal(render('http://a\\@b/x'), 'http://a/@b/x');
    assert.equal(render('HTTP://Example.COM:80/a b'), 'http://example.com/a%20b');
    assert.equal(render('https://example.com'), 'https://example.com/');
    // The same template twice (the cache) gives the same serialisation.
    assert.equal(render('http://a\\@b/x'), 'http://a/@b/x');
  });

  it('a body that is not JSON is fine when the content type is not JSON', () => {
    const request = renderRequest(templates('a=1&b=2', { contentType: 'application/x-www-form-urlencoded' }), { parameters: { url: 'http://127.0.0.1/' } });
    assert.equal(request.body, 'a=1&b=2');
  });
});

describe('render templates: a template is data', () => {
  it('a template that reaches past its data is refused when it compiles, with its place', () => {
    assert.throws(
      () => compileTemplate('{\n  "x": {{ range.constructor("return 1")() }}\n}', 'body.njk'),
      (error: unknown) => error instanceof TemplateUnsafeError && error.line === 2 && error.column === 17 && /not allowed: "constructor"/.test(error.message),
    );
    assert.throws(() => compileTemplate('{{ input.event_type.toUpperCase() }}', 'b'), /not allowed: only macros, caller\(\) and the functions range and joiner/);
    assert.throws(() => compileTemplate('{{ x | safe }}', 'b'), /unknown filter "safe"/);
  });

  it('members JavaScript gives every value are refused at run time, absent data is undefined', () => {
    const read = compileTemplateWithoutStaticCheck('{{ input[name] }}', 'b');
    assert.throws(() => read.render({ input: { a: 1 }, name: 'hasOwnProperty' }), /not allowed: "hasOwnProperty" of an object that is not data|JavaScript's, not data/);
    const optional = compileTemplate('{{ input.missing is defined }}{{ input.list.length }}{{ input.list[1] }}', 'b');
    assert.equal(optional.render({ input: { list: [1, 2] } }), 'false22');
  });

  it('a name holding a quote or a backslash is refused, with or without the static check, since nunjucks would write it into the compiled code as it is', () => {
    // Found by the fuzzer (fuzz/regressions/template/): nunjucks' lexer reads `a"b` as one name, and
    // its compiler writes `"a"b"` into JavaScript; a tagged template literal then runs any code.
    const names = [
      '{{ a"&Function`throw\\x20process\\x2eenv\\x2eHOME```&" }}',
      '{% set a"&Function`throw\\x20process\\x2eenv\\x2eHOME```&" = 1 %}',
      '{% for x\\ in [1] %}{% endfor %}',
      '{% macro m(a") %}{% endmacro %}',
      '{{ 1 is a"b" }}',
    ];
    for (const source of names) {
      assert.throws(() => compileTemplate(source, 'b'), (error: unknown) => error instanceof TemplateUnsafeError && /is not a name/.test(error.message), source);
      assert.throws(() => compileTemplateWithoutStaticCheck(source, 'b'), (error: unknown) => error instanceof TemplateSyntaxError && /is not a name/.test(error.message), source);
    }
    assert.equal(compileTemplate('{% set prénom_1$ = "x" %}{{ prénom_1$ }}', 'b').render({}), 'x');
  });

  it('a minus of a minus is arithmetic, not a decrement; a call of nothing (~(…)) is refused, not a TypeError', () => {
    // Found by the fuzzer (fuzz/regressions/template/, url-check/): nunjucks wrote `- -x` as `--x`.
    assert.equal(compileTemplate('{% set a = 5 %}{{ - -a }} {{ + +a }} {{ - -input.x }} {{ a }}', 'b').render({ input: { x: 2 } }), '5 5 2 5');
    assert.throws(() => compileTemplate("{{ a or ~('x') }}", 'b'), (error: unknown) => error instanceof TemplateUnsafeError && error.column === 10);
    assert.throws(() => compileTemplateWithoutStaticCheck("{{ a or ~('x') }}", 'b'), (error: unknown) => error instanceof TemplateSyntaxError);
  });
});

describe('render templates: bounded rendering', () => {
  it('indent and center with a huge width are refused before they allocate, as a render error', () => {
    assert.throws(() => compileTemplate('{{ "a\nb" | indent(200000000) }}', 'b').render({}), (error: unknown) => error instanceof RenderError && /render budget exceeded: indent/.test(error.message));
    assert.throws(() => compileTemplate('{{ "a" | center(200000000) }}', 'b').render({}), /render budget exceeded: center/);
  });

  it('replace, join and batch that would grow past the limit are refused before they run', () => {
    const replace = '{% set s = "xxxxxxxxxx" %}{% for i in range(0, 8) %}{% set s = s | replace("", "xxxxxxxxxx") %}{% endfor %}{{ s | length }}';
    assert.throws(() => compileTemplate(replace, 'b').render({}), /render budget exceeded: (filter )?replace/);
    const join = '{{ ["x"] | batch(90000, chunk) | first | join("") }}';
    assert.throws(() => compileTemplate(join, 'b').render({ chunk: 'y'.repeat(1000) }), /render budget exceeded: batch/);
  });

  it('doubling a string, or nesting lists of lists, stops at the limit', () => {
    const doubling = '{% set s = "x" %}{% for i in range(0, 40) %}{% set s = s ~ s %}{% endfor %}{{ s }}';
    assert.throws(() => compileTemplate(doubling, 'b').render({}), /render budget exceeded: a concatenation/);
    const nested = '{% set a = [s, s, s, s, s, s, s, s] %}{% set b = [a, a, a, a, a, a, a, a] %}{% set c = [b, b, b, b, b, b, b, b] %}{{ c | json }}';
    assert.throws(() => compileTemplate(nested, 'b').render({ s: 'z'.repeat(20_000) }), /render budget exceeded: a list/);
  });

  it('a render that runs past its deadline is stopped', () => {
    let now = 0;
    const template = compileTemplate('{% for i in range(0, 90000) %}{{ i }}{% endfor %}', 'b', { limits: { maxMillis: 50, now: () => (now += 1) } });
    assert.throws(() => template.render({}), /render budget exceeded: the render took longer than 50 ms/);
  });

  it('the output limit is checked while writing, so a loop stops at the limit', () => {
    const template = compileTemplate('{% for i in range(0, 1000) %}{{ chunk }}{% endfor %}', 'b', { limits: { maxOutputBytes: 10_000 } });
    assert.throws(() => template.render({ chunk: 'x'.repeat(100) }), /output over 10000 characters/);
  });
});
