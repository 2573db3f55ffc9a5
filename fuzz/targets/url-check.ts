// A URL template as an author can write it, through the static URL check (validate's
// checkUrlTemplate: event data only after the host, only through `| urlencode`), and, when the check
// approves it, rendered for a hostile event the way the daemon renders a request (renderRequest's
// URL check) and matched against the egress allow-list. Input: the URL template, optionally
// followed by a NUL byte and the event's JSON text.
// Findings: anything thrown by the check, or by a render but RenderError; for an approved template,
// a request whose origin is not the one its parameters alone give, that the egress allow-list of
// that origin refuses, whose path the URL parser shortened (a dot segment that got through), or in
// whose path or query a "/", "\", "?" or "#" was written by an expression that reads event data.
// Regex literals are left out, as in the template target.
import { decodeEvent, type AmplitudeEvent } from '../../daemon/events/index.js';
import {
  compileTemplate,
  parseTemplate,
  RenderError,
  renderRequest,
  TemplateSyntaxError,
  variablesBeyondParameters,
  walkTemplate,
  type AstNode,
  type CompiledTemplate,
  type RequestTemplates,
} from '../../daemon/render/index.js';
import { checkUrlTemplate, urlOriginSource } from '../../daemon/registry/index.js';
import { egressAllowList } from '../../daemon/send/index.js';
import { check, describeError, shown, splitAtNul, type FuzzTargetInfo } from '../fuzz-target.js';

