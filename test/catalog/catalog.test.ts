// The catalog as a whole (issue 26): every folder with a vendor spec (test/catalog/vendors/<folder>.json,
// written from the vendor's documentation, not from the folder's template) passes validate --strict
// (which renders the generated corpus inside the folder's contract and its examples against their
// expect), and each example, sent through the sender and auth path `destinations send` uses to a local
// node:http server, arrives as the vendor documents it: method, path, query, auth scheme, content type
// and body (the spec's JSON Schema). A failure names the folder, the example and what differs.
//
// A vendor spec: { "$comment": sources, "method", "path" ("{name}" is one segment), "query"? (name:
// "required" or the exact value), "auth": { "kind": bearer|basic|header|query|sigv4|google-oauth|none,
// "name"? }, "contentType", "body": JSON Schema }, and optionally "identify" with the same keys for an
// identify request that goes elsewhere (Klaviyo's profile import, HubSpot's contact upsert). Without it an
// identify request is held to the method, auth and content type only (a diagnostic line says so).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import { syncAuth } from '../../daemon/auth/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { catalogFacts, formatProblem, loadDestination, renderEventRequests, type LoadedSync } from '../../daemon/registry/index.js';
import type { RenderedRequest } from '../../daemon/render/index.js';
import { HttpSender } from '../../daemon/send/index.js';
import type { AmplitudeEvent } from '../../schema/generated/event.js';
import { schemaReferenceProblems } from '../../tools/schema-references.js';
import { startTestSink, type RecordedRequest, type TestSink } from '../helpers/http-sink.js';

const DESTINATIONS = join(PACKAGE_ROOT, 'destinations');
const VENDORS = join(PACKAGE_ROOT, 'test', 'catalog', 'vendors');

const AUTH_KINDS = ['bearer', 'basic', 'header', 'query', 'sigv4', 'google-oauth', 'none'] as const;
type AuthKind = (typeof AUTH_KINDS)[number];

interface RequestSpec {
  method: string;
  path: string;
  query?: Record<string, string>;
  auth: { kind: AuthKind; name?: string };
  contentType: string;
  body: object;
}
interface VendorSpec extends RequestSpec {
  $comment: string;
  identify?: RequestSpec;
}

// The vendor's body schemas are data we wrote: strict, so a misspelt keyword is an error, not ignored.
const ajv = new Ajv({ strict: true, strictTypes: false, strictTuples: false, strictRequired: false, allowUnionTypes: true, allErrors: true });

function folders(): string[] {
  return readdirSync(DESTINATIONS, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(DESTINATIONS, entry.name, 'destination.json')))
    .map((entry) => entry.name)
    .sort();
}

function specFolders(): string[] {
  return readdirSync(VENDORS)
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.slice(0, -'.json'.length))
    .sort();
}

function readSpec(folder: string): VendorSpec {
  return JSON.parse(readFileSync(join(VENDORS, `${folder}.json`), 'utf8')) as VendorSpec;
}

function hasVendor(folder: string): boolean {
  return (JSON.parse(readFileSync(join(DESTINATIONS, folder, 'destination.json'), 'utf8')) as { vendor?: unknown }).vendor !== undefined;
}

interface Example {
  file: string;
  event: AmplitudeEvent;
  sync?: string;
}

function examplesOf(folder: string): Example[] {
  const dir = join(DESTINATIONS, folder, 'examples');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => ({ file: `examples/${name}`, ...(JSON.parse(readFileSync(join(dir, name), 'utf8')) as { event: AmplitudeEvent; sync?: string }) }));
}

/** The env references of the folder's syncs: a demo value each, in the form its scheme checks where there is one. */
function demoSecrets(folder: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const dir = join(DESTINATIONS, folder, 'syncs');
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    const text = readFileSync(join(dir, name), 'utf8');
    for (const [, variable] of text.matchAll(/"env"\s*:\s*"([A-Za-z_][A-Za-z0-9_]*)"/g)) env[variable] = demoValue(variable);
  }
  return env;
}

