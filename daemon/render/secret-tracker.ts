// Which strings a render derived from secrets. While a render with real secret values runs, every
// filter that is given a secret (in any of its forms) or a string already derived from one
// registers what it returns as derived: base64 of "site_id:api_key" for HTTP Basic, a urlencoded
// or upper-cased key. The render's caller redacts against the secrets and these exact strings.
// nunjucks renders synchronously, so one module-level tracker serves every render; a render
// without secrets (a preview with placeholders, a sync without secret parameters) pays one check
// per filter call.
import { redactorFor, Redactor } from '../secrets/index.js';

/** A shorter output (a first letter, a length) would redact harmless text everywhere. */
const MIN_DERIVED_LENGTH = 6;

let active: SecretTracker | undefined;

export class SecretTracker {
  /** Strings this render derived from secrets, in the order they were made. */
  readonly derived: string[] = [];
  /** What marks a filter's input as holding a secret: the value as it is, or JSON-escaped by `json`
   *  (other encodings are made by filters, whose output is then derived itself). */
  readonly #watched: readonly string[];

  constructor(readonly secrets: readonly string[]) {
    this.#watched = watchedForms(secrets);
  }

  /** Runs a render with this tracker watching the filters. */
  run<T>(render: () => T): T {
    const previous = active;
    active = this;
    try {
      return render();
    } finally {
      active = previous;
    }
  }

  /** Redacts the secrets and what was derived from them so far, at every form. */
  redactor(): Redactor {
    return this.derived.length === 0 ? redactorFor(this.secrets) : new Redactor([...this.secrets, ...this.derived]);
  }

  // Plain loops: these run on every filter call of a render with secrets (the per-event path).
  private holdsSecret(value: unknown): boolean {
    if (typeof value !== 'string') {
      if (value instanceof String) return this.holdsSecret(String(value));
      // One level of a list: join, first, last and friends take one.
      if (Array.isArray(value)) {
        for (const entry of value) if ((typeof entry === 'string' || entry instanceof String) && this.holdsSecret(entry)) return true;
      }
      return false;
    }
    for (const form of this.#watched) if (value.includes(form)) return true;
    for (const derived of this.derived) if (value.includes(derived)) return true;
    return false;
  }

  private observe(args: unknown[], text: string): void {
    if (text.length < MIN_DERIVED_LENGTH) return;
    for (const arg of args) {
      if (!this.holdsSecret(arg)) continue;
      // An output that still shows the secret (or a derived string) as it is needs nothing new, and
      // recording it whole would also redact what surrounds the secret (the quotes `json` adds).
      if (!this.holdsSecret(text)) this.derived.push(text);
      return;
    }
  }

  /**
   * Called after every filter call (bounded-filters.ts): a string output made from a secret, or from
   * a string already derived from one, is derived itself. For the `keyed` filters (hmac_sha256)
   * `valueOnly` is set: only the value counts, not the key, because a keyed hash of a user id is a
   * pseudonym meant to be stored and read, and redacting it would blank it in every dead letter and
   * trace. A secret *value* hashed still makes the output derived.
   */
  static observeFilter(args: unknown[], output: unknown, valueOnly: boolean): void {
    // Only a string can carry a secret on (nunjucks' SafeString is a String object).
    if (active !== undefined && (typeof output === 'string' || output instanceof String)) {
      active.observe(valueOnly ? args.slice(0, 1) : args, String(output));
    }
  }

  /**
   * Runs a render on its own tracker, over the active render's secrets, so what it derived is its
   * own whatever the active render learned before, and can be handed to later renders (`adopt`).
   * The active render learns it too, also when the render throws: its error may quote a derived
   * string. `tracked` is false when no render is tracked.
   */
  static derivedBy(render: () => string): { text: string; derived: readonly string[]; tracked: boolean } {
    if (active === undefined) return { text: render(), derived: [], tracked: false };
    const own = new SecretTracker(active.secrets);
    try {
      return { text: own.run(render), derived: own.derived, tracked: true };
    } finally {
      SecretTracker.adopt(own.derived);
    }
  }

  /** Whether a render with real secrets is running now. */
  static get tracking(): boolean {
    return active !== undefined;
  }

  /** Tells the active render about strings an earlier render derived from the same secrets (see derivedBy). */
  static adopt(derived: readonly string[]): void {
    if (active !== undefined) for (const text of derived) active.derived.push(text);
  }

  /** For a render error that quotes rendered output: that output without the active render's secrets. */
  static redactActive(text: string): string {
    return active === undefined ? text : active.redactor().redact(text);
  }
}

/** Worked out once per list (a sync's list is kept while it is loaded). */
const watchedByList = new WeakMap<readonly string[], readonly string[]>();

function watchedForms(secrets: readonly string[]): readonly string[] {
  let watched = watchedByList.get(secrets);
  if (!watched) {
    watched = [...new Set(secrets.flatMap((secret) => (secret === '' ? [] : [secret, JSON.stringify(secret).slice(1, -1)])))];
    watchedByList.set(secrets, watched);
  }
  return watched;
}
