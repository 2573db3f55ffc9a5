import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { encodeHeaderText, HEADER_ID, headerId, unsendableHeader, unsendableHeaderMessage } from '../../daemon/render/index.js';
import { HOSTILE_IDS, PLAIN_IDS } from '../helpers/hostile-ids.js';

/** No unpaired surrogate: UTF-8 carries it unchanged. */
const wellFormed = (text: string) => Buffer.from(text, 'utf8').toString('utf8') === text;
const VISIBLE_ASCII = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

describe('header values', () => {
  it('keeps an id that is visible ASCII (spaces inside), up to 255 characters, as it is', () => {
    for (const id of PLAIN_IDS) assert.equal(headerId(id), id);
  });

  it('hashes every other id into sha256: and 32 hex digits, the same each time', () => {
    for (const [what, id] of HOSTILE_IDS) {
      const key = headerId(id);
      assert.match(key, /^sha256:[0-9a-f]{32}$/, what);
      assert.equal(headerId(id), key, `${what}: deterministic`);
      assert.equal(key, `sha256:${createHash('sha256').update(Buffer.from(id, 'utf16le')).digest('hex').slice(0, 32)}`, `${what}: as documented`);
    }
    assert.match(headerId('x'.repeat(HEADER_ID.maxLength + 1)), /^sha256:/);
  });

  it('gives different ids different keys: unpaired surrogates, U+FFFD and a kept id that looks hashed', () => {
    const ids = [...HOSTILE_IDS.map(([, id]) => id), ...PLAIN_IDS, '\udc00', '\ud800\udc00', '\ud800\ud800', headerId('x-😀')];
    const keys = new Set(ids.map(headerId));
    assert.equal(keys.size, ids.length);
  });

  it('percent-encodes what is not visible ASCII or space in a value from event data, as UTF-8, and nothing else', () => {
    assert.equal(encodeHeaderText('plain value, 100% ASCII'), 'plain value, 100% ASCII');
    assert.equal(encodeHeaderText('x-😀'), 'x-%F0%9F%98%80');
    assert.equal(encodeHeaderText('café'), 'caf%C3%A9');
    assert.equal(encodeHeaderText('x\r\nX-Injected: 1'), 'x%0D%0AX-Injected: 1');
    assert.equal(encodeHeaderText('a\u0000b\tc\u007f'), 'a%00b%09c%7F');
    assert.equal(encodeHeaderText('\ud800'), '%EF%BF%BD');
    for (const [what, id] of HOSTILE_IDS) {
      const encoded = encodeHeaderText(id);
      assert.match(encoded, /^[\x20-\x7e]*$/, what);
      assert.equal(unsendableHeader({ h: encoded }), undefined, what);
      // Without `%` in the id and with well-formed UTF-16, percent-decoding gives the value back.
      if (wellFormed(id)) assert.equal(decodeURIComponent(encoded), id, what);
    }
  });

  it('finds the header undici would refuse, saying what it holds without quoting it', () => {
    assert.equal(unsendableHeader({ a: 'ok', b: 'Latin-1 é is sent as a byte', c: 'tab\tok' }), undefined);
    assert.deepEqual(unsendableHeader({ a: 'ok', 'x-tenant': 'acme\r\nX-Injected: 1' }), { name: 'x-tenant', holds: 'a line break' });
    assert.deepEqual(unsendableHeader({ 'x-a': 'a\u0000' }), { name: 'x-a', holds: 'a control character' });
    assert.deepEqual(unsendableHeader({ 'x-a': 'a\u007f' }), { name: 'x-a', holds: 'a control character' });
    assert.deepEqual(unsendableHeader({ 'x-a': 'x-😀' }), { name: 'x-a', holds: 'a character beyond U+00FF' });
    const message = unsendableHeaderMessage({ name: 'x-tenant', holds: 'a line break' });
    assert.match(message, /^header x-tenant holds a line break, which an HTTP header cannot carry: .*fix the parameter's value, or encode it in the template \(\| urlencode/);
  });

  it('hands only visible ASCII to the wire, whatever the id', () => {
    for (const [what, id] of HOSTILE_IDS) assert.match(headerId(id), VISIBLE_ASCII, what);
  });
});
