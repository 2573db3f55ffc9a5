// Mistakes a template can make that still render: Freemarker written where nunjucks is meant
// (the partner guide's examples are Freemarker, so `${input.event_type}` is pasted and rendered
// literally), and `a or {} | json`, which is `a or ({} | json)` because a filter binds tighter
// than `or`. Found on the syntax tree (the same walk as the safety check), each with its place.
import { walkTemplate, type AstNode, type UnsafeUse } from './template-safety.js';

/** Freemarker in literal template text, and what to write in nunjucks instead. */
const FREEMARKER: ReadonlyArray<{ pattern: RegExp; instead: (match: RegExpExecArray) => string }> = [
  { pattern: /\$\{([^}\n]*)\}/g, instead: (m) => `{{ ${m[1].trim() || 'value'} | json }}` },
  { pattern: /<#if\b([^>\n]*)>/g, instead: (m) => `{% if ${m[1].trim() || 'condition'} %}` },
  { pattern: /<#elseif\b([^>\n]*)>/g, instead: (m) => `{% elif ${m[1].trim() || 'condition'} %}` },
  { pattern: /<#else>/g, instead: () => '{% else %}' },
  { pattern: /<\/#if>/g, instead: () => '{% endif %}' },
  { pattern: /<#list\s+(\S+)\s+as\s+([^>\s]+)\s*>/g, instead: (m) => `{% for ${m[2]} in ${m[1]} %}` },
  { pattern: /<#list\b[^>\n]*>/g, instead: () => '{% for item in list %}' },
  { pattern: /<\/#list>/g, instead: () => '{% endfor %}' },
  { pattern: /<#(assign|sep|items|macro|include|import)\b[^>\n]*>/g, instead: (m) => (m[1] === 'assign' ? '{% set name = value %}' : `a nunjucks construct (Freemarker's <#${m[1]}> has no direct equivalent here)`) },
];

/** 1-based line and column of `offset` in literal text that starts at (0-based) lineno, colno. */
function placeIn(text: string, offset: number, lineno: number, colno: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return before.length === 1 ? { line: lineno + 1, column: colno + 1 + offset } : { line: lineno + before.length, column: before[before.length - 1].length + 1 };
}

function isJsonFilter(node: AstNode | undefined): boolean {
  return node?.typename === 'Filter' && (node.name as AstNode).value === 'json';
}

/** Freemarker syntax and the `or … | json` precedence trap, in source order. */
export function findTemplateMistakes(root: AstNode): UnsafeUse[] {
  const found: UnsafeUse[] = [];
  walkTemplate(root, (node) => {
    if (node.typename === 'TemplateData' && typeof node.value === 'string') {
      const text = node.value;
      if (!text.includes('${') && !text.includes('#')) return;
      const seen = new Set<number>();
      for (const { pattern, instead } of FREEMARKER) {
        for (const match of text.matchAll(pattern)) {
          if (seen.has(match.index)) continue;
          seen.add(match.index);
          const place = placeIn(text, match.index, node.lineno, node.colno);
          found.push({ ...place, message: `${match[0]} is Freemarker, which nunjucks writes as text: write ${instead(match as RegExpExecArray)}` });
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
