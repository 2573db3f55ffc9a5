// Compiles a template to the JavaScript nunjucks would run, with a few node kinds emitted
// differently so that everything that can grow or reach outside the data goes through the guarded
// runtime (guarded-runtime.ts): `+` and `~`, list and dict literals, every write to the output,
// and each loop iteration. It is a subclass of nunjucks' own Compiler, used only by our
// environment: nunjucks itself, and any other Environment in the process, are left as they are.
import { createRequire } from 'node:module';
import nunjucks from 'nunjucks';
import { LinearPattern } from './linear-pattern.js';
import { isTemplateName, walkTemplate, type AstNode } from './template-safety.js';
import { FILTERS_FOR_MISSING_VALUES } from './undefined-values.js';

interface CompilerBase {
  buffer: string;
  throwOnUndefined: boolean;
  _emit(code: string): void;
  _emitLine(code: string): void;
  compile(node: AstNode, frame: unknown): void;
  compileLiteral(node: AstNode, frame: unknown): void;
  _compileExpression(node: AstNode, frame: unknown): void;
  _compileAggregate(node: AstNode, frame: unknown, start?: string, end?: string): void;
  _emitLoopBindings(node: AstNode, arr: string, i: string, len: string): void;
  _pushBuffer(): string;
  _popBuffer(): void;
  compileCapture(node: AstNode, frame: unknown): void;
  _getNodeName(node: AstNode): string;
  _compileGetTemplate(node: AstNode, frame: unknown, eagerCompile: boolean, ignoreMissing: boolean): string;
  fail(message: string, lineno?: number, colno?: number): never;
  getCode(): string;
}

/** nunjucks' compiler, parser and transformer are public at run time but missing from its type definitions. */
const internals = nunjucks as unknown as {
  compiler: { Compiler: new (name: string, throwOnUndefined: boolean) => CompilerBase };
  parser: { parse(source: string, extensions: unknown[], options: object): AstNode };
};
const { transform } = createRequire(import.meta.url)('nunjucks/src/transformer.js') as {
  transform(ast: AstNode, asyncFilters: string[], name: string): AstNode;
};

// The class is built at run time from nunjucks' own, so it is declared through the interface above.
const Base = internals.compiler.Compiler as unknown as new (name: string, throwOnUndefined: boolean) => CompilerBase;

/** `lineno = …, colno = …, ` (1-based) before an expression, so a run-time refusal names its place. */
function place(node: AstNode): string {
  return `lineno = ${node.lineno + 1}, colno = ${node.colno + 1}, `;
}

/** An expression as the author wrote it, for messages: input.event_typ, item.input["$set"], x. */
export function expressionText(node: AstNode): string {
  if (node.typename === 'Symbol') return String(node.value);
  if (node.typename === 'LookupVal') {
    const target = expressionText(node.target as AstNode);
    const key = node.val as AstNode;
    if (key.typename === 'Literal' && typeof key.value === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key.value)) return `${target}.${key.value}`;
    if (key.typename === 'Literal') return `${target}[${JSON.stringify(key.value)}]`;
    return `${target}[${expressionText(key)}]`;
  }
  if (node.typename === 'Filter') return `${expressionText(((node.args as AstNode).children as AstNode[])[0])} | ${(node.name as AstNode).value}`;
  if (node.typename === 'FunCall') return `${expressionText(node.name as AstNode)}(…)`;
  return 'the value';
}

class GuardedCompiler extends Base {
  /** Depth of macro, call and {% set %} block buffers: 0 while compiling writes to the template's main output. */
  private nested = 0;

  override _pushBuffer(): string {
    this.nested++;
    return super._pushBuffer();
  }

  override _popBuffer(): void {
    this.nested--;
    super._popBuffer();
  }

  override compileCapture(node: AstNode, frame: unknown): void {
    this.nested++;
    super.compileCapture(node, frame);
    this.nested--;
  }
  compileAdd(node: AstNode, frame: unknown): void {
    this.binary('runtime.add', node, frame);
  }

