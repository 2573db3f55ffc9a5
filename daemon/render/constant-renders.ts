// A template that reads only `parameters` (a URL, an Authorization header; template-reads.ts)
// renders the same string for every request of a sync, so it is rendered for the first request and
// its output reused. What that render derived from secrets (base64 Basic credentials, a urlencoded
// key) is kept with it and handed to each later request's secret tracker, so redaction is the same
// as if it had rendered again. One per loaded sync: a reload makes new syncs, with new parameters.
import { SecretTracker } from './secret-tracker.js';
import type { CompiledTemplate } from './template.js';

interface ConstantOutput {
  text: string;
  derived: readonly string[];
  /** Whether secrets were tracked when it rendered: reused only by renders that track them the same way. */
  tracked: boolean;
}

export class ConstantRenders {
  readonly #outputs = new Map<CompiledTemplate, ConstantOutput>();

  /** The template's output for `context`, rendered once if it reads only `parameters`. The caller keeps `context.parameters` the same. */
  render(template: CompiledTemplate, context: object): string {
    if (!template.readsOnlyParameters) return template.render(context);
    const kept = this.#outputs.get(template);
    if (kept !== undefined && kept.tracked === SecretTracker.tracking) {
      SecretTracker.adopt(kept.derived);
      return kept.text;
    }
    // A render that throws keeps nothing: it throws again, the same way, next time.
    const output = SecretTracker.derivedBy(() => template.render(context));
    if (kept === undefined) this.#outputs.set(template, output);
    return output.text;
  }
}
