export {
  deliveryMachine,
  DELIVERY_RUNTIMES,
  type DeliveryContext,
  type DeliveryRuntime,
  Delivery,
  DeliveryActors,
  DeliveryCancel,
  DELIVERY_OUTCOMES,
  type DeliveryActor,
  type DeliveryEvent,
  type DeliveryHandle,
  type DeliveryOutcome,
  type DeliveryProgress,
  type DeliveryRules,
  type DeliveryState,
  type RenderFailure,
  type SendResult,
} from './delivery-machine.js';
export * from './errors.js';
export * from './classify.js';
export * from './backoff.js';
export * from './multi-status.js';
export * from './retry-decision.js';
export * from './circuit-breaker.js';
export { deriveMachineTable, MachineOutsideTableError, type MachineTable } from './machine-table.js';
export { TableActor, type TableClock } from './table-actor.js';