  compileConcat(node: AstNode, frame: unknown): void {
    this.binary('runtime.concat', node, frame);
  }

  private binary(fn: string, node: AstNode, frame: unknown): void {
    this._emit(`(${place(node)}${fn}(`);
    this.compile(node.left as AstNode, frame);
    this._emit(', ');
    this.compile(node.right as AstNode, frame);
    this._emit('))');
  }

  /** A pattern r/…/ is never a JavaScript RegExp at run time: the template names our compiled linear-time one. */
  override compileLiteral(node: AstNode, frame: unknown): void {
    if (node.value instanceof RegExp) {
      this._emit(`(${place(node)}runtime.pattern(${JSON.stringify(LinearPattern.keyOf(node.value.source, node.value.flags))}))`);
      return;
    }
    super.compileLiteral(node, frame);
  }

  /** Keyword arguments may hold a macro (caller=); a dict the template writes holds data only. */
  compileKeywordArgs(node: AstNode, frame: unknown): void {
    this._emit(`runtime.makeKeywordArgs((${place(node)}runtime.keywordArgs([`);
    this.dictEntries(node, frame);
    this._emit('])))');
  }

  /** `-x` and `+x` with the operand in parentheses: nunjucks writes `- -x` as `--x`, a decrement (found by the fuzzer). */
  compileNeg(node: AstNode, frame: unknown): void {
    this.unary('-', node, frame);
  }

  compilePos(node: AstNode, frame: unknown): void {
    this.unary('+', node, frame);
  }

  private unary(operator: string, node: AstNode, frame: unknown): void {
    this._emit(`${operator}(`);
    this.compile(node.target as AstNode, frame);
    this._emit(')');
  }

  compileArray(node: AstNode, frame: unknown): void {
    this._emit(`(${place(node)}runtime.list(`);
    this._compileAggregate(node, frame, '[', ']');
    this._emit('))');
  }

  /** A dict is built from [key, value, …] so a key named __proto__ is an own key, never the prototype. */
  compileDict(node: AstNode, frame: unknown): void {
    this._emit(`(${place(node)}runtime.dict([`);
    this.dictEntries(node, frame);
    this._emit(']))');
  }

  private dictEntries(node: AstNode, frame: unknown): void {
    (node.children as AstNode[]).forEach((pair, index) => {
      const key = pair.key as AstNode;
      if (!(key.typename === 'Symbol' || (key.typename === 'Literal' && typeof key.value === 'string'))) {
        this.fail('compilePair: Dict keys must be strings or names', key.lineno, key.colno);
      }
      if (index > 0) this._emit(', ');
      this._emit(`${JSON.stringify(key.value)}, `);
      this._compileExpression(pair.value as AstNode, frame);
    });
  }

  /** As nunjucks' own, with the name written as a JSON string (nunjucks writes it between quotes as it is). */
  compileSymbol(node: AstNode, frame: { lookup(name: string): string | undefined }): void {
    const name = String(node.value);
    const local = frame.lookup(name);
    this._emit(local ? local : `runtime.contextOrFrameLookup(context, frame, ${JSON.stringify(name)})`);
  }

  compileLookupVal(node: AstNode, frame: unknown): void {
    this._emit(`(${place(node)}runtime.memberLookup((`);
    this._compileExpression(node.target as AstNode, frame);
    this._emit('),');
    this._compileExpression(node.val as AstNode, frame);
    this._emit('))');
  }

  /** As nunjucks' own, with a 1-based place (nunjucks reports calls one line and column early). */
  compileFunCall(node: AstNode, frame: unknown): void {
    this._emit(`(${place(node)}runtime.callWrap(`);
    this._compileExpression(node.name as AstNode, frame);
    this._emit(`, ${JSON.stringify(this._getNodeName(node.name as AstNode))}, context, `);
    this._compileAggregate(node.args as AstNode, frame, '[', '])');
    this._emit(')');
  }

