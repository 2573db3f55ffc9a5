// What a request-authentication scheme is: the one interface Standard Webhooks signing
// (daemon/signing), OAuth2 client credentials (daemon/oauth) and any next scheme implement. A scheme
// folder imports this file (and only this one of auth/): the rest of auth/ imports the schemes to
// register them, so going through auth/index.ts would be an import cycle (nats.js's internal_mod.ts
// plays the same part for its siblings).
import type { DestinationDefinition } from '../../schema/generated/destination.js';
import type { RenderedRequest } from '../render/index.js';
import type { SendResponse } from '../send/index.js';

/** What of a loaded sync a scheme reads (a LoadedSync is one: the registry is not imported, it imports this). */
export interface AuthSync {
  destination: { definition: DestinationDefinition };
  parameters: { values: Record<string, unknown>; secretValues: readonly string[] };
}

/**
 * Why a request is authenticated: to be delivered (real secrets, tokens fetched, stamped before every
 * attempt), or to be shown (preview, the examples, `plan`: the parameter values given, a masked secret
 * `<secret:NAME>` stamped as a placeholder, nothing fetched).
 */
export type AuthMode =
  | { mode: 'delivery' }
  | { mode: 'preview'; parameters: Record<string, unknown>; isPlaceholder: (parameter: string, value: unknown) => boolean };

/** A header the scheme sets; a `secret` one is redacted whole wherever a request is stored or printed. */
export interface OwnedHeader {
  /** Lower case, as requests carry header names. */
  name: string;
  secret: boolean;
}

/** A problem of the scheme's block in destination.json, at a JSON pointer. */
export interface AuthDefinitionProblem {
  pointer: string;
  message: string;
}

/** An inline template of the scheme's block, compiled and counted in DECLARED vs USED like the request's. */
export interface AuthTemplateSource {
  key: string;
  /** What the DECLARED vs USED table calls it. */
  label: string;
  source: string;
  pointer: string;
}

/** A sync's settings the scheme cannot work with (a signing secret that is no key): the sync must not run. */
export class AuthSettingsError extends Error {
  override name = 'AuthSettingsError';
  constructor(
    /** Stable code: a render that meets it fails with RequestNotPossibleError of this code. */
    readonly code: string,
    /** Says what is wrong, never a secret's value. */
    message: string,
    /** The sync parameter at fault, for the problem's pointer. */
    readonly parameter?: string,
  ) {
    super(message);
  }
}

/** One attempt as a scheme sees it. */
export interface AuthAttempt {
  /** Milliseconds since the epoch, read once for the attempt. */
  now: number;
  /** Sends a request of the scheme's own (OAuth's token request) through the sync's sender, keeping `excerptBytes` of the answer. */
  exchange(request: RenderedRequest, excerptBytes: number): Promise<SendResponse>;
}

/** A scheme prepared for one sync in one mode. */
export interface RequestAuth {
  /** Once, right after the render, on the rendered request: what stays the same on every attempt
   *  (Standard Webhooks' webhook-id). `id()` is the request's id in its header form (the event's
   *  insert_id, or the batch key), undefined when an event has none. */
  rendered?(request: RenderedRequest, id: () => string | undefined): void;
  /** Before each attempt (and once for a preview): the request to send, this one updated in place or
   *  a copy. A preview's stamp must not return a promise. */
  stamp(request: RenderedRequest, attempt: AuthAttempt): RenderedRequest | Promise<RenderedRequest>;
  /** The destination answered a stamped attempt: true to stamp again and send it once more (OAuth: a
   *  401 drops the token), at most once per attempt. */
  refused?(response: SendResponse, stamped: RenderedRequest): boolean;
}

/** A request-authentication scheme: registered once in auth/schemes.ts, used by the daemon, preview, send and validate. */
export interface AuthScheme {
  /** Its name in logs and docs ("standard-webhooks", "oauth2"). */
  readonly name: string;
  /** Whether a destination uses it: its block in destination.json is there. */
  uses(definition: DestinationDefinition): boolean;
  /** The headers it sets, for redaction. */
  headers(definition: DestinationDefinition): readonly OwnedHeader[];
  /** Problems of its block, when destination.json is read; `compiled` tells whether one of its templateSources compiled. */
  definitionProblems?(definition: DestinationDefinition, compiled: (source: AuthTemplateSource) => boolean): AuthDefinitionProblem[];
  /** Templates of its block (checked, compiled, and counted as parameter uses). */
  templateSources?(definition: DestinationDefinition): AuthTemplateSource[];
  /** Parameters it reads outside any template (a signing key): counted as used, in DECLARED vs USED, under the scheme's label. */
  parametersUsed?(definition: DestinationDefinition): { label: string; names: readonly string[] };
  /** URL templates of its own requests (a token URL): `plan` lists their hosts among the sync's egress. */
  urlTemplates?(definition: DestinationDefinition): Array<{ source: string; name: string }>;
  /**
   * Prepares for a sync: reads and checks its settings, makes what lives as long as the loaded sync
   * (keys, a token source). Undefined when there is nothing to do (no signing key given). Throws
   * AuthSettingsError. Called once per loaded sync for delivery (a reload makes new syncs), each time for a preview.
   */
  prepare(sync: AuthSync, mode: AuthMode): RequestAuth | undefined;
}
