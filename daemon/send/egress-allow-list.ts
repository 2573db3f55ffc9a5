// The operator's egress allow-list: host patterns (`api.braze.com`, `*.customer.io`, optionally with a
// port: `127.0.0.1:8080`) a request may go to. A request to any other host is not sent; the sender
// throws EgressDeniedError, which classify() makes a permanent `egress_denied` failure.

/** Thrown by the sender instead of sending; `code` is what classify() recognises. */
export class EgressDeniedError extends Error {
  override readonly name = 'EgressDeniedError';
  readonly code = 'ERR_EGRESS_DENIED';

  constructor(readonly host: string) {
    super(`${host} is not in the egress allow-list of the daemon config (egressAllowList): the request was not sent`);
  }
}

/** Tells whether a URL's host and port are allowed. */
export type EgressPolicy = (url: URL) => boolean;

const PATTERN = /^(\*\.)?([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;
const SCHEME_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

interface HostPattern {
  /** Hostname as WHATWG serialises it (lower case, IPv4 normalised, IPv6 in brackets). */
  host: string;
  /** `*.` patterns match any name that ends in `.host` (not host itself). */
  subdomains: boolean;
  /** Without a port, any port. */
  port?: string;
}

/**
 * Compiles the allow-list; throws on a pattern that is not `[*.]host[:port]`. The same pattern is
 * in schema/daemon-config.schema.json, so a bad one is a config error before it gets here.
 */
export function egressAllowList(patterns: readonly string[]): EgressPolicy {
  const compiled = patterns.map(compilePattern);
  return (url) => {
    const port = url.port || SCHEME_PORTS[url.protocol] || '';
    return compiled.some(
      (pattern) => (pattern.port === undefined || pattern.port === port) && (pattern.subdomains ? url.hostname.endsWith(`.${pattern.host}`) : url.hostname === pattern.host),
    );
  };
}

function compilePattern(pattern: string): HostPattern {
  const match = PATTERN.exec(pattern);
  if (!match) throw new Error(`egress allow-list: ${JSON.stringify(pattern)} is not a host pattern ([*.]host[:port])`);
  // The URL parser normalises the pattern's host the way it normalises every request's host.
  const host = new URL(`http://${match[2]}`).hostname;
  const port = match[3] === undefined ? undefined : String(Number(match[3]));
  if (port !== undefined && Number(port) > 65535) throw new Error(`egress allow-list: ${JSON.stringify(pattern)} has a port over 65535`);
  return { host, subdomains: match[1] !== undefined, port };
}
