// One nunjucks environment for every template: autoescape off (we write JSON, not HTML),
// undefined throws (a typo must not render as an empty string), templates compiled once.
// A template is data, not code: it is checked statically when it compiles (template-safety.ts),
// compiled by our subclass of nunjucks' compiler (guarded-compiler.ts) and run against a guarded
// runtime (guarded-runtime.ts) with bounded filters, so it can read only its context, call only
// its macros and our globals, and can neither run long nor build a huge string.
import nunjucks from 'nunjucks';
import { BOUNDED_FILTERS, TEMPLATE_TESTS } from './bounded-filters.js';
import { TemplateGuardError } from './data-guard.js';
import { compileParsed, parseTemplate } from './guarded-compiler.js';
import { GuardedFrame, guardedRuntime } from './guarded-runtime.js';
import { budget, DEFAULT_RENDER_LIMITS, RenderBudgetError, type RenderLimits } from './render-budget.js';
import { TEMPLATE_GLOBALS } from './template-globals.js';
import { placeInTemplate, type TemplatePlace } from './output-map.js';
import { findFreemarkerOperators, findTemplateMistakes, type HintOptions } from './template-hints.js';
import { isJsonByConstruction } from './json-by-construction.js';
import { readsOnlyParameters } from './template-reads.js';
import { findUnsafeUses, type AstNode, type UnsafeUse } from './template-safety.js';
import { RENDER_FAILED } from '../reasons.js';

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

/** A template that compiles but reaches past its data (a constructor, a method call, an include): refused before it runs. Every such place is in `all`. */
export class TemplateUnsafeError extends TemplateSyntaxError {
  override name = 'TemplateUnsafeError';
  constructor(
    file: string,
    readonly all: readonly UnsafeUse[],
  ) {
    const [first] = all;
    const more = all.length > 1 ? ` (and ${all.length - 1} more)` : '';
    super(file, first.line, first.column, `${first.message}${more}`);
  }
}

/** A template that would render, but not what its author meant (Freemarker syntax, `a or {} | json`): every such place is in `all`. */
export class TemplateMistakeError extends TemplateSyntaxError {
  override name = 'TemplateMistakeError';
  constructor(
    file: string,
    readonly all: readonly UnsafeUse[],
  ) {
    const [first] = all;
    super(file, first.line, first.column, first.message);
  }
}

/** A template that failed while rendering one input (undefined value, bad filter input, budget, guard). */
export class RenderError extends TemplateProblem {
  override name = 'RenderError';
  readonly code = RENDER_FAILED;
}

function formatPlace(file: string, line?: number, column?: number): string {
  return line === undefined ? file : `${file}:${line}:${column ?? 1}`;
}

export interface CompiledTemplate {
  readonly name: string;
  readonly source: string;
  /** Its output depends on `parameters` alone (template-reads.ts): the same parameters render the same string. */
  readonly readsOnlyParameters: boolean;
  /** Its output is JSON whatever its data (json-by-construction.ts): a JSON body need not be checked. */
  readonly jsonByConstruction: boolean;
  /** Renders synchronously; throws RenderError. */
  render(context: object): string;
  /** Renders `context` again, recording where each part of the output came from: the template's place of `offset` in it. */
  placeOfOutput(context: object, offset: number): TemplatePlace | undefined;
}

export interface CompileOptions extends HintOptions {
  /** Limits other than the defaults (tests, and a clock they control). */
  limits?: Partial<RenderLimits>;
}

const OPTIONS = { autoescape: false, throwOnUndefined: true, trimBlocks: true, lstripBlocks: true };

interface GuardedEnvironment {
  getFilter(name: string): unknown;
  getTest(name: string): unknown;
  getTemplate(): never;
}

// No loaders: nunjucks' default would read files under ./views. Filters and tests are looked up
// as own names only (in nunjucks' own plain object, `toString` or `valueOf` are "filters").
const environment = new nunjucks.Environment([], OPTIONS);
Object.assign(environment as unknown as GuardedEnvironment, {
  getFilter(name: string): unknown {
    if (!Object.hasOwn(BOUNDED_FILTERS, name)) throw new Error(`filter not found: ${name}`);
    return BOUNDED_FILTERS[name];
  },
  getTest(name: string): unknown {
    if (!Object.hasOwn(TEMPLATE_TESTS, name)) throw new Error(`test not found: ${name}`);
    return TEMPLATE_TESTS[name];
  },
  getTemplate(): never {
    throw new TemplateGuardError('a template cannot include, import or extend another template');
  },
});

const runtime = guardedRuntime(TEMPLATE_GLOBALS);
const SAFETY_RULES = { filters: new Set(Object.keys(BOUNDED_FILTERS)), tests: new Set(Object.keys(TEMPLATE_TESTS)) };
const PLACE = /\[Line (\d+), Column (\d+)\]/;

