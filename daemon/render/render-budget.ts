// The budget of one render: loop iterations and macro calls, the size of every string and list
// the template makes (checked before a big one is built, not after), the cost of each filter call
// (checked before it runs: one call cannot be interrupted), and a deadline. nunjucks
// renders synchronously and one render cannot start inside another, so a single budget object
// serves every render; `start` resets it.
import { performance } from 'node:perf_hooks';
import { DEFAULT_RENDER_MAX_CALL_COST, DEFAULT_RENDER_MAX_CALL_MILLIS, DEFAULT_RENDER_MAX_ITERATIONS, DEFAULT_RENDER_MAX_MILLIS, DEFAULT_RENDER_MAX_OUTPUT_BYTES } from '../defaults.js';




export interface RenderLimits {
  /** Longest string (UTF-16 units, so at most ~3× that in UTF-8 bytes) a render may make or write. */
  maxOutputBytes: number;
  /** Loop iterations, macro calls and list items made by filters, together. */
  maxIterations: number;
  maxMillis: number;
  /** The most one filter call may cost (DEFAULT_RENDER_MAX_CALL_COST). */
  maxCallCost: number;
  /** How long one replace with a pattern may search (DEFAULT_RENDER_MAX_CALL_MILLIS). */
  maxCallMillis: number;
  /** The clock; tests give one that moves as they like. */
  now: () => number;
}

export const DEFAULT_RENDER_LIMITS: RenderLimits = {
  maxOutputBytes: DEFAULT_RENDER_MAX_OUTPUT_BYTES,
  maxIterations: DEFAULT_RENDER_MAX_ITERATIONS,
  maxMillis: DEFAULT_RENDER_MAX_MILLIS,
  maxCallCost: DEFAULT_RENDER_MAX_CALL_COST,
  maxCallMillis: DEFAULT_RENDER_MAX_CALL_MILLIS,
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
/**
 * Smaller ones are measured again when met again rather than kept: a WeakMap entry per small object
 * (an event's array of 300,000 `{}`) cost more than the walk it saves, and walking an object that
 * weighs less than this visits fewer than this many values, whatever it shares.
 */
const WEIGHT_WORTH_KEEPING = 1_024;
/** Lists and objects with fewer members are not looked up before they are walked. */
const FEW_MEMBERS = 32;

/** A plain object (JSON's, a template's dict): for-in reads its own keys, as nothing is enumerable on its prototype. */
function isPlain(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

export class RenderBudget {
  limits: RenderLimits = DEFAULT_RENDER_LIMITS;
  private iterationsLeft = 0;
  private deadline = 0;
  private workUntilClock = WORK_BETWEEN_CLOCK_READS;
  /** The costliest call of the render so far, as charged (size and cost per unit): what the filter-cost test measures against. */
  readonly heaviestCall = { size: 0, costPerUnit: 0, cost: 0 };

  start(limits: RenderLimits): void {
    this.limits = limits;
    this.heaviestCall.size = 0;
    this.heaviestCall.costPerUnit = 0;
    this.heaviestCall.cost = 0;
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

  /**
   * A call about to run on an input of `size` units (characters as text, see sizeOf) at `costPerUnit`
   * each: refused when over the call limit (times `limitScale`, CALL_LIMIT_SCALE), and counted as
   * work (so the deadline is read after it).
   */
  call(size: number, costPerUnit: number, what: string, limitScale = 1): void {
    const cost = size * costPerUnit;
    const limit = this.limits.maxCallCost * limitScale;
    if (cost > limit) {
      throw new RenderBudgetError(`${what} was given ${size} characters or items, over the ${Math.floor(limit / costPerUnit)} one call may take`);
    }
    const heaviest = this.heaviestCall;
    if (cost > heaviest.cost) {
      heaviest.cost = cost;
      heaviest.size = size;
      heaviest.costPerUnit = costPerUnit;
    }
    this.work(1 + (cost >>> 16));
  }

  /** Reads the clock now: for work that checks it itself between steps (a replace's matches). */
  checkDeadline(): number {
    const now = this.limits.now();
    if (now > this.deadline) throw new RenderBudgetError(`the render took longer than ${this.limits.maxMillis} ms`);
    return now;
  }

  /** A string of this length is about to be made (or was just made by code we do not control). */
  text(length: number, what: string): void {
    if (length > this.limits.maxOutputBytes) {
      throw new RenderBudgetError(`${what} would be ${length} characters, over the ${this.limits.maxOutputBytes} allowed`);
    }
    this.work(1 + (length >> 10));
  }

  /**
   * The most characters a value can turn into as text (String(value), or json without indentation),
   * counted up to `cap` at most (then `cap` is returned): measuring a huge value costs no more than
   * the largest one that would be admitted.
   */
  sizeOf(value: unknown, cap = this.limits.maxOutputBytes + 1): number {
    switch (typeof value) {
      case 'string':
        return value.length;
      case 'object':
        return value === null ? 4 : this.weightOf(value, cap);
      case 'function':
        return Function.prototype.toString.call(value).length;
      default:
        return 24;
    }
  }

  /**
   * A list or object: its items' sizes plus punctuation, counted up to `cap`; kept per object when
   * exact and not small. One with few members is walked without looking it up (a miss in the
   * WeakMap cost more than the walk), a plain object's keys with for-in (Object.keys makes an
   * array: twice the time on an event's properties, which `json` measures on every render).
   */
  weightOf(value: object, cap = this.limits.maxOutputBytes + 1): number {
    let total = 2;
    if (Array.isArray(value)) {
      if (value.length >= FEW_MEMBERS) {
        const known = weights.get(value);
        if (known !== undefined) return Math.min(known, cap);
      }
      for (let index = 0; index < value.length && total < cap; index++) total += 1 + this.sizeOf(value[index], cap - total);
    } else if (isPlain(value)) {
      let members = 0;
      for (const key in value) {
        if (++members === FEW_MEMBERS) {
          const known = weights.get(value);
          if (known !== undefined) return Math.min(known, cap);
        }
        total += 4 + key.length + this.sizeOf((value as Record<string, unknown>)[key], cap - total);
        if (total >= cap) break;
      }
    } else {
      const known = weights.get(value);
      if (known !== undefined) return Math.min(known, cap);
      for (const key of Object.keys(value)) {
        total += 4 + key.length + this.sizeOf((value as Record<string, unknown>)[key], cap - total);
        if (total >= cap) break;
      }
    }
    // Below the cap the count is exact (every member was counted in full), so it can be kept.
    if (total < cap && total >= WEIGHT_WORTH_KEEPING) weights.set(value, total);
    const weight = Math.min(total, cap);
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
