// A destination's contract: the requests it accepts, as JSON Schema in its folder (destination.json's
// "contract" names the files). The schema describes one rendered request seen as
//   { "method": "POST", "query": { name: value }, "headers": { lower-case name: value }, "body": … }
// where body is the parsed JSON (the text for any other content type) and a query name given more
// than once holds a list of its values. Compiled once when the folder loads; the daemon checks
// every rendered request before sending (a violation is dead-lettered as contract_violation) and
// validate checks every request it renders from the generated corpus and the examples.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isJsonContentType, type RenderedRequest } from '../render/index.js';
import { LINEAR_REGEXP } from './linear-regexp.js';

/** A contract file larger than this is refused (its compile time grows with it). */
export const CONTRACT_MAX_BYTES = 256 * 1024;

export const CONTRACT_PARTS = { method: 'method', query: 'query', headers: 'headers', body: 'body' } as const;
export type ContractPart = (typeof CONTRACT_PARTS)[keyof typeof CONTRACT_PARTS];

/** Where a request breaks its contract: the dead letter's `detail` and validate's report. */
export interface ContractViolation {
  /** The contract file, relative to the destination's folder. */
  contract: string;
  part: ContractPart | 'request';
  /** JSON pointer into the part (the body's /events/0/name); empty for the part itself. */
  pointer: string;
  /** Where in the contract the failing rule is (#/properties/body/…/pattern), from the root of the
   *  (sub)schema holding it: a rule inside a "$ref"'d definition is named from that definition. */
  schemaPath: string;
  /** The rule broken, in words, without the value (which may hold a secret). */
  message: string;
}

export interface RequestContract {
  /** The contract file, relative to the destination's folder. */
  file: string;
  readonly validate: ValidateFunction;
}

/** A contract that is not valid JSON Schema (or uses what contracts do not offer): why. */
export class ContractSchemaError extends Error {
  override name = 'ContractSchemaError';
}

// One ajv for every contract: strict (an unknown keyword or format is a mistake, not ignored), the
// first error only (the daemon wants a yes or no, and a pointer), patterns in linear time, and no
// remote references (nothing is loaded from outside the folder).
// strictTypes and strictTuples are off: they ask for "type" beside every "properties", which JSON
// Schema does not, and a reference-style contract leaves it out.
const ajv = new Ajv({
  strict: true,
  strictTypes: false,
  strictTuples: false,
  allErrors: false,
  allowUnionTypes: true,
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  code: { regExp: LINEAR_REGEXP },
});

/** Compiles a contract's schema; throws ContractSchemaError with ajv's reason. */
export function compileContract(schema: unknown, file: string): RequestContract {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new ContractSchemaError('a contract is a JSON Schema object');
  // ajv keeps compiled schemas by $id: two folders' contracts with the same $id must not collide.
  const { $id: _ignored, ...own } = schema as Record<string, unknown>;
  const refused = refusedKeyword(own);
  if (refused) throw new ContractSchemaError(refused);
  try {
    return { file, validate: ajv.compile(own) };
  } catch (error) {
    if (error instanceof RangeError) throw new ContractSchemaError('the schema is nested too deep');
    throw new ContractSchemaError((error as Error).message.replace(/^schema is invalid: /, 'not valid JSON Schema: '));
  }
}

/**
 * What JSON Schema has and contracts do not offer: `uniqueItems` compares every item with every
 * other (a batch of 10,000 is 50 million deep comparisons, in validate on an unreviewed pull request
 * too). Looked for anywhere in the schema, iteratively (the schema is an author's: no recursion).
 */
function refusedKeyword(schema: object): string | undefined {
  const stack: unknown[] = [schema];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      stack.push(...value);
      continue;
    }
    for (const [key, child] of Object.entries(value)) {
      if (key === 'uniqueItems' && child === true) return 'uniqueItems is not offered in contracts: its check costs the square of the list\'s length';
      stack.push(child);
    }
  }
  return undefined;
}

/** The request as a contract sees it. Throws nothing: a body that is not JSON is its text. */
export function contractView(request: RenderedRequest): Record<string, unknown> {
  let body: unknown = request.body;
  if (isJsonContentType(request.headers['content-type'] ?? '')) {
    try {
      body = JSON.parse(request.body);
    } catch {
      body = request.body;
    }
  }
  return { method: request.method, query: queryOf(request.url), headers: request.headers, body };
}

function queryOf(url: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  const start = url.indexOf('?');
  if (start < 0) return query;
  const end = url.indexOf('#', start);
  for (const [name, value] of new URLSearchParams(url.slice(start + 1, end < 0 ? undefined : end))) {
    const known = query[name];
    if (known === undefined) query[name] = value;
    else if (Array.isArray(known)) known.push(value);
    else query[name] = [known, value];
  }
  return query;
}

/** Where the request breaks the contract, or undefined when it keeps it. */
export function checkContract(contract: RequestContract, request: RenderedRequest): ContractViolation | undefined {
  if (contract.validate(contractView(request))) return undefined;
  return violationOf(contract.file, contract.validate.errors?.[0]);
}

function violationOf(file: string, error: ErrorObject | undefined): ContractViolation {
  if (!error) return { contract: file, part: 'request', pointer: '', schemaPath: '#', message: 'does not match the contract' };
  const [, first = '', ...rest] = error.instancePath.split('/');
  const known = Object.values(CONTRACT_PARTS) as string[];
  const part = known.includes(first) ? (first as ContractPart) : 'request';
  const pointer = part === 'request' ? error.instancePath : rest.length ? `/${rest.join('/')}` : '';
  // additionalProperties names the key, which is the author's or the event's name, not a secret's value.
  const extra = error.keyword === 'additionalProperties' ? ` (${JSON.stringify((error.params as { additionalProperty?: string }).additionalProperty)})` : '';
  return { contract: file, part, pointer, schemaPath: error.schemaPath, message: `${error.message ?? `fails ${error.keyword}`}${extra}` };
}

/** One line: `contract.schema.json: body /events/0/name must match pattern "…" (schema #/…/pattern)`. */
export function describeViolation(violation: ContractViolation): string {
  const where = violation.part === 'request' ? violation.pointer || 'the request' : `${violation.part}${violation.pointer ? ` ${violation.pointer}` : ''}`;
  return `${violation.contract}: ${where} ${violation.message} (schema ${violation.schemaPath})`;
}
