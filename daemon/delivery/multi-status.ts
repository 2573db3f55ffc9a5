// Per-item results of a batched request: a destination may answer 2xx and list, at a path in its
// JSON response, the items that failed (Segment calls this multi-status). Only those are retried
// or dead-lettered; the rest of the batch is delivered.
import type { MultiStatus } from '../../schema/generated/destination.js';
import { classify } from './classify.js';
import { PermanentDeliveryError, RetryableDeliveryError } from './errors.js';

export interface ItemFailure {
  index: number;
  status: number;
  result: RetryableDeliveryError | PermanentDeliveryError;
  /** The destination's own reason for the item, when the spec names a messageField. */
  message?: string;
}

/** The failed items the response lists; [] when none are listed or the body is not what the
 *  destination declared (the request as a whole succeeded, so nothing is held back). */
export function failedItems(spec: MultiStatus, body: string, batchSize: number): ItemFailure[] {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return [];
  }
  for (const key of spec.failedItemsPath.split('.')) {
    data = data !== null && typeof data === 'object' ? (data as Record<string, unknown>)[key] : undefined;
  }
  if (!Array.isArray(data)) return [];
  const indexField = spec.indexField ?? 'index';
  const statusField = spec.statusField ?? 'status';
  const match = Object.entries(spec.match ?? {});
  const failures: ItemFailure[] = [];
  for (const entry of data) {
    if (entry === null || typeof entry !== 'object') continue;
    const item = entry as Record<string, unknown>;
    if (!match.every(([field, value]) => item[field] === value)) continue;
    const index = Number(item[indexField]);
    const status = Number(item[statusField] ?? 400);
    if (!Number.isInteger(index) || index < 0 || index >= batchSize) continue;
    const result = classify({ status: Number.isInteger(status) ? status : 400, headers: {} });
    if (!(result instanceof Error)) continue;
    const message = spec.messageField === undefined ? undefined : item[spec.messageField];
    failures.push({ index, status, result, message: message === undefined || message === null ? undefined : String(message).slice(0, 500) });
  }
  return failures;
}
