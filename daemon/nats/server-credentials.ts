// Credentials written into a server URL (nats://user:password@host, nats://token@host). nats.js
// connects without them (it ignores a URL's userinfo), so they are taken out here: the URLs given
// to the client, and printed in any message, carry none, and the credentials are used instead.
import { ConfigError } from '../config/index.js';

export interface UrlCredentials {
  /** The same URLs without their userinfo. */
  servers: string[];
  user?: string;
  pass?: string;
  /** A userinfo without a colon: NATS reads it as a token. */
  token?: string;
}

/** `scheme://` (optional, as nats.js accepts `host:port`), then the userinfo up to `@` before any path. */
const USERINFO = /^((?:[A-Za-z][A-Za-z0-9+.-]*:\/\/)?)([^@/?#]*)@/;

/** The URL as it may be printed: without user, password or token. */
export function withoutUserinfo(url: string): string {
  return url.replace(USERINFO, '$1');
}

/** Every `scheme://userinfo@` in a text replaced by `scheme://` (for messages that quote a URL). */
export function textWithoutUserinfo(text: string): string {
  return text.replace(/\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^@/?#\s'"]*@/g, '$1');
}

/**
 * The credentials in `servers`' URLs, and the URLs without them. One connection has one identity:
 * URLs that carry different credentials are refused (`where` names the setting).
 */
export function credentialsInUrls(servers: readonly string[], where = 'nats.servers'): UrlCredentials {
  const userinfos = new Set<string>();
  const stripped = servers.map((url) => {
    const match = USERINFO.exec(url);
    if (match) userinfos.add(match[2]);
    return withoutUserinfo(url);
  });
  if (userinfos.size > 1) {
    throw new ConfigError([`${where}: the URLs carry different credentials; one connection has one identity: write it in each URL alike, or in none`]);
  }
  const [userinfo] = userinfos;
  if (userinfo === undefined || userinfo === '') return { servers: stripped };
  const colon = userinfo.indexOf(':');
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  if (colon < 0) return { servers: stripped, token: decode(userinfo) };
  return { servers: stripped, user: decode(userinfo.slice(0, colon)), pass: decode(userinfo.slice(colon + 1)) };
}
