import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileFilter, type AmplitudeEvent } from '../../daemon/events/index.js';
import type { Condition } from '../../schema/generated/sync.js';

const event: AmplitudeEvent = {
  event_type: 'purchase',
  user_id: 'user-1',
  platform: 'iOS',
  event_properties: { price: 79.99, count: '5', item: 'Blue Shoes', tags: ['sale', 'summer'], empty: '', nothing: null },
  user_properties: { plan: 'pro', $set: { country: 'FR' } },
  group_properties: { tier: 'enterprise' },
};

type Row = [description: string, condition: Condition, passes: boolean];

const rows: Row[] = [
  ['is: equal string', { scope: 'user', property: 'plan', op: 'is', value: 'pro' }, true],
  ['is: other string', { scope: 'user', property: 'plan', op: 'is', value: 'free' }, false],
  ['is: any of a list', { scope: 'user', property: 'plan', op: 'is', value: ['free', 'pro'] }, true],
  ['is: number against a numeric string', { scope: 'event', property: 'count', op: 'is', value: 5 }, true],
  ['is: one item of a list property', { scope: 'event', property: 'tags', op: 'is', value: 'sale' }, true],
  ['is: missing property', { scope: 'event', property: 'missing', op: 'is', value: 'x' }, false],
  ['is: a top-level field', { scope: 'field', property: 'platform', op: 'is', value: 'iOS' }, true],
  ['is: a group property', { scope: 'group', property: 'tier', op: 'is', value: 'enterprise' }, true],
  ['is: a user property set by $set', { scope: 'user', property: 'country', op: 'is', value: 'FR' }, true],
  ['is_not: other value', { scope: 'user', property: 'plan', op: 'is_not', value: 'free' }, true],
  ['is_not: same value', { scope: 'user', property: 'plan', op: 'is_not', value: 'pro' }, false],
  ['is_not: none of a list', { scope: 'user', property: 'plan', op: 'is_not', value: ['free', 'trial'] }, true],
  ['is_not: missing property', { scope: 'event', property: 'missing', op: 'is_not', value: 'x' }, true],
  ['contains: substring, case-insensitive', { scope: 'event', property: 'item', op: 'contains', value: 'shoe' }, true],
  ['contains: absent substring', { scope: 'event', property: 'item', op: 'contains', value: 'hat' }, false],
  ['contains: list membership', { scope: 'event', property: 'tags', op: 'contains', value: 'summer' }, true],
  ['contains: missing property', { scope: 'event', property: 'missing', op: 'contains', value: 'x' }, false],
  ['does_not_contain: absent substring', { scope: 'event', property: 'item', op: 'does_not_contain', value: 'hat' }, true],
  ['does_not_contain: present substring', { scope: 'event', property: 'item', op: 'does_not_contain', value: 'BLUE' }, false],
  ['less: smaller', { scope: 'event', property: 'price', op: 'less', value: 80 }, true],
  ['less: equal', { scope: 'event', property: 'price', op: 'less', value: 79.99 }, false],
  ['less: numeric string property', { scope: 'event', property: 'count', op: 'less', value: 6 }, true],
  ['less: not a number', { scope: 'event', property: 'item', op: 'less', value: 6 }, false],
  ['less_or_equal: equal', { scope: 'event', property: 'price', op: 'less_or_equal', value: 79.99 }, true],
  ['less_or_equal: larger', { scope: 'event', property: 'price', op: 'less_or_equal', value: 79 }, false],
  ['greater: larger', { scope: 'event', property: 'price', op: 'greater', value: 50 }, true],
  ['greater: equal', { scope: 'event', property: 'price', op: 'greater', value: 79.99 }, false],
  ['greater: missing property', { scope: 'event', property: 'missing', op: 'greater', value: 0 }, false],
  ['greater_or_equal: equal', { scope: 'event', property: 'price', op: 'greater_or_equal', value: '79.99' }, true],
  ['greater_or_equal: smaller', { scope: 'event', property: 'price', op: 'greater_or_equal', value: 100 }, false],
  ['set: present', { scope: 'user', property: 'plan', op: 'set' }, true],
  ['set: missing', { scope: 'event', property: 'missing', op: 'set' }, false],
  ['set: empty string', { scope: 'event', property: 'empty', op: 'set' }, false],
  ['set: null', { scope: 'event', property: 'nothing', op: 'set' }, false],
  ['not_set: missing', { scope: 'event', property: 'missing', op: 'not_set' }, true],
  ['not_set: present', { scope: 'user', property: 'plan', op: 'not_set' }, false],
];

describe('events filter', () => {
  for (const [description, condition, passes] of rows) {
    it(`${description} ${passes ? 'passes' : 'does not pass'}`, () => {
      assert.equal(compileFilter({ conditions: [condition] })(event), passes);
    });
  }

  it('covers every operator of the sync schema', () => {
    const ops = new Set(rows.map(([, condition]) => condition.op));
    assert.deepEqual([...ops].sort(), ['contains', 'does_not_contain', 'greater', 'greater_or_equal', 'is', 'is_not', 'less', 'less_or_equal', 'not_set', 'set']);
  });

  it('passes an event whose type is listed, and only then', () => {
    assert.equal(compileFilter({ eventTypes: ['purchase', 'sign_up'] })(event), true);
    assert.equal(compileFilter({ eventTypes: ['sign_up'] })(event), false);
  });

  it('needs every condition to hold', () => {
    const both = compileFilter({
      eventTypes: ['purchase'],
      conditions: [
        { scope: 'user', property: 'plan', op: 'is', value: 'pro' },
        { scope: 'event', property: 'price', op: 'greater', value: 100 },
      ],
    });
    assert.equal(both(event), false);
  });

  it('passes everything without a filter', () => {
    assert.equal(compileFilter(undefined)(event), true);
    assert.equal(compileFilter({})(event), true);
  });
});

