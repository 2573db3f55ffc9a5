// JetStream in a cluster does not answer while it elects a leader: for a few seconds after a server
// of it died or came back, API requests time out or are refused as "temporarily unavailable". A
// daemon starting then (systemd restarting it beside the server) must wait for the answer, not die.
import { JetStreamApiError } from '@nats-io/jetstream';
import { TimeoutError } from '@nats-io/nats-core';
import type { Logger } from '../log.js';
import { DEFAULT_JETSTREAM_SETTLE_MS } from '../defaults.js';

/** JetStream's "JetStream system temporarily unavailable" (a stream or the cluster without a leader). */
const TEMPORARILY_UNAVAILABLE = 10008;

/**
 * True for the errors of a JetStream that is electing a leader and will answer soon: a request
 * timed out, or was refused as temporarily unavailable. Anything else (no JetStream at all, a
 * permission, a bad configuration) is for the operator and is not waited out.
 */
export function isJetStreamSettling(error: unknown): boolean {
  if (error instanceof TimeoutError) return true;
  return error instanceof JetStreamApiError && error.code === TEMPORARILY_UNAVAILABLE;
}

export interface SettleOptions {
  /** What is being waited for, for the log ("JetStream", "the events stream"). */
  what: string;
  log: Logger;
  timeoutMs?: number;
  /** Waits between a refusal and the next attempt (a timer; a test passes its own). */
  pause?: (ms: number) => Promise<void>;
}

const pauseFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` until it succeeds, trying again while JetStream settles, for `timeoutMs` at most. */
export async function untilJetStreamAnswers<T>(attempt: () => Promise<T>, options: SettleOptions): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_JETSTREAM_SETTLE_MS);
  for (let tries = 1; ; tries += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!isJetStreamSettling(error) || Date.now() >= deadline) throw error;
      options.log.warn('JetStream does not answer yet (a cluster electing a leader?); trying again', {
        what: options.what,
        attempt: tries,
        error: (error as Error).message,
      });
      // A timed-out request has waited already; a refusal comes at once, so pause before the next.
      if (!(error instanceof TimeoutError)) await (options.pause ?? pauseFor)(Math.min(2_000, 100 * 2 ** tries));
    }
  }
}
