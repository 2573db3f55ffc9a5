// Which variables a template reads, from its syntax tree. The oauth fields may read `parameters`
// only (the token request is made before any event is read), and a URL or header template that
// reads `parameters` only renders the same string for every request of a sync, so it is rendered
// once per loaded sync (constant-renders.ts).
import { isAstNode, type AstNode } from './template-safety.js';

export interface VariableRead {
  name: string;
  /** 1-based. */
  line: number;
  column: number;
}

/**
 * Every variable a template names, in source order: what it reads from its context, the globals it
 * calls, and also the names it binds itself (a loop variable, a macro's arguments, `loop`). Filter
 * and test names are not variables. Over-counting is safe for both callers: it only refuses more.
 */
export function variablesRead(root: AstNode): VariableRead[] {
  const found: VariableRead[] = [];
  const visit = (node: AstNode): void => {
    if (node.typename === 'Symbol') {
      found.push({ name: String(node.value), line: node.lineno + 1, column: node.colno + 1 });
      return;
    }
    for (const field of node.fields) {
      if (field === 'name' && (node.typename === 'Filter' || node.typename === 'FilterAsync')) continue;
      let child = node[field];
      if (node.typename === 'Is' && field === 'right' && isAstNode(child)) {
        if (child.typename === 'Symbol') continue;
        if (child.typename === 'FunCall') child = child.args;
      }
      for (const item of Array.isArray(child) ? child : [child]) if (isAstNode(item)) visit(item);
    }
  };
  visit(root);
  return found;
}

/**
 * A template whose output depends on `parameters` alone: it names no other variable, so it reads
 * no event, calls no global and binds nothing. Every filter it can use is a function of its
 * arguments (no clock, no random), so the same parameters always render the same string.
 */
export function readsOnlyParameters(root: AstNode): boolean {
  return variablesBeyondParameters(root).length === 0;
}

/** The variables a template (or an expression of one) reads other than `parameters`: event data, or what may derive from it. */
export function variablesBeyondParameters(root: AstNode): VariableRead[] {
  return variablesRead(root).filter((read) => read.name !== 'parameters');
}
