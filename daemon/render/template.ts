// One nunjucks environment for every template: autoescape off (we write JSON, not HTML),
// undefined throws (a typo must not render as an empty string), templates compiled once.
import nunjucks from 'nunjucks';
import { DEFAULT_RENDER_MAX_ITERATIONS, DEFAULT_RENDER_MAX_OUTPUT_BYTES } from '../defaults.js';
import { TEMPLATE_FILTERS } from './filters.js';
import { SecretTracker } from './secret-tracker.js';

/** A template problem with its place: file, 1-based line and column where nunjucks knows them. */
abstract class TemplateProblem extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly column: number | undefined,
    readonly detail: string,
  ) {
    super(`${formatPlace(file, line, column)}: ${detail}`);
  }
}

/** A template that does not compile. */
export class TemplateSyntaxError extends TemplateProblem {
  override name = 'TemplateSyntaxError';
  readonly code = 'template_syntax';
}

/** A template that failed while rendering one input (undefined value, bad filter input, budget). */
export class RenderError extends TemplateProblem {
  override name = 'RenderError';
  readonly code = 'render_failed';
}

function formatPlace(file: string, line?: number, column?: number): string {
  return line === undefined ? file : `${file}:${line}:${column ?? 1}`;
}

export interface CompiledTemplate {
  readonly name: string;
  readonly source: string;
  /** Renders synchronously; throws RenderError. */
  render(context: object): string;
}

interface BudgetedEnvironment extends nunjucks.Environment {
  opts: object;
  tickBudget(): void;
}

/** nunjucks' compiler is public at run time but missing from its type definitions. */
const nunjucksCompiler = (nunjucks as unknown as {
  compiler: { compile(source: string, asyncFilters: string[], extensions: unknown[], name: string, options: object): string };
}).compiler;

let iterationsLeft = DEFAULT_RENDER_MAX_ITERATIONS;

const environment = new nunjucks.Environment(null, {
  autoescape: false,
  throwOnUndefined: true,
  trimBlocks: true,
  lstripBlocks: true,
}) as BudgetedEnvironment;
for (const [name, filter] of Object.entries(TEMPLATE_FILTERS)) environment.addFilter(name, filter as (...args: unknown[]) => unknown);
// A render with real secrets learns which strings its filters derived from them (redacted like the secrets).
SecretTracker.watchFilters((environment as unknown as { filters: Record<string, (...args: unknown[]) => unknown> }).filters);
// Loops and macro calls tick the budget, so a template cannot spin forever; the output size is
// checked after each render. nunjucks renders synchronously, so one counter serves every render.
environment.tickBudget = () => {
  if (--iterationsLeft < 0) throw new Error(`render budget exceeded: more than ${DEFAULT_RENDER_MAX_ITERATIONS} loop iterations or macro calls`);
};

// nunjucks' range() builds its whole list before the loop's first tick, so range(0, 1000000000)
// would exhaust memory (a fatal V8 error, not an exception) before the budget could stop it: this
// one charges its length up front. It also refuses a non-number, because nunjucks reads `1e9` as a
// variable name, and range(0, undefined) would otherwise quietly be empty.
environment.addGlobal('range', (...args: unknown[]) => {
  if (args.length === 0 || args.length > 3 || args.some((arg) => typeof arg !== 'number' || !Number.isFinite(arg))) {
    throw new Error(`range: arguments must be finite numbers, got (${args.map((arg) => JSON.stringify(arg) ?? 'undefined').join(', ')}); note that 1e9 is read as a name: write 1000000000`);
  }
  const [start, stop, step] = (args.length === 1 ? [0, args[0], 1] : [args[0], args[1], args[2] ?? 1]) as [number, number, number];
  if (step === 0) throw new Error('range: step must not be 0');
  const length = Math.max(0, Math.ceil((stop - start) / step));
  if (length > iterationsLeft) {
    throw new Error(
      `render budget exceeded: range of ${length} items, but only ${Math.max(0, iterationsLeft)} of the ${DEFAULT_RENDER_MAX_ITERATIONS} loop iterations allowed are left`,
    );
  }
  return Array.from({ length }, (_, index) => start + index * step);
});

const LOOP_TICK = /frame\.set\("loop\.index", /g;
const MACRO_TICK = /frame = new runtime\.Frame\(\);/g;
const PLACE = /\[Line (\d+), Column (\d+)\]/;

function splitNunjucksMessage(message: string): { line?: number; column?: number; detail: string } {
  const place = PLACE.exec(message);
  const detail = message
    .replace(/^Template render error: /, '')
    .replace(/^\([^)]*\)\s*/, '')
    .replace(PLACE, '')
    .replace(/^\s*(Error: )?/, '')
    .trim();
  return place ? { line: Number(place[1]), column: Number(place[2]), detail } : { detail };
}

/** Compiles a template once; throws TemplateSyntaxError with the template's file and place. */
export function compileTemplate(source: string, name: string): CompiledTemplate {
  let code: string;
  try {
    code = nunjucksCompiler.compile(source, [], [], name, environment.opts);
  } catch (error) {
    const { lineno, colno } = error as { lineno?: number; colno?: number };
    const { line, column, detail } = splitNunjucksMessage(error instanceof Error ? error.message : String(error));
    // nunjucks names no place for an unclosed block ("unexpected end of file", "got end of file"): it is at the end of the file.
    const endOfFile = /end of file/.test(detail) ? source.split('\n').length : undefined;
    throw new TemplateSyntaxError(name, lineno ?? line ?? endOfFile, colno ?? column ?? (endOfFile && 1), detail);
  }
  const budgeted = code.replace(LOOP_TICK, 'env.tickBudget(); $&').replace(MACRO_TICK, 'env.tickBudget(); $&');
  // The precompiled-template path of nunjucks: the same code it would run, with budget ticks added.
  const properties = new Function(budgeted)() as object;
  const template = new nunjucks.Template({ type: 'code', obj: properties } as never, environment, name, true);
  return {
    name,
    source,
    render(context: object): string {
      iterationsLeft = DEFAULT_RENDER_MAX_ITERATIONS;
      let output: string;
      try {
        output = template.render(context);
      } catch (error) {
        const { line, column, detail } = splitNunjucksMessage(error instanceof Error ? error.message : String(error));
        throw new RenderError(name, line, column, detail);
      }
      if (output.length > DEFAULT_RENDER_MAX_OUTPUT_BYTES) {
        throw new RenderError(name, undefined, undefined, `render budget exceeded: output over ${DEFAULT_RENDER_MAX_OUTPUT_BYTES} bytes`);
      }
      return output;
    },
  };
}
