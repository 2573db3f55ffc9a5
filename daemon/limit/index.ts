// The limit area's public surface: one SyncLimiter per sync.
export {
  LIMITER_ERROR_CODES,
  LimiterFullError,
  LimiterStoppedError,
  RateShaper,
  SyncLimiter,
  type LimiterErrorCode,
  type LimiterState,
  type RateLimit,
  type SyncLimiterOptions,
} from './sync-limiter.js';
export { RateShare, rateShareSubject, type RateShareOptions } from './rate-share.js';
