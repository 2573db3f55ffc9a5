// The strings a real render derived from secrets (base64 of "site_id:api_key", …), kept with the
// request that render produced, so that whatever is later stored or printed about that delivery
// (dead letter, response excerpt, span) is redacted against them as well as the secret values.
// They travel on the request object itself, under a symbol: the consumer hands the same object to
// the sender, the trace and the dead letter, a spread copy keeps them, and JSON.stringify (a dead
// letter, a preview) never shows them. A symbol rather than a WeakMap: it is set on every request
// of a Basic-auth destination, and a WeakMap entry per request costs set time and GC work.

const DERIVED = Symbol('derived secrets');
const NONE: readonly string[] = [];

type Carrier = { [DERIVED]?: readonly string[] };

export function rememberDerivedSecrets(request: object, derived: readonly string[]): void {
  if (derived.length > 0) (request as Carrier)[DERIVED] = derived;
}

/** The strings derived from secrets by the render that produced `request` (none if it was not one). */
export function derivedSecretsOf(request: object | undefined): readonly string[] {
  return (request as Carrier | undefined)?.[DERIVED] ?? NONE;
}
