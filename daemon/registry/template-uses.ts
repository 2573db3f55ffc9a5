// DECLARED vs USED: which parameters (and mapped fields) a template uses, read from the nunjucks
// syntax tree rather than from the text, so `parameters.x`, `parameters["x"]` and uses inside
// filters, conditions and loops are all found, and comments or string literals are not.
import { isAstNode, parseTemplate, type AstNode } from '../render/index.js';

export interface TemplateUse {
  name: string;
  /** 1-based place in the template source. */
  line: number;
  column: number;
}

export interface TemplateUses {
  /** `parameters.NAME` and `parameters['NAME']`. */
  parameters: TemplateUse[];
  /** `mappedFields.NAME`, also through a batch item (`item.mappedFields.NAME`). */
  mappedFields: TemplateUse[];
  /** `parameters[expression]` or `parameters` as a whole: uses that cannot be checked (name is the text used). */
  uncheckable: TemplateUse[];
}



/** Parses a template (it must compile) and lists its uses. */
export function findTemplateUses(source: string): TemplateUses {
  const uses: TemplateUses = { parameters: [], mappedFields: [], uncheckable: [] };
  visit(parseTemplate(source), uses);
  return uses;
}


function placeOf(node: AstNode): { line: number; column: number } {
  return { line: node.lineno + 1, column: node.colno + 1 };
}

function isSymbol(node: AstNode | undefined, name: string): boolean {
  return node?.typename === 'Symbol' && node.value === name;
}

function literalName(node: AstNode | undefined): string | undefined {
  return node?.typename === 'Literal' && typeof node.value === 'string' ? node.value : undefined;
}

function visit(node: AstNode, uses: TemplateUses): void {
  if (node.typename === 'LookupVal') {
    const key = literalName(node.val);
    if (isSymbol(node.target, 'parameters')) {
      const target = node.target as AstNode;
      if (key !== undefined) uses.parameters.push({ name: key, ...placeOf(target) });
      else uses.uncheckable.push({ name: 'parameters[…]', ...placeOf(target) });
      if (node.val) visit(node.val, uses);
      return;
    }
    const target = node.target;
    if (key !== undefined && (isSymbol(target, 'mappedFields') || (target?.typename === 'LookupVal' && literalName(target.val) === 'mappedFields'))) {
      uses.mappedFields.push({ name: key, ...placeOf(node.val as AstNode) });
    }
  } else if (isSymbol(node, 'parameters')) {
    uses.uncheckable.push({ name: 'parameters', ...placeOf(node) });
    return;
  }
  for (const field of node.fields) {
    const child = node[field];
    if (Array.isArray(child)) for (const item of child) isAstNode(item) && visit(item, uses);
    else if (isAstNode(child)) visit(child, uses);
  }
}
