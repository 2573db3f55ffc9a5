// Mistakes a template can make that still render: Freemarker written where nunjucks is meant
// (the partner guide's examples are Freemarker, so `${input.event_type}` is pasted and rendered
// literally, and `{% if x?? %}` reads a name "x??" that never exists), and `a or {} | json`, which
// is `a or ({} | json)` because a filter binds tighter than `or`. Each is found with its place and
// the nunjucks to write instead, for the template's position: a body writes JSON (`| json`, the
// quotes go), a URL percent-encodes (`| urlencode`), a header takes the text (the daemon encodes
// event data in headers). The advice is tested by applying it (test/render/freemarker-advice.test.ts).
import nunjucks from 'nunjucks';
import { walkTemplate, type AstNode, type UnsafeUse } from './template-safety.js';

/** Where a template's output goes: it decides how a value is written. */
export type TemplatePosition = 'body' | 'url' | 'header';

export interface HintOptions {
  position?: TemplatePosition;
  /** The destination's declared parameters: `${api_key}` is `parameters.api_key`, not an event field. */
  parameters?: readonly string[];
}

/** The names a template's context starts with (context.ts) and nunjucks' loop. */
const CONTEXT_ROOTS = new Set(['input', 'parameters', 'mappedProperties', 'mappedFields', 'events', 'loop']);

/** 1-based line and column of `offset` in literal text that starts at (0-based) lineno, colno. */
function placeIn(text: string, offset: number, lineno: number, colno: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return before.length === 1 ? { line: lineno + 1, column: colno + 1 + offset } : { line: lineno + before.length, column: before[before.length - 1].length + 1 };
}

function isJsonFilter(node: AstNode | undefined): boolean {
  return node?.typename === 'Filter' && (node.name as AstNode).value === 'json';
}

/**
 * The JSON string `"…"` of a body that holds offset `at` but is not only the interpolation there
 * ("Hello ${name}!"), when it is on one line and holds no other Freemarker directive.
 */
function enclosingString(text: string, at: number): string | undefined {
  const lineStart = text.lastIndexOf('\n', at) + 1;
  // An interpolation's own quotes (${x!"d"}) are not the string's: skipped whole.
  const skip = (index: number): number => (text.startsWith('${', index) && text.indexOf('}', index) !== -1 ? text.indexOf('}', index) + 1 : text[index] === '\\' ? index + 2 : index + 1);
  let open = -1;
  for (let index = lineStart; index < at; index = skip(index)) if (text[index] === '"') open = open === -1 ? index : -1;
  if (open === -1) return undefined;
  let close = skip(at);
  while (close < text.length && text[close] !== '"' && text[close] !== '\n') close = skip(close);
  if (text[close] !== '"') return undefined;
  const string = text.slice(open, close + 1);
  if (string.includes('<#') || /^"\$\{[^}]*\}"$/.test(string)) return undefined;
  return string;
}

class Advice {
  constructor(
    readonly position: TemplatePosition,
    private readonly parameters: ReadonlySet<string>,
    private readonly locals: ReadonlySet<string>,
  ) {}

  /** A Freemarker name path as a context path: event fields live under input. */
  path(name: string): string {
    const root = name.split('.')[0];
    if (CONTEXT_ROOTS.has(root) || this.locals.has(root)) return name;
    if (this.parameters.has(root)) return `parameters.${name}`;
    return `input.${name}`;
  }

