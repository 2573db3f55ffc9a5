import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errors as undiciErrors } from 'undici';
import { classify, parseRetryAfter, type Classification } from '../../daemon/delivery/classify.js';
import { PermanentDeliveryError, RetryableDeliveryError, ShutdownError, isShutdownAbort } from '../../daemon/delivery/errors.js';
import { DEFAULT_RETRY_AFTER_CAP_MS } from '../../daemon/defaults.js';
import { EgressDeniedError, InvalidHeaderError } from '../../daemon/send/index.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

function summary(result: Classification): string {
  if (result instanceof RetryableDeliveryError) return `retryable ${result.code}`;
  if (result instanceof PermanentDeliveryError) return `permanent ${result.code}`;
  return `delivered ${result.status}`;
}

function coded(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('delivery classify', () => {
  describe('status codes', () => {
    const table: Array<[number, string]> = [
      [100, 'permanent http_4xx'],
      [101, 'permanent http_4xx'],
      [199, 'permanent http_4xx'],
      [200, 'delivered 200'],
      [201, 'delivered 201'],
      [202, 'delivered 202'],
      [204, 'delivered 204'],
      [207, 'delivered 207'],
      [299, 'delivered 299'],
      [300, 'permanent http_4xx'],
      [301, 'permanent http_4xx'],
      [302, 'permanent http_4xx'],
      [304, 'permanent http_4xx'],
      [307, 'permanent http_4xx'],
      [308, 'permanent http_4xx'],
      [400, 'permanent http_4xx'],
      [401, 'permanent http_4xx'],
      [403, 'permanent http_4xx'],
      [404, 'permanent http_4xx'],
      [405, 'permanent http_4xx'],
      [408, 'retryable http_408'],
      [409, 'permanent http_4xx'],
      [410, 'permanent http_4xx'],
      [413, 'permanent http_4xx'],
      [422, 'permanent http_4xx'],
      [423, 'retryable http_423'],
      [424, 'permanent http_4xx'],
      [425, 'retryable http_425'],
      [426, 'permanent http_4xx'],
      [429, 'retryable http_429'],
      [431, 'permanent http_4xx'],
      [451, 'permanent http_4xx'],
      [499, 'permanent http_4xx'],
      [500, 'retryable http_5xx'],
      [501, 'permanent http_4xx'],
      [502, 'retryable http_5xx'],
      [503, 'retryable http_5xx'],
      [504, 'retryable http_5xx'],
      [505, 'retryable http_5xx'],
      [507, 'retryable http_5xx'],
      [511, 'retryable http_5xx'],
      [599, 'retryable http_5xx'],
      [600, 'permanent http_4xx'],
    ];
    for (const [status, expected] of table) {
      it(`classifies HTTP ${status} as ${expected}`, () => {
        const result = classify({ status, headers: {}, now: NOW });
        assert.equal(summary(result), expected);
        assert.equal(result.status, status);
      });
    }

    it('returns errors as values with name, kind, code and status set', () => {
      const retryable = classify({ status: 503, headers: {} });
      assert.ok(retryable instanceof RetryableDeliveryError);
      assert.equal(retryable.name, 'RetryableDeliveryError');
      assert.equal(retryable.kind, 'retryable');
      assert.equal(retryable.message, 'HTTP 503');
      const permanent = classify({ status: 400, headers: {} });
      assert.ok(permanent instanceof PermanentDeliveryError);
      assert.equal(permanent.name, 'PermanentDeliveryError');
      assert.equal(permanent.kind, 'permanent');
    });
  });

  describe('Retry-After', () => {
    const date = (offsetMs: number) => new Date(NOW + offsetMs).toUTCString();
    const table: Array<[string, string | string[] | undefined, number | undefined]> = [
      ['absent', undefined, undefined],
      ['seconds', '120', 120_000],
      ['seconds with spaces', '  7 ', 7_000],
      ['zero seconds', '0', 0],
      ['fractional seconds', '1.5', 1_500],
      ['negative seconds', '-30', 0],
      ['huge seconds', '99999999999999999999', DEFAULT_RETRY_AFTER_CAP_MS],
      ['just above the cap', String(DEFAULT_RETRY_AFTER_CAP_MS / 1_000 + 1), DEFAULT_RETRY_AFTER_CAP_MS],
      ['IMF-fixdate in the future', date(90_000), 90_000],
      ['IMF-fixdate in the past', date(-90_000), 0],
      ['IMF-fixdate far ahead', date(7 * 24 * 3_600_000), DEFAULT_RETRY_AFTER_CAP_MS],
      ['RFC 850 date', 'Wednesday, 15-Jan-25 12:01:00 GMT', 60_000],
      ['asctime date', 'Wed Jan 15 12:00:30 2025', 30_000],
      ['repeated header: the first counts', ['5', '60'], 5_000],
      ['garbage', 'soon', undefined],
      ['empty', '', undefined],
      ['number with a unit', '10s', undefined],
      ['digits are seconds, never a year', '2030', 2_030_000],
      ['garbage that looks like a weekday', 'Monday morning', undefined],
    ];
    for (const [label, value, expected] of table) {
      it(`reads ${label}`, () => {
        assert.equal(parseRetryAfter(value, NOW), expected);
      });
    }

    for (const status of [429, 503, 500, 408, 423, 425]) {
      it(`sets retryAfterMs on a retryable ${status}`, () => {
        const result = classify({ status, headers: { 'retry-after': '30' }, now: NOW });
        assert.ok(result instanceof RetryableDeliveryError);
        assert.equal(result.retryAfterMs, 30_000);
      });
    }

    it('anchors an HTTP-date on the outcome time', () => {
      const result = classify({ status: 429, headers: { 'retry-after': date(45_000) }, now: NOW });
      assert.ok(result instanceof RetryableDeliveryError);
      assert.equal(result.retryAfterMs, 45_000);
    });

    it('finds a header name that is not lower-cased', () => {
      const result = classify({ status: 429, headers: { 'Retry-After': '3' }, now: NOW });
      assert.ok(result instanceof RetryableDeliveryError);
      assert.equal(result.retryAfterMs, 3_000);
    });

    it('leaves retryAfterMs unset without a readable header', () => {
      const result = classify({ status: 429, headers: { 'retry-after': 'later' }, now: NOW });
      assert.ok(result instanceof RetryableDeliveryError);
      assert.equal(result.retryAfterMs, undefined);
      assert.equal('retryAfterMs' in result, false);
    });

    it('ignores Retry-After on a permanent status', () => {
      const result = classify({ status: 400, headers: { 'retry-after': '30' }, now: NOW });
      assert.ok(result instanceof PermanentDeliveryError);
      assert.equal((result as { retryAfterMs?: number }).retryAfterMs, undefined);
    });
  });

  describe('thrown errors', () => {
    const networkCodes = [
      'ECONNRESET',
      'ECONNREFUSED',
      'ECONNABORTED',
      'EPIPE',
      'ETIMEDOUT',
      'ENOTFOUND',
      'EAI_AGAIN',
      'EHOSTUNREACH',
      'EHOSTDOWN',
      'ENETUNREACH',
      'ENETDOWN',
      'ENETRESET',
      'EADDRNOTAVAIL',
      'UND_ERR_SOCKET',
      'UND_ERR_CLOSED',
      'UND_ERR_DESTROYED',
      'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
    ];
    for (const code of networkCodes) {
      it(`classifies ${code} as retryable network`, () => {
        assert.equal(summary(classify({ error: coded(code) })), 'retryable network');
      });
      it(`finds ${code} in a cause chain`, () => {
        const wrapped = new TypeError('fetch failed', { cause: new Error('socket', { cause: coded(code) }) });
        assert.equal(summary(classify({ error: wrapped })), 'retryable network');
      });
    }

    const timeoutCodes = ['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'ESOCKETTIMEDOUT'];
    for (const code of timeoutCodes) {
      it(`classifies ${code} as retryable timeout`, () => {
        assert.equal(summary(classify({ error: coded(code) })), 'retryable timeout');
      });
    }

    const undiciTable: Array<[string, Error, string]> = [
      ['ConnectTimeoutError', new undiciErrors.ConnectTimeoutError(), 'retryable timeout'],
      ['HeadersTimeoutError', new undiciErrors.HeadersTimeoutError(), 'retryable timeout'],
      ['BodyTimeoutError', new undiciErrors.BodyTimeoutError(), 'retryable timeout'],
      ['SocketError', new undiciErrors.SocketError('other side closed'), 'retryable network'],
      ['ClientClosedError', new undiciErrors.ClientClosedError(), 'retryable network'],
      ['ClientDestroyedError', new undiciErrors.ClientDestroyedError(), 'retryable network'],
      ['RequestAbortedError', new undiciErrors.RequestAbortedError(), 'retryable aborted'],
      ['InvalidArgumentError', new undiciErrors.InvalidArgumentError('invalid header'), 'permanent invalid_request'],
      ['HeadersOverflowError', new undiciErrors.HeadersOverflowError(), 'permanent unexpected'],
    ];
    for (const [label, error, expected] of undiciTable) {
      it(`classifies undici ${label} as ${expected}`, () => {
        assert.equal(summary(classify({ error })), expected);
      });
    }

    // The codes Node's tls socket reports, as undici passes them on (messages as Node writes them).
    const tlsTable: Array<[string, string, string]> = [
      ['CERT_HAS_EXPIRED', 'certificate has expired', 'expired'],
      ['CERT_NOT_YET_VALID', 'certificate is not yet valid', 'not_yet_valid'],
      ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate', 'unknown_issuer'],
      ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain', 'unknown_issuer'],
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate', 'unknown_issuer'],
      ['UNABLE_TO_GET_ISSUER_CERT', 'unable to get issuer certificate', 'unknown_issuer'],
      ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate', 'unknown_issuer'],
      ['CERT_UNTRUSTED', 'certificate not trusted', 'unknown_issuer'],
      ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames: Host: api.example.com. is not in the cert's altnames: DNS:other.example", 'name_mismatch'],
      ['HOSTNAME_MISMATCH', 'hostname mismatch', 'name_mismatch'],
      ['CERT_REVOKED', 'certificate revoked', 'bad_certificate'],
      ['CERT_SIGNATURE_FAILURE', 'certificate signature failure', 'bad_certificate'],
      ['INVALID_CA', 'invalid CA certificate', 'bad_certificate'],
      ['INVALID_PURPOSE', 'unsupported certificate purpose', 'bad_certificate'],
      ['ERR_SSL_WRONG_VERSION_NUMBER', 'C0F7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:354:\n', 'handshake'],
      ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'C0F7:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1605:SSL alert number 40\n', 'handshake'],
      ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'tlsv1 alert protocol version', 'handshake'],
      ['ERR_TLS_HANDSHAKE_TIMEOUT', 'TLS handshake timeout', 'handshake'],
      ['EPROTO', 'write EPROTO 140:error:1408F10B:SSL routines:ssl3_get_record:wrong version number', 'handshake'],
    ];
    for (const [code, message, detail] of tlsTable) {
      it(`classifies ${code} as retryable tls (${detail}), never permanent`, () => {
        const result = classify({ error: coded(code, message) });
        assert.equal(summary(result), 'retryable tls');
        assert.equal((result as RetryableDeliveryError).detail, detail);
        assert.ok((result as RetryableDeliveryError).message.startsWith(`tls ${detail}: `));
        assert.ok((result as RetryableDeliveryError).message.endsWith(`(${code})`));
      });
    }

    it('keeps OpenSSL\'s reason and drops its source location from a tls message', () => {
      const result = classify({ error: coded('ERR_SSL_WRONG_VERSION_NUMBER', tlsTable[14][1]) });
      assert.equal((result as RetryableDeliveryError).message, 'tls handshake: wrong version number (ERR_SSL_WRONG_VERSION_NUMBER)');
    });

    it('finds a tls error as fetch wraps it, in a TypeError\'s cause', () => {
      const result = classify({ error: new TypeError('fetch failed', { cause: coded('CERT_HAS_EXPIRED', 'certificate has expired') }) });
      assert.equal(summary(result), 'retryable tls');
      assert.equal((result as RetryableDeliveryError).message, 'tls expired: certificate has expired (CERT_HAS_EXPIRED)');
    });

    it('prefers a tls failure to a refused connection of the other address family', () => {
      const error = new AggregateError([coded('ECONNREFUSED'), coded('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate')], 'connect failed');
      assert.equal(summary(classify({ error })), 'retryable tls');
    });

    it('classifies the TimeoutError of AbortSignal.timeout as retryable timeout', () => {
      assert.equal(summary(classify({ error: new DOMException('timed out', 'TimeoutError') })), 'retryable timeout');
    });

    it('classifies a plain AbortError as retryable aborted', () => {
      assert.equal(summary(classify({ error: new DOMException('aborted', 'AbortError') })), 'retryable aborted');
    });

    it('classifies an AggregateError of refused connections (both address families) as retryable network', () => {
      const error = new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], 'connect failed');
      assert.equal(summary(classify({ error })), 'retryable network');
    });

    it('classifies an invalid URL as permanent invalid_request', () => {
      let error: unknown;
      try {
        new URL('not a url');
      } catch (caught) {
        error = caught;
      }
      assert.equal(summary(classify({ error })), 'permanent invalid_request');
    });

    it('classifies the sender\'s egress refusal as permanent egress_denied, also as a cause', () => {
      const denied = new EgressDeniedError('evil.example');
      assert.equal(summary(classify({ error: denied })), 'permanent egress_denied');
      assert.equal(summary(classify({ error: new Error('send failed', { cause: denied }) })), 'permanent egress_denied');
    });

    it('classifies the sender\'s refusal of a header value as permanent invalid_header, naming the header and the fix, also as a cause', () => {
      const refused = new InvalidHeaderError({ name: 'x-tenant', holds: 'a line break' });
      for (const error of [refused, new Error('send failed', { cause: refused })]) {
        const result = classify({ error });
        assert.equal(summary(result), 'permanent invalid_header');
        assert.match((result as Error).message, /^header x-tenant holds a line break, which an HTTP header cannot carry: .*\| urlencode.*: the request was not sent$/);
      }
      // undici's own refusal, should one get past the sender, stays invalid_request.
      assert.equal(summary(classify({ error: new undiciErrors.InvalidArgumentError('invalid x-tenant header') })), 'permanent invalid_request');
    });

    it('classifies anything else as permanent unexpected and keeps it as the cause', () => {
      for (const error of [new Error('boom'), coded('ERR_TLS_INVALID_CONTEXT'), coded('ERR_SSLX'), 'a string', undefined, null, 42]) {
        const result = classify({ error });
        assert.equal(summary(result), 'permanent unexpected');
        assert.equal((result as PermanentDeliveryError).cause, error);
      }
    });

    it('prefers the strongest reason found anywhere in the chain', () => {
      const error = new DOMException('aborted', 'AbortError');
      const withTimeout = new Error('outer', { cause: Object.assign(new Error('inner', { cause: error }), { code: 'UND_ERR_HEADERS_TIMEOUT' }) });
      assert.equal(summary(classify({ error: withTimeout })), 'retryable timeout');
    });

    it('survives a cause cycle', () => {
      const a = new Error('a');
      const b = new Error('b', { cause: a });
      (a as { cause?: unknown }).cause = b;
      assert.equal(summary(classify({ error: a })), 'permanent unexpected');
    });
  });

  describe('shutdown', () => {
    it('classifies a ShutdownError abort reason as retryable shutdown', () => {
      assert.equal(summary(classify({ error: new ShutdownError() })), 'retryable shutdown');
      assert.equal(summary(classify({ error: new Error('wrapped', { cause: new ShutdownError() }) })), 'retryable shutdown');
    });

    it('tells a shutdown abort from other aborts', () => {
      assert.equal(isShutdownAbort(new ShutdownError()), true);
      assert.equal(isShutdownAbort(new DOMException('aborted', 'AbortError')), false);
      assert.equal(isShutdownAbort(new Error('delivery released')), false);
      assert.equal(isShutdownAbort(undefined), false);
    });

    it('puts an aborted signal first: shutdown when its reason is one, aborted otherwise', () => {
      const shutdown = new AbortController();
      shutdown.abort(new ShutdownError());
      assert.equal(summary(classify({ error: coded('ECONNRESET'), signal: shutdown.signal })), 'retryable shutdown');
      const released = new AbortController();
      released.abort(new Error('delivery released'));
      assert.equal(summary(classify({ error: new Error('delivery released'), signal: released.signal })), 'retryable aborted');
      const live = new AbortController();
      assert.equal(summary(classify({ error: coded('ECONNRESET'), signal: live.signal })), 'retryable network');
    });
  });

  describe('oauth token', () => {
    it('classifies an error with code oauth_token as retryable oauth_token, with its own message and Retry-After', () => {
      const failure = Object.assign(new Error('token endpoint auth.example answered HTTP 503'), { code: 'oauth_token', retryAfterMs: 5_000 });
      const result = classify({ error: failure });
      assert.equal(summary(result), 'retryable oauth_token');
      assert.equal((result as RetryableDeliveryError).message, 'token endpoint auth.example answered HTTP 503');
      assert.equal((result as RetryableDeliveryError).retryAfterMs, 5_000);
    });

    it('names the token failure whatever failed underneath it (network, TLS, timeout), but not a shutdown', () => {
      for (const cause of [coded('ECONNREFUSED'), coded('CERT_HAS_EXPIRED'), coded('UND_ERR_HEADERS_TIMEOUT'), new EgressDeniedError('auth.example')]) {
        assert.equal(summary(classify({ error: Object.assign(new Error('token request failed', { cause }), { code: 'oauth_token' }) })), 'retryable oauth_token');
      }
      assert.equal(summary(classify({ error: Object.assign(new Error('token request failed', { cause: new ShutdownError() }), { code: 'oauth_token' }) })), 'retryable shutdown');
    });
  });
});
