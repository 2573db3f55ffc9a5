// The functions a template can call besides its macros: range (budgeted) and joiner. nunjucks'
// cycler is left out: using it means calling a method on the object it returns (c.next()), and a
// template calls no methods.
import { allowCall } from './data-guard.js';
import { budget, RenderBudgetError } from './render-budget.js';

// nunjucks' range() builds its whole list before the loop's first tick, so range(0, 1000000000)
// would exhaust memory (a fatal V8 error, not an exception) before the budget could stop it: this
// one charges its length up front. It also refuses a non-number, because nunjucks reads `1e9` as a
// variable name, and range(0, undefined) would otherwise quietly be empty.
function range(...args: unknown[]): number[] {
  if (args.length === 0 || args.length > 3 || args.some((arg) => typeof arg !== 'number' || !Number.isFinite(arg))) {
    throw new Error(
      `range: arguments must be finite numbers, got (${args.map((arg) => JSON.stringify(arg) ?? 'undefined').join(', ')}); note that 1e9 is read as a name: write 1000000000`,
    );
  }
  const [start, stop, step] = (args.length === 1 ? [0, args[0], 1] : [args[0], args[1], args[2] ?? 1]) as [number, number, number];
  if (step === 0) throw new Error('range: step must not be 0');
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const left = budget.iterationsRemaining;
  if (length > left) {
    throw new RenderBudgetError(`range of ${length} items, but only ${left} of the ${budget.limits.maxIterations} loop iterations allowed are left`);
  }
  return Array.from({ length }, (_, index) => start + index * step);
}

/** joiner(",") gives a function that returns "" the first time and "," after. */
function joiner(separator?: unknown): () => unknown {
  const text = separator || ',';
  let first = true;
  return allowCall(() => {
    const value = first ? '' : text;
    first = false;
    return value;
  });
}

export const TEMPLATE_GLOBALS: Readonly<Record<string, unknown>> = Object.freeze({
  range: allowCall(range),
  joiner: allowCall(joiner),
});
