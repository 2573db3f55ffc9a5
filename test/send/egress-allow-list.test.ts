import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { egressAllowList } from '../../daemon/send/index.js';

describe('send egress allow-list', () => {
  const allowed = egressAllowList(['api.braze.com', '*.customer.io', '127.0.0.1:3000', '[::1]:8080', 'Hooks.Example.COM:443']);
  const table: Array<[string, boolean]> = [
    ['https://api.braze.com/users/track', true],
    ['http://api.braze.com:8080/x', true], // no port in the pattern: any port
    ['https://API.BRAZE.COM/x', true],
    ['https://api.braze.com.evil.example/x', false],
    ['https://evilapi.braze.com/x', false],
    ['https://track.customer.io/api', true],
    ['https://a.b.customer.io/api', true],
    ['https://customer.io/api', false], // *. is subdomains only
    ['https://evilcustomer.io/api', false],
    ['http://127.0.0.1:3000/x', true],
    ['http://127.0.0.1:3001/x', false],
    ['http://127.0.0.1/x', false],
    ['http://0x7f.0.0.1:3000/x', true], // the parser normalises the address before it is compared
    ['http://[::1]:8080/x', true],
    ['http://[::1]:8081/x', false],
    ['https://hooks.example.com/x', true], // 443 is https' default port
    ['http://hooks.example.com/x', false], // 80 is not 443
  ];
  for (const [url, expected] of table) {
    it(`${expected ? 'allows' : 'denies'} ${url}`, () => {
      assert.equal(allowed(new URL(url)), expected);
    });
  }

  it('allows nothing when the list is empty', () => {
    assert.equal(egressAllowList([])(new URL('https://api.braze.com/')), false);
  });

  it('refuses a pattern that is not [*.]host[:port]', () => {
    for (const pattern of ['https://api.braze.com', 'api.braze.com/x', '*', 'a.*.com', 'host:99999', '']) {
      assert.throws(() => egressAllowList([pattern]), /egress allow-list/, pattern);
    }
  });
});
