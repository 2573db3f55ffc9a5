// The pure decisions behind replays: which sync a message is for, which sync a dead letter belongs
// to, and whether a subject is one of a stream's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replayTarget } from '../../daemon/consumer/replay-target.js';
import { replaySubject, syncOfDeadLetterSubject } from '../../daemon/dead-letter/index.js';
import { subjectMatches } from '../../daemon/nats/index.js';

describe('replayTarget', () => {
  const cases: Array<[string, string, boolean]> = [
    ['events.web', 'hook.ok', true],
    ['events.web', 'leak.default', true],
    [replaySubject('EVENTS', 'hook.ok'), 'hook.ok', true],
    [replaySubject('EVENTS', 'hook.ok'), 'leak.default', false],
    ['_destinations.replay.EVENTS.hook.ok.extra', 'hook.ok', false],
    ['_destinations.replay.EVENTS.hook', 'hook.ok', false],
    // Another stream's replay subject is an ordinary subject to this one (its stream cannot hold it anyway).
    [replaySubject('OTHER', 'hook.ok'), 'leak.default', true],
  ];
  for (const [subject, sync, expected] of cases) {
    it(`${expected ? 'gives' : 'does not give'} ${sync} a message on ${subject}`, () => {
      assert.equal(replayTarget(subject, 'EVENTS', sync), expected);
    });
  }
});

describe('syncOfDeadLetterSubject', () => {
  it('reads the sync from the subject a letter is stored under', () => {
    assert.equal(syncOfDeadLetterSubject('dead', 'dead.hook.ok'), 'hook.ok');
  });
  it('has no sync for a subject outside the prefix or with another shape', () => {
    for (const subject of ['deadx.hook.ok', 'dead.hook', 'dead.hook.ok.more', 'other.hook.ok']) assert.equal(syncOfDeadLetterSubject('dead', subject), undefined, subject);
  });
});

describe('subjectMatches', () => {
  const cases: Array<[string, string, boolean]> = [
    ['events.>', 'events.web', true],
    ['events.>', 'events.web.eu', true],
    ['events.>', 'events', false],
    ['events.*', 'events.web', true],
    ['events.*', 'events.web.eu', false],
    ['events.*.eu', 'events.web.eu', true],
    ['events.web', 'events.web', true],
    ['events.>', '$JS.API.STREAM.PURGE.EVENTS', false],
    ['>', '$JS.API.STREAM.PURGE.EVENTS', true],
    ['events.>', 'events.>', false],
    ['events.>', 'events..web', false],
    ['events.>', 'events.*', false],
  ];
  for (const [pattern, subject, expected] of cases) {
    it(`${expected ? 'matches' : 'does not match'} ${subject} with ${pattern}`, () => {
      assert.equal(subjectMatches(pattern, subject), expected);
    });
  }
});
