export {
  deliveryMachine,
  DeliveryCancel,
  DELIVERY_OUTCOMES,
  type DeliveryActorRef,
  type DeliveryEvent,
  type DeliveryHandle,
  type DeliveryInput,
  type DeliveryOutcome,
  type DeliveryOutput,
  type DeliveryProgress,
  type DeliveryWorld,
  type SendResult,
} from './delivery-machine.js';
export * from './errors.js';
export * from './classify.js';
export * from './backoff.js';
export * from './multi-status.js';
