// A batch request that breaks its destination's contract: which of its events break it. Each event
// is rendered as a one-event batch (as a preview and the examples render it) and checked against
// the same contract; an event whose request alone keeps the contract is not at fault. General over
// the body's shape (GA4's {client_id, events: […]}, Mixpanel's bare array, a header or query value
// one event wrote), where mapping the violation's JSON pointer to an item would know only arrays of
// items. Run only when a batch broke the contract: N renders, about the cost of the batch's own.
import { checkContract, type ContractViolation, type RequestContract } from '../contract/index.js';
import type { EventContext, RenderedRequest } from '../render/index.js';
import { RENDER_FOR_DELIVERY, renderForSync, type RequestKind } from './render-for-sync.js';
import type { LoadedSync } from './types.js';

export interface ContractBreaker {
  /** The event's place in the batch. */
  index: number;
  /** Its request alone: what the dead letter keeps. */
  request: RenderedRequest;
  violation: ContractViolation;
}

/** The events of a batch whose one-event request breaks `contract`, in batch order. */
export function contractBreakers(sync: LoadedSync, contexts: readonly EventContext[], kind: RequestKind, contract: RequestContract): ContractBreaker[] {
  const breakers: ContractBreaker[] = [];
  for (let index = 0; index < contexts.length; index++) {
    let request: RenderedRequest;
    try {
      request = renderForSync(sync, [contexts[index]], kind, RENDER_FOR_DELIVERY);
    } catch {
      continue; // rendered in the batch, so not alone only by a bound the batch shared: not this event's contract fault
    }
    const violation = checkContract(contract, request);
    if (violation) breakers.push({ index, request, violation });
  }
  return breakers;
}
