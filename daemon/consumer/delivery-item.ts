// An accepted event on its way to a request: its message, its render context, its size in bytes.
import type { JsMsg } from '@nats-io/jetstream';
import type { EventContext } from '../render/index.js';

export interface DeliveryItem {
  msg: JsMsg;
  context: EventContext;
  bytes: number;
}
