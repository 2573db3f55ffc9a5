import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkUrlTemplate, loadDestination, loadDestinations, syncEgressHosts, urlOriginSource } from '../../daemon/registry/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { baseDefinition, baseSync, destinationFiles, tempDir, writeFiles } from '../helpers/folders.js';
import { runCli } from '../helpers/cli.js';

const messages = (source: string) => checkUrlTemplate(source).map((problem) => problem.message);

describe('registry URL templates', () => {
  it('refuses event data in the scheme, host or port, with its place', () => {
    assert.deepEqual(
      checkUrlTemplate('http://{{ mappedFields.tenant }}.tenants.example.com/'),
      [{ line: 1, column: 11, message: 'the scheme, host and port of a URL may use only parameters, but "mappedFields" is used before a literal "/", "?" or "#" ends the host: event data cannot choose where a request goes' }],
    );
    for (const source of [
      '{{ parameters.base }}{{ input.user_id | urlencode }}/x', // no literal "/" between them: the value continues the host
      'https://{{ parameters.host }}:{{ input.event_properties.port }}/x',
      'http:///{{ mappedFields.tenant }}/x', // WHATWG skips every slash after "http:"
      'http:\\\\{{ mappedFields.tenant }}/x',
      '{{ input.event_type }}://example.com/',
      '{% if mappedFields.eu %}https://eu.example.com{% else %}https://example.com{% endif %}/x',
      '{% set host = parameters.host %}https://{{ host }}/x', // a variable may hold anything: only parameters count
      '{% for h in input.hosts %}https://{{ h }}{% endfor %}/x',
      'https://{{ parameters[mappedFields.which] }}/x',
    ]) {
      assert.equal(messages(source).length > 0, true, source);
      assert.match(messages(source)[0], /scheme, host and port of a URL may use only parameters/, source);
    }
  });

  it('refuses event data in the path or query that does not end in | urlencode', () => {
    for (const source of [
      '{{ parameters.endpoint }}/customers/{{ mappedFields.id }}/events',
      '{{ parameters.endpoint }}/customers/{{ mappedFields.id | urlencode | replace("%2F", "/") }}',
      '{{ parameters.endpoint }}/customers/{{ "x" ~ mappedFields.id | urlencode }}',
      '{{ parameters.endpoint }}?user={{ input.user_id | lower }}',
      '{{ parameters.endpoint }}/{% for p in input.event_properties.path %}{{ p }}/{% endfor %}',
      '{{ parameters.endpoint }}/{% set id = mappedFields.id %}{{ id }}',
    ]) {
      assert.match(messages(source)[0] ?? '', /in a URL path or query must go through \| urlencode as its last filter/, source);
    }
  });

  it('accepts parameters anywhere, and encoded event data after the host', () => {
    for (const source of [
      '{{ parameters.url }}',
      '{{ parameters.endpoint }}/api/v1/customers/{{ mappedFields.id | urlencode }}/events',
      'https://{{ parameters.host }}:{{ parameters.port }}/x/{{ mappedFields.id | urlencode }}?t={{ input.event_type | urlencode }}#{{ input.insert_id | urlencode }}',
      '{{ parameters.url if parameters.url is defined else "https://example.com" }}/{{ (mappedFields.id | urlencode) }}',
      '{% if parameters.eu %}https://eu.example.com{% else %}https://example.com{% endif %}/x/{{ mappedFields.id | urlencode }}',
      '{{ parameters.endpoint }}/{% if mappedFields.id %}users/{{ mappedFields.id | urlencode }}{% else %}anonymous{% endif %}',
      '{{ parameters.endpoint }}/{% for p in input.event_properties.path %}{{ p | urlencode }}/{% endfor %}',
      'https://example.com/{{ input.user_id | urlencode }}',
    ]) {
      assert.deepEqual(messages(source), [], source);
    }
  });

  it('cuts a template after the character that ends its host', () => {
    assert.equal(urlOriginSource('{{ parameters.endpoint }}/api/{{ mappedFields.id | urlencode }}'), '{{ parameters.endpoint }}/');
    assert.equal(urlOriginSource('https://{{ parameters.host }}?a={{ input.x | urlencode }}'), 'https://{{ parameters.host }}?');
    assert.equal(urlOriginSource('{% if parameters.eu %}\nhttps://eu.x.com{% endif %}\n/a/{{ input.x | urlencode }}'), '{% if parameters.eu %}\nhttps://eu.x.com{% endif %}\n/');
    assert.equal(urlOriginSource('{{ parameters.url }}'), '{{ parameters.url }}');
  });

  describe('loading', () => {
    const temp = tempDir();
    after(() => temp.remove());
    let count = 0;
    function folder(definition: Record<string, unknown>, sync: Record<string, unknown> = baseSync()): string {
      const dir = join(temp.dir, 'cases', `u${++count}`);
      writeFiles(dir, destinationFiles({ 'destination.json': definition, 'syncs/default.json': sync }));
      return dir;
    }
    function withUrls(url: string, identifyUrl?: string): Record<string, unknown> {
      const definition = baseDefinition() as { request: Record<string, unknown>; identify?: object };
      definition.request.url = url;
      if (identifyUrl !== undefined) definition.identify = { url: identifyUrl, body: 'body.njk' };
      return definition;
    }

    it('rejects a destination whose URL takes its host from event data, at the url in destination.json', async () => {
      const load = await loadDestination(folder(withUrls('http://{{ mappedFields.external_id }}.tenants.example.com/{{ parameters.url }}')));
      assert.equal(load.destination, undefined);
      const problem = load.problems.find((candidate) => /scheme, host and port/.test(candidate.message))!;
      assert.match(problem.file, /destination\.json$/);
      assert.equal(problem.pointer, '/request/url');
      assert.ok(problem.line !== undefined && problem.column !== undefined, 'placed at a line and column');
      assert.match(problem.message, /\(in the URL template, line 1, column 11\)$/);
    });

    it('checks the identify URL too', async () => {
      const load = await loadDestination(folder(withUrls('{{ parameters.url }}', '{{ parameters.url }}/{{ mappedFields.external_id }}')));
      const problem = load.problems.find((candidate) => /must go through \| urlencode/.test(candidate.message))!;
      assert.equal(problem.pointer, '/identify/url');
    });

    it('prints path:line:col from destinations validate and exits 1', async () => {
      const dir = join(temp.dir, 'cli');
      writeFiles(join(dir, 'tenant'), destinationFiles({ 'destination.json': withUrls('http://{{ mappedFields.external_id }}.example.com/{{ parameters.url }}') }));
      const result = await runCli(['validate', dir]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /tenant\/destination\.json:\d+:\d+: the scheme, host and port of a URL may use only parameters/);
    });

    it('keeps every shipped destination valid', async () => {
      const loaded = await loadDestinations(join(PACKAGE_ROOT, 'destinations'), { resolveSecrets: false });
      assert.deepEqual(loaded.problems.filter((problem) => problem.severity === 'error'), []);
    });

    it('tells the hosts a sync reaches, from its parameters alone', async () => {
      const loaded = await loadDestinations(join(PACKAGE_ROOT, 'destinations'), { resolveSecrets: false });
      const hosts = Object.fromEntries(loaded.destinations.map((destination) => [destination.slug, syncEgressHosts(destination.syncs[0])]));
      assert.deepEqual(hosts.customerio, ['127.0.0.1:3000']);
      assert.deepEqual(hosts.webhook, ['127.0.0.1:3000']);

      const split = withUrls('{% if parameters.url == "eu" %}https://eu.example.com{% else %}https://EXAMPLE.com:443{% endif %}/track', 'https://id.example.com:8443/{{ mappedFields.external_id | urlencode }}');
      const eu = await loadDestination(folder(split, { ...baseSync(), parameters: { url: 'eu', api_key: { env: 'TEST_API_KEY' } } }), { env: { TEST_API_KEY: 'k' } });
      assert.deepEqual(syncEgressHosts(eu.destination!.syncs[0]), ['eu.example.com'], 'identify URL left out: the sync does not forward identify');
      const forwarding = { ...baseSync(), parameters: { url: 'us', api_key: { env: 'TEST_API_KEY' } }, identifyForwarding: true };
      const us = await loadDestination(folder(split, forwarding), { env: { TEST_API_KEY: 'k' } });
      assert.deepEqual(syncEgressHosts(us.destination!.syncs[0]), ['example.com', 'id.example.com:8443']);
    });

    it('leaves out a host it cannot render, such as one from an unresolved secret', async () => {
      const definition = withUrls('https://{{ parameters.api_key }}.example.com/{{ parameters.url }}');
      const load = await loadDestination(folder(definition), { resolveSecrets: false });
      assert.deepEqual(syncEgressHosts(load.destination!.syncs[0]), []);
    });
  });
});
