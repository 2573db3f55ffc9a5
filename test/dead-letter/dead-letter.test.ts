import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDeadLetter, type DeadLetterInput } from '../../daemon/dead-letter/index.js';
import type { RenderedRequest } from '../../daemon/render/index.js';
import { rememberDerivedSecrets } from '../../daemon/secrets/index.js';

const KEY = 'sk-live-9f3a-Zq7w';
const BASIC = Buffer.from(`site-4c1d:${KEY}`).toString('base64');

function input(overrides: Partial<DeadLetterInput>): DeadLetterInput {
  return {
    destination: 'basicauth',
    sync: 'basicauth.main',
    definitionVersion: 'v1',
    reason: 'http_4xx',
    attempts: 1,
    data: new Uint8Array(),
    event: { event_type: 'purchase' },
    source: { stream: 'EVENTS', sequence: 1, subject: 'events.x', publishedAt: new Date(0).toISOString() },
    secrets: [KEY],
    ...overrides,
  };
}

function request(body: string, derived: string[]): RenderedRequest {
  const rendered: RenderedRequest = { method: 'POST', url: 'http://127.0.0.1/x', headers: { authorization: '[redacted]' }, body };
  rememberDerivedSecrets(rendered, derived);
  return rendered;
}

describe('dead letter', () => {
  it('redacts, in the response excerpt and the message, the strings its request derived from secrets', () => {
    const shouted = KEY.toUpperCase();
    const letter = buildDeadLetter(
      input({ request: request('{}', [shouted]), responseExcerpt: `{"echo":{"x-key":"${shouted}"}}`, message: `rejected key ${shouted}` }),
    );
    assert.equal(letter.responseExcerpt, '{"echo":{"x-key":"[redacted]"}}');
    assert.equal(letter.message, 'rejected key [redacted]');
  });

  it('keeps no part of the credentials where a response excerpt was cut through them', () => {
    const letter = buildDeadLetter(input({ request: request('{}', [BASIC]), responseExcerpt: `{"authorization":"Basic ${BASIC.slice(0, 10)}` }));
    assert.equal(letter.responseExcerpt, '{"authorization":"Basic [redacted]');
  });

  it('redacts the body before cutting it, so a cut through a secret keeps none of it', () => {
    const body = `${'x'.repeat(16_384 - 6)}${BASIC}`;
    const letter = buildDeadLetter(input({ request: request(body, [BASIC]) }));
    assert.ok(!letter.request!.body.includes(BASIC.slice(0, 6)), letter.request!.body.slice(-40));
  });
});
