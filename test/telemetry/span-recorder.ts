// An in-memory span exporter a test can await: "resolve when N spans named X have ended".
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ExportResult } from '@opentelemetry/core';

type Predicate = (span: ReadableSpan) => boolean;

export class SpanRecorder extends InMemorySpanExporter {
  #waiters: Array<{ match: Predicate; count: number; resolve: (spans: ReadableSpan[]) => void }> = [];

  override export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    super.export(spans, resultCallback);
    const finished = this.getFinishedSpans();
    for (const waiter of [...this.#waiters]) {
      const matching = finished.filter(waiter.match);
      if (matching.length >= waiter.count) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(matching);
      }
    }
  }

  /** Resolves with the matching spans once at least `count` have ended; rejects after `timeoutMs`. */
  waitFor(match: Predicate, count: number, timeoutMs = 20_000): Promise<ReadableSpan[]> {
    const matching = this.getFinishedSpans().filter(match);
    if (matching.length >= count) return Promise.resolve(matching);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`${this.getFinishedSpans().filter(match).length} of ${count} spans within ${timeoutMs} ms; all: ${this.getFinishedSpans().map((span) => span.name).join(', ')}`));
      }, timeoutMs);
      const done = (spans: ReadableSpan[]) => {
        clearTimeout(timer);
        resolve(spans);
      };
      this.#waiters.push({ match, count, resolve: done });
    });
  }
}

/** Everything a span carries that could leak a secret, as one string. */
export function spanText(span: ReadableSpan): string {
  return JSON.stringify({
    name: span.name,
    attributes: span.attributes,
    events: span.events.map((event) => ({ name: event.name, attributes: event.attributes })),
    links: span.links.map((link) => ({ context: link.context, attributes: link.attributes })),
    status: span.status,
    resource: span.resource.attributes,
  });
}

/** Attempt spans in start order. */
export function byStart(spans: ReadableSpan[]): ReadableSpan[] {
  return [...spans].sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
}