function splitNunjucksMessage(message: string): { line?: number; column?: number; detail: string } {
  const place = PLACE.exec(message);
  const detail = message
    .replace(/^Template render error: /, '')
    .replace(/^\([^)]*\)\s*/, '')
    .replace(PLACE, '')
    .replace(/^\s*(\w*Error: )?/, '')
    .trim();
  return place ? { line: Number(place[1]), column: Number(place[2]), detail } : { detail };
}

function parse(source: string, name: string): AstNode {
  try {
    return parseTemplate(source, OPTIONS);
  } catch (error) {
    const { lineno, colno } = error as { lineno?: number; colno?: number };
    const { line, column, detail } = splitNunjucksMessage(error instanceof Error ? error.message : String(error));
    // nunjucks names no place for an unclosed block ("unexpected end of file", "got end of file"): it is at the end of the file.
    const endOfFile = /end of file/.test(detail) ? source.split('\n').length : undefined;
    throw new TemplateSyntaxError(name, lineno ?? line ?? endOfFile, colno ?? column ?? (endOfFile && 1), detail);
  }
}

/**
 * Compiles a template once; throws TemplateSyntaxError (or TemplateUnsafeError, TemplateMistakeError)
 * with the template's file and place. Freemarker operators are found on the tokens first, so they
 * are named even where they break the parse; a parse error on a line after one of them is left out
 * (it is most likely that operator, told better).
 */
export function compileTemplate(source: string, name: string, options: CompileOptions = {}): CompiledTemplate {
  const operators = findFreemarkerOperators(source, OPTIONS, options);
  let ast: AstNode;
  try {
    ast = parse(source, name);
  } catch (error) {
    if (operators.length > 0 && error instanceof TemplateSyntaxError && (error.line === undefined || error.line >= operators[0].line)) throw new TemplateMistakeError(name, operators);
    throw error;
  }
  const mistakes = [...operators, ...findTemplateMistakes(ast, options)];
  // A name such as x?? is not a name (unsafe), and a Freemarker operator (a mistake): told once, as the mistake.
  const unsafe = findUnsafeUses(ast, SAFETY_RULES).filter((use) => !mistakes.some((mistake) => mistake.line === use.line && mistake.column === use.column));
  if (unsafe.length > 0) throw new TemplateUnsafeError(name, [...unsafe.map((use) => ({ ...use, message: `not allowed: ${use.message}` })), ...mistakes]);
  if (mistakes.length > 0) throw new TemplateMistakeError(name, mistakes.sort((a, b) => a.line - b.line || a.column - b.column));
  return build(ast, source, name, options);
}

/**
 * Compiles without the static check, so tests can show that the run-time guard refuses a
 * template on its own. Nothing else uses it.
 */
export function compileTemplateWithoutStaticCheck(source: string, name: string, options: CompileOptions = {}): CompiledTemplate {
  return build(parse(source, name), source, name, options);
}

function build(ast: AstNode, source: string, name: string, options: CompileOptions): CompiledTemplate {
  // Read before compiling: nunjucks' transformer rewrites parts of the tree.
  const onlyParameters = readsOnlyParameters(ast);
  const alwaysJson = isJsonByConstruction(ast);
  let properties: { root: (env: unknown, context: unknown, frame: unknown, runtime: unknown, cb: unknown) => void };
  try {
    // The precompiled-template path of nunjucks: the code it would run, given our runtime instead of its own.
    // Code that does not parse is the compiler's fault, but the template's error to report (a place, no stack).
    properties = new Function(compileParsed(ast, name))();
  } catch (error) {
    const { lineno, colno } = error as { lineno?: number; colno?: number };
    const { line, column, detail } = splitNunjucksMessage(error instanceof Error ? error.message : String(error));
    throw new TemplateSyntaxError(name, lineno ?? line, colno ?? column, detail);
  }
  const limits: RenderLimits = { ...DEFAULT_RENDER_LIMITS, ...options.limits };
  const root = properties.root;
  // nunjucks' first frame is replaced by ours (a render is never given a parent frame: no includes).
  properties.root = (env, context, _frame, _runtime, cb) => root(env, context, GuardedFrame.top(), runtime, cb);
  const template = new nunjucks.Template({ type: 'code', obj: properties } as never, environment, name, true);
  const compiled: CompiledTemplate = {
    name,
    source,
    readsOnlyParameters: onlyParameters,
    jsonByConstruction: alwaysJson,
    placeOfOutput(context: object, offset: number): TemplatePlace | undefined {
      return placeInTemplate(() => compiled.render(context), offset);
    },
    render(context: object): string {
      budget.start(limits);
      let output: string;
      try {
        output = template.render(context);
      } catch (error) {
        const { line, column, detail } = splitNunjucksMessage(error instanceof Error ? error.message : String(error));
        throw new RenderError(name, line, column, detail);
      }
      if (output.length > limits.maxOutputBytes) throw new RenderError(name, undefined, undefined, new RenderBudgetError(`output over ${limits.maxOutputBytes} characters`).message);
      return output;
    },
  };
  return compiled;
}
