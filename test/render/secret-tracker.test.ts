import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTemplate, ConstantRenders, RenderError, renderRequest, SecretTracker, type RequestTemplates } from '../../daemon/render/index.js';

const KEY = 'sk-live-9f3a-Zq7w';
const b64 = (text: string) => Buffer.from(text).toString('base64');
const parameters = { site_id: 'site-4c1d', api_key: KEY };

function derivedBy(source: string, context: object = { parameters }): string[] {
  const template = compileTemplate(source, 't');
  const tracker = new SecretTracker([KEY]);
  tracker.run(() => template.render(context));
  return tracker.derived;
}

describe('render secret tracker', () => {
  it('a parameters-only output reused by later renders hands each of them what it derived', () => {
    const constants = new ConstantRenders();
    const header = compileTemplate("Basic {{ (parameters.site_id ~ ':' ~ parameters.api_key) | base64 }}", 'header');
    for (let request = 0; request < 2; request++) {
      const tracker = new SecretTracker([KEY]);
      assert.equal(tracker.run(() => constants.render(header, { parameters })), `Basic ${b64(`site-4c1d:${KEY}`)}`);
      assert.deepEqual(tracker.derived, [b64(`site-4c1d:${KEY}`)]);
    }
  });

  it('a parameters-only render that fails still tells the render it runs in what it derived, so its error is redacted', () => {
    const failing = compileTemplate('{{ parameters.api_key | base64 | iso8601 }}', 'header');
    const tracker = new SecretTracker([KEY]);
    let message = '';
    assert.throws(() => tracker.run(() => new ConstantRenders().render(failing, { parameters })), (error: unknown) => {
      message = (error as Error).message;
      return error instanceof RenderError;
    });
    assert.match(message, new RegExp(b64(KEY)), 'the error quotes the derived string: the case this guards');
    assert.deepEqual(tracker.derived, [b64(KEY)]);
    assert.doesNotMatch(tracker.redactor().redact(message), new RegExp(b64(KEY)));
  });

  it('records the Basic credentials a filter derives from a secret', () => {
    assert.deepEqual(derivedBy("Basic {{ (parameters.site_id ~ ':' ~ parameters.api_key) | base64 }}"), [b64(`site-4c1d:${KEY}`)]);
  });

  it('follows a chain of filters, a filter block and a list holding the secret', () => {
    assert.deepEqual(derivedBy('{{ parameters.api_key | upper | base64 }}'), [KEY.toUpperCase(), b64(KEY.toUpperCase())]);
    assert.deepEqual(derivedBy('{% filter base64 %}key={{ parameters.api_key }}{% endfilter %}'), [b64(`key=${KEY}`)]);
    assert.deepEqual(derivedBy('{{ [parameters.api_key, "x"] | join(":") | reverse }}'), [[...`${KEY}:x`].reverse().join('')]);
  });

  it('does not record an output that still shows the secret, so what surrounds it keeps its shape', () => {
    // Recorded whole, `"sk-…"` would be redacted with its quotes and leave a body that is not JSON.
    assert.deepEqual(derivedBy('{"key": {{ parameters.api_key | json }}, "q": "{{ parameters.api_key | urlencode | trim }}"}'), []);
  });

  it('records nothing from event data, nothing too short to matter, and nothing outside a tracked render', () => {
    assert.deepEqual(derivedBy('{{ input.name | base64 }} {{ parameters.api_key | first }} {{ parameters.api_key | length }}', { parameters, input: { name: 'Ada Lovelace' } }), []);
    const tracker = new SecretTracker([KEY]);
    compileTemplate('{{ parameters.api_key | base64 }}', 't').render({ parameters });
    assert.deepEqual(tracker.derived, []);
  });

  it('a render error that quotes a long body line redacts the credentials before cutting the line', () => {
    // The credentials straddle the 120th character of the line, where the quote is cut.
    const body = `{"padding": "${'p'.repeat(80)}", "auth": "{{ (parameters.site_id ~ ':' ~ parameters.api_key) | base64 }}", "price": oops}`;
    const templates: RequestTemplates = {
      method: 'POST',
      url: compileTemplate('http://127.0.0.1/x', 'url'),
      headers: [],
      body: compileTemplate(body, 'body.njk'),
      contentType: 'application/json',
    };
    const tracker = new SecretTracker([KEY]);
    assert.throws(
      () => tracker.run(() => renderRequest(templates, { parameters })),
      (error: unknown) => {
        assert.ok(error instanceof RenderError);
        assert.match(error.message, /not valid JSON/);
        assert.ok(!error.message.includes(b64(`site-4c1d:${KEY}`).slice(0, 8)), error.message);
        return true;
      },
    );
  });
});
