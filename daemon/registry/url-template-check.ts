// What may go where in a URL template, read from the nunjucks syntax tree: the scheme, host and port
// come from the template's own text and `parameters` only (the author's and operator's values); event
// data (input, mappedFields, mappedProperties, events, loop and set variables…) may appear only once
// a literal `/`, `?` or `#` has ended the host, and only through `| urlencode` as the last filter, so
// it cannot add a `/`, `\`, `?` or `#`. The one thing urlencode leaves, a segment that is exactly
// `.` or `..`, is refused when the URL is rendered (render-request.ts).
import { isAstNode, parseTemplate, variablesBeyondParameters, type AstNode } from '../render/index.js';
import type { JsonDocument, Problems } from './problems.js';

export interface UrlTemplateProblem {
  /** 1-based place in the template source. */
  line: number;
  column: number;
  message: string;
}

/** The filter event data must end in after the host. */
const ENCODER = 'urlencode';

/** Every problem of a URL template (which must compile). Empty when it keeps event data in its place. */
export function checkUrlTemplate(source: string): UrlTemplateProblem[] {
  const problems: UrlTemplateProblem[] = [];
  const root = parseTemplate(source);
  const scan = new AuthorityScan();
  for (const node of root.children ?? []) {
    if (scan.fixed) {
      checkAfterHost(node, problems);
      continue;
    }
    for (const item of node.typename === 'Output' ? (node.children ?? []) : [node]) {
      if (scan.fixed) {
        checkAfterHost(item, problems);
      } else if (item.typename === 'TemplateData') {
        scan.literal(String(item.value ?? ''));
      } else {
        for (const read of variablesBeyondParameters(item)) {
          problems.push({
            line: read.line,
            column: read.column,
            message: `the scheme, host and port of a URL may use only parameters, but "${read.name}" is used before a literal "/", "?" or "#" ends the host: event data cannot choose where a request goes`,
          });
        }
        scan.expression();
      }
    }
  }
  return problems;
}

/**
 * The start of a URL template up to and including the literal character that ends its host (the
 * whole template when none does): rendered with a sync's parameters alone, it gives the scheme, host
 * and port of every request of the sync. Only meaningful for a template that passed checkUrlTemplate.
 */
export function urlOriginSource(source: string): string {
  const root = parseTemplate(source);
  const scan = new AuthorityScan();
  for (const node of root.children ?? []) {
    for (const item of node.typename === 'Output' ? (node.children ?? []) : [node]) {
      if (item.typename !== 'TemplateData') {
        scan.expression();
        continue;
      }
      const end = scan.literal(String(item.value ?? ''));
      if (end !== -1) return source.slice(0, offsetOf(source, item.lineno, item.colno) + end + 1);
    }
  }
  return source;
}

/** Problems in the URL and identify URL templates of destination.json, placed at their JSON pointer. */
export function reportUrlTemplateProblems(
  document: JsonDocument,
  templates: ReadonlyArray<{ key: string; label: string; source: string; pointer?: string; compiled?: unknown }>,
  problems: Problems,
): void {
  for (const template of templates) {
    if ((template.key !== 'url' && template.key !== 'identify url') || !template.compiled) continue;
    for (const problem of checkUrlTemplate(template.source)) {
      problems.at(document, template.pointer ?? '', `${problem.message} (in the ${template.label} template, line ${problem.line}, column ${problem.column})`);
    }
  }
}

/**
 * Reads a URL's literal text left to right and tells when its host has ended: at the first `/`,
 * `\`, `?` or `#` that is not part of the slashes after the scheme's colon (`https://`, and WHATWG
 * skips any number of them). A `/` right after an expression ends the host: `{{ parameters.endpoint }}/x`.
 */
class AuthorityScan {
  fixed = false;
  /** Inside the run of slashes that follows a colon. */
  #afterColon = false;

  /** Index in `text` of the character that ends the host, or -1. */
  literal(text: string): number {
    for (let index = 0; index < text.length; index++) {
      const c = text[index];
      if (c === ':') {
        this.#afterColon = true;
      } else if (c === '/' || c === '\\') {
        if (!this.#afterColon) return this.#fix(index);
      } else if (c === '?' || c === '#') {
        return this.#fix(index);
      } else {
        this.#afterColon = false;
      }
    }
    return -1;
  }

  expression(): void {
    this.#afterColon = false;
  }

  #fix(index: number): number {
    this.fixed = true;
    return index;
  }
}

/** After the host: every output that uses anything but parameters must end in `| urlencode`. */
function checkAfterHost(node: AstNode, problems: UrlTemplateProblem[]): void {
  if (node.typename === 'TemplateData') return;
  if (node.typename === 'Output') {
    for (const child of node.children ?? []) checkAfterHost(child, problems);
    return;
  }
  if (isExpression(node)) {
    const [first] = variablesBeyondParameters(node);
    if (first !== undefined && !isEncoded(node)) {
      problems.push({
        line: first.line,
        column: first.column,
        message: `"${first.name}" in a URL path or query must go through | ${ENCODER} as its last filter, so event data cannot add "/", "\\", "?" or "#"`,
      });
    }
    return;
  }
  // A statement (if, for, set…): its conditions choose among the author's text; look for outputs inside.
  // Only bodies are walked: a condition, a loop's list or a set's target writes nothing.
  for (const field of node.fields) {
    const child = node[field];
    for (const item of Array.isArray(child) ? child : [child]) {
      if (isAstNode(item) && (item.typename === 'Output' || isStatement(item))) checkAfterHost(item, problems);
    }
  }
}

const STATEMENTS = new Set(['NodeList', 'If', 'IfAsync', 'For', 'AsyncEach', 'AsyncAll', 'Set', 'Macro', 'Caller', 'FilterAsync', 'Block', 'Super', 'Include', 'Extends', 'Import', 'FromImport', 'CallExtension', 'CallExtensionAsync', 'Capture', 'Switch', 'Case', 'Root']);

function isStatement(node: AstNode): boolean {
  return STATEMENTS.has(node.typename);
}

/** Inside an Output, anything that is not text or a statement is an expression whose value is written. */
function isExpression(node: AstNode): boolean {
  return !isStatement(node) && node.typename !== 'TemplateData' && node.typename !== 'Output';
}

function isEncoded(node: AstNode): boolean {
  let expression = node;
  while (expression.typename === 'Group' && Array.isArray(expression.children) && expression.children.length === 1) expression = expression.children[0];
  const name = expression.name as AstNode | undefined;
  return expression.typename === 'Filter' && name?.typename === 'Symbol' && name.value === ENCODER;
}

/** Offset in `source` of a 0-based line and column as nunjucks' lexer counts them. */
function offsetOf(source: string, line: number, column: number): number {
  let offset = 0;
  for (let current = 0; current < line; current++) offset = source.indexOf('\n', offset) + 1;
  return offset + column;
}
