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
  const failures: ItemFailure[] = [];
  for (const item of data) {
    if (item === null || typeof item !== 'object') continue;
    const index = Number((item as Record<string, unknown>)[indexField]);
    const status = Number((item as Record<string, unknown>)[statusField] ?? 400);
    if (!Number.isInteger(index) || index < 0 || index >= batchSize) continue;
    const result = classify({ status: Number.isInteger(status) ? status : 400, headers: {} });
    if (result instanceof Error) failures.push({ index, status, result });
  }
  return failures;
}
