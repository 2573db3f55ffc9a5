// A body template that is JSON by construction: nothing but literal text and `{{ expr | json }}`
// holes, where the literal text is JSON with a value in each hole. Whatever values the holes get,
// the output is JSON (`json` always writes one JSON value, or throws), so the check of every
// rendered body (render-request.ts) can be skipped for it; every other template is checked.
import type { AstNode } from './template-safety.js';

/** What stands in a hole. With `null` and with a string holding a quote both parsing, every hole is
 *  in a value position: inside a string, the quote would end it and leave `a` after it. */
const STAND_INS = ['null', '"a\\"b"'] as const;

/** The literal parts of a template made only of text and `| json` holes (one more part than holes), or undefined. */
function literalParts(root: AstNode): string[] | undefined {
  const parts = [''];
  for (const output of root.children ?? []) {
    if (output.typename !== 'Output') return undefined;
    for (const node of output.children ?? []) {
      if (node.typename === 'TemplateData') parts[parts.length - 1] += String(node.value);
      else if (isJsonHole(node)) parts.push('');
      else return undefined;
    }
  }
  return parts;
}

/** `expr | json`, without an indent: json("abc") would indent with any text. */
function isJsonHole(node: AstNode): boolean {
  if (node.typename !== 'Filter') return false;
  const name = node.name as AstNode;
  const args = (node.args as AstNode).children ?? [];
  return name.typename === 'Symbol' && name.value === 'json' && args.length === 1;
}

export function isJsonByConstruction(root: AstNode): boolean {
  if (root.typename !== 'Root') return false;
  const parts = literalParts(root);
  if (!parts) return false;
  return STAND_INS.every((standIn) => {
    try {
      JSON.parse(parts.join(standIn));
      return true;
    } catch {
      return false;
    }
  });
}