function demoValue(variable: string): string {
  if (/SIGNING_SECRET/.test(variable)) return `whsec_${Buffer.from('the catalog test signing key 32b').toString('base64')}`;
  if (/PRIVATE_KEY/.test(variable)) return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // awsSigV4 checks a key id's form (letters and digits); googleServiceAccount reads the JSON key Google's console downloads.
  if (/ACCESS_KEY_ID/.test(variable)) return 'AKIADEMOCATALOGTEST1';
  if (/SERVICE_ACCOUNT_KEY/.test(variable)) {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    return JSON.stringify({ type: 'service_account', client_email: 'catalog@demo.iam.gserviceaccount.com', private_key_id: 'demo', private_key: pem });
  }
  return `demo-${variable.toLowerCase().replace(/_/g, '-')}`;
}

/** Every difference between one request the server received and the vendor's spec, in words. */
export function differences(spec: RequestSpec, request: RecordedRequest, prefix: string, validateBody: ValidateFunction): string[] {
  const found: string[] = [];
  const url = new URL(request.url, 'http://catalog.test');
  if (request.method !== spec.method) found.push(`method ${request.method}, the vendor documents ${spec.method}`);
  // The sync's endpoint is the quick-start sink plus /<folder> (syncs/default.json): what follows is the vendor's path.
  const path = (url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname) || '/';
  if (!pathMatches(spec.path, path)) found.push(`path ${path}, the vendor documents ${spec.path}`);
  for (const [name, wanted] of Object.entries(spec.query ?? {})) {
    const value = url.searchParams.get(name);
    if (value === null || value === '') found.push(`query ${name} is missing`);
    else if (wanted !== 'required' && value !== wanted) found.push(`query ${name} is ${JSON.stringify(value)}, the vendor documents ${JSON.stringify(wanted)}`);
  }
  const authProblem = authDifference(spec.auth, request, url);
  if (authProblem) found.push(authProblem);
  const contentType = String(request.headers['content-type'] ?? '');
  if (contentType.split(';')[0].trim().toLowerCase() !== spec.contentType.toLowerCase()) found.push(`content type ${JSON.stringify(contentType)}, the vendor documents ${spec.contentType}`);
  let body: unknown;
  try {
    body = JSON.parse(request.body);
  } catch {
    found.push('the body is not JSON');
    return found;
  }
  if (!validateBody(body)) for (const error of validateBody.errors ?? []) found.push(`body${error.instancePath || ''} ${error.message} (vendor schema ${error.schemaPath})`);
  return found;
}

function pathMatches(pattern: string, path: string): boolean {
  const want = pattern.split('/');
  const got = path.split('/');
  return want.length === got.length && want.every((segment, at) => (/^\{[^/]+\}$/.test(segment) ? got[at] !== '' : segment === got[at]));
}

/** Whether the request carries the vendor's auth scheme: for sigv4 and google-oauth only its shape (cloud-signing's tests check signatures). */
function authDifference(auth: RequestSpec['auth'], request: RecordedRequest, url: URL): string | undefined {
  const authorization = request.headers.authorization;
  switch (auth.kind) {
    case 'bearer':
    case 'google-oauth':
      return /^Bearer \S+$/.test(authorization ?? '') ? undefined : `authorization ${JSON.stringify(authorization)} is not a bearer token`;
    case 'basic': {
      const match = /^Basic ([A-Za-z0-9+/]+=*)$/.exec(authorization ?? '');
      return match && Buffer.from(match[1], 'base64').toString('utf8').includes(':') ? undefined : 'authorization is not HTTP Basic of user:password';
    }
    case 'header':
      return request.headers[auth.name!.toLowerCase()] ? undefined : `header ${auth.name} is missing`;
    case 'query':
      return url.searchParams.get(auth.name!) ? undefined : `query ${auth.name} is missing`;
    case 'sigv4':
      return /^AWS4-HMAC-SHA256 Credential=\S+\/\d{8}\/[a-z0-9-]+\/[a-z0-9-]+\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/.test(authorization ?? '') && request.headers['x-amz-date']
        ? undefined
        : `authorization ${JSON.stringify(authorization)} is not an AWS Signature Version 4 with x-amz-date`;
    case 'none':
      return authorization === undefined ? undefined : 'the vendor documents no authorization header, the request sends one';
  }
}

/**
 * Sends one rendered request as `destinations send` does: stamped by the destination's auth schemes,
 * through the daemon's sender, a new one each time as `send` makes one per run (a pooled connection
 * could be reset by the server's 5 s keep-alive on a loaded machine, a race the daemon retries but
 * this test must not see).
 */
