// The reasons vocabulary (daemon/reasons.ts) is the one list: the dead-letter schema's enum and the
// reason table in docs/cli.md say the same, in both directions, and its groups add up.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DeadLetter } from '../../schema/generated/dead-letter.js';
import { PACKAGE_ROOT, SCHEMA_DIR } from '../../daemon/paths.js';
import { cliReasonTable } from '../helpers/docs.js';
import {
  DEAD_LETTER_REASONS,
  deadLetterReason,
  FAILURE_REASONS,
  PERMANENT_CODES,
  REASONS,
  RETRYABLE_CODES,
  type DeadLetterReason,
} from '../../daemon/reasons.js';

// The generated type of a dead letter's reason is the vocabulary's union: neither compiles with a code the other lacks.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaTypeIsTheVocabulary: Same<DeadLetter['reason'], DeadLetterReason> = true;

const sorted = (values: Iterable<string>) => [...values].sort();

describe('reasons', () => {
  it('the dead-letter schema enumerates exactly the dead-letter reasons', () => {
    assert.equal(schemaTypeIsTheVocabulary, true);
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, 'dead-letter.schema.json'), 'utf8'));
    const enumerated: string[] = schema.properties.reason.enum;
    assert.equal(new Set(enumerated).size, enumerated.length, 'no code twice');
    assert.deepEqual(sorted(enumerated), sorted(Object.values(DEAD_LETTER_REASONS)));
  });

  it('the reason table in docs/cli.md lists exactly the dead-letter reasons', () => {
    const table = cliReasonTable(readFileSync(join(PACKAGE_ROOT, 'docs', 'cli.md'), 'utf8'));
    assert.equal(new Set(table).size, table.length, 'no row twice');
    assert.deepEqual(sorted(table), sorted(Object.values(DEAD_LETTER_REASONS)));
  });

  it('every reason is one code, in one group: a request fails retryably or permanently, never both', () => {
    const retryable = new Set<string>(Object.values(RETRYABLE_CODES));
    for (const code of Object.values(PERMANENT_CODES)) assert.ok(!retryable.has(code), code);
    // A retryable failure ends a delivery as retries_exhausted: it is never a dead letter's reason itself.
    for (const code of retryable) assert.ok(!Object.values(DEAD_LETTER_REASONS).includes(code as DeadLetterReason), code);
    const values = Object.values(REASONS);
    assert.equal(new Set(values).size, values.length, 'no code under two names');
    for (const code of values) assert.match(code, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
    assert.deepEqual(sorted(Object.values(FAILURE_REASONS)), sorted([...retryable, ...Object.values(PERMANENT_CODES)]));
  });

  it('a dead delivery without a dead-letter reason is stated as unexpected, never as a code outside the vocabulary', () => {
    assert.equal(deadLetterReason('http_4xx'), 'http_4xx');
    assert.equal(deadLetterReason('retries_exhausted'), 'retries_exhausted');
    assert.equal(deadLetterReason('http_5xx'), 'unexpected');
    assert.equal(deadLetterReason(undefined), 'unexpected');
  });
});
