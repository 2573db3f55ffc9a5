// A template as a pull request author can write it (templates are data: CI's validate compiles
// untrusted ones), compiled with its static check and rendered against a hostile event.
// Input: the template source, optionally followed by a NUL byte and the event's JSON text.
// Findings: compile throwing anything but TemplateSyntaxError (its subclasses included), render
// anything but RenderError (a template the static check refuses is also rendered without it: the
// run-time guard must hold alone); a planted canary (environment, global object) or a built-in function's
// source in the output or an error message; an output over the render budget; the event changed
// by a render; a template said to read only `parameters` rendering differently for another event;
// a template said to be JSON by construction rendering text that is not JSON. Hangs: the fuzzer's
// -timeout. Regex literals (`r/…/`) are left out: `replace` with a regex literal is a known hang
// (catastrophic backtracking) being fixed in bounded-filters.ts, and it would swamp other findings.
import { decodeEvent, type AmplitudeEvent } from '../../daemon/events/index.js';
import { FORBIDDEN_NAMES } from '../../daemon/render/data-guard.js';
import { BOUNDED_FILTERS, TEMPLATE_TESTS } from '../../daemon/render/bounded-filters.js';
import { compileTemplate, RenderError, TemplateMistakeError, TemplateSyntaxError, TemplateUnsafeError, type CompiledTemplate } from '../../daemon/render/index.js';
import { compileTemplateWithoutStaticCheck } from '../../daemon/render/template.js';
import { DEFAULT_RENDER_LIMITS } from '../../daemon/render/render-budget.js';
import { TEMPLATE_GLOBALS } from '../../daemon/render/template-globals.js';
import { CANARY_ENV, CANARY_GLOBAL, leakIn } from '../canaries.js';
import { check, describeError, shown, splitAtNul, type FuzzTargetInfo } from '../fuzz-target.js';

/** nunjucks reads `r/` in an expression as the start of a regex literal. */
const REGEX_LITERAL = 'r/';

export const info: FuzzTargetInfo = {
  summary: 'template source [\\0 event JSON] → compileTemplate (static check), render: error classes, canaries, budget, readsOnlyParameters, jsonByConstruction (no regex literals)',
  maxLen: 2_048,
  dictionary: [
    '{{', '}}', '{%', '%}', '{#', '#}', '{%-', '-%}', '|', '~', '(', ')', '[', ']', '.', ',', '=', '==', '!=', ' if ', ' else ', ' and ', ' or ', ' not ', ' in ', ' is ',
    'for ', 'endfor', 'if ', 'elif ', 'endif', 'set ', 'endset', 'macro ', 'endmacro', 'call ', 'endcall', 'caller()', 'filter ', 'endfilter', 'raw', 'endraw',
    'include ', 'import ', 'from ', 'extends ', 'block ', 'endblock', 'super()', 'loop.index', 'loop.last', 'none', 'true', 'false', '"', "'", '1000000',
    'input', 'input.event_type', 'input.event_properties', 'input.user_properties', 'parameters', 'parameters.api_key', 'mappedFields', 'mappedProperties', 'events',
    CANARY_GLOBAL, 'process', 'process.env', CANARY_ENV, 'globalThis', 'this', 'toString', 'valueOf', 'call', 'apply', 'bind', 'length',
    ...Object.keys(BOUNDED_FILTERS), ...Object.keys(TEMPLATE_TESTS), ...Object.keys(TEMPLATE_GLOBALS), ...FORBIDDEN_NAMES,
  ],
  // Its detector reports any Function() whose code holds "jaz_zer"; a template compiles to a Function
  // with its literal text in it, so that would be every template with the word. Escapes are caught
  // here by the canaries instead.
  disableBugDetectors: ['remote-code-execution'],
};

const HOSTILE = decodeOrThrow(
  '{"event_type":"purchase","user_id":"u-1","insert_id":"i-1","time":1700000000000,"__proto__":{"polluted":1},' +
    '"event_properties":{"price":5,"tags":["a","b"],"nested":{"constructor":"c","toString":"t"},"quote":"\\"}{","big":12345678901234567890,"list":[[1,[2]],{}]},' +
    '"user_properties":{"$set":{"email":"a@b.c"},"valueOf":1}}',
);
const OTHER: AmplitudeEvent = { event_type: 'other', user_id: 'u-2', event_properties: { price: 7 } };
const PARAMETERS = { endpoint: 'https://api.example.com/v1', api_key: 'key-123', app_id: 'app' };
const MAX_OUTPUT = DEFAULT_RENDER_LIMITS.maxOutputBytes;
/** render-budget.ts's message for a render stopped at its deadline. */
const DEADLINE = /the render took longer than/;

