// The dead-letter writer fed what a hostile publisher and a hostile destination control: the
// message's bytes, the destination's response excerpt and the failure message (which can quote
// either), with the request rendered for the event by the catalog's Customer.io sync (its Basic
// credentials are a base64 string derived from a secret). Input: event bytes, NUL, response text,
// NUL, message text; the server's max_payload is chosen by the input's length.
// Findings: anything thrown; a letter over max_payload less the header room; a letter that is not
// valid JSON or not valid against schema/dead-letter.schema.json; a secret, in any form the
// redactor claims to cover, or a string a render derived from one, anywhere but the event; an event
// that is neither kept exactly (value, text or base64) nor, when cut, an exact prefix with the
// message's size and SHA-256.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { buildDeadLetter, type DeadLetter } from '../../daemon/dead-letter/index.js';
import { DEFAULT_NATS_MAX_PAYLOAD } from '../../daemon/defaults.js';
import { DEAD_LETTER_HEADER_ROOM } from '../../daemon/dead-letter/dead-letter.js';
import { decodeEvent, type AmplitudeEvent } from '../../daemon/events/index.js';
import { SCHEMA_DIR } from '../../daemon/paths.js';
import { buildEventContext, type RenderedRequest } from '../../daemon/render/index.js';
import { derivedSecretsOf, RENDER_FOR_DELIVERY, renderForSync, requestKindOf } from '../../daemon/registry/index.js';
import { secretForms } from '../../daemon/secrets/index.js';
import { catalogSyncs } from '../catalog.js';
import { check, shown, type FuzzTargetInfo } from '../fuzz-target.js';

/** Small ones make the letter cut its event and texts; the default is what a server usually has. */
const MAX_PAYLOADS = [4_096, 16_384, DEFAULT_NATS_MAX_PAYLOAD];

export const info: FuzzTargetInfo = {
  summary: 'event \\0 response \\0 message → buildDeadLetter: size bound, JSON + schema, no secret in any form, event kept exactly or cut with size and hash',
  maxLen: 32_768,
  dictionary: ['{"event_type":"a","user_id":"u","insert_id":"i"}', '"insert_id":', '"user_id":', '\u0000', 'Basic ', 'Bearer ', '%', '+', '/', '=', '\\"', '\\u', 'é', '😀', '\ud800'],
};

const validate = new Ajv({ strict: false, validateFormats: false }).compile(JSON.parse(readFileSync(join(SCHEMA_DIR, 'dead-letter.schema.json'), 'utf8')));
const sync = (await catalogSyncs()).find((candidate) => candidate.id === 'customerio.default');
if (!sync) throw new Error('the catalog has no customerio.default sync');
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function fuzz(data: Buffer): void {
  const [event, response, message] = parts(data);
  const decoded = decodeEvent(event, 1_048_576);
  const request = decoded.ok ? requestFor(decoded.event) : undefined;
  const maxPayload = MAX_PAYLOADS[data.length % MAX_PAYLOADS.length];
  const letter = buildDeadLetter({
    destination: sync!.destination.slug,
    sync: sync!.id,
    definitionVersion: sync!.destination.version,
    reason: decoded.ok ? 'http_4xx' : decoded.reason,
    message: message.toString('utf8'),
    attempts: 1,
    lastStatus: 400,
    responseExcerpt: response.toString('utf8'),
    data: event,
    event: decoded.ok ? decoded.event : undefined,
    request,
    secrets: sync!.parameters.secretValues,
    source: { stream: 'EVENTS', sequence: 1, subject: 'events.fuzz', publishedAt: new Date(0).toISOString() },
    maxPayload,
  });
  const text = JSON.stringify(letter);
  const bytes = Buffer.byteLength(text);
  check(bytes <= maxPayload - DEAD_LETTER_HEADER_ROOM, () => `a ${bytes}-byte letter for max_payload ${maxPayload}`);
  const parsed = JSON.parse(text) as DeadLetter;
  check(validate(parsed), () => `not a valid dead letter: ${shown(validate.errors)}`);
  const { event: keptEvent, eventText, rawEvent, ...rest } = parsed;
  const outside = JSON.stringify(rest);
  for (const form of [...sync!.parameters.secretValues.flatMap(secretForms), ...derivedSecretsOf(request)]) {
    check(!outside.includes(form), () => `a secret's form ${shown(form)} in the letter: ${shown(outside, 600)}`);
  }
  keptExactly(event, parsed, keptEvent, eventText, rawEvent);
}

/** At most three parts, split at NUL bytes: the event's bytes, then the response, then the message. */
function parts(data: Buffer): [Buffer, Buffer, Buffer] {
  const first = data.indexOf(0);
  if (first === -1) return [data, Buffer.alloc(0), Buffer.alloc(0)];
  const second = data.indexOf(0, first + 1);
  if (second === -1) return [data.subarray(0, first), data.subarray(first + 1), Buffer.alloc(0)];
  return [data.subarray(0, first), data.subarray(first + 1, second), data.subarray(second + 1)];
}

function requestFor(event: AmplitudeEvent): RenderedRequest | undefined {
  try {
    return renderForSync(sync!, [buildEventContext(event, sync!.selection)], requestKindOf(event), RENDER_FOR_DELIVERY);
  } catch {
    return undefined;
  }
}

/** The letter keeps the event as it came, or says it cut it and keeps an exact prefix. */
function keptExactly(data: Buffer, letter: DeadLetter, event: unknown, eventText: string | undefined, rawEvent: string | undefined): void {
  const kept = [event, eventText, rawEvent].filter((form) => form !== undefined).length;
  check(kept === 1, `the letter keeps the event in ${kept} forms`);
  const bytes = rawEvent !== undefined ? Buffer.from(rawEvent, 'base64') : eventText !== undefined ? Buffer.from(eventText, 'utf8') : undefined;
  if (letter.truncated) {
    const { eventBytes, keptBytes, sha256 } = letter.truncated;
    check(eventBytes === data.length && keptBytes <= eventBytes, () => `truncated says ${shown(letter.truncated)} of a ${data.length}-byte message`);
    check(sha256 === createHash('sha256').update(data).digest('hex'), 'truncated.sha256 is not the message hash');
    check(bytes !== undefined && bytes.length === keptBytes && bytes.equals(data.subarray(0, keptBytes)), 'the kept excerpt is not the start of the message');
    return;
  }
  if (bytes !== undefined) {
    check(bytes.equals(data), () => `the kept event is not the message: ${shown(rawEvent ?? eventText)}`);
    return;
  }
  // As JSON text: the letter went through JSON, where -0 is 0.
  check(JSON.stringify(event) === JSON.stringify(JSON.parse(utf8.decode(data))), () => `the kept event ${shown(event)} is not the message`);
}
