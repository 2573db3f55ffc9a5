// Rendering the HTTP request for one event or a batch: URL, headers and body from their templates.
import type { CompiledTemplate } from './template.js';
import { RenderError } from './template.js';
import { encodeHeaderText } from './header-values.js';
import { SecretTracker } from './secret-tracker.js';
import type { ConstantRenders } from './constant-renders.js';
import type { RenderContext } from './context.js';
import { jsonSyntaxError } from '../json/index.js';
import type { Method } from '../../schema/generated/destination.js';

export interface RenderedRequest {
  method: Method;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A request's templates, compiled once per loaded destination (one set for track, one for identify). */
export interface RequestTemplates {
  method: Method;
  url: CompiledTemplate;
  headers: ReadonlyArray<readonly [name: string, value: CompiledTemplate]>;
  body: CompiledTemplate;
  contentType: string;
  idempotencyHeader?: string;
}

export interface RenderOptions {
  /** The idempotency header's value, already in its header form (headerId of the insert_id or the batch's key). */
  idempotencyKey?: string;
  /** Extra headers the daemon adds (traceparent); they never override the destination's own. */
  extraHeaders?: Record<string, string>;
  /** Outputs of the templates that read only `parameters`, kept while the parameters stay the same (a loaded sync's). */
  constants?: ConstantRenders;
}

export function renderRequest(templates: RequestTemplates, context: RenderContext, options: RenderOptions = {}): RenderedRequest {
  const constants = options.constants;
  const render = (template: CompiledTemplate): string => (constants ? constants.render(template, context) : template.render(context));
  const url = checkedUrl(templates.url, render(templates.url).trim());
  const headers: Record<string, string> = { 'content-type': templates.contentType };
  if (options.extraHeaders) Object.assign(headers, options.extraHeaders);
  if (templates.idempotencyHeader && options.idempotencyKey) headers[headerKey(templates.idempotencyHeader)] = options.idempotencyKey;
  for (const [name, value] of templates.headers) {
    const rendered = render(value).trim();
    // A header that renders to nothing is left out: that is how a template makes a header optional.
    if (rendered === '') continue;
    // Event data may hold any character (a line break too): it is made visible ASCII. A value from
    // parameters alone is the operator's, sent as rendered; the sender refuses it if HTTP cannot carry it.
    headers[headerKey(name)] = value.readsOnlyParameters ? rendered : encodeHeaderText(rendered);
  }
  const body = render(templates.body);
  if (isJsonContentType(templates.contentType) && !templates.body.jsonByConstruction) checkJson(templates.body, context, body);
  return { method: templates.method, url, headers, body };
}

/**
 * Header names as sent, lower case, made once per name: a new string per request also had to be
 * looked up in V8's string table each time it was used as a key.
 */
const headerKeys = new Map<string, string>();

function headerKey(name: string): string {
  let key = headerKeys.get(name);
  if (key === undefined) {
    key = name.toLowerCase();
    headerKeys.set(name, key);
  }
  return key;
}

/**
 * Whether a body of this content type is JSON: application/json, any +json type, and AWS's JSON
 * protocol types (application/x-amz-json-1.0 and 1.1, Kinesis and Firehose), which name JSON without a / or + before it.
 */
export function isJsonContentType(contentType: string): boolean {
  return /[/+]json\b|\/x-amz-json-1\.[01]\b/i.test(contentType);
}


/** The last URL each URL template rendered, and its serialisation: most render the same URL every time. */
const checkedUrls = new WeakMap<CompiledTemplate, { rendered: string; href: string }>();

/**
 * A path segment that is a dot segment, as WHATWG reads one: `.` or `..`, either dot written as `%2e`,
 * between slashes or backslashes. `urlencode` leaves dots alone, and the parser would remove such a
 * segment with the one before it, so a value `..` would move the request up a level.
 */
/** C0 controls and DEL. */
const CONTROL = /[\u0000-\u001f\u007f]/;

const DOT_SEGMENT = /[/\\]((?:\.|%2e){1,2})(?=[/\\]|$)/i;

/**
 * Checks a rendered URL with the one parser (WHATWG URL) and returns its serialisation, which is what
 * is sent: a string that two parsers could read differently (`http://a\@b/x`) is sent as it was checked.
 */
function checkedUrl(template: CompiledTemplate, url: string): string {
  const cached = checkedUrls.get(template);
  if (cached?.rendered === url) return cached.href;
  const name = template.name;
  // The WHATWG parser drops tabs and line breaks anywhere and C0 controls at the ends before it reads
  // a URL, so "/..\u0001" or "/.\t./" would be a dot segment the check below cannot see (found by the
  // fuzzer). No URL needs a control character: one is refused, named by its code only.
  const control = CONTROL.exec(url);
  if (control) {
    throw new RenderError(name, undefined, undefined, `rendered URL holds a control character (U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}): a URL template writes none`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RenderError(name, undefined, undefined, `rendered URL is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new RenderError(name, undefined, undefined, `rendered URL must be http or https: ${JSON.stringify(url)}`);
  }
  const end = url.search(/[?#]/);
  const dots = DOT_SEGMENT.exec(end === -1 ? url : url.slice(0, end));
  if (dots) {
    // Only the segment is named: the rest of the URL may hold a secret.
    throw new RenderError(name, undefined, undefined, `rendered URL has a dot segment ${JSON.stringify(dots[1])} in its path: a value in a path segment cannot be "." or ".."`);
  }
  const href = parsed.href;
  checkedUrls.set(template, { rendered: url, href });
  return href;
}

/**
 * A body that does not parse is a render error naming the template, the place in the template
 * that wrote the offending text (found by rendering once more with places recorded: only on this
 * failure path) and the place in its output.
 */
function checkJson(template: CompiledTemplate, context: RenderContext, body: string): void {
  const name = template.name;
  try {
    JSON.parse(body);
  } catch (error) {
    const syntax = jsonSyntaxError(body);
    const at = syntax && template.placeOfOutput(context, syntax.offset);
    const where = syntax
      ? ` at output line ${syntax.place.line}, column ${syntax.place.column} (${syntax.message}): ${JSON.stringify(
          // Redacted before it is cut: a cut through a secret would leave most of it unrecognised.
          SecretTracker.redactActive((body.split('\n')[syntax.place.line - 1] ?? '').trim()).slice(0, 120),
        )}`
      : ` (${(error as Error).message})`;
    throw new RenderError(name, at?.line, at?.column, `rendered body is not valid JSON${where}`);
  }
}
