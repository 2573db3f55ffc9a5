import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAILURE_SUMMARY_INTERVAL_MS, FailureLog } from '../../daemon/consumer/failure-log.js';
import { createLogger } from '../../daemon/log.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, log: createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line)) }) };
}

describe('consumer failure log', () => {
  it('writes one summary line per interval while a sync fails, with counts by reason and status and the last error, and a line when it recovers', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    const { lines, log } = capture();
    const failures = new FailureLog(log);
    for (let i = 0; i < 500; i++) failures.failed('http_5xx', 503, 'HTTP 503');
    failures.failed('timeout', undefined, 'no answer within 10000 ms');
    assert.equal(lines.length, 0, 'no line per failure');
    t.mock.timers.tick(FAILURE_SUMMARY_INTERVAL_MS);
    assert.deepEqual(
      lines.map(({ msg, failures: counts, lastError }) => ({ msg, counts, lastError })),
      [{ msg: 'sync failing', counts: { 'http_5xx 503': 500, timeout: 1 }, lastError: 'no answer within 10000 ms' }],
    );
    t.mock.timers.tick(FAILURE_SUMMARY_INTERVAL_MS);
    assert.equal(lines.length, 1, 'nothing new, no line');
    failures.failed('http_5xx', 500, 'HTTP 500');
    failures.succeeded();
    assert.deepEqual(lines.slice(1).map((line) => line.msg), ['sync failing', 'sync recovered']);
    assert.equal(lines[2].failedRequests, 502);
    assert.equal(lines[2].failingForMs, 2 * FAILURE_SUMMARY_INTERVAL_MS);
    t.mock.timers.tick(10 * FAILURE_SUMMARY_INTERVAL_MS);
    failures.succeeded();
    assert.equal(lines.length, 3, 'quiet once recovered');
  });

  it('reports a failure among successes in the next summary, not as a spell of its own with a line per failure and per recovery', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    const { lines, log } = capture();
    const failures = new FailureLog(log);
    // One event in ten refused by the destination, the rest delivered.
    for (let i = 0; i < 100; i++) {
      if (i % 10 === 0) failures.failed('http_4xx', 400, 'HTTP 400');
      else failures.succeeded();
    }
    assert.equal(lines.length, 0, 'no line per failure, none per success after one');
    t.mock.timers.tick(FAILURE_SUMMARY_INTERVAL_MS);
    assert.deepEqual(lines.map(({ msg, failures: counts }) => ({ msg, counts })), [{ msg: 'sync failing', counts: { 'http_4xx 400': 10 } }]);
    failures.succeeded();
    assert.deepEqual(lines.slice(1).map((line) => line.msg), ['sync recovered'], 'a reported spell ends with a recovery');
    assert.equal(lines[1].failedRequests, 10);
  });
});
