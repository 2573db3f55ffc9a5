// The send area's public surface: HTTP requests through undici, one pool per origin.
export {
  HttpSender,
  type CancelEmitter,
  type CancelSignal,
  type HttpSenderOptions,
  type OriginStats,
  type SendOptions,
  type SendResponse,
} from './http-sender.js';
export { EgressDeniedError, egressAllowList, type EgressPolicy } from './egress-allow-list.js';
export { InvalidHeaderError } from './invalid-header-error.js';
