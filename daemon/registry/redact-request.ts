// A rendered request made safe to store or print: every secret value redacted, and every header
// whose template uses a secret parameter redacted whole, because a template can transform a
// secret beyond recognition (Basic credentials are base64 of "site_id:api_key").
import type { RenderedRequest } from '../render/index.js';
import { derivedSecretsOf, REDACTED, redact as redactSecrets, rememberDerivedSecrets } from '../secrets/index.js';
import { authSecretHeaders } from '../auth/index.js';
import type { LoadedSync } from './types.js';

/** Lower-cased names of the headers (event or identify request) whose templates use a secret of this sync, and the auth schemes' secret ones. */
export function secretHeaderNames(sync: LoadedSync): ReadonlySet<string> {
  // A signature or a bearer is made from a secret: hidden whole like a header whose template uses one.
  const names = new Set<string>(authSecretHeaders(sync.destination.definition));
  for (const row of sync.destination.parameterUsage) {
    if (!sync.parameters.secretNames.has(row.name)) continue;
    for (const label of row.usedIn) {
      const header = /^(?:identify )?header (.+)$/.exec(label);
      if (header) names.add(header[1].toLowerCase());
    }
  }
  return names;
}

/** For dead letters, logs and traces: secrets, and what the render derived from them, redacted in URL
 *  and body; secret-bearing headers redacted whole. The copy keeps the render's derived strings, so
 *  what is later stored with it (a response excerpt) is redacted against them too. */
export function redactRequest(sync: LoadedSync, request: RenderedRequest): RenderedRequest {
  const derived = derivedSecretsOf(request);
  const secrets = derived.length === 0 ? sync.parameters.secretValues : [...sync.parameters.secretValues, ...derived];
  const whole = secretHeaderNames(sync);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name] = whole.has(name) ? REDACTED : redactSecrets(value, secrets);
  const redacted: RenderedRequest = { method: request.method, url: redactSecrets(request.url, secrets), headers, body: redactSecrets(request.body, secrets) };
  rememberDerivedSecrets(redacted, derived);
  return redacted;
}
