// A hostile event through every sync of the shipped catalog, as the daemon renders it: the sync's
// filter, the event's context (selected properties, field mappings) and renderForSync (URL, headers,
// body, signature). Input: the event's bytes, as published.
// Findings: anything thrown but the documented RenderError, RequestNotPossibleError and
// EventContextError; a request whose origin is not the one the sync's parameters give, or whose
// path has other fixed segments than an ordinary event's (the event moved it); a header value with
// a line break or NUL (but the insert_id, carried as it is), or a header an ordinary event does not get; a JSON body that is not JSON; a
// planted canary, another sync's secret, or one of the sync's own secrets in a part of the request
// that an ordinary event's request does not have it in; a secret in any form in an error message.
import { decodeEvent, type AmplitudeEvent } from '../../daemon/events/index.js';
import { compileTemplate, EventContextError, RenderError, buildEventContext, type RenderedRequest } from '../../daemon/render/index.js';
import { RENDER_FOR_DELIVERY, renderForSync, requestKindOf, RequestNotPossibleError, templatesFor, urlOriginSource, type LoadedSync, type RequestKind } from '../../daemon/registry/index.js';
import { secretForms } from '../../daemon/secrets/index.js';
import { WEBHOOK_HEADERS } from '../../daemon/signing/index.js';
import { leakIn } from '../canaries.js';
import { catalogSyncs } from '../catalog.js';
import { check, describeError, shown, type FuzzTargetInfo } from '../fuzz-target.js';

export const info: FuzzTargetInfo = {
  summary: 'event bytes → every catalog sync: filter, context, renderForSync: origin, path, headers, JSON body, secrets, canaries',
  maxLen: 4_096,
  dictionary: [
    '{"event_type":"purchase","user_id":"u","insert_id":"i","time":1}', '"$identify"', '"event_type":', '"user_id":', '"device_id":', '"insert_id":', '"time":',
    '"event_properties":', '"user_properties":', '"$set":', '"email":', '"item":', '"price":', '"quantity":', '"tags":', '"plan":', '"..":', '".."', '"."', '"%2e"',
    '"/"', '"\\\\"', '"?"', '"#"', '"@"', '"\\r\\n"', '"\\u0000"', '"\\u2028"', '"\\ud800"', '12345678901234567890', '"__proto__":', '"constructor":', '"toString":',
  ],
};

interface Expected {
  origin: string;
  /** Path segments of an ordinary event's request; undefined where two ordinary events differ (the event's own value). */
  segments: (string | undefined)[];
  headers: ReadonlySet<string>;
  /** Per part of an ordinary request (url, body, each header): which of the sync's secrets it holds. */
  secretsIn: ReadonlyMap<string, ReadonlySet<string>>;
}

const syncs = await catalogSyncs();
const allSecrets = syncs.flatMap((sync) => sync.parameters.secretValues);
const expectations = new Map<string, Expected>();
// With a device_id: GA4's shipped sync maps its required client_id from it.
const ORDINARY: AmplitudeEvent[] = [
  { event_type: 'purchase', user_id: 'user-a', device_id: 'device-a', insert_id: 'insert-a', time: 1_700_000_000_000, event_properties: { item: 'a', price: 1, quantity: 1 }, user_properties: { email: 'a@example.com' } },
  { event_type: 'purchase', user_id: 'user-b', device_id: 'device-b', insert_id: 'insert-b', time: 1_700_000_000_001, event_properties: { item: 'b', price: 2, quantity: 2 }, user_properties: { email: 'b@example.com' } },
];

export function fuzz(data: Buffer): void {
  const decoded = decodeEvent(data, 1_048_576);
  if (!decoded.ok) return;
  const event = decoded.event;
  const eventText = data.toString('utf8');
  for (const sync of syncs) {
    const kind = requestKindOf(event);
    if (kind === 'track' && !sync.filter(event)) continue;
    let request: RenderedRequest;
    try {
      templatesFor(sync, kind);
      request = renderForSync(sync, [buildEventContext(event, sync.selection)], kind, RENDER_FOR_DELIVERY);
    } catch (error) {
      check(error instanceof RenderError || error instanceof RequestNotPossibleError || error instanceof EventContextError, () => `${sync.id}: threw ${describeError(error)}`);
      for (const secret of sync.parameters.secretValues) {
        for (const form of secretForms(secret)) check(!error.message.includes(form), () => `${sync.id}: a secret in the error: ${error.message}`);
      }
      check(leakIn(error.message, eventText) === undefined, () => `${sync.id}: a canary in the error: ${error.message}`);
      continue;
    }
    checkRequest(sync, kind, event, request, expected(sync, kind), eventText);
  }
}

