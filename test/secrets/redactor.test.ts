import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redact, REDACTED, Redactor, secretForms } from '../../daemon/secrets/index.js';

const KEY = 'sk_"live"/9f3a+Zq&x=7 Wm';
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('secrets redactor', () => {
  it('redacts a secret raw, JSON-escaped once and twice, URL- and form-encoded, and in base64 (both alphabets)', () => {
    const json = JSON.stringify(KEY).slice(1, -1);
    const forms = [
      KEY,
      json,
      JSON.stringify(json).slice(1, -1),
      encodeURIComponent(KEY),
      new URLSearchParams({ k: KEY }).toString().slice(2),
      b64(KEY),
      Buffer.from(KEY).toString('base64url'),
      encodeURIComponent(b64(KEY)),
    ];
    for (const form of forms) assert.equal(redact(`<${form}>`, [KEY]), `<${REDACTED}>`, form);
  });

  it('finds a secret inside a longer base64 text at each of the three byte alignments, as in HTTP Basic credentials', () => {
    for (const before of ['', 'a', 'ab', 'site-4c1d:', 'site-4c1d:x', 'site-4c1d:xy']) {
      const encoded = b64(`${before}${KEY}`);
      const redacted = redact(`Basic ${encoded}`, [KEY]);
      assert.match(redacted, /\[redacted\]/, before);
      // At most the characters shared with the bytes around the secret are left (two bytes each side).
      assert.ok(redacted.length - 'Basic '.length - REDACTED.length <= Math.ceil((before.length + 2) * 4 / 3) + 4, `${before}: ${redacted}`);
    }
  });

  it('does not look for a base64 run too short to be told from chance', () => {
    // "abcd" one byte into a group of three leaves only "Fi" of its own: that could be anything.
    assert.equal(redact('xxFiyy', ['abcd']), 'xxFiyy');
    assert.equal(redact(Buffer.from('abcd').toString('base64'), ['abcd']), REDACTED);
  });

  it('redacts a string derived from a secret like the secret itself', () => {
    const basic = b64(`site-4c1d:${KEY}`);
    assert.equal(redact(`{"authorization":"Basic ${basic}","q":"${encodeURIComponent(basic)}"}`, [KEY, basic]), `{"authorization":"Basic ${REDACTED}","q":"${REDACTED}"}`);
  });

  it('a text cut short loses the start of a secret left at its end, and keeps an ordinary ending', () => {
    const redactor = new Redactor([KEY]);
    assert.equal(redactor.redactCut(`{"echo":"${KEY.slice(0, 9)}`), `{"echo":"${REDACTED}`);
    assert.equal(redactor.redactCut(`{"echo":"${b64(KEY).slice(0, 12)}`), `{"echo":"${REDACTED}`);
    assert.equal(redactor.redactCut('{"echo":"sk'), '{"echo":"sk', 'three characters or fewer are not worth hiding');
    assert.equal(redactor.redactCut('{"status":400}'), '{"status":400}');
  });
});
