// Where a sync's requests go, for `status`: the host (and port, when not the scheme's default) of its
// URL templates, rendered from its parameters alone. validate guarantees that event data cannot
// change them (url-template-check.ts), so they are the same for every event.
import { authUrlTemplates } from '../auth/index.js';
import { compileTemplate, type CompiledTemplate } from '../render/index.js';
import type { LoadedSync } from './types.js';
import { urlOriginSource } from './url-template-check.js';

const cache = new WeakMap<LoadedSync, string[]>();

/**
 * The hosts a sync reaches, `host` or `host:port`, without duplicates: its track URL, and its identify
 * URL when it forwards identify events. A URL whose host cannot be rendered (an unresolved secret)
 * is left out. Only hosts: never a path, query or credentials, whatever parameter they come from.
 */
export function syncEgressHosts(sync: LoadedSync): string[] {
  const cached = cache.get(sync);
  if (cached) return cached;
  const templates = [sync.destination.track.url];
  if (sync.identifyForwarding && sync.destination.identify) templates.push(sync.destination.identify.url);
  const hosts = new Set<string>();
  for (const template of templates) {
    const host = hostOf(template, sync.parameters.values);
    if (host !== undefined) hosts.add(host);
  }
  const result = [...hosts];
  cache.set(sync, result);
  return result;
}

/**
 * For `plan`: every place a sync's requests and token requests go, as `host[:port]`, rendered with
 * `parameters` (a preview's values: a secret is <secret:NAME>). A host that does not render to a
 * URL (it uses a secret that is a placeholder here) is given as its rendered origin text instead, so
 * the reviewer still sees which parameter decides it.
 */
export function syncEgress(sync: LoadedSync, parameters: Record<string, unknown>): string[] {
  const templates: CompiledTemplate[] = [sync.destination.track.url];
  if (sync.identifyForwarding && sync.destination.identify) templates.push(sync.destination.identify.url);
  const hosts = new Set<string>();
  for (const template of templates) hosts.add(hostOf(template, parameters) ?? originText(template.source, template.name, parameters));
  // The auth schemes' own requests (oauth's token URL).
  for (const { source, name } of authUrlTemplates(sync.destination.definition)) {
    try {
      hosts.add(hostOf(compileTemplate(source, name), parameters) ?? originText(source, name, parameters));
    } catch {
      // does not compile: the loader rejected the folder already
    }
  }
  return [...hosts].filter((host) => host !== '');
}

function originText(source: string, name: string, parameters: Record<string, unknown>): string {
  try {
    return compileTemplate(urlOriginSource(source), `${name} (host)`).render({ parameters }).trim();
  } catch {
    return '';
  }
}

function hostOf(template: CompiledTemplate, parameters: Record<string, unknown>): string | undefined {
  try {
    const origin = compileTemplate(urlOriginSource(template.source), `${template.name} (host)`).render({ parameters }).trim();
    return new URL(origin).host || undefined;
  } catch {
    return undefined;
  }
}
