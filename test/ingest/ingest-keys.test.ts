// Keys by reference: resolved once at start; an unset variable, a key given twice or a subject the
// events stream does not take stops the start naming the field, never the value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, settingsFrom } from '../../daemon/config/index.js';
import { resolveIngestKeys } from '../../daemon/ingest/index.js';

const settings = (keys: unknown[]) => settingsFrom({ ingest: { keys } }, '/etc/destinations/destinationsrc.json', '/etc/destinations');

describe('ingest keys', () => {
  it('maps each key’s value to its name, subject, protocol and rate', () => {
    const table = resolveIngestKeys(settings([{ name: 'web', key: { env: 'WEB_KEY' }, protocol: 'amplitude', subject: 'events.web', eventsPerSecondPerUser: 30 }]), { WEB_KEY: 'k-123456' });
    assert.deepEqual(table.lookup('k-123456'), { name: 'web', subject: 'events.web', protocol: 'amplitude', eventsPerSecondPerUser: 30 });
    assert.equal(table.lookup('other'), undefined);
    assert.deepEqual(table.secrets, ['k-123456']);
  });

  it('refuses an unset key, a key given twice and a subject outside the stream, naming each field and no value', () => {
    const keys = [
      { name: 'a', key: { env: 'MISSING_KEY' }, subject: 'events.a' },
      { name: 'b', key: { env: 'SAME' }, subject: 'events.b' },
      { name: 'c', key: { env: 'SAME' }, subject: 'elsewhere.c' },
    ];
    assert.throws(
      () => resolveIngestKeys(settings(keys), { SAME: 'secret-value-1' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems, [
          '/etc/destinations/destinationsrc.json: /ingest/keys/0/key: environment variable MISSING_KEY is not set',
          "/etc/destinations/destinationsrc.json: /ingest/keys/2/subject: elsewhere.c is not one of the events stream's subjects (events.>)",
          '/etc/destinations/destinationsrc.json: /ingest/keys/2/key: the same key as b: each key names one subject',
        ]);
        assert.ok(!error.message.includes('secret-value-1'));
        return true;
      },
    );
  });

  it('refuses a key without a name or subject in the schema (the file and field named)', () => {
    assert.throws(() => settings([{ key: { env: 'X' } }]), /\/ingest\/keys\/0: must have required property 'name'/);
  });
});
