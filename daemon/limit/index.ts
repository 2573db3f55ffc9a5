// The limit area's public surface: one SyncLimiter per sync.
export {
  LIMITER_ERROR_CODES,
  LimiterFullError,
  LimiterStoppedError,
  SyncLimiter,
  type LimiterErrorCode,
  type LimiterState,
  type SyncLimiterOptions,
} from './sync-limiter.js';
export { RateShaper, type RateLimit } from './rate-shaper.js';
export { RateShare, rateShareSubject, type RateShareOptions } from './rate-share.js';
