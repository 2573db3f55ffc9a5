// Waiting out a JetStream cluster's leader election at start-up: what counts as "settling", how
// often it is tried, and that it gives up by its deadline with the error itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JetStreamApiError } from '@nats-io/jetstream';
import { PermissionViolationError, TimeoutError } from '@nats-io/nats-core';
import { createLogger } from '../../daemon/log.js';
import { isJetStreamSettling, untilJetStreamAnswers } from '../../daemon/nats/index.js';

/** What nats.js throws when nothing answers the JetStream API (its class is not exported). */
const notEnabled = () => Object.assign(new Error('jetstream is not enabled'), { name: 'JetStreamNotEnabled' });
const apiError = (err_code: number, description: string) => new JetStreamApiError({ code: 503, err_code, description });

function logged() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, log: createLogger({ level: 'info', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }) };
}

describe('untilJetStreamAnswers', () => {
  it('waits out timeouts and "temporarily unavailable", and nothing else', () => {
    const table: Array<[string, unknown, boolean]> = [
      ['a request that timed out', new TimeoutError(), true],
      ['JetStream system temporarily unavailable', apiError(10008, 'JetStream system temporarily unavailable'), true],
      ['no JetStream at all', notEnabled(), false],
      ['stream not found', apiError(10059, 'stream not found'), false],
      ['insufficient resources', apiError(10023, 'insufficient resources'), false],
      ['a permission', new PermissionViolationError('Permissions Violation for Publish to "$JS.API.INFO"', 'publish', '$JS.API.INFO'), false],
      ['anything else', new Error('boom'), false],
    ];
    for (const [what, error, settling] of table) assert.equal(isJetStreamSettling(error), settling, what);
  });

  it('tries again while JetStream settles, pausing after a refusal only, and logs each wait', async () => {
    const { lines, log } = logged();
    const pauses: number[] = [];
    const failures = [new TimeoutError(), apiError(10008, 'JetStream system temporarily unavailable'), apiError(10008, 'JetStream system temporarily unavailable')];
    let calls = 0;
    const result = await untilJetStreamAnswers(
      async () => {
        calls += 1;
        const failure = failures.shift();
        if (failure) throw failure;
        return 'answered';
      },
      { what: 'JetStream', log, pause: async (ms) => void pauses.push(ms) },
    );
    assert.equal(result, 'answered');
    assert.equal(calls, 4);
    assert.deepEqual(pauses, [400, 800], 'a timed-out request has waited already; refusals back off');
    assert.deepEqual(
      lines.map((line) => [line.level, line.what, line.attempt]),
      [
        ['warn', 'JetStream', 1],
        ['warn', 'JetStream', 2],
        ['warn', 'JetStream', 3],
      ],
    );
  });

  it('rethrows any other error at once', async () => {
    const { log } = logged();
    let calls = 0;
    const refused = notEnabled();
    await assert.rejects(
      untilJetStreamAnswers(async () => {
        calls += 1;
        throw refused;
      }, { what: 'JetStream', log }),
      (error) => error === refused,
    );
    assert.equal(calls, 1);
  });

  it('gives up with the last error once its time is up', async () => {
    const { log } = logged();
    let calls = 0;
    await assert.rejects(
      untilJetStreamAnswers(async () => {
        calls += 1;
        throw new TimeoutError();
      }, { what: 'JetStream', log, timeoutMs: 0 }),
      TimeoutError,
    );
    assert.equal(calls, 1, 'a deadline passed: no second attempt');
  });
});
