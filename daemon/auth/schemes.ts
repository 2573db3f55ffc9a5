// The one place request-authentication schemes are registered. A new scheme (SigV4, a JWT grant) is
// its own folder exporting an AuthScheme, and one line here; see docs/extending.md.
import { googleServiceAccountScheme } from '../google-service-account/index.js';
import { oauth2Scheme } from '../oauth/index.js';
import { sigv4Scheme } from '../sigv4/index.js';
import { standardWebhooksScheme } from '../signing/index.js';
import type { AuthScheme } from './auth-scheme.js';

/** In the order they stamp a request: signatures first, in place on the rendered request, then the bearers on a copy. */
const schemes: AuthScheme[] = [standardWebhooksScheme, sigv4Scheme, oauth2Scheme, googleServiceAccountScheme];

/** The registered schemes, in stamping order. */
export function authSchemes(): readonly AuthScheme[] {
  return schemes;
}

/**
 * Adds a scheme after the built-in ones; returns what removes it. For a test fixture (a toy scheme
 * proving the seam): shipped schemes are listed above, not registered at run time. A sync prepared
 * before the change keeps what it was prepared with.
 */
export function registerAuthScheme(scheme: AuthScheme): () => void {
  if (schemes.some((registered) => registered.name === scheme.name)) throw new Error(`auth scheme ${scheme.name} is registered already`);
  schemes.push(scheme);
  return () => {
    const at = schemes.indexOf(scheme);
    if (at !== -1) schemes.splice(at, 1);
  };
}