export function fuzz(data: Buffer): void {
  const [sourceBytes, eventBytes] = splitAtNul(data);
  const source = sourceBytes.toString('utf8');
  if (source.includes(REGEX_LITERAL)) return;
  const decoded = eventBytes && decodeEvent(eventBytes, 1_048_576);
  const event = decoded?.ok ? decoded.event : HOSTILE;
  const inputText = `${source}\n${eventBytes?.toString('utf8') ?? ''}`;
  let template: CompiledTemplate;
  try {
    template = compileTemplate(source, 'body.njk');
  } catch (error) {
    check(error instanceof TemplateSyntaxError, () => `compile threw ${describeError(error)}`);
    noLeak(error.message, inputText, 'a compile error');
    // Refused by the static check: the run-time guard must hold on its own too (defence in depth).
    if (error instanceof TemplateUnsafeError || error instanceof TemplateMistakeError) guardAlone(source, event, inputText);
    return;
  }
  const before = snapshot(event);
  const first = render(template, contextOf(event), inputText);
  check(snapshot(event) === before, 'the render changed the event');
  if (template.readsOnlyParameters) {
    const second = render(template, contextOf(OTHER), inputText);
    // The deadline is wall-clock time: on a busy machine one of two renders can pass it and the other not.
    const timed = [first, second].some((result) => result.failed && DEADLINE.test(result.output));
    check(timed || (first.output === second.output && first.failed === second.failed), () => `reads only parameters, but renders ${shown(first)} for one event and ${shown(second)} for another`);
  }
  if (template.jsonByConstruction && !first.failed) {
    try {
      JSON.parse(first.output);
    } catch (error) {
      check(false, () => `JSON by construction, but rendered text that is not JSON (${(error as Error).message}): ${shown(first.output)}`);
    }
  }
}

function guardAlone(source: string, event: AmplitudeEvent, inputText: string): void {
  let template: CompiledTemplate;
  try {
    template = compileTemplateWithoutStaticCheck(source, 'body.njk');
  } catch (error) {
    check(error instanceof TemplateSyntaxError, () => `compile without the static check threw ${describeError(error)}`);
    return;
  }
  render(template, contextOf(event), inputText);
}

function contextOf(event: AmplitudeEvent): object {
  const properties = (event.event_properties ?? {}) as Record<string, unknown>;
  return {
    input: event,
    parameters: PARAMETERS,
    mappedProperties: { price: properties.price, tags: properties.tags, nested: properties.nested },
    mappedFields: { external_id: event.user_id, email: (event.user_properties as { $set?: { email?: unknown } } | undefined)?.$set?.email },
  };
}

function render(template: CompiledTemplate, context: object, inputText: string): { output: string; failed: boolean } {
  try {
    const output = template.render(context);
    check(output.length <= MAX_OUTPUT, `output of ${output.length} characters`);
    noLeak(output, inputText, 'the output');
    return { output, failed: false };
  } catch (error) {
    if (error instanceof Error && error.name === 'FuzzFinding') throw error;
    check(error instanceof RenderError, () => `render threw ${describeError(error)}`);
    noLeak(error.message, inputText, 'a render error');
    return { output: error.message, failed: true };
  }
}

function noLeak(text: string, inputText: string, where: string): void {
  const leaked = leakIn(text, inputText);
  check(leaked === undefined, () => `${where} holds ${shown(leaked)}: ${shown(text)}`);
}


/** The event as text, bigints included: equal before and after a render unless something wrote to it. */
function snapshot(event: AmplitudeEvent): string {
  return shown(event, Number.POSITIVE_INFINITY);
}

function decodeOrThrow(text: string): AmplitudeEvent {
  const decoded = decodeEvent(Buffer.from(text), 1_048_576);
  if (!decoded.ok) throw new Error(`the target's own event does not decode: ${decoded.message}`);
  return decoded.event;
}