function checkRequest(sync: LoadedSync, kind: RequestKind, event: AmplitudeEvent, request: RenderedRequest, expected: Expected, eventText: string): void {
  const url = new URL(request.url);
  check(url.origin === expected.origin, () => `${sync.id} ${kind}: the request goes to ${url.origin}, not ${expected.origin}: ${request.url}`);
  const segments = url.pathname.split('/');
  check(
    segments.length === expected.segments.length && expected.segments.every((fixed, index) => fixed === undefined || fixed === segments[index]),
    () => `${sync.id} ${kind}: the path moved: ${url.pathname}, an ordinary event's is ${expected.segments.map((segment) => segment ?? '*').join('/')}`,
  );
  for (const [name, value] of Object.entries(request.headers)) {
    // The insert_id travels as it is (idempotency key, webhook-id); one HTTP cannot carry is refused
    // by the sender's header check and dead-lettered as invalid_request (classify.ts). Anything else
    // a header holds comes from a template, and renderRequest refuses a line break in it.
    const insertId = value === event.insert_id;
    check(insertId || !/[\r\n\0]/.test(value), () => `${sync.id} ${kind}: header ${name} holds a line break or NUL: ${shown(value)}`);
    check(expected.headers.has(name), () => `${sync.id} ${kind}: header ${name}, which an ordinary event's request does not have`);
  }
  if (/[/+]json\b/i.test(request.headers['content-type'] ?? '')) {
    try {
      JSON.parse(request.body);
    } catch (error) {
      check(false, () => `${sync.id} ${kind}: the JSON body does not parse (${(error as Error).message}): ${shown(request.body)}`);
    }
  }
  const own = new Set(sync.parameters.secretValues);
  for (const [part, text] of partsOf(request)) {
    const leaked = leakIn(text, eventText);
    check(leaked === undefined, () => `${sync.id} ${kind}: ${part} holds the canary ${leaked}`);
    for (const secret of allSecrets) {
      if (!text.includes(secret) || eventText.includes(secret)) continue;
      check(own.has(secret), () => `${sync.id} ${kind}: ${part} holds another sync's secret`);
      check(expected.secretsIn.get(part)?.has(secret) === true, () => `${sync.id} ${kind}: ${part} holds a secret that an ordinary event's ${part} does not`);
    }
  }
}

/** url, body and each header, by name. */
function partsOf(request: RenderedRequest): [string, string][] {
  return [['url', request.url], ['body', request.body], ...Object.entries(request.headers).map(([name, value]): [string, string] => [`header ${name}`, value])];
}

/** What an ordinary event's request of this sync looks like, worked out once from two of them. */
function expected(sync: LoadedSync, kind: RequestKind): Expected {
  const key = `${sync.id} ${kind}`;
  let found = expectations.get(key);
  if (found) return found;
  const templates = templatesFor(sync, kind);
  const ordinary = ORDINARY.map((event) => renderForSync(sync, [buildEventContext(kind === 'identify' ? { ...event, event_type: '$identify' } : event, sync.selection)], kind, RENDER_FOR_DELIVERY));
  const [a, b] = ordinary.map((request) => new URL(request.url).pathname.split('/'));
  const originText = compileTemplate(urlOriginSource(templates.url.source), 'origin').render({ parameters: sync.parameters.values }).trim();
  const secretsIn = new Map<string, Set<string>>();
  for (const request of ordinary) {
    for (const [part, text] of partsOf(request)) {
      for (const secret of sync.parameters.secretValues) if (text.includes(secret)) secretsIn.set(part, (secretsIn.get(part) ?? new Set()).add(secret));
    }
  }
  found = {
    origin: new URL(originText).origin,
    segments: a.map((segment, index) => (segment === b[index] ? segment : undefined)),
    headers: new Set([...ordinary.flatMap((request) => Object.keys(request.headers)), ...Object.values(WEBHOOK_HEADERS)]),
    secretsIn,
  };
  expectations.set(key, found);
  return found;
}

