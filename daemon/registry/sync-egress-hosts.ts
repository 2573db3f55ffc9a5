// Where a sync's requests go, for `status`: the host (and port, when not the scheme's default) of its
// URL templates, rendered from its parameters alone. validate guarantees that event data cannot
// change them (url-template-check.ts), so they are the same for every event.
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

function hostOf(template: CompiledTemplate, parameters: Record<string, unknown>): string | undefined {
  try {
    const origin = compileTemplate(urlOriginSource(template.source), `${template.name} (host)`).render({ parameters }).trim();
    return new URL(origin).host || undefined;
  } catch {
    return undefined;
  }
}
