export { SyncRunner, consumerName, REPLAY_SYNC_HEADER, type RunnerServices } from './sync-runner.js';
export { Batcher, type BatchLimits } from './batcher.js';
export { InFlightGate, type GateWaiter } from './in-flight-gate.js';
export { Intake, type IntakeHandler, type MessagesInHand, type ParkedAt } from './intake.js';
export { Outcomes, type DeadLetterCause, type OutcomesOptions, type SettledDelivery } from './outcomes.js';
export { SyncDelivery, type SyncDeliveryServices } from './sync-delivery.js';
export type { DeliveryItem } from './delivery-item.js';
export { Handovers, handoverSubject, type HandoverNotice, type HandoverReceiver, type PendingEvent } from './handover.js';
