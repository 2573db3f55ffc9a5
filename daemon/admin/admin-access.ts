// Who may read the admin port. The console shows events and dead letters (personal data), so with
// a token every route but /healthz and /readyz asks for it: `Authorization: Bearer <token>` (curl,
// `destinations status`, a scraper), or the console's session cookie, which a browser gets by
// posting the token once to /login (a browser cannot add a header to a page it navigates to). The
// cookie holds an HMAC of the token, never the token. Without a token the port listens on loopback
// only (adminExposureProblem), and a request must name a loopback host, so that a web page whose
// name is rebound to 127.0.0.1 (DNS rebinding) cannot read it through the operator's browser.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { adminExposureProblem, isLoopbackHost } from '../config/index.js';
import { resolveSecretRef, type SecretRef } from '../secrets/index.js';

/** Routes anyone may read: a load balancer's and systemd's probes. */
export const OPEN_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);
export const SESSION_COOKIE = 'destinations_console';

export interface AdminAccessSettings {
  readonly enabled?: boolean;
  readonly host: string;
  readonly token?: SecretRef;
  readonly metricsWithoutToken?: boolean;
}

/** The admin settings cannot be served (no token beyond loopback, or the token cannot be read). */
export class AdminAccessError extends Error {
  override name = 'AdminAccessError';
}

export type AccessVerdict = 'allowed' | 'unauthorized' | 'wrong-host';

export class AdminAccess {
  readonly #token: Buffer | undefined;
  readonly #session: string | undefined;

  /** Resolves the token by reference; throws AdminAccessError saying what is wrong. */
  constructor(
    private readonly settings: AdminAccessSettings,
    baseDir: string,
  ) {
    const problem = adminExposureProblem({ enabled: true, ...settings });
    if (problem) throw new AdminAccessError(problem);
    if (settings.token) {
      let token: string;
      try {
        token = resolveSecretRef(settings.token, { baseDir });
      } catch (error) {
        throw new AdminAccessError(`admin.token: ${(error as Error).message}`, { cause: error });
      }
      this.#token = digest(token);
      this.#session = createHmac('sha256', token).update('destinations console session').digest('base64url');
    }
  }

  get requiresToken(): boolean {
    return this.#token !== undefined;
  }

  /** Whether `request` may read `path`. */
  verdict(request: IncomingMessage, path: string): AccessVerdict {
    if (OPEN_ROUTES.has(path)) return 'allowed';
    if (!this.#token) return this.#namesThisHost(request) ? 'allowed' : 'wrong-host';
    if (path === '/metrics' && this.settings.metricsWithoutToken) return 'allowed';
    if (path === '/login' && request.method === 'POST') return 'allowed';
    return this.#bearerMatches(request.headers.authorization) || this.#sessionMatches(request.headers.cookie) ? 'allowed' : 'unauthorized';
  }

  /** A /login form's token: the Set-Cookie value when it is right, else undefined. */
  sessionCookieFor(token: string): string | undefined {
    if (!this.#token || !this.#session || !timingSafeEqual(digest(token), this.#token)) return undefined;
    return `${SESSION_COOKIE}=${this.#session}; HttpOnly; SameSite=Strict; Path=/`;
  }

  #bearerMatches(header: string | undefined): boolean {
    const match = header && /^Bearer +(\S+) *$/i.exec(header);
    return Boolean(match) && timingSafeEqual(digest(match![1]), this.#token!);
  }

  #sessionMatches(header: string | undefined): boolean {
    if (!header) return false;
    for (const part of header.split(';')) {
      const [name, value] = part.trim().split('=', 2);
      if (name === SESSION_COOKIE && value !== undefined && timingSafeEqual(digest(value), digest(this.#session!))) return true;
    }
    return false;
  }

  /**
   * Without a token: the Host header names a loopback address or the configured host. A request
   * without one (HTTP/1.0, which Node's server lets through) names no host and is refused: every
   * browser, curl and `destinations status` sends one.
   */
  #namesThisHost(request: IncomingMessage): boolean {
    const host = request.headers.host;
    if (host === undefined) return false;
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
    return isLoopbackHost(name) || name === this.settings.host;
  }
}

/** Equal-length values for timingSafeEqual, whatever the lengths given. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
