// The runtime our compiled templates call instead of nunjucks' own: the same object with the
// functions that look up names and members, call functions, build lists and dicts, join strings
// and write output replaced by guarded ones. It is handed to each template's root function, so
// nothing is patched: other nunjucks environments keep nunjucks' runtime.
import nunjucks from 'nunjucks';
import { allowCall, FORBIDDEN_NAMES, isCallable, readMember, TemplateGuardError } from './data-guard.js';
import { LinearPattern } from './linear-pattern.js';
import { recordWrite } from './output-map.js';
import { PatternRefusal } from './pattern-translation.js';
import { budget, RenderBudgetError } from './render-budget.js';
import { definedFilterInput, markUndefinedEntry, undefinedEntryOf } from './undefined-values.js';

interface Frame {
  lookup(name: string): unknown;
  set(name: string, value: unknown, resolveUp?: boolean): void;
  push(isolateWrites?: boolean): Frame;
  topLevel: boolean;
}

interface NunjucksRuntime {
  makeMacro(argNames: string[], kwargNames: string[], func: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown;
  SafeString: new (value: string) => { val: string };
  Frame: new (parent?: Frame, isolateWrites?: boolean) => Frame;
  [name: string]: unknown;
}

interface Context {
  ctx: Record<string, unknown>;
}

const base = (nunjucks as unknown as { runtime: NunjucksRuntime }).runtime;
const { SafeString } = base;

/**
 * nunjucks' Frame, with `set` of a plain name done without splitting it at dots: a loop sets its
 * variable and `loop` on every iteration, and the split was a fifth of a batch body's render.
 * Names a template can write have no dots (they are identifiers), so only nunjucks' own dotted
 * names take the original path. `push` makes frames of this kind too.
 */
export class GuardedFrame extends base.Frame {
  declare variables: Record<string, unknown>;

  override set(name: string, value: unknown, resolveUp?: boolean): void {
    if (resolveUp || name.includes('.')) return super.set(name, value, resolveUp);
    this.variables[name] = value;
  }

  override push(isolateWrites?: boolean): Frame {
    return new GuardedFrame(this, isolateWrites);
  }

  /** The frame a render starts with, as nunjucks' Template.render makes it. */
  static top(): GuardedFrame {
    const frame = new GuardedFrame();
    frame.topLevel = true;
    return frame;
  }
}

function notAFunction(value: unknown, where: string): void {
  if (typeof value === 'function') throw new TemplateGuardError(`a function cannot be used in ${where}: a template works with data`);
}

/** The most characters `a + b` can make; refuses before a string over the limit is built. */
function checkJoined(a: unknown, b: unknown, what: string): void {
  notAFunction(a, what);
  notAFunction(b, what);
  budget.text(budget.sizeOf(a) + budget.sizeOf(b), what);
}

/**
 * A list or dict the template writes holds data (written as text, a function is its source); the
 * keyword arguments of a call may hold the functions a template can call (a macro passed as caller=).
 */
function checkItem(value: unknown, what: string, callables: boolean): void {
  if (typeof value === 'function' && !(callables && isCallable(value))) throw new TemplateGuardError(`${what} holds data, not functions`);
}

function buildDict(entries: unknown[], callables: boolean): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (let index = 0; index < entries.length; index += 2) {
    const key = entries[index] as string;
    if (FORBIDDEN_NAMES.has(key)) throw new TemplateGuardError(`a dict key cannot be "${key}"`);
    const value = entries[index + 1];
    checkItem(value, callables ? 'keyword arguments' : 'a dict', callables);
    if (value === undefined || undefinedEntryOf(value) !== undefined) markUndefinedEntry(result, key);
    result[key] = value;
  }
  budget.value(result, 'a dict');
  return result;
}

