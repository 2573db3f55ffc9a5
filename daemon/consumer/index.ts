export { SyncRunner, consumerName, REPLAY_SYNC_HEADER, type RunnerServices } from './sync-runner.js';
export { SyncStats } from './sync-stats.js';
export { Batcher, type BatchLimits } from './batcher.js';
export { InFlightGate, type GateWaiter } from './in-flight-gate.js';