  compileFilter(node: AstNode, frame: unknown): void {
    const name = node.name as AstNode;
    if (name.typename !== 'Symbol') this.fail('filter name must be a name', name.lineno, name.colno);
    this._emit(`(${place(node)}env.getFilter(${JSON.stringify(name.value)}).call(context, `);
    const [input, ...rest] = (node.args as AstNode).children as AstNode[];
    // Undefined is never silent: only the filters that replace a missing value may be given one.
    const checked = !FILTERS_FOR_MISSING_VALUES.has(String(name.value));
    if (checked) this._emit('runtime.definedFilterInput(');
    this.compile(input, frame);
    if (checked) this._emit(`, ${JSON.stringify(name.value)}, ${JSON.stringify(expressionText(input))})`);
    for (const arg of rest) {
      this._emit(', ');
      this.compile(arg, frame);
    }
    this._emit('))');
  }

  /** Every write to an output buffer (the template's, a macro's, a {% set %} block's) is measured. */
  compileOutput(node: AstNode, frame: unknown): void {
    for (const child of node.children as AstNode[]) {
      // Writes to the main output carry their template place, for explaining an output that is not JSON.
      const literal = child.typename === 'TemplateData';
      const write = this.nested === 0 && this.buffer === 'output' ? 'writeAt' : 'write';
      const at = write === 'writeAt' ? `, ${child.lineno + 1}, ${child.colno + 1}, ${literal}` : '';
      if (literal) {
        if (!child.value) continue;
        this._emit(`${this.buffer} = runtime.${write}(${this.buffer}, `);
        this.compileLiteral(child, frame);
        this._emitLine(`${at});`);
      } else {
        this._emit(`${this.buffer} = runtime.${write}(${this.buffer}, `);
        if (this.throwOnUndefined) this._emit('runtime.ensureDefined(');
        this.compile(child, frame);
        if (this.throwOnUndefined) this._emit(`,${node.lineno},${node.colno})`);
        this._emit(`${at});\n`);
      }
    }
  }

  /** include, import and extends are refused at run time; this gives the refusal its place. */
  override _compileGetTemplate(node: AstNode, frame: unknown, eagerCompile: boolean, ignoreMissing: boolean): string {
    this._emitLine(`${place(node)}undefined;`);
    return super._compileGetTemplate(node, frame, eagerCompile, ignoreMissing);
  }

  /**
   * Each loop iteration, of a list or of an object's keys, ticks the budget. `loop` is set as one
   * new object per iteration: nunjucks sets its seven members one by one, each `frame.set("loop.x")`
   * splitting its name at the dot, and that was most of the cost of a batch body's loop.
   */
  override _emitLoopBindings(node: AstNode, _arr: string, i: string, len: string): void {
    this._emitLine(`${place(node)}runtime.tick();`);
    this._emitLine(
      `frame.set("loop", { index: ${i} + 1, index0: ${i}, revindex: ${len} - ${i}, revindex0: ${len} - ${i} - 1, first: ${i} === 0, last: ${i} === ${len} - 1, length: ${len} });`,
    );
  }
}

/** Parses a template; throws nunjucks' own error (with lineno and colno) on a syntax error. */
/** nunjucks' parser (public at run time, missing from its type definitions): the tree every check and our compiler walk. */
export function parseTemplate(source: string, options: object = {}): AstNode {
  return internals.parser.parse(source, [], options);
}

/** The JavaScript of a parsed template: a function body returning {root, b_…}. */
export function compileParsed(ast: AstNode, name: string): string {
  const compiler = new GuardedCompiler(name, true);
  // nunjucks writes names (set targets, macro names and arguments, loop variables) into the code it
  // generates without escaping them: a template whose names are not names is never compiled, with
  // or without the static check.
  walkTemplate(ast, (node) => {
    if (node.typename === 'Symbol' && !isTemplateName(node.value)) compiler.fail(`${JSON.stringify(node.value)} is not a name`, node.lineno, node.colno);
  });
  compiler.compile(transform(ast, [], name), undefined);
  return compiler.getCode();
}
