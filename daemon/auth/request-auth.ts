// The auth seam as the rest of the daemon uses it: every registered scheme a destination uses,
// prepared for a sync (once per loaded sync for delivery), applied at the three moments a request
// meets them (rendered, stamped before each attempt, refused), and what they contribute to loading
// (problems, templates, parameter uses, egress) and to redaction (the headers they own).
import type { DestinationDefinition } from '../../schema/generated/destination.js';
import type { RenderedRequest } from '../render/index.js';
import { derivedSecretsOf, rememberDerivedSecrets } from '../secrets/index.js';
import type { SendResponse } from '../send/index.js';
import { AuthSettingsError, type AuthAttempt, type AuthDefinitionProblem, type AuthMode, type AuthSync, type AuthTemplateSource, type RequestAuth } from './auth-scheme.js';
import { authSchemes } from './schemes.js';

export const FOR_DELIVERY: AuthMode = { mode: 'delivery' };

/** The schemes a destination uses, prepared together; undefined when it uses none (the hot path sends as rendered). */
export class SyncAuth {
  constructor(
    private readonly parts: readonly RequestAuth[],
    /** The schemes' secret headers: what they hold is remembered as derived from a secret (see stamp). */
    private readonly secretHeaders: readonly string[],
  ) {}

  /** Right after the render (see RequestAuth.rendered). */
  rendered(request: RenderedRequest, id: () => string | undefined): void {
    for (const part of this.parts) part.rendered?.(request, id);
  }

  /**
   * Every scheme's stamp, in registration order. What a secret header holds then joins the rendered
   * request's derived secrets, so a response that echoes it, a span or a dead letter is redacted
   * against it. A scheme that remembered finer parts itself (each signature, the bearer's token) keeps
   * them: a value that holds one of them is not added whole, or an echo would read `[redacted]` where
   * it read `v1,[redacted] v1,[redacted]`.
   */
  async stamp(request: RenderedRequest, attempt: AuthAttempt): Promise<RenderedRequest> {
    let stamped = request;
    for (const part of this.parts) stamped = await part.stamp(stamped, attempt);
    const derived = derivedSecretsOf(request);
    let fresh: string[] | undefined;
    for (const name of this.secretHeaders) {
      const value = stamped.headers[name];
      if (value !== undefined && !derived.some((part) => value.includes(part))) (fresh ??= []).push(value);
    }
    if (fresh !== undefined) {
      const all = [...derived, ...fresh];
      rememberDerivedSecrets(request, all);
      if (stamped !== request) rememberDerivedSecrets(stamped, all);
    }
    return stamped;
  }

  /** A preview's stamp: placeholders, nothing awaited. */
  stampForPreview(request: RenderedRequest, now = Date.now()): RenderedRequest {
    let stamped = request;
    const attempt: AuthAttempt = { now, exchange: () => Promise.reject(new Error('a preview makes no request')) };
    for (const part of this.parts) {
      const next = part.stamp(stamped, attempt);
      if (next instanceof Promise) throw new Error('an auth scheme stamped a preview asynchronously');
      stamped = next;
    }
    return stamped;
  }

  /**
   * One attempt: stamped, sent, and when a scheme refuses the answer (a 401 for OAuth), stamped again
   * and sent once more. `refused` is told of the answer that is about to be retried (the caller ends its span).
   */
  async send(request: RenderedRequest, io: AuthenticatedSend): Promise<SendResponse> {
    const attempt: AuthAttempt = { now: Date.now(), exchange: io.exchange };
    const stamped = await this.stamp(request, attempt);
    const response = await io.send(stamped);
    let again = false;
    for (const part of this.parts) if (part.refused?.(response, stamped)) again = true;
    if (!again) return response;
    io.refused?.(response);
    return io.send(await this.stamp(request, { ...attempt, now: Date.now() }));
  }
}

export interface AuthenticatedSend {
  /** Sends the destination's request as stamped. */
  send(request: RenderedRequest): Promise<SendResponse>;
  /** Sends a scheme's own request (a token request) through the same sender. */
  exchange(request: RenderedRequest, excerptBytes: number): Promise<SendResponse>;
  refused?(response: SendResponse): void;
}

