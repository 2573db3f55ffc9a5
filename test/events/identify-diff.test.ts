// Change-based identify, the pure rules: what each operation becomes under "changes only", what the
// memory holds after a delivery, and how two daemons' writes merge.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  afterDelivery,
  changedOperations,
  decodeMemory,
  encodeMemory,
  memoryOfValues,
  mergeMemories,
  valueHash,
  type UserMemory,
} from '../../daemon/events/index.js';
import { DEFAULT_MAX_REMEMBERED_PROPERTIES } from '../../daemon/defaults.js';

const known = (values: Record<string, unknown>) => memoryOfValues(values);

describe('identify changes', () => {
  it('drops a $set whose value equals the one last delivered and keeps the changed one', () => {
    const memory = known({ plan: 'pro', city: 'Paris' });
    assert.deepEqual(changedOperations(memory, { $set: { plan: 'pro', city: 'Lyon' } }), { $set: { city: 'Lyon' } });
  });

  it('treats plain user properties as $set', () => {
    assert.deepEqual(changedOperations(known({ plan: 'pro' }), { plan: 'pro', seats: 3 }), { seats: 3 });
  });

  it('says unchanged when nothing would change, and for an identify without properties', () => {
    assert.equal(changedOperations(known({ plan: 'pro', tags: ['a', 'b'] }), { $set: { plan: 'pro', tags: ['a', 'b'] } }), undefined);
    assert.equal(changedOperations(new Map(), {}), undefined);
    assert.equal(changedOperations(new Map(), undefined), undefined);
  });

  it('compares objects whatever the order of their keys, and bigints by their digits', () => {
    const memory = known({ address: { city: 'Paris', zip: '75001' }, big: 12345678901234567890n });
    assert.equal(changedOperations(memory, { $set: { address: { zip: '75001', city: 'Paris' }, big: 12345678901234567890n } }), undefined);
    assert.deepEqual(changedOperations(memory, { $set: { big: 12345678901234567891n } }), { $set: { big: 12345678901234567891n } });
  });

  it('sends a $set of a property it knows nothing of, or knows only as set to an unknown value', () => {
    const memory = afterDelivery(new Map(), { $add: { logins: 1 } });
    assert.deepEqual(changedOperations(memory, { $set: { logins: 1, plan: 'free' } }), { $set: { logins: 1, plan: 'free' } });
  });

  it('drops a $setOnce of a property known to be set, and sends it when unknown or unset', () => {
    const memory = afterDelivery(known({ first_seen: '2024-01-01' }), { $unset: { referrer: '-' } });
    assert.deepEqual(changedOperations(memory, { $setOnce: { first_seen: '2025-01-01', referrer: 'ad', source: 'web' } }), { $setOnce: { referrer: 'ad', source: 'web' } });
  });

  it('drops an $unset only of a property known to be unset already, never of one it knows nothing of', () => {
    const memory = afterDelivery(known({ plan: 'pro' }), { $unset: { coupon: '-' } });
    assert.deepEqual(changedOperations(memory, { $unset: { coupon: '-', plan: '-', never_seen: '-' } }), { $unset: { plan: '-', never_seen: '-' } });
  });

  it('always sends $add, list operations, $clearAll and operations it does not know', () => {
    const memory = known({ logins: 3, tags: ['a'] });
    const operations = { $add: { logins: 0 }, $append: { tags: 'a' }, $remove: { tags: 'z' }, $preInsert: { tags: 'a' }, $clearAll: '-', $future: { x: 1 } };
    assert.deepEqual(changedOperations(memory, operations), operations);
  });

  it('remembers a set value, an unset, and "set, value unknown" after $add, $append and a $setOnce it could not know about', () => {
    const memory = afterDelivery(known({ coupon: 'X' }), { plan: 'pro', $unset: { coupon: '-' }, $add: { logins: 1 }, $append: { tags: 'a' }, $setOnce: { first: 'now' } });
    assert.deepEqual(memory.get('plan'), { hash: valueHash('pro') });
    assert.deepEqual(memory.get('coupon'), { unset: true });
    assert.deepEqual(memory.get('logins'), { present: true });
    assert.deepEqual(memory.get('tags'), { present: true });
    assert.deepEqual(memory.get('first'), { present: true });
    // A $setOnce on a property known to be unset sets our value.
    assert.deepEqual(afterDelivery(memory, { $setOnce: { coupon: 'Y' } }).get('coupon'), { hash: valueHash('Y') });
  });

  it('forgets everything after $clearAll, and forgets what an unknown operation touched', () => {
    assert.equal(afterDelivery(known({ plan: 'pro' }), { $clearAll: '-' }).size, 0);
    assert.equal(afterDelivery(known({ plan: 'pro' }), { $future: { plan: 1 } }).get('plan'), undefined);
  });

  it('keeps at most DEFAULT_MAX_REMEMBERED_PROPERTIES per user, forgetting (so sending) the rest', () => {
    const many = Object.fromEntries(Array.from({ length: DEFAULT_MAX_REMEMBERED_PROPERTIES + 5 }, (_, index) => [`p${index}`, index]));
    const memory = afterDelivery(new Map(), many);
    assert.equal(memory.size, DEFAULT_MAX_REMEMBERED_PROPERTIES);
    assert.deepEqual(changedOperations(memory, { p0: 0, [`p${DEFAULT_MAX_REMEMBERED_PROPERTIES + 4}`]: DEFAULT_MAX_REMEMBERED_PROPERTIES + 4 }), { p0: 0 });
  });

  it('keeps hashes, never values, in its stored form, and reads it back', () => {
    const memory = afterDelivery(new Map(), { email: 'ada@example.com', $unset: { coupon: '-' }, $add: { logins: 1 }, ['__proto__']: 'x' });
    const text = encodeMemory(memory);
    assert.ok(!text.includes('ada@example.com'));
    assert.deepEqual(decodeMemory(text), memory);
    assert.deepEqual(decodeMemory('not json'), new Map());
    assert.deepEqual(decodeMemory('{"plan":"h:x"}'), new Map());
  });
});

describe('identify memory merge', () => {
  const base: UserMemory = known({ plan: 'free', city: 'Paris' });

  it('keeps the other daemon\'s changes and adds ours', () => {
    const theirs = afterDelivery(base, { $set: { city: 'Lyon' } });
    const ours = afterDelivery(base, { $set: { plan: 'pro' } });
    assert.deepEqual(mergeMemories(base, theirs, ours), known({ plan: 'pro', city: 'Lyon' }));
  });

  it('keeps a property both changed alike, and forgets one they changed differently', () => {
    const theirs = afterDelivery(base, { $set: { plan: 'team', city: 'Lyon' } });
    const ours = afterDelivery(base, { $set: { plan: 'pro', city: 'Lyon' } });
    const merged = mergeMemories(base, theirs, ours);
    assert.equal(merged.get('plan'), undefined);
    assert.deepEqual(merged.get('city'), { hash: valueHash('Lyon') });
  });

  it('carries our $clearAll over what the other daemon did not touch', () => {
    const theirs = afterDelivery(base, { $set: { seats: 2 } });
    const ours = afterDelivery(base, { $clearAll: '-' });
    assert.deepEqual(mergeMemories(base, theirs, ours), known({ seats: 2 }));
  });
});
