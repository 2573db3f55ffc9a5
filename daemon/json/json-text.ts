// Places in JSON text: where a syntax error is, and where the value at a JSON pointer starts,
// so every error can be printed as path:line:col for editors and CI annotations.
import { findNodeAtLocation, parse, parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';

export interface TextPlace {
  line: number;
  column: number;
}

const STRICT = { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false } as const;

export function placeOfOffset(text: string, offset: number): TextPlace {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

/** The first syntax error of strict JSON text, with its place; undefined when the text parses. */
export function jsonSyntaxError(text: string): { place: TextPlace; offset: number; message: string } | undefined {
  const errors: ParseError[] = [];
  parse(text, errors, STRICT);
  const first = errors[0];
  if (!first) return undefined;
  return { place: placeOfOffset(text, first.offset), offset: first.offset, message: describe(printParseErrorCode(first.error)) };
}

function describe(code: string): string {
  // InvalidSymbol → "invalid symbol", CommaExpected → "comma expected"
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** The place of the value at a JSON pointer ("/parameters/0/name"), or of its nearest parent. */
export function placeOfPointer(text: string, pointer: string): TextPlace | undefined {
  const root = parseTree(text, [], STRICT);
  if (!root) return undefined;
  const segments = pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
  for (let length = segments.length; length >= 0; length--) {
    const node = findNodeAtLocation(root, segments.slice(0, length));
    if (node) {
      // For a property, point at its key rather than at its value.
      const target = node.parent?.type === 'property' ? node.parent : node;
      return placeOfOffset(text, target.offset);
    }
  }
  return undefined;
}
