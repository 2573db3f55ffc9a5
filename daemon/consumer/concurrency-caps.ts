// Every cap on how much one sync has going at once, in one place: what sets it, what it counts,
// what happens at it, and who holds to it. The first three stop the consumer from pulling (its
// messages wait in JetStream, and admin's parkedAt says which cap); the last two queue requests in
// the sync's limiter, where working() keeps their messages from being redelivered.
//
// | cap                        | set by                                  | counts                                                             | when full                       | held by      |
// |----------------------------|-----------------------------------------|--------------------------------------------------------------------|---------------------------------|--------------|
// | maxInFlightPerSync         | daemon config (default 256)             | the sync's requests in flight, those waiting for a retry included  | stops pulling (parkedAt "sync")         | InFlightGate |
// | maxInFlightPerDestination  | daemon config (default 256)             | the destination's requests, all syncs, retry waits excluded; fair share while another sync waits | stops pulling ("destination") | InFlightGate |
// | stream.maxAckPending       | daemon config                           | messages in hand (held, batched, in flight), not those behind a retry | stops pulling ("hand")       | Intake       |
// | limits.maxConcurrency      | destination.json (none by default)      | the sync's requests on the wire at once                            | queued in the limiter           | SyncLimiter  |
// | ramp after a pause         | DEFAULT_RAMP_OPEN (256)                | requests on the wire after Retry-After or a closing circuit: 1, one more per answer | queued in the limiter | SyncLimiter |
//
// The limiter's queue is bounded by DEFAULT_LIMITER_HIGH_WATER, well above what the caps that stop
// pulling let into it, and the consumer's max_ack_pending on the server is stream.maxAckPending
// plus stream.maxAckPendingForRetries (intake.ts says why).
import type { DaemonSettings } from '../config/index.js';
import { DEFAULT_RAMP_OPEN } from '../defaults.js';
import type { LoadedSync } from '../registry/index.js';

export interface ConcurrencyCaps {
  perSync: number;
  perDestination: number;
  messagesInHand: number;
  onTheWire: number | undefined;
  rampOpen: number;
}

/** The caps one sync runs under. */
export function concurrencyCaps(settings: DaemonSettings, sync: LoadedSync): ConcurrencyCaps {
  return {
    perSync: settings.maxInFlightPerSync,
    perDestination: settings.maxInFlightPerDestination,
    messagesInHand: settings.stream.maxAckPending,
    onTheWire: sync.destination.definition.limits?.maxConcurrency,
    rampOpen: DEFAULT_RAMP_OPEN,
  };
}
