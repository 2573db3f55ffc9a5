// The budget of one render: loop iterations and macro calls, the size of every string and list
// the template makes (checked before a big one is built, not after), and a deadline. nunjucks
// renders synchronously and one render cannot start inside another, so a single budget object
// serves every render; `start` resets it.
import { performance } from 'node:perf_hooks';
import { DEFAULT_RENDER_MAX_ITERATIONS, DEFAULT_RENDER_MAX_OUTPUT_BYTES } from '../defaults.js';

/** A render that runs longer than this (wall clock, but a render never waits) is stopped. */
export const DEFAULT_RENDER_MAX_MILLIS = 1_000;

export interface RenderLimits {
  /** Longest string (UTF-16 units, so at most ~3× that in UTF-8 bytes) a render may make or write. */
  maxOutputBytes: number;
  /** Loop iterations, macro calls and list items made by filters, together. */
  maxIterations: number;
  maxMillis: number;
  /** The clock; tests give one that moves as they like. */
  now: () => number;
}

export const DEFAULT_RENDER_LIMITS: RenderLimits = {
  maxOutputBytes: DEFAULT_RENDER_MAX_OUTPUT_BYTES,
  maxIterations: DEFAULT_RENDER_MAX_ITERATIONS,
  maxMillis: DEFAULT_RENDER_MAX_MILLIS,
  now: () => performance.now(),
};

/** Reading the clock costs ~30 ns: it is read once this much work has been done (1 unit per step, 1 per KiB). */
const WORK_BETWEEN_CLOCK_READS = 256;

export class RenderBudgetError extends Error {
  override name = 'RenderBudgetError';
  constructor(detail: string) {
    super(`render budget exceeded: ${detail}`);
  }
}

/** Sizes of lists and objects the template touched, computed once per object (they never change during a render). */
const weights = new WeakMap<object, number>();

export class RenderBudget {
  limits: RenderLimits = DEFAULT_RENDER_LIMITS;
  private iterationsLeft = 0;
  private deadline = 0;
  private workUntilClock = WORK_BETWEEN_CLOCK_READS;

  start(limits: RenderLimits): void {
    this.limits = limits;
    this.iterationsLeft = limits.maxIterations;
    this.deadline = limits.now() + limits.maxMillis;
    this.workUntilClock = WORK_BETWEEN_CLOCK_READS;
  }

  get iterationsRemaining(): number {
    return Math.max(0, this.iterationsLeft);
  }

  /** One loop iteration or macro call (or `count` list items a filter is about to make). */
  tick(count = 1, what = 'loop iterations or macro calls'): void {
    this.iterationsLeft -= count;
    if (this.iterationsLeft < 0) throw new RenderBudgetError(`more than ${this.limits.maxIterations} ${what}`);
    this.work(count);
  }

  /** Work done (a step, or characters made); reads the clock now and then. */
  work(units: number): void {
    this.workUntilClock -= units;
    if (this.workUntilClock > 0) return;
    this.workUntilClock = WORK_BETWEEN_CLOCK_READS;
    if (this.limits.now() > this.deadline) throw new RenderBudgetError(`the render took longer than ${this.limits.maxMillis} ms`);
  }

  /** A string of this length is about to be made (or was just made by code we do not control). */
  text(length: number, what: string): void {
    if (length > this.limits.maxOutputBytes) {
      throw new RenderBudgetError(`${what} would be ${length} characters, over the ${this.limits.maxOutputBytes} allowed`);
    }
    this.work(1 + (length >> 10));
  }

  /** The most characters a value can turn into as text (String(value), or json without indentation). */
  sizeOf(value: unknown): number {
    switch (typeof value) {
      case 'string':
        return value.length;
      case 'object':
        return value === null ? 4 : this.weightOf(value);
      case 'function':
        return Function.prototype.toString.call(value).length;
      default:
        return 24;
    }
  }

  /** A list or object: its items' sizes plus punctuation, capped just past the limit so a huge one costs little to measure. */
  weightOf(value: object): number {
    const known = weights.get(value);
    if (known !== undefined) return known;
    const cap = this.limits.maxOutputBytes + 1;
    let total = 2;
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length && total < cap; index++) total += 1 + this.sizeOf(value[index]);
    } else {
      for (const key of Object.keys(value)) {
        total += 4 + key.length + this.sizeOf((value as Record<string, unknown>)[key]);
        if (total >= cap) break;
      }
    }
    const weight = Math.min(total, cap);
    weights.set(value, weight);
    this.work(1 + (weight >> 10));
    return weight;
  }

  /** A value a filter, a list or a dict made: strings and containers must fit the limit. */
  value(value: unknown, what: string): void {
    if (typeof value === 'string') this.text(value.length, what);
    else if (typeof value === 'object' && value !== null) this.text(this.weightOf(value), what);
    else this.work(1);
  }
}

/** The budget of the render running now. */
export const budget = new RenderBudget();
