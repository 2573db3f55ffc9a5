// Rendering the HTTP request for one event or a batch: URL, headers and body from their templates.
import type { CompiledTemplate } from './template.js';
import { RenderError } from './template.js';
import { SecretTracker } from './secret-tracker.js';
import type { RenderContext } from './context.js';
import { jsonSyntaxError } from '../json/index.js';

export type HttpMethod = 'PUT' | 'POST' | 'PATCH';

export interface RenderedRequest {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A request's templates, compiled once per loaded destination (one set for track, one for identify). */
export interface RequestTemplates {
  method: HttpMethod;
  url: CompiledTemplate;
  headers: ReadonlyArray<readonly [name: string, value: CompiledTemplate]>;
  body: CompiledTemplate;
  contentType: string;
  idempotencyHeader?: string;
}

export interface RenderOptions {
  /** insert_id of the event (or a key for the batch), sent in the idempotency header. */
  idempotencyKey?: string;
  /** Extra headers the daemon adds (traceparent); they never override the destination's own. */
  extraHeaders?: Record<string, string>;
}

export function renderRequest(templates: RequestTemplates, context: RenderContext, options: RenderOptions = {}): RenderedRequest {
  const url = templates.url.render(context).trim();
  checkUrl(templates.url, url);
  const headers: Record<string, string> = { 'content-type': templates.contentType };
  if (options.extraHeaders) Object.assign(headers, options.extraHeaders);
  if (templates.idempotencyHeader && options.idempotencyKey) headers[templates.idempotencyHeader.toLowerCase()] = options.idempotencyKey;
  for (const [name, value] of templates.headers) {
    const rendered = value.render(context).trim();
    if (/[\r\n]/.test(rendered)) throw new RenderError(value.name, undefined, undefined, `header ${name} renders a line break`);
    // A header that renders to nothing is left out: that is how a template makes a header optional.
    if (rendered === '') continue;
    headers[name.toLowerCase()] = rendered;
  }
  const body = templates.body.render(context);
  if (isJson(templates.contentType)) checkJson(templates.body.name, body);
  return { method: templates.method, url, headers, body };
}

function isJson(contentType: string): boolean {
  return /[/+]json\b/i.test(contentType);
}

/** The last URL each URL template rendered that passed the check: most render the same URL every time. */
const checkedUrls = new WeakMap<CompiledTemplate, string>();

function checkUrl(template: CompiledTemplate, url: string): void {
  if (checkedUrls.get(template) === url) return;
  const name = template.name;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RenderError(name, undefined, undefined, `rendered URL is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new RenderError(name, undefined, undefined, `rendered URL must be http or https: ${JSON.stringify(url)}`);
  }
  checkedUrls.set(template, url);
}

/** A body that does not parse is a render error naming the template and the place in its output. */
function checkJson(name: string, body: string): void {
  try {
    JSON.parse(body);
  } catch (error) {
    const syntax = jsonSyntaxError(body);
    const where = syntax
      ? ` at output line ${syntax.place.line}, column ${syntax.place.column} (${syntax.message}): ${JSON.stringify(
          // Redacted before it is cut: a cut through a secret would leave most of it unrecognised.
          SecretTracker.redactActive((body.split('\n')[syntax.place.line - 1] ?? '').trim()).slice(0, 120),
        )}`
      : ` (${(error as Error).message})`;
    throw new RenderError(name, undefined, undefined, `rendered body is not valid JSON${where}`);
  }
}
