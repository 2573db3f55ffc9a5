// The static half of "a template is data": walks the parsed template and lists every construct
// the run-time guard would refuse, with its place, so `validate` rejects the template before
// anything renders it. What cannot be told from the text (a computed name, a variable holding a
// function) is still refused at run time by the guarded runtime.
import { didYouMean } from '../did-you-mean.js';
import { FORBIDDEN_NAMES } from './data-guard.js';
import { LinearPattern, TEMPLATE_PATTERNS_MAX_LENGTH } from './linear-pattern.js';
import { PatternRefusal } from './pattern-translation.js';

/** A node of nunjucks' syntax tree (0-based lineno and colno). The one shape every walk of a template uses. */
export interface AstNode {
  typename: string;
  lineno: number;
  colno: number;
  fields: readonly string[];
  value?: unknown;
  children?: AstNode[];
  target?: AstNode;
  val?: AstNode;
  [field: string]: unknown;
}

export interface UnsafeUse {
  /** 1-based. */
  line: number;
  column: number;
  message: string;
}

/** Which finding a template's error leads with: a way out of the data before the shape of a call, before an unknown name. */
const RANK = { escape: 0, call: 1, unknown: 2 } as const;

/** Tags that read other files or that only make sense with them. */
const OTHER_TEMPLATES: Record<string, string> = {
  Include: '{% include %}',
  Import: '{% import %}',
  FromImport: '{% from … import %}',
  Extends: '{% extends %}',
  Block: '{% block %}',
  Super: 'super()',
};

export interface SafetyRules {
  filters: ReadonlySet<string>;
  tests: ReadonlySet<string>;
}

/**
 * What a variable, macro, argument or loop name may be. nunjucks' lexer reads any run of characters
 * up to a delimiter as a name (`a"b`, `x\\`), and its compiler writes names into the JavaScript it
 * generates between double quotes without escaping them: a quote in a name would be code.
 */
const NAME = /^[\p{L}\p{N}_$]+$/u;

export function isTemplateName(value: unknown): boolean {
  return typeof value === 'string' && NAME.test(value);
}

export function isAstNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as AstNode).typename === 'string';
}

/** The string an expression always has, when it is made of literals only ('constr' ~ 'uctor'). */
function constantString(node: AstNode | undefined): string | undefined {
  if (!node) return undefined;
  if (node.typename === 'Literal') return typeof node.value === 'string' || typeof node.value === 'number' ? String(node.value) : undefined;
  if (node.typename === 'Group' && Array.isArray(node.children) && node.children.length === 1) return constantString(node.children[0] as AstNode);
  if (node.typename === 'Concat' || node.typename === 'Add') {
    const left = constantString(node.left as AstNode);
    const right = constantString(node.right as AstNode);
    return left !== undefined && right !== undefined ? left + right : undefined;
  }
  return undefined;
}

/** Calls `visit` for every node of a parsed template, parents before children, in source order. */
export function walkTemplate(root: AstNode, visit: (node: AstNode, parent: AstNode | undefined) => void): void {
  const walk = (node: AstNode, parent: AstNode | undefined): void => {
    visit(node, parent);
    for (const field of node.fields) {
      const child = node[field];
      if (Array.isArray(child)) for (const item of child) isAstNode(item) && walk(item, node);
      else if (isAstNode(child)) walk(child, node);
    }
  };
  walk(root, undefined);
}