const forDelivery = new WeakMap<AuthSync, SyncAuth | AuthSettingsError | null>();

/**
 * The sync's auth for `mode`: undefined when its destination uses no scheme (or none has anything
 * to do). Throws AuthSettingsError. For delivery it is prepared once per loaded sync (a reload makes
 * new syncs), so a token source lives as long as the sync's configuration.
 */
export function syncAuth(sync: AuthSync, mode: AuthMode = FOR_DELIVERY): SyncAuth | undefined {
  if (mode.mode === 'preview') return prepare(sync, mode);
  let prepared = forDelivery.get(sync);
  if (prepared === undefined) {
    try {
      prepared = prepare(sync, mode) ?? null;
    } catch (error) {
      if (!(error instanceof AuthSettingsError)) throw error;
      prepared = error;
    }
    forDelivery.set(sync, prepared);
  }
  if (prepared instanceof AuthSettingsError) throw prepared;
  return prepared ?? undefined;
}

function prepare(sync: AuthSync, mode: AuthMode): SyncAuth | undefined {
  const definition = sync.destination.definition;
  const parts: RequestAuth[] = [];
  const secretHeaders: string[] = [];
  for (const scheme of authSchemes()) {
    if (!scheme.uses(definition)) continue;
    const part = scheme.prepare(sync, mode);
    if (part === undefined) continue;
    parts.push(part);
    for (const header of scheme.headers(definition)) if (header.secret) secretHeaders.push(header.name);
  }
  return parts.length === 0 ? undefined : new SyncAuth(parts, secretHeaders);
}

/** A sync's problem with its auth settings, in the shape of a load problem. */
export interface AuthSettingsProblem {
  file: string;
  severity: 'error';
  pointer: string;
  message: string;
}

/** Checked before the daemon runs a sync, as an unresolved secret is: a sync that cannot authenticate must not run. */
export function authSettingsProblems(sync: AuthSync & { file: string }): AuthSettingsProblem[] {
  try {
    syncAuth(sync);
    return [];
  } catch (error) {
    if (!(error instanceof AuthSettingsError)) throw error;
    return [{ file: sync.file, severity: 'error', pointer: error.parameter === undefined ? '/parameters' : `/parameters/${error.parameter}`, message: error.message }];
  }
}

/** Lower-cased names of the headers the destination's schemes own and hold secret: redacted whole. */
export function authSecretHeaders(definition: DestinationDefinition): string[] {
  return authSchemes()
    .filter((scheme) => scheme.uses(definition))
    .flatMap((scheme) => scheme.headers(definition).filter((header) => header.secret).map((header) => header.name));
}

/** Every scheme's problems with its block of destination.json. */
export function authDefinitionProblems(definition: DestinationDefinition, compiled: (source: AuthTemplateSource) => boolean): AuthDefinitionProblem[] {
  return authSchemes()
    .filter((scheme) => scheme.uses(definition))
    .flatMap((scheme) => scheme.definitionProblems?.(definition, compiled) ?? []);
}

/** The schemes' templates, compiled and counted like the request's. */
export function authTemplateSources(definition: DestinationDefinition): AuthTemplateSource[] {
  return authSchemes()
    .filter((scheme) => scheme.uses(definition))
    .flatMap((scheme) => scheme.templateSources?.(definition) ?? []);
}

/** Parameters the schemes read outside templates, with the label DECLARED vs USED shows. */
export function authParameterUses(definition: DestinationDefinition): Array<{ label: string; names: readonly string[] }> {
  return authSchemes()
    .filter((scheme) => scheme.uses(definition))
    .flatMap((scheme) => (scheme.parametersUsed ? [scheme.parametersUsed(definition)] : []));
}

/** URL templates of the schemes' own requests, for the sync's egress. */
export function authUrlTemplates(definition: DestinationDefinition): Array<{ source: string; name: string }> {
  return authSchemes()
    .filter((scheme) => scheme.uses(definition))
    .flatMap((scheme) => scheme.urlTemplates?.(definition) ?? []);
}