describe('events filter - hostile values', () => {
  const hostile = JSON.parse(
    '{"event_type":"x","user_id":"u","event_properties":{"hex":"0x10","binary":"0b101","empty":"","yes":true,"spaced":" 16 ","sixteen":"16","big":1},"user_properties":{}}',
  ) as AmplitudeEvent;
  (hostile.event_properties as Record<string, unknown>).big = 12345678901234567890n;
  const holds = (condition: Condition, on: AmplitudeEvent = hostile) => compileFilter({ conditions: [condition] })(on);

  it('numeric operators do not read "0x10", "0b101", "", " 16 " or booleans as numbers', () => {
    assert.equal(holds({ scope: 'event', property: 'hex', op: 'greater', value: 15 }), false);
    assert.equal(holds({ scope: 'event', property: 'hex', op: 'less', value: 17 }), false);
    assert.equal(holds({ scope: 'event', property: 'binary', op: 'greater_or_equal', value: 0 }), false);
    assert.equal(holds({ scope: 'event', property: 'empty', op: 'less_or_equal', value: 0 }), false);
    assert.equal(holds({ scope: 'event', property: 'spaced', op: 'greater', value: 15 }), false);
    assert.equal(holds({ scope: 'event', property: 'yes', op: 'greater', value: 0 }), false);
    assert.equal(holds({ scope: 'event', property: 'sixteen', op: 'greater', value: '0x0f' }), false);
    assert.equal(holds({ scope: 'event', property: 'sixteen', op: 'greater', value: true }), false);
  });

  it('numeric operators still read decimal strings and compare bigints', () => {
    assert.equal(holds({ scope: 'event', property: 'sixteen', op: 'greater', value: 15 }), true);
    assert.equal(holds({ scope: 'event', property: 'sixteen', op: 'less', value: '1.6e1' }), false);
    assert.equal(holds({ scope: 'event', property: 'big', op: 'greater', value: 9007199254740993 }), true);
  });

  it('a field condition sees the event\'s own fields only, not constructor or __proto__', () => {
    assert.equal(holds({ scope: 'field', property: 'constructor', op: 'set' }), false);
    assert.equal(holds({ scope: 'field', property: '__proto__', op: 'set' }), false);
    assert.equal(holds({ scope: 'field', property: 'toString', op: 'not_set' }), true);
    assert.equal(holds({ scope: 'field', property: 'user_id', op: 'set' }), true);
  });

  it('a __proto__ key published in an event is an ordinary own property', () => {
    const own = JSON.parse('{"event_type":"x","user_id":"u","__proto__":{"plan":"pro"},"event_properties":{"__proto__":"p"}}') as AmplitudeEvent;
    assert.equal(holds({ scope: 'field', property: '__proto__', op: 'set' }, own), true);
    assert.equal(holds({ scope: 'event', property: '__proto__', op: 'is', value: 'p' }, own), true);
    assert.equal(holds({ scope: 'event', property: 'constructor', op: 'set' }, own), false);
  });

  it('an object is never "is" a value, even one whose own toString is data (which threw, and the message went back to the stream for ever)', () => {
    // Found by review of what the fuzzer's sync-filter target feeds (fuzz/regressions/sync-filter/).
    const hostile = JSON.parse('{"event_type":"x","user_id":"u","event_properties":{"o":{"toString":1},"p":{"a":1},"l":[{"valueOf":2},"x"]}}') as AmplitudeEvent;
    for (const property of ['o', 'p']) {
      assert.equal(holds({ scope: 'event', property, op: 'is', value: '[object Object]' }, hostile), false);
      assert.equal(holds({ scope: 'event', property, op: 'is_not', value: ['x', 1] }, hostile), true);
    }
    assert.equal(holds({ scope: 'event', property: 'l', op: 'is', value: 'x' }, hostile), true);
    assert.equal(holds({ scope: 'event', property: 'l', op: 'contains', value: 'x' }, hostile), true);
  });

  it('is_not and does_not_contain hold on a missing or null property (documented)', () => {
    assert.equal(holds({ scope: 'event', property: 'missing', op: 'is_not', value: 'x' }), true);
    assert.equal(holds({ scope: 'event', property: 'missing', op: 'does_not_contain', value: 'x' }), true);
    const withNull = JSON.parse('{"event_type":"x","user_id":"u","event_properties":{"n":null}}') as AmplitudeEvent;
    assert.equal(holds({ scope: 'event', property: 'n', op: 'is_not', value: 'x' }, withNull), true);
    assert.equal(holds({ scope: 'event', property: 'n', op: 'does_not_contain', value: 'x' }, withNull), true);
  });
});
