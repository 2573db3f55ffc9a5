// Writes destination folders for tests into a temporary destinations directory.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A valid 1×1 PNG. */
export const TINY_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

export interface FolderSpec {
  definition?: Record<string, unknown>;
  body?: string;
  identifyBody?: string;
  syncs?: Record<string, Record<string, unknown>>;
}

/** A small destination: POST {endpoint}/track with a bearer token, body with type, user, insert_id. */
export function testDefinition(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'Test sink',
    category: 'Other',
    summary: 'A destination used by the tests.',
    description: 'Posts each event to a local test sink.',
    parameters: [
      { name: 'endpoint', displayName: 'Endpoint', required: true },
      { name: 'token', displayName: 'API token', required: true, secret: true },
    ],
    request: {
      method: 'POST',
      url: '{{ parameters.endpoint }}/track',
      headers: { Authorization: 'Bearer {{ parameters.token }}' },
      body: 'body.njk',
      idempotencyHeader: 'Idempotency-Key',
    },
    ...overrides,
  };
}

export const TEST_BODY = `{
  "event": {{ input.event_type | json }},
  "user": {{ input.user_id | json }},
  "insert_id": {{ input.insert_id | json }},
  "properties": {{ mappedProperties | json }}
}
`;

export const TEST_BATCH_BODY = `{
  "events": [
  {% for e in events %}
    { "event": {{ e.input.event_type | json }}, "insert_id": {{ e.input.insert_id | json }} }{{ "," if not loop.last }}
  {% endfor %}
  ]
}
`;

export function makeDestinationsDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'destinations-dir-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeDestinationFolder(root: string, slug: string, spec: FolderSpec = {}): string {
  const folder = join(root, slug);
  mkdirSync(join(folder, 'syncs'), { recursive: true });
  writeFileSync(join(folder, 'destination.json'), JSON.stringify(spec.definition ?? testDefinition(), null, 2));
  writeFileSync(join(folder, 'body.njk'), spec.body ?? TEST_BODY);
  if (spec.identifyBody) writeFileSync(join(folder, 'identify.njk'), spec.identifyBody);
  writeFileSync(join(folder, 'logo.png'), TINY_PNG);
  for (const [name, sync] of Object.entries(spec.syncs ?? {})) writeFileSync(join(folder, 'syncs', `${name}.json`), JSON.stringify(sync, null, 2));
  return folder;
}

export function testEvent(index: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_type: 'purchase',
    user_id: `user-${index % 97}`,
    time: 1_700_000_000_000 + index,
    insert_id: `insert-${index}`,
    event_properties: { price: 10 + index, item: `item ${index}` },
    ...overrides,
  };
}
