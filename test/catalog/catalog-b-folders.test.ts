// The nine catalog-b folders against what each vendor documents: every example of every folder is
// rendered as `preview` renders it (secrets masked) and checked for the vendor's method, path, auth
// scheme, content type and body, from test/catalog/vendors/<folder>.json (identify requests from
// its "identify" key). Those specs are written from the vendors' API
// references (their "$comment" names the pages), not from the folders' templates, so a template that
// drifts from the vendor's API fails here even when its own examples and contract agree with it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DestinationExample } from '../../schema/generated/example.js';
import { checkContract, compileContract, describeViolation } from '../../daemon/contract/index.js';
import { checkEvent } from '../../daemon/events/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { loadDestination, renderEventRequest, type LoadedSync } from '../../daemon/registry/index.js';
import type { RenderedRequest } from '../../daemon/render/index.js';

const FOLDERS = ['iterable', 'posthog', 'segment', 'amplitude', 'moengage', 'clevertap', 'airship', 'statsig', 'userlist'];

/** What a vendor documents for the request, as data (the shared shape of test/catalog/vendors/). */
interface VendorSpec {
  method: string;
  /** The path after the origin; a `{name}` segment matches any one segment. */
  path: string;
  /** name → "required" (present, any value) or the exact value. */
  query?: Record<string, string>;
  auth: { kind: 'bearer' | 'basic' | 'header' | 'query' | 'sigv4' | 'google-oauth' | 'none'; name?: string };
  contentType: string;
  body: unknown;
}

function readSpec(dir: string, folder: string): VendorSpec | undefined {
  const file = join(PACKAGE_ROOT, 'test', 'catalog', dir, `${folder}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as VendorSpec) : undefined;
}

/** The rendered path with the sync's own prefix taken off: the shipped syncs send to `<sink>/<folder>/…`. */
function vendorPath(url: string, folder: string): string {
  const path = new URL(url).pathname;
  return path.startsWith(`/${folder}/`) ? path.slice(folder.length + 1) : path;
}

function pathMatches(pattern: string, path: string): boolean {
  const want = pattern.split('/');
  const got = path.split('/');
  return want.length === got.length && want.every((segment, at) => (/^\{[^/]+\}$/.test(segment) ? got[at].length > 0 : segment === got[at]));
}

function checkAuth(auth: VendorSpec['auth'], headers: Record<string, string>, query: URLSearchParams): string | undefined {
  const authorization = headers.authorization ?? '';
  switch (auth.kind) {
    case 'bearer':
      return /^Bearer \S/.test(authorization) ? undefined : `expected Authorization: Bearer …, got ${JSON.stringify(authorization)}`;
    case 'basic': {
      const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(authorization);
      return match && Buffer.from(match[1], 'base64').toString('utf8').includes(':') ? undefined : `expected Authorization: Basic base64(user:password), got ${JSON.stringify(authorization)}`;
    }
    case 'header':
      return headers[auth.name!.toLowerCase()] ? undefined : `expected a ${auth.name} header`;
    case 'query':
      return query.get(auth.name!) ? undefined : `expected a ${auth.name} query parameter`;
    case 'none':
      return undefined;
    default:
      return `auth kind ${auth.kind} is not one of this folder set's`;
  }
}

interface Rendered extends RenderedRequest {
  example: string;
  kind: 'track' | 'identify';
}

async function renderExamples(folder: string): Promise<Rendered[]> {
  const dir = join(PACKAGE_ROOT, 'destinations', folder);
  const load = await loadDestination(dir, { resolveSecrets: false, checkExamples: false });
  assert.ok(load.destination, `${folder} loads: ${load.problems.map((problem) => problem.message).join('; ')}`);
  const syncs = new Map(load.destination.syncs.map((sync): [string, LoadedSync] => [sync.name, sync]));
  const names = [...syncs.keys()].sort();
  const rendered: Rendered[] = [];
  for (const file of readdirSync(join(dir, 'examples')).filter((name) => name.endsWith('.json')).sort()) {
    const example = JSON.parse(readFileSync(join(dir, 'examples', file), 'utf8')) as DestinationExample;
    const sync = syncs.get(example.sync ?? names[0]);
    assert.ok(sync, `${folder}/examples/${file}: its sync loads`);
    const checked = checkEvent(example.event);
    assert.ok(checked.ok, `${folder}/examples/${file}: a valid event`);
    const { kind, request } = renderEventRequest(sync, checked.event, 'mask');
    rendered.push({ example: `${folder}/examples/${file}`, kind, ...request });
  }
  return rendered;
}