const REGEX_LITERAL = 'r/';
const STRUCTURAL = /[/\\?#]/g;
/** Structural characters looked at per render (each costs a render with its writes recorded). */
const MAX_STRUCTURAL = 24;
/** The lexer options compileTemplate parses with, so node places match the compiled template's. */
const COMPILE_OPTIONS = { autoescape: false, throwOnUndefined: true, trimBlocks: true, lstripBlocks: true };

export const info: FuzzTargetInfo = {
  summary: 'URL template [\\0 event JSON] → checkUrlTemplate; approved ones rendered: origin, egress, dot segments, event data writing / \\ ? #',
  maxLen: 1_024,
  dictionary: [
    '{{', '}}', '{%', '%}', '|', '~', '(', ')', '"', "'", ' if ', ' else ', ' or ', ' and ', 'for ', 'endfor', 'if ', 'endif', 'set ', 'endset', 'macro ', 'endmacro', 'filter ',
    'endfilter', 'call ', 'endcall', 'caller()', 'loop.index', 'urlencode', 'replace', 'lower', 'join', 'first', 'default', 'trim', 'string', 'json',
    'parameters.endpoint', 'parameters.host', 'parameters.port', 'parameters.site_id', 'mappedFields.id', 'input.user_id', 'input.event_type', 'input.event_properties.path',
    'https://', 'http://', 'http:\\\\', '://', '/', '\\', '?', '#', '@', ':', '.', '..', '%2e', '%2E', '%', '\t', '\n', ' ',
  ],
  // As in the template target: a template compiles to a Function holding its literal text.
  disableBugDetectors: ['remote-code-execution'],
};

const PARAMETERS = { endpoint: 'https://api.example.com/v1', host: 'api.example.com', port: '8443', site_id: 'site-1' };
const HOSTILE = decodeOrThrow('{"event_type":"a/../b?c#d","user_id":"../..\\\\x/%2e%2e?#@evil.example","insert_id":"i","event_properties":{"path":["..",".","a/b","%2e"],"n":-1}}');
const EMPTY_BODY = compileTemplate('{}', 'body');

export function fuzz(data: Buffer): void {
  const [sourceBytes, eventBytes] = splitAtNul(data);
  const source = sourceBytes.toString('utf8');
  if (source.includes(REGEX_LITERAL)) return;
  let template: CompiledTemplate;
  try {
    template = compileTemplate(source, 'url');
  } catch (error) {
    check(error instanceof TemplateSyntaxError, () => `compile threw ${describeError(error)}`);
    return;
  }
  let problems: ReturnType<typeof checkUrlTemplate>;
  let originSource: string;
  try {
    problems = checkUrlTemplate(source);
    originSource = urlOriginSource(source);
  } catch (error) {
    check(false, () => `the URL check threw ${describeError(error)}`);
    return;
  }
  for (const problem of problems) check(problem.line >= 1 && problem.column >= 1 && problem.message.length > 0, () => `a problem without a place: ${shown(problem)}`);
  if (problems.length > 0) return;
  const origin = originOf(originSource);
  if (origin === undefined) return;
  const decoded = eventBytes && decodeEvent(eventBytes, 1_048_576);
  const event = decoded?.ok ? decoded.event : HOSTILE;
  const context = { input: event, parameters: PARAMETERS, mappedFields: { id: event.user_id ?? event.device_id }, mappedProperties: {} };
  const templates: RequestTemplates = { method: 'POST', url: template, headers: [], body: EMPTY_BODY, contentType: 'application/json' };
  let url: string;
  try {
    url = renderRequest(templates, context).url;
  } catch (error) {
    check(error instanceof RenderError, () => `render threw ${describeError(error)}`);
    return;
  }
  const parsed = new URL(url);
  check(parsed.origin === origin, () => `approved ${shown(source)} sends to ${parsed.origin}, but its parameters give ${origin}: ${url}`);
  const allowed = allowListOf(origin);
  if (allowed) check(allowed(parsed), () => `the egress allow-list of its own origin ${origin} refuses ${url}`);
  const raw = template.render(context);
  check(rawSegments(raw) === parsed.pathname.split('/').length, () => `the URL parser shortened the path of ${shown(raw.trim())} to ${parsed.pathname}`);
  structureFromTemplate(template, source, context, raw);
}

/** Origins by origin source: most inputs share theirs with an earlier one (a compile is most of an input's cost). */
const origins = new Map<string, string | undefined>();

/** The origin the template's parameters alone give, or undefined when they give no URL. */
function originOf(originSource: string): string | undefined {
  if (origins.has(originSource)) return origins.get(originSource);
  if (origins.size >= 1_000) origins.clear();
  const origin = renderOrigin(originSource);
  origins.set(originSource, origin);
  return origin;
}

function renderOrigin(originSource: string): string | undefined {
  try {
    const text = compileTemplate(originSource, 'origin').render({ parameters: PARAMETERS }).trim();
    const origin = new URL(text).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/** The operator's allow-list naming exactly this origin's host and port, when a pattern can name it. */
function allowListOf(origin: string): ((url: URL) => boolean) | undefined {
  const { hostname, port } = new URL(origin);
  try {
    return egressAllowList([port ? `${hostname}:${port}` : hostname]);
  } catch {
    return undefined;
  }
}

/** Where the host ends in a URL string, as WHATWG reads a special scheme: after "scheme:" and any slashes. */
function hostEnd(url: string): number {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:[/\\]*/.exec(url);
  const from = scheme ? scheme[0].length : 0;
  const end = url.slice(from).search(/[/\\?#]/);
  return end === -1 ? url.length : from + end;
}

/**
 * Path segments as written (split at "/" and "\"), before the query, after what the WHATWG parser
 * does first: drop leading and trailing C0 controls and spaces, and every tab, CR and LF.
 */
function rawSegments(written: string): number {
  const url = written.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '');
  const start = hostEnd(url);
  const query = url.slice(start).search(/[?#]/);
  const path = query === -1 ? url.slice(start) : url.slice(start, start + query);
  return path === '' ? 2 : path.split(/[/\\]/).length;
}

/**
 * Each "/", "\", "?" and "#" after the host must come from the template's own text or from an
 * expression that reads only parameters: found by rendering again with each write's place recorded.
 */
function structureFromTemplate(template: CompiledTemplate, source: string, context: object, raw: string): void {
  const lines = source.split('\n');
  const expressions = new Map<string, AstNode>();
  walkTemplate(parseTemplate(source, COMPILE_OPTIONS), (node, parent) => {
    if (parent?.typename === 'Output' && node.typename !== 'TemplateData') expressions.set(`${node.lineno + 1}:${node.colno + 1}`, node);
  });
  const start = raw.length - raw.trimStart().length;
  const from = start + hostEnd(raw.trim());
  let looked = 0;
  for (const match of raw.matchAll(STRUCTURAL)) {
    if (match.index < from) continue;
    if (++looked > MAX_STRUCTURAL) break;
    const place = template.placeOfOutput(context, match.index);
    if (!place || lines[place.line - 1]?.[place.column - 1] === match[0]) continue;
    const expression = expressions.get(`${place.line}:${place.column}`);
    if (!expression) continue;
    const reads = variablesBeyondParameters(expression);
    check(reads.length === 0, () => `"${match[0]}" at ${match.index} of ${shown(raw)} was written by an expression reading ${reads.map((read) => read.name).join(', ')} (line ${place.line}, column ${place.column}) in approved ${shown(source)}`);
  }
}

function decodeOrThrow(text: string): AmplitudeEvent {
  const decoded = decodeEvent(Buffer.from(text), 1_048_576);
  if (!decoded.ok) throw new Error(`the target's own event does not decode: ${decoded.message}`);
  return decoded.event;
}
