// Temporary destination folders for registry tests: a valid one to start from, changed per test.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { solidPng } from './png.js';

export type FolderFiles = Record<string, string | Buffer | object>;

/** A fresh temp directory; returns it and a cleanup function. */
export function tempDir(prefix = 'destinations-test-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes files (objects as JSON) under `root`, creating folders. */
export function writeFiles(root: string, files: FolderFiles): void {
  for (const [path, content] of Object.entries(files)) {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' || Buffer.isBuffer(content) ? content : `${JSON.stringify(content, null, 2)}\n`);
  }
}

export function baseDefinition(): Record<string, unknown> {
  return {
    name: 'Test',
    category: 'Other',
    summary: 'A destination written by a test.',
    description: 'A destination written by a test.',
    parameters: [
      { name: 'url', displayName: 'URL' },
      { name: 'api_key', displayName: 'API key', secret: true },
    ],
    userPropertyMappings: [{ name: 'external_id', required: true, identifier: true }],
    request: {
      method: 'POST',
      url: '{{ parameters.url }}',
      headers: { Authorization: 'Bearer {{ parameters.api_key }}' },
      body: 'body.njk',
    },
  };
}

export const BASE_BODY = '{"id": {{ mappedFields.external_id | json }}, "event": {{ input.event_type | json }}, "properties": {{ mappedProperties | json }}}\n';

export function baseSync(): Record<string, unknown> {
  return {
    parameters: { url: 'http://127.0.0.1:9/test', api_key: { env: 'TEST_API_KEY' } },
    fieldMappings: { external_id: { scope: 'field', property: 'user_id' } },
  };
}

/** The files of a valid destination folder, with overrides (a value of null removes a file). */
export function destinationFiles(overrides: Record<string, string | Buffer | object | null> = {}): FolderFiles {
  const files: Record<string, string | Buffer | object | null> = {
    'destination.json': baseDefinition(),
    'body.njk': BASE_BODY,
    'logo.png': solidPng(8, 8, [10, 20, 30]),
    'syncs/default.json': baseSync(),
    ...overrides,
  };
  return Object.fromEntries(Object.entries(files).filter((entry): entry is [string, string | Buffer | object] => entry[1] !== null));
}
