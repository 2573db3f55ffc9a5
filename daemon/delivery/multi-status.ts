// Per-item results of a batched request: a destination may answer, on a status it declares (a 2xx
// for Braze, 400 for Mixpanel's strict import, 400 and 429 for Amplitude), with lists in its JSON
// body naming the items that failed or were throttled (Segment calls this multi-status). Only those
// are retried or dead-lettered; the others are accepted or sent again, as the destination declares.
// Reading is declarative (destination.schema.json `multiStatus`): five shapes of list cover the
// vendors we know; the daemon knows none of them by name.
import type { ItemList, ItemMatch, MultiStatus } from '../../schema/generated/destination.js';
import { DEFAULT_MULTI_STATUS_INDEX_FIELD, DEFAULT_MULTI_STATUS_OTHERS, DEFAULT_MULTI_STATUS_STATUSES, DEFAULT_MULTI_STATUS_STATUS_FIELD } from '../defaults.js';
import { classify, type ResponseHeaders } from './classify.js';
import { PermanentDeliveryError, RetryableDeliveryError } from './errors.js';

export interface ItemFailure {
  index: number;
  status: number;
  result: RetryableDeliveryError | PermanentDeliveryError;
  /** The destination's own reason for the item, when its list gives one. */
  message?: string;
}

/** What a response said item by item: the items it named, and what the others are. */
export interface ItemResults {
  /** Named as failed or throttled, at most one entry per item (failed wins). */
  failures: ItemFailure[];
  /** accepted: the destination took the items not named; resend: it refused them with the request. */
  others: 'accepted' | 'resend';
}

/** The response as multi-status reads it. */
export interface ItemResponse {
  status: number;
  headers: ResponseHeaders;
  body: string;
}

const MAX_MESSAGE_CHARS = 500;
/** A failed item without a status of its own is rejected. */
const REJECTED_STATUS = 400;
/** A throttled item is classified as a 429 with the response's headers (its Retry-After counts). */
const THROTTLED_STATUS = 429;

/** Whether `status` is one the destination declared as giving results per item. */
export function declaresItemResults(spec: MultiStatus, status: number): boolean {
  for (const declared of spec.statuses ?? DEFAULT_MULTI_STATUS_STATUSES) {
    if (typeof declared === 'number' ? declared === status : Math.floor(status / 100) === Number(declared[0])) return true;
  }
  return false;
}

/**
 * The items a response names, or undefined when its status is not declared or it names none (the
 * request is then classified as a whole: a 2xx delivered, a 400 dead, a 429 retried). A body that
 * is not what was declared names nothing. `contexts` are the batch's events' template contexts, in
 * order (the `keys` shape reads them).
 */
export function readItemResults(spec: MultiStatus, response: ItemResponse, contexts: readonly object[]): ItemResults | undefined {
  if (!declaresItemResults(spec, response.status)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(response.body);
  } catch {
    return undefined;
  }
  const failures = new Map<number, ItemFailure>();
  const batchSize = contexts.length;
  const add = (index: number, status: number, message: string | undefined): void => {
    if (!Number.isInteger(index) || index < 0 || index >= batchSize || failures.has(index)) return;
    const result = classify({ status, headers: response.headers });
    if (!(result instanceof Error)) return;
    failures.set(index, { index, status, result, message: message?.slice(0, MAX_MESSAGE_CHARS) });
  };
  if (spec.failedItemsPath !== undefined) {
    const short: ItemList = { path: spec.failedItemsPath, indexField: spec.indexField, statusField: spec.statusField ?? DEFAULT_MULTI_STATUS_STATUS_FIELD, messageField: spec.messageField, match: spec.match };
    readList(short, data, contexts, (index, status, message) => add(index, status ?? REJECTED_STATUS, message));
  }
  for (const list of spec.failed ?? []) readList(list, data, contexts, (index, status, message) => add(index, status ?? REJECTED_STATUS, message));
  for (const list of spec.throttled ?? []) readList(list, data, contexts, (index, _status, message) => add(index, THROTTLED_STATUS, message));
  if (failures.size === 0) return undefined;
  return { failures: [...failures.values()], others: spec.others ?? DEFAULT_MULTI_STATUS_OTHERS };
}

type Found = (index: number, status: number | undefined, message: string | undefined) => void;

/** Calls `found` for each item the list at `list.path` names. */
function readList(list: ItemList, data: unknown, contexts: readonly object[], found: Found): void {
  const value = at(data, list.path);
  const prefix = list.message;
  switch (list.shape ?? 'objects') {
    case 'objects': {
      if (!Array.isArray(value)) return;
      const indexField = list.indexField ?? DEFAULT_MULTI_STATUS_INDEX_FIELD;
      for (const entry of value) {
        if (entry === null || typeof entry !== 'object' || !matches(entry as Record<string, unknown>, list.match)) continue;
        const item = entry as Record<string, unknown>;
        const status = list.statusField === undefined ? undefined : Number(item[list.statusField] ?? REJECTED_STATUS);
        const own = list.messageField === undefined ? undefined : item[list.messageField];
        found(Number(item[indexField]), status !== undefined && Number.isInteger(status) ? status : undefined, joined(prefix, own === undefined || own === null ? undefined : String(own)));
      }
      return;
    }
    case 'inOrder': {
      // One result per item, in the batch's order (Kinesis, Firehose): the position is the index.
      if (!Array.isArray(value) || list.errorField === undefined) return;
      const errorField = list.errorField;
      value.forEach((entry, index) => {
        if (entry === null || typeof entry !== 'object' || !matches(entry as Record<string, unknown>, list.match)) return;
        const item = entry as Record<string, unknown>;
        const error = item[errorField];
        if (error === undefined || error === null) return;
        const status = list.statusField === undefined ? undefined : Number(item[list.statusField] ?? REJECTED_STATUS);
        const own = list.messageField === undefined ? undefined : item[list.messageField];
        found(index, status !== undefined && Number.isInteger(status) ? status : undefined, joined(prefix, joined(String(error), own === undefined || own === null ? undefined : String(own))));
      });
      return;
    }
    case 'indexes':
      if (Array.isArray(value)) for (const index of value) found(Number(index), undefined, prefix);
      return;
    case 'indexesByName':
      if (!isRecord(value)) return;
      for (const [name, indexes] of Object.entries(value)) {
        if (Array.isArray(indexes)) for (const index of indexes) found(Number(index), undefined, joined(prefix, name));
      }
      return;
    case 'keys': {
      if (!isRecord(value) || list.eventField === undefined) return;
      const eventField = list.eventField;
      contexts.forEach((context, index) => {
        const key = at(context, eventField);
        if ((typeof key === 'string' || typeof key === 'number') && Object.hasOwn(value, String(key))) found(index, undefined, joined(prefix, String(key)));
      });
      return;
    }
  }
}

function matches(item: Record<string, unknown>, match: ItemMatch | undefined): boolean {
  if (match === undefined) return true;
  for (const [field, expected] of Object.entries(match)) if (item[field] !== expected) return false;
  return true;
}

function joined(prefix: string | undefined, detail: string | undefined): string | undefined {
  if (prefix === undefined) return detail;
  return detail === undefined ? prefix : `${prefix}: ${detail}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The value at a dot path; own properties only (a body or an event is data, never a prototype). */
function at(data: unknown, path: string): unknown {
  let node = data;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
