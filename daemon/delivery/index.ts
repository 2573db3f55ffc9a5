export {
  deliveryMachine,
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
