// daemon/defaults.ts is the one place for defaults, and the schemas are the source of truth for the
// values an operator or an author sets: where code restates a schema's `default`, it is a constant
// in defaults.ts that says the same as the schema. And no other file declares a DEFAULT_ constant.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import * as defaults from '../../daemon/defaults.js';
import { PACKAGE_ROOT, SCHEMA_DIR } from '../../daemon/paths.js';

/** Each restated schema default: the constant, its schema, and the JSON pointer of the `default` there. */
const RESTATED: ReadonlyArray<[constant: keyof typeof defaults, schema: string, pointer: string]> = [
  ['DEFAULT_LOGO_FILE', 'destination', '/properties/logo/default'],
  ['DEFAULT_CONTENT_TYPE', 'destination', '/definitions/request/properties/contentType/default'],
  ['DEFAULT_BATCH_MAX_WAIT_MS', 'destination', '/definitions/batch/properties/maxWaitMs/default'],
  ['DEFAULT_MULTI_STATUS_INDEX_FIELD', 'destination', '/definitions/multiStatus/properties/indexField/default'],
  ['DEFAULT_MULTI_STATUS_STATUS_FIELD', 'destination', '/definitions/multiStatus/properties/statusField/default'],
  ['DEFAULT_MULTI_STATUS_STATUSES', 'destination', '/definitions/multiStatus/properties/statuses/default'],
  ['DEFAULT_MULTI_STATUS_OTHERS', 'destination', '/definitions/multiStatus/properties/others/default'],
  ['DEFAULT_MULTI_STATUS_INDEX_FIELD', 'destination', '/definitions/itemList/properties/indexField/default'],
  ['DEFAULT_GOOGLE_TOKEN_URL', 'destination', '/definitions/googleServiceAccount/properties/tokenUrl/default'],
  ['DEFAULT_START_AT', 'sync', '/properties/startAt/default'],
  ['DEFAULT_REQUEST_TIMEOUT_MS', 'daemon-config', '/properties/requestTimeoutMs/default'],
  ['DEFAULT_CONNECT_TIMEOUT_MS', 'daemon-config', '/properties/connectTimeoutMs/default'],
  ['DEFAULT_MAX_IN_PROCESS_WAIT_MS', 'daemon-config', '/properties/maxInProcessWaitMs/default'],
  ['DEFAULT_DELIVERY_RUNTIME', 'daemon-config', '/properties/deliveryRuntime/default'],
  ['DEFAULT_DESTINATIONS_DIR', 'daemon-config', '/properties/destinationsDir/default'],
];

function schema(name: string): unknown {
  return JSON.parse(readFileSync(join(SCHEMA_DIR, `${name}.schema.json`), 'utf8'));
}

function at(document: unknown, pointer: string): unknown {
  return pointer
    .split('/')
    .slice(1)
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('defaults', () => {
  it('every schema default the code restates is the schema’s value', () => {
    for (const [constant, name, pointer] of RESTATED) {
      const value = at(schema(name), pointer);
      assert.notEqual(value, undefined, `${name}.schema.json has a default at ${pointer}`);
      assert.deepEqual(defaults[constant], value, `${constant} is ${name}.schema.json#${pointer}`);
    }
  });

  it('the circuit breaker’s defaults are the schema’s, field by field, and cover every field', () => {
    const properties = at(schema('destination'), '/definitions/circuitBreaker/properties') as Record<string, { default?: unknown }>;
    const fromSchema = Object.fromEntries(Object.entries(properties).map(([field, property]) => [field, property.default]));
    assert.deepEqual({ ...defaults.DEFAULT_CIRCUIT_BREAKER }, fromSchema);
  });

  it('no file but daemon/defaults.ts declares a DEFAULT_ constant, except objects composed of its constants', () => {
    const composed = new Set([
      'daemon/delivery/backoff.ts: DEFAULT_RETRY_POLICY', // the DEFAULT_RETRY_* constants as a policy
      'daemon/render/render-budget.ts: DEFAULT_RENDER_LIMITS', // the DEFAULT_RENDER_* constants and a clock
      'tools/nats-identity.ts: DEFAULT_NATS', // the config schema's defaults, as the config loader fills them
    ]);
    const elsewhere = [...sourceFiles(join(PACKAGE_ROOT, 'daemon')), ...sourceFiles(join(PACKAGE_ROOT, 'tools'))]
      .filter((file) => !file.endsWith(join('daemon', 'defaults.ts')))
      .flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/^(?:export )?const (DEFAULT_\w+)\s*[:=]/gm)].map((match) => `${relative(PACKAGE_ROOT, file)}: ${match[1]}`));
    assert.deepEqual(elsewhere.filter((found) => !composed.has(found)), []);
    assert.deepEqual([...composed].filter((found) => !elsewhere.includes(found)), [], 'an exception that no longer exists');
  });
});
