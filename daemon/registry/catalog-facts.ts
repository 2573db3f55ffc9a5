// What the catalog says of a destination (issue 26): its category, the limits destination.json
// declares, how its requests authenticate, which hashing filters its templates use, and the vendor's
// reference. `destinations catalog` and the console's catalog both show this, from this one function:
// every fact is derived from the definition and its templates, none is a field kept by hand.
import type { DestinationDefinition } from '../../schema/generated/destination.js';
import { authSchemes } from '../auth/index.js';
import { HASHING_FILTERS, parseTemplate, walkTemplate, type AstNode } from '../render/index.js';
import type { LoadedDestination } from './types.js';

export interface CatalogLimits {
  batch?: { maxEvents: number; maxBytes?: number; maxWaitMs?: number };
  rate?: { requests: number; periodSeconds: number };
  maxConcurrency?: number;
  maxEventBytes?: number;
  maxIdentifierBytes?: number;
}

export interface CatalogFacts {
  slug: string;
  name: string;
  category: string;
  summary: string;
  /** Whether identify events have a request of their own. */
  identify: boolean;
  limits: CatalogLimits;
  /**
   * How the requests authenticate, derived: each auth scheme the folder declares (by the scheme's
   * name: "oauth2", "standard-webhooks", …), else from where a secret parameter goes: "bearer" or
   * "basic" (an Authorization template of that scheme), "header NAME", "query NAME", "url" (a secret
   * in the URL's path, Slack's webhooks). ["none"] when no secret is sent.
   */
  auth: string[];
  /** The hashing filters (HASHING_FILTERS) the folder's templates use, in that list's order. */
  hashing: string[];
  vendor?: { reference: string; read: string };
}

/** Facts are derived once per loaded destination (a reload makes new ones): the console asks on every poll. */
const derived = new WeakMap<LoadedDestination, CatalogFacts>();

export function catalogFacts(destination: LoadedDestination): CatalogFacts {
  let facts = derived.get(destination);
  if (facts === undefined) derived.set(destination, (facts = deriveFacts(destination)));
  return facts;
}

/** The declared limits in a few words: "batch 1000, 600 requests/60 s, 1 at a time". */
export function limitsText(limits: CatalogLimits): string {
  const parts: string[] = [];
  if (limits.batch) parts.push(`batch ${limits.batch.maxEvents}${limits.batch.maxBytes !== undefined ? ` (${limits.batch.maxBytes} bytes)` : ''}`);
  if (limits.rate) parts.push(`${limits.rate.requests} requests/${limits.rate.periodSeconds} s`);
  if (limits.maxConcurrency !== undefined) parts.push(`${limits.maxConcurrency} at a time`);
  if (limits.maxEventBytes !== undefined) parts.push(`events ≤ ${limits.maxEventBytes} bytes`);
  if (limits.maxIdentifierBytes !== undefined) parts.push(`ids ≤ ${limits.maxIdentifierBytes} bytes`);
  return parts.join(', ') || '–';
}

function deriveFacts(destination: LoadedDestination): CatalogFacts {
  const definition = destination.definition;
  return {
    slug: destination.slug,
    name: definition.name,
    category: definition.category,
    summary: definition.summary,
    identify: definition.identify !== undefined,
    limits: limitsOf(definition),
    auth: authKinds(definition),
    hashing: hashingOf(destination),
    vendor: definition.vendor && { reference: definition.vendor.reference, read: definition.vendor.read },
  };
}

function limitsOf(definition: DestinationDefinition): CatalogLimits {
  const limits: CatalogLimits = {};
  if (definition.batch) limits.batch = { maxEvents: definition.batch.maxEvents, maxBytes: definition.batch.maxBytes, maxWaitMs: definition.batch.maxWaitMs };
  const declared = definition.limits;
  if (declared?.rate) limits.rate = { requests: declared.rate.requests, periodSeconds: declared.rate.periodSeconds };
  if (declared?.maxConcurrency !== undefined) limits.maxConcurrency = declared.maxConcurrency;
  if (declared?.maxEventBytes !== undefined) limits.maxEventBytes = declared.maxEventBytes;
  if (declared?.maxIdentifierBytes !== undefined) limits.maxIdentifierBytes = declared.maxIdentifierBytes;
  return JSON.parse(JSON.stringify(limits)) as CatalogLimits; // without the undefined entries
}

/** `parameters.NAME` and `parameters["NAME"]` in a template's text. */
const PARAMETER = /parameters\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([^"']+)["']\s*\])/g;

function readsOneOf(source: string, names: ReadonlySet<string>): boolean {
  for (const match of source.matchAll(PARAMETER)) if (names.has(match[1] ?? match[2])) return true;
  return false;
}

function authKinds(definition: DestinationDefinition): string[] {
  const kinds = new Set<string>();
  for (const scheme of authSchemes()) if (scheme.uses(definition)) kinds.add(scheme.name);
  const secrets = new Set((definition.parameters ?? []).filter((parameter) => parameter.secret).map((parameter) => parameter.name));
  for (const request of [definition.request, definition.identify]) {
    if (!request) continue;
    for (const [name, source] of Object.entries(request.headers ?? {}) as Array<[string, string]>) {
      if (!readsOneOf(source, secrets)) continue;
      const header = name.toLowerCase();
      const scheme = /^\s*(Bearer|Basic)\s/i.exec(source)?.[1].toLowerCase();
      kinds.add(header === 'authorization' && scheme ? scheme : `header ${header}`);
    }
    if (request.url === undefined) continue;
    const [path, ...rest] = request.url.split('?');
    if (readsOneOf(path, secrets)) kinds.add('url');
    for (const pair of rest.join('?').split('&')) {
      const at = pair.indexOf('=');
      if (at > 0 && readsOneOf(pair.slice(at + 1), secrets)) kinds.add(`query ${pair.slice(0, at)}`);
    }
  }
  return kinds.size > 0 ? [...kinds] : ['none'];
}

function hashingOf(destination: LoadedDestination): string[] {
  const used = new Set<string>();
  const templates = [destination.track, destination.identify].flatMap((request) => (request ? [request.url, request.body, ...request.headers.map(([, value]) => value)] : []));
  for (const template of templates) {
    walkTemplate(parseTemplate(template.source), (node: AstNode) => {
      if (node.typename === 'Filter' && (node.name as AstNode | undefined)?.typename === 'Symbol') used.add(String((node.name as AstNode).value));
    });
  }
  return HASHING_FILTERS.filter((name) => used.has(name));
}