async function sendLikeSend(sync: LoadedSync, rendered: RenderedRequest): Promise<number> {
  const sender = new HttpSender({ requestTimeoutMs: 10_000, excerptBytes: 4096 });
  try {
    const auth = syncAuth(sync);
    const send = (outgoing: RenderedRequest) => sender.send(outgoing, {});
    const exchange = (own: RenderedRequest, excerptBytes: number) => sender.send(own, { excerptBytes });
    const response = auth === undefined ? await send(rendered) : await auth.send(rendered, { send, exchange });
    return response.status;
  } finally {
    await sender.close();
  }
}

describe('catalog', () => {
  let server: TestSink;
  before(async () => {
    // A token endpoint too (POST …/token), as the quick-start sink is, for folders whose auth fetches one.
    server = await startTestSink((request) =>
      request.method === 'POST' && /\/token$/.test(request.url.split('?')[0])
        ? { status: 200, body: JSON.stringify({ access_token: 'catalog-test-token', token_type: 'Bearer', expires_in: 3600 }) }
        : { status: 200, body: '{}' },
    );
  });
  after(async () => {
    await server.close();
  });

  it('has a vendor spec for every folder that names its vendor, and a folder for every spec', () => {
    const withVendor = folders().filter(hasVendor);
    const specs = specFolders();
    assert.deepEqual(withVendor.filter((folder) => !specs.includes(folder)), [], 'folders with vendor in destination.json and no test/catalog/vendors/<folder>.json');
    assert.deepEqual(specs.filter((folder) => !withVendor.includes(folder)), [], 'vendor specs without a folder (or whose destination.json has no vendor)');
    assert.ok(specs.length >= 8, `found the specs (${specs.length})`);
  });

  for (const folder of specFolders()) {
    describe(folder, () => {
      const spec = readSpec(folder);

      it('writes its vendor spec as the shape says, with its sources', () => {
        assert.match(spec.$comment, /https:\/\//, `${folder}: $comment cites no source URL`);
        assert.ok(['POST', 'PUT', 'PATCH'].includes(spec.method), `${folder}: method ${spec.method}`);
        for (const request of [spec, ...(spec.identify ? [spec.identify] : [])]) {
          assert.match(request.path, /^\//, `${folder}: path starts with /`);
          assert.ok(AUTH_KINDS.includes(request.auth.kind), `${folder}: auth kind ${request.auth.kind} is one of ${AUTH_KINDS.join(', ')}`);
          if (request.auth.kind === 'header' || request.auth.kind === 'query') assert.ok(request.auth.name, `${folder}: auth kind ${request.auth.kind} names its ${request.auth.kind}`);
          ajv.compile(request.body);
        }
      });

      it('passes validate --strict: its corpus renders inside its contract, its examples round-trip', async () => {
        // validate's own load (secrets not read, examples and the generated corpus checked); --strict: any problem fails.
        const loaded = await loadDestination(join(DESTINATIONS, folder), { resolveSecrets: false, checkExamples: true, authoringChecks: true });
        const problems = [...loaded.problems, ...schemaReferenceProblems(loaded.dir)];
        assert.deepEqual(problems.map((problem) => formatProblem(problem)), [], `${folder} fails validate --strict`);
        // The corpus check runs the contract only where there is one: every catalog folder declares its requests.
        assert.ok(loaded.destination?.contracts.track, `${folder}: destination.json declares no contract for its requests`);
        if (loaded.destination?.identify) assert.ok(loaded.destination.contracts.identify, `${folder}: its identify request has no contract`);
        assert.ok(examplesOf(folder).length > 0, `${folder} has no examples`);
      });

      it("lists, in the catalog, the auth kind the vendor documents", async () => {
        const loaded = await loadDestination(join(DESTINATIONS, folder), { resolveSecrets: false, checkExamples: false });
        assert.ok(loaded.destination, `${folder} does not load`);
        const derived = catalogFacts(loaded.destination).auth;
        const generic = (kind: string) => /^(bearer|basic|header |query |url$|none$)/.test(kind);
        const wanted: Record<AuthKind, (kinds: string[]) => boolean> = {
          bearer: (kinds) => kinds.includes('bearer'),
          basic: (kinds) => kinds.includes('basic'),
          header: (kinds) => kinds.includes(`header ${spec.auth.name!.toLowerCase()}`),
          query: (kinds) => kinds.includes(`query ${spec.auth.name}`),
          // A webhook whose URL is the credential (Slack's) documents no header: the catalog says url.
          none: (kinds) => kinds.length === 1 && (kinds[0] === 'none' || kinds[0] === 'url'),
          // Signing and token grants are auth schemes: the catalog names the scheme.
          sigv4: (kinds) => kinds.some((kind) => !generic(kind)),
          'google-oauth': (kinds) => kinds.some((kind) => !generic(kind)),
        };
        assert.ok(wanted[spec.auth.kind](derived), `${folder}: the catalog derives auth ${JSON.stringify(derived)}, the vendor documents ${spec.auth.kind}${spec.auth.name ? ` ${spec.auth.name}` : ''}`);
      });

      it("sends each example as the vendor documents the request", async (t) => {
        const loaded = await loadDestination(join(DESTINATIONS, folder), {
          env: demoSecrets(folder),
          variables: { quickstart_sink: server.url },
          checkExamples: false,
        });
        const destination = loaded.destination;
        assert.ok(destination, `${folder} does not load: ${loaded.problems.map((problem) => formatProblem(problem)).join('; ')}`);
        const validateTrack = ajv.compile(spec.body);
        const validateIdentify = spec.identify ? ajv.compile(spec.identify.body) : validateTrack;
        const failures: string[] = [];
        const unchecked = new Set<string>();
        for (const example of examplesOf(folder)) {
          const sync = destination.syncs.find((candidate) => candidate.name === (example.sync ?? destination.syncs[0]?.name));
          assert.ok(sync, `${folder} ${example.file}: no sync ${example.sync ?? '(the first)'}`);
          const { requests } = renderEventRequests(sync, [example.event], 'send');
          for (const planned of requests) {
            const before = server.requests.length;
            const status = await sendLikeSend(sync, planned.request);
            assert.equal(status, 200, `${folder} ${example.file}: the server answered ${status}`);
            // The request itself is the last one the server saw (a token request, if any, came before it).
            const received = server.requests.slice(before).filter((request) => !/\/token$/.test(request.url.split('?')[0]));
            assert.equal(received.length, 1, `${folder} ${example.file}: ${received.length} requests arrived`);
            const identify = planned.kind === 'identify' && spec.identify !== undefined;
            const wanted = identify ? spec.identify! : spec;
            let found = differences(wanted, received[0], `/${folder}`, identify ? validateIdentify : validateTrack);
            if (planned.kind === 'identify' && !identify) {
              // A spec without "identify" documents the event request: an identify request is held only to what
              // the two share (method, auth, content type); its path and body need an "identify" spec.
              found = found.filter((difference) => !/^(path|body)\b/.test(difference));
              unchecked.add(`${folder}: no "identify" in test/catalog/vendors/${folder}.json, so its identify request's path and body are not checked`);
            }
            for (const difference of found) failures.push(`${folder} ${example.file} (${planned.kind}): ${difference}`);
          }
        }
        for (const note of unchecked) t.diagnostic(note);
        assert.deepEqual(failures, [], `requests that differ from what the vendor documents:\n${failures.join('\n')}`);
      });
    });
  }

  it('fails, naming what differs, when a request is not what the vendor documents (the check itself)', () => {
    const spec: RequestSpec = { method: 'POST', path: '/v1/{id}/events', query: { strict: '1' }, auth: { kind: 'bearer' }, contentType: 'application/json', body: { type: 'object', required: ['data'] } };
    const request: RecordedRequest = { method: 'PUT', url: '/x/v1/events?strict=0', headers: { 'content-type': 'text/plain' }, body: '{"other":1}', at: 0 };
    assert.deepEqual(differences(spec, request, '/x', ajv.compile(spec.body)), [
      'method PUT, the vendor documents POST',
      'path /v1/events, the vendor documents /v1/{id}/events',
      'query strict is "0", the vendor documents "1"',
      'authorization undefined is not a bearer token',
      'content type "text/plain", the vendor documents application/json',
      "body must have required property 'data' (vendor schema #/required)",
    ]);
    const good: RecordedRequest = { method: 'POST', url: '/x/v1/42/events?strict=1', headers: { 'content-type': 'application/json', authorization: 'Bearer t' }, body: '{"data":[]}', at: 0 };
    assert.deepEqual(differences(spec, good, '/x', ajv.compile(spec.body)), []);
  });
});