function checkAgainst(spec: VendorSpec, specFile: string, folder: string, request: Rendered): void {
  const where = `${request.example} (${request.kind}) against ${specFile}`;
  assert.equal(request.method, spec.method, `${where}: method`);
  const url = new URL(request.url);
  const path = vendorPath(request.url, folder);
  assert.ok(pathMatches(spec.path, path), `${where}: path ${path} is not ${spec.path}`);
  for (const [name, wanted] of Object.entries(spec.query ?? {})) {
    const value = url.searchParams.get(name);
    assert.ok(value !== null && (wanted === 'required' || value === wanted), `${where}: query ${name} should be ${wanted}, is ${JSON.stringify(value)}`);
  }
  const authProblem = checkAuth(spec.auth, request.headers, url.searchParams);
  assert.equal(authProblem, undefined, `${where}: ${authProblem}`);
  assert.equal(request.headers['content-type']?.split(';')[0].trim(), spec.contentType, `${where}: content type`);
  const contract = compileContract({ type: 'object', required: ['body'], properties: { body: spec.body } }, specFile);
  const violation = checkContract(contract, request);
  assert.equal(violation, undefined, violation && `${where}: ${describeViolation(violation)}`);
}

describe('catalog-b folders keep what their vendors document', () => {
  for (const folder of FOLDERS) {
    it(`${folder}: every example renders to the vendor's method, path, auth and body`, async () => {
      const track = readSpec('vendors', folder);
      assert.ok(track, `test/catalog/vendors/${folder}.json exists`);
      const identify = (track as { identify?: typeof track } | undefined)?.identify;
      const requests = await renderExamples(folder);
      assert.ok(requests.some((request) => request.kind === 'track'), `${folder} has a track example`);
      for (const request of requests) {
        if (request.kind === 'track') checkAgainst(track, `vendors/${folder}.json`, folder, request);
        else {
          assert.ok(identify, `${request.example} is an identify request: the "identify" key of test/catalog/vendors/${folder}.json must say what the vendor documents for it`);
          checkAgainst(identify, `vendors/${folder}.json#identify`, folder, request);
        }
      }
    });
  }

  it('a spec catches what the vendor would refuse: a body without a required field, the wrong path, the wrong auth', () => {
    const spec: VendorSpec = { method: 'POST', path: '/events', auth: { kind: 'header', name: 'authorization' }, contentType: 'application/json', body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } };
    const good: Rendered = { example: 'made-up', kind: 'track', method: 'POST', url: 'http://127.0.0.1:3000/userlist/events', headers: { 'content-type': 'application/json', authorization: 'Push k' }, body: '{"name":"x"}' };
    assert.doesNotThrow(() => checkAgainst(spec, 'made-up.json', 'userlist', good));
    assert.throws(() => checkAgainst(spec, 'made-up.json', 'userlist', { ...good, body: '{"nome":"x"}' }), /must have required property 'name'/);
    assert.throws(() => checkAgainst(spec, 'made-up.json', 'userlist', { ...good, url: 'http://127.0.0.1:3000/userlist/event' }), /path \/event is not \/events/);
    assert.throws(() => checkAgainst(spec, 'made-up.json', 'userlist', { ...good, headers: { 'content-type': 'application/json' } }), /expected a authorization header/);
    assert.ok(pathMatches('/v1/event/{workspace_id}', '/v1/event/ABC'));
    assert.ok(!pathMatches('/v1/event/{workspace_id}', '/v1/event/ABC/x'));
  });
});