/** Every construct of a parsed template that reaches past its data, in source order. */
export function findUnsafeUses(root: AstNode, rules: SafetyRules): UnsafeUse[] {
  const found: (UnsafeUse & { rank: number })[] = [];
  const report = (node: AstNode, message: string, rank: keyof typeof RANK = 'escape') =>
    found.push({ line: node.lineno + 1, column: node.colno + 1, message, rank: RANK[rank] });
  // Patterns are written where replace takes them, and compiled now, so a refusal names its place.
  const patternsForReplace = new Set<AstNode>();
  let patternsLength = 0;
  const checkPattern = (node: AstNode, pattern: RegExp): void => {
    const shown = `r/${pattern.source}/${pattern.flags}`;
    if (!patternsForReplace.has(node)) {
      report(node, `a pattern (${shown}) can only be written as the first argument of replace: x | replace(r/…/, "…")`);
      return;
    }
    patternsLength += pattern.source.length;
    if (patternsLength > TEMPLATE_PATTERNS_MAX_LENGTH) {
      report(node, `the template's patterns are over ${TEMPLATE_PATTERNS_MAX_LENGTH} characters together: use fewer or shorter ones`);
      return;
    }
    try {
      LinearPattern.of(pattern.source, pattern.flags);
    } catch (error) {
      if (!(error instanceof PatternRefusal)) throw error;
      const where = error.offset > 0 ? ` at character ${error.offset + 1}` : '';
      report(node, `the pattern ${shown}${where}: ${error.message}`);
    }
  };
  const visit = (node: AstNode): void => {
    const tag = OTHER_TEMPLATES[node.typename];
    if (tag) report(node, `${tag} is not available: a destination's template is one file and cannot read others`);
    switch (node.typename) {
      case 'CallExtension':
      case 'CallExtensionAsync':
        report(node, 'template extensions are not available');
        break;
      case 'Symbol':
        if (!isTemplateName(node.value)) report(node, `${JSON.stringify(node.value)} is not a name: a name is letters, digits, _ and $ (a quote or a backslash in one would reach the JavaScript a template compiles to)`);
        else if (FORBIDDEN_NAMES.has(String(node.value))) report(node, `the name "${node.value}" leads to JavaScript, not data`);
        break;
      case 'LookupVal': {
        const name = constantString(node.val as AstNode);
        if (name !== undefined && FORBIDDEN_NAMES.has(name)) {
          report(node.val as AstNode, `"${name}" leads to JavaScript, not data: a template reads only its data`);
        }
        break;
      }
      case 'Pair': {
        const key = node.key as AstNode;
        if (isAstNode(key) && key.typename === 'Literal' && FORBIDDEN_NAMES.has(String(key.value))) report(key, `a dict key cannot be "${key.value}"`);
        break;
      }
      case 'FunCall': {
        // nunjucks parses `~(…)` as a call of nothing: its name is null.
        const callee = isAstNode(node.name) ? node.name : node;
        if (callee === node || callee.typename !== 'Symbol') {
          report(callee, 'only macros, caller() and the functions range and joiner can be called, not a function reached through a value', 'call');
        }
        break;
      }
      case 'Literal':
        if (node.value instanceof RegExp) checkPattern(node, node.value);
        break;
      case 'Filter': {
        const name = String((node.name as AstNode).value);
        if (!rules.filters.has(name)) report(node.name as AstNode, `unknown filter "${name}"${didYouMean(name, rules.filters)}`, 'unknown');
        const old = ((node.args as AstNode).children as AstNode[])[1];
        if (name === 'replace' && old?.typename === 'Literal') patternsForReplace.add(old);
        // sort(attribute="constructor"), join(",", "__proto__"): a filter would read that member.
        const args = ((node.args as AstNode).children as AstNode[]).flatMap((arg) =>
          arg.typename === 'KeywordArgs' ? (arg.children as AstNode[]).map((pair) => pair.value as AstNode) : [arg],
        );
        for (const arg of args) {
          const text = constantString(arg);
          if (text !== undefined && FORBIDDEN_NAMES.has(text)) report(arg, `a filter argument cannot be "${text}"`);
        }
        break;
      }
      case 'Is': {
        const right = node.right as AstNode;
        const name = String(isAstNode(right.name) ? right.name.value : right.value);
        if (!rules.tests.has(name)) report(right, `unknown test "${name}"${didYouMean(name, rules.tests)}`, 'unknown');
        break;
      }
    }
  };
  walkTemplate(root, visit);
  found.sort((a, b) => a.rank - b.rank || a.line - b.line || a.column - b.column);
  return found.map(({ line, column, message }) => ({ line, column, message }));
}