  /** `${…}`: what to write for it; `quoted` when the match took the JSON string's quotes with it. */
  interpolation(expression: string, quoted: boolean, atStart: boolean): string | undefined {
    const parsed = /^\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*(\?c|\?string|!\s*("(?:[^"\\]|\\.)*"|'[^'\\]*'|-?\d+(?:\.\d+)?)?)?\s*$/.exec(expression);
    if (!parsed) return undefined;
    const [, name, builtin, fallback] = parsed;
    const path = this.path(name);
    let value = path;
    if (builtin?.startsWith('!')) value += ` | or_default(${fallback === undefined ? '""' : fallback.startsWith("'") ? JSON.stringify(fallback.slice(1, -1)) : fallback})`;
    const asText = builtin === '?string' || (builtin === '?c' && quoted);
    // urlencode writes a number as nothing (it reads a non-string as a list of pairs): string first.
    if (this.position === 'url') return path.startsWith('parameters.') && atStart ? `{{ ${value} }}` : `{{ ${value} | string | urlencode }}`;
    if (this.position === 'header') return `{{ ${value}${builtin === '?string' ? ' | string' : ''} }}`;
    return `{{ ${value}${asText ? ' | string' : ''} | json }}`;
  }

  /** A JSON string with interpolations ("Hello ${name}!") as one nunjucks value: ("Hello " ~ input.name ~ "!") | json. */
  wholeString(inner: string): string | undefined {
    const parts: string[] = [];
    const literal = (piece: string): string | undefined => {
      try {
        return JSON.stringify(JSON.parse(`"${piece}"`));
      } catch {
        return undefined;
      }
    };
    let last = 0;
    for (const match of inner.matchAll(/\$\{([^}\n]*)\}/g)) {
      const parsed = /^\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*(\?c|\?string)?\s*$/.exec(match[1]);
      if (!parsed) return undefined;
      if (match.index > last) parts.push(literal(inner.slice(last, match.index)) ?? '');
      parts.push(this.path(parsed[1]));
      last = match.index + match[0].length;
    }
    if (last < inner.length) parts.push(literal(inner.slice(last)) ?? '');
    if (parts.includes('')) return undefined;
    return `{{ (${parts.join(' ~ ')}) | json }}`;
  }

  /** A Freemarker condition (`x??`, `x?has_content`, `&&`, `=`) as a nunjucks one. */
  condition(text: string): string {
    const tokens = /("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(\?\?|\?has_content)?|(&&|\|\||!=|!|==|=|>=|<=|\S)/g;
    const words: Record<string, string> = { true: 'true', false: 'false', gt: '>', lt: '<', gte: '>=', lte: '<=', and: 'and', or: 'or', not: 'not' };
    const symbols: Record<string, string> = { '&&': 'and', '||': 'or', '!': 'not', '=': '==' };
    const out: string[] = [];
    for (const [, string, name, builtin, symbol] of text.matchAll(tokens)) {
      if (string) out.push(string.startsWith("'") ? JSON.stringify(string.slice(1, -1)) : string);
      else if (name) {
        if (words[name] && !builtin) out.push(words[name]);
        else out.push(builtin === '??' ? `${this.path(name)} != null` : this.path(name));
      } else out.push(symbols[symbol] ?? symbol);
    }
    return out.join(' ').replace(/\( /g, '(').replace(/ \)/g, ')') || 'condition';
  }
}

type Hint = (match: RegExpExecArray, advice: Advice, atStart: boolean, text: string) => { text: string; instead: string } | undefined;