export function guardedRuntime(globals: Readonly<Record<string, unknown>>): object {
  const runtime = {
    ...base,

    /** Macros start their own frames with `new runtime.Frame()`. */
    Frame: GuardedFrame,

    memberLookup: readMember,

    contextOrFrameLookup(context: Context, frame: Frame, name: string): unknown {
      if (FORBIDDEN_NAMES.has(name)) throw new TemplateGuardError(`the name "${name}" leads to JavaScript, not data`);
      const value = frame.lookup(name);
      if (value !== undefined) return value;
      if (Object.hasOwn(context.ctx, name)) return context.ctx[name];
      return Object.hasOwn(globals, name) ? globals[name] : undefined;
    },

    callWrap(fn: unknown, name: string, context: unknown, args: unknown[]): unknown {
      if (!isCallable(fn)) {
        if (fn === undefined || fn === null) throw new Error(`Unable to call \`${name}\`, which is undefined or falsey`);
        throw new TemplateGuardError(`cannot call ${name}: a template can call only its macros, caller() and the functions range and joiner`);
      }
      return Reflect.apply(fn as (...args: unknown[]) => unknown, context, args);
    },

    /** Each macro call ticks the budget, and a macro is one of the functions a template may call. */
    makeMacro(argNames: string[], kwargNames: string[], func: (...args: unknown[]) => unknown) {
      return allowCall(
        base.makeMacro(argNames, kwargNames, function budgeted(this: unknown, ...args: unknown[]) {
          budget.tick();
          return func.apply(this, args);
        }),
      );
    },

    /** `key in value`: the items of a list or string, the own keys of an object. */
    inOperator(key: unknown, value: unknown): boolean {
      if (Array.isArray(value) || typeof value === 'string') return value.indexOf(key as never) !== -1;
      if (typeof value === 'object' && value !== null) return Object.hasOwn(value, String(key));
      throw new Error(`Cannot use "in" operator to search for "${String(key)}" in unexpected types.`);
    },

    tick(): void {
      budget.tick();
    },

    add(a: unknown, b: unknown): unknown {
      if (typeof a === 'number' && typeof b === 'number') return a + b;
      checkJoined(a, b, 'a sum');
      return (a as string) + (b as string);
    },

    concat(a: unknown, b: unknown): string {
      checkJoined(a, b, 'a concatenation');
      return (a as string) + '' + (b as string);
    },

    list(items: unknown[]): unknown[] {
      for (let index = 0; index < items.length; index++) {
        const item = items[index];
        checkItem(item, 'a list', false);
        if (item === undefined || undefinedEntryOf(item) !== undefined) markUndefinedEntry(items, `[${index}]`);
      }
      budget.value(items, 'a list');
      return items;
    },

    dict(entries: unknown[]): Record<string, unknown> {
      return buildDict(entries, false);
    },

    keywordArgs(entries: unknown[]): Record<string, unknown> {
      return buildDict(entries, true);
    },

    /** A pattern r/…/, compiled for the linear-time matcher when the template compiled (or now, if it was dropped). */
    pattern(key: string): LinearPattern {
      try {
        return LinearPattern.byKey(key);
      } catch (error) {
        if (error instanceof PatternRefusal) throw new TemplateGuardError(`the pattern r/${key.slice(key.indexOf('/') + 1)}/: ${error.message}`);
        throw error;
      }
    },

    definedFilterInput,

    /** A write to the template's main output: as write, and its place is recorded when an output is being explained. */
    writeAt(buffer: string, value: unknown, line: number, column: number, literal: boolean): string {
      recordWrite(buffer.length, line, column, literal);
      return runtime.write(buffer, value);
    },

    /**
     * Appends to an output buffer: undefined and null write nothing (autoescape is off), functions
     * are refused, and so are lists and dicts: written as text they are "[object Object]" or "a,b",
     * never JSON (`a or {} | json` is `a or ({} | json)`: json binds tighter than or).
     */
    write(buffer: string, value: unknown): string {
      let text: string;
      if (typeof value === 'string') text = value;
      else if (value === undefined || value === null) text = '';
      else if (value instanceof SafeString) text = value.val;
      else {
        notAFunction(value, 'the output');
        if (typeof value === 'object') {
          throw new Error(
            `a ${Array.isArray(value) ? 'list' : 'dict'} is written as text: put it through json; json binds tighter than or, so write (a or {}) | json, not a or {} | json`,
          );
        }
        text = String(value);
      }
      const length = buffer.length + text.length;
      if (length > budget.limits.maxOutputBytes) throw new RenderBudgetError(`output over ${budget.limits.maxOutputBytes} characters`);
      budget.work(1 + (text.length >> 10));
      return buffer + text;
    },
  };
  return runtime;
}
