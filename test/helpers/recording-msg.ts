// A stand-in for a JetStream message handle (JsMsg), the seam between the consumer and nats.js:
// it records the acts done to it (ack, nak with its delay, term, working), in order, so unit
// tests of the consumer core assert what JetStream would have been told without a server.
import type { JsMsg } from '@nats-io/jetstream';

export type Act = ['ack'] | ['nak', number | undefined] | ['term'] | ['working'];

export class RecordingMsg {
  readonly acts: Act[] = [];
  readonly subject: string;
  readonly headers = undefined;
  readonly data: Uint8Array;
  readonly time = new Date(1_700_000_000_000);
  readonly info: { stream: string; streamSequence: number; deliveryCount: number; timestampNanos: number };

  constructor(readonly event: Record<string, unknown>, sequence: number, options: { deliveryCount?: number; subject?: string } = {}) {
    this.data = Buffer.from(JSON.stringify(event));
    this.subject = options.subject ?? 'events.test';
    this.info = { stream: 'EVENTS', streamSequence: sequence, deliveryCount: options.deliveryCount ?? 1, timestampNanos: Date.now() * 1e6 };
  }

  /** As the consumer sees it. */
  get msg(): JsMsg {
    return this as unknown as JsMsg;
  }

  ack(): void {
    this.acts.push(['ack']);
  }
  nak(delay?: number): void {
    this.acts.push(['nak', delay]);
  }
  term(): void {
    this.acts.push(['term']);
  }
  working(): void {
    this.acts.push(['working']);
  }
}