/** Freemarker in literal template text, and what to write in nunjucks instead. */
const FREEMARKER: ReadonlyArray<{ pattern: RegExp; hint: Hint }> = [
  {
    pattern: /("?)\$\{([^}\n]*)\}("?)/g,
    hint: (m, advice, atStart, all) => {
      const inside = advice.position === 'body' ? enclosingString(all, m.index + m[1].length) : undefined;
      if (inside) {
        const whole = advice.wholeString(inside.slice(1, -1));
        if (whole) return { text: inside, instead: whole };
      }
      const quoted = m[1] === '"' && m[3] === '"';
      const text = quoted ? m[0] : `\${${m[2]}}`;
      const instead = advice.interpolation(m[2], quoted, atStart);
      return { text, instead: instead ?? `{{ … }} with the expression ${m[2].trim()} written in nunjucks` };
    },
  },
  { pattern: /<#if\b([^>\n]*)>/g, hint: (m, advice) => ({ text: m[0], instead: `{% if ${advice.condition(m[1])} %}` }) },
  { pattern: /<#elseif\b([^>\n]*)>/g, hint: (m, advice) => ({ text: m[0], instead: `{% elif ${advice.condition(m[1])} %}` }) },
  { pattern: /<#else>/g, hint: (m) => ({ text: m[0], instead: '{% else %}' }) },
  { pattern: /<\/#if>/g, hint: (m) => ({ text: m[0], instead: '{% endif %}' }) },
  { pattern: /<#list\s+([A-Za-z_$][\w$.]*)\s+as\s+([A-Za-z_$][\w$]*)\s*>/g, hint: (m, advice) => ({ text: m[0], instead: `{% for ${m[2]} in ${advice.path(m[1])} %}` }) },
  { pattern: /<#list\b[^>\n]*>/g, hint: (m) => ({ text: m[0], instead: '{% for item in list %}' }) },
  { pattern: /<\/#list>/g, hint: (m) => ({ text: m[0], instead: '{% endfor %}' }) },
  { pattern: /<#sep>([^<\n]*)(?:<\/#sep>|(?=<\/#list>|<\/#items>))/g, hint: (m) => ({ text: m[0], instead: `{% if not loop.last %}${m[1]}{% endif %}` }) },
  {
    pattern: /<#(assign|sep|items|macro|include|import)\b[^>\n]*>/g,
    hint: (m) => ({
      text: m[0],
      instead:
        m[1] === 'assign' ? '{% set name = value %}' : m[1] === 'sep' ? '{% if not loop.last %}…{% endif %} around the separator' : `a nunjucks construct (Freemarker's <#${m[1]}> has no direct equivalent here)`,
    }),
  },
];

/** Names a template binds itself (loop variables, set targets, Freemarker list variables): not event fields. */
function localNames(root: AstNode): Set<string> {
  const names = new Set<string>();
  walkTemplate(root, (node) => {
    if (node.typename === 'For' || node.typename === 'Set') {
      const targets = node.typename === 'For' ? [node.name as AstNode] : ((node.targets as AstNode[]) ?? []);
      for (const target of targets) {
        if (target?.typename === 'Symbol') names.add(String(target.value));
        for (const child of (target?.children as AstNode[] | undefined) ?? []) if (child.typename === 'Symbol') names.add(String(child.value));
      }
    }
    if (node.typename === 'TemplateData' && typeof node.value === 'string') {
      for (const match of node.value.matchAll(/<#list\s+\S+\s+as\s+([A-Za-z_$][\w$]*)/g)) names.add(match[1]);
    }
  });
  return names;
}

/** Freemarker syntax and the `or … | json` precedence trap, in source order. */
export function findTemplateMistakes(root: AstNode, options: HintOptions = {}): UnsafeUse[] {
  const found: UnsafeUse[] = [];
  const advice = new Advice(options.position ?? 'body', new Set(options.parameters ?? []), localNames(root));
  walkTemplate(root, (node) => {
    if (node.typename === 'TemplateData' && typeof node.value === 'string') {
      const text = node.value;
      if (!text.includes('${') && !text.includes('#')) return;
      const seen = new Set<number>();
      for (const { pattern, hint } of FREEMARKER) {
        for (const match of text.matchAll(pattern)) {
          const shown = hint(match as RegExpExecArray, advice, node.lineno === 0 && node.colno === 0 && match.index === 0, text);
          if (!shown) continue;
          const index = shown.text.length > match[0].length ? text.lastIndexOf(shown.text, match.index + 1) : match.index + match[0].indexOf(shown.text);
          if (seen.has(index)) continue;
          seen.add(index);
          const place = placeIn(text, index, node.lineno, node.colno);
          found.push({ ...place, message: `${shown.text} is Freemarker, which nunjucks writes as text: write ${shown.instead}` });
        }
      }
      return;
    }
    // `a or {} | json`: the filter applies to {} alone, so an object a is written as "[object Object]".
    if ((node.typename === 'Or' || node.typename === 'And') && isJsonFilter(node.right as AstNode) && !isJsonFilter(node.left as AstNode)) {
      const word = node.typename === 'Or' ? 'or' : 'and';
      const right = node.right as AstNode;
      found.push({
        line: right.lineno + 1,
        column: right.colno + 1,
        message: `json binds tighter than ${word}: "a ${word} b | json" is "a ${word} (b | json)"; write (a ${word} b) | json`,
      });
    }
  });
  return found.sort((a, b) => a.line - b.line || a.column - b.column);
}

interface Token {
  type: string;
  value: string;
  lineno: number;
  colno: number;
}

/**
 * Freemarker operators inside nunjucks tags, found on the tokens (so before parsing, which refuses
 * some and silently accepts others): `x??`, `x?c`, `x?string` lex as one name that never exists;
 * `x!"d"` does not parse. One pass over the lexer's tokens: linear in the template.
 */
export function findFreemarkerOperators(source: string, lexerOptions: object, options: HintOptions = {}): UnsafeUse[] {
  const position = options.position ?? 'body';
  const found: UnsafeUse[] = [];
  const tokens: Token[] = [];
  const lexer = (nunjucks as unknown as { lexer: { lex(source: string, options: object): { nextToken(): Token | null } } }).lexer.lex(source, lexerOptions);
  try {
    for (let token = lexer.nextToken(); token; token = lexer.nextToken()) if (token.type !== 'whitespace') tokens.push(token);
  } catch {
    // A lexer error is the parser's to report, with its place.
  }
  /** The dotted path that ends at token `end` (input.x), and the index of its first token. */
  const pathBefore = (end: number): { path: string; start: number } => {
    let start = end;
    while (start >= 2 && tokens[start - 1].type === 'operator' && tokens[start - 1].value === '.' && tokens[start - 2].type === 'symbol') start -= 2;
    return { path: tokens.slice(start, end + 1).map((token) => token.value).join(''), start };
  };
  const report = (at: Token, text: string, why: string, instead: string) =>
    found.push({ line: at.lineno + 1, column: at.colno + 1, message: `${text} is Freemarker (${why}), which nunjucks does not have: write ${instead}` });
  tokens.forEach((token, index) => {
    if (token.type === 'symbol' && token.value.includes('?')) {
      const { path, start } = pathBefore(index);
      const cut = path.indexOf('?');
      const base = path.slice(0, cut);
      const builtin = path.slice(cut);
      const at = tokens[start];
      if (builtin === '??') report(at, path, '"has a value"; nunjucks reads a name that never exists, so it is always false', `${base} != null`);
      else if (builtin === '?c') report(at, path, 'a number as computers write it', position === 'url' ? `${base} | string | urlencode` : position === 'header' ? base : `${base} | json`);
      else if (builtin === '?string') report(at, path, 'a value as text', `${base} | string`);
      else if (builtin === '?has_content') report(at, path, '"is not empty"', base);
      else report(at, path, `the built-in ${builtin}`, 'a nunjucks filter (x | name)');
    }
    if (token.type === 'operator' && token.value === '!' && index > 0 && tokens[index - 1].type === 'symbol') {
      const { path, start } = pathBefore(index - 1);
      const next = tokens[index + 1];
      const literal = next && (next.type === 'string' || next.type === 'int' || next.type === 'float');
      const fallback = !literal ? '""' : next.type === 'string' ? JSON.stringify(next.value) : next.value;
      const text = `${path}!${literal ? (next.type === 'string' ? JSON.stringify(next.value) : next.value) : ''}`;
      report(tokens[start], text, 'a default for a missing value', `${path} | or_default(${fallback})`);
    }
  });
  return found;
}
