// Strict validation of destination, sync and example files against schema/: unknown keys are errors,
// nothing is coerced or removed, and every error becomes a problem at its file's line and column.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { AdminReport } from '../../schema/generated/admin-report.js';
import type { DestinationDefinition } from '../../schema/generated/destination.js';
import type { DestinationExample } from '../../schema/generated/example.js';
import type { SyncDefinition } from '../../schema/generated/sync.js';
import type { DestinationVariables } from '../../schema/generated/variables.js';
import { schemaValidator } from '../schema-validator.js';
import { pointerOf, type JsonDocument, type Problems } from './problems.js';

const ajv = new Ajv({
  allErrors: true,
  strict: true,
  // The schemas use ["string", "number", "boolean"] unions on purpose.
  allowUnionTypes: true,
  // Messages list the allowed keys and show the offending value, so errors carry their schema and data.
  verbose: true,
  useDefaults: false,
  coerceTypes: false,
  removeAdditional: false,
});

// Each compiled on first use: a command or test that reads no example or variables file, or no
// admin report, does not pay for compiling their schemas.
function compileSchema<T>(file: string): ValidateFunction<T> {
  return schemaValidator<T>(ajv, file);
}

export const validateDestinationFile = compileSchema<DestinationDefinition>('destination.schema.json');
export const validateSyncFile = compileSchema<SyncDefinition>('sync.schema.json');
export const validateExampleFile = compileSchema<DestinationExample>('example.schema.json');
export const validateVariablesFile = compileSchema<DestinationVariables>('variables.schema.json');
/** What a daemon's /destinations answers (read by `destinations status`). */
export const validateAdminReport = compileSchema<AdminReport>('admin-report.schema.json');

/** Validates a document; every schema error is added to `problems`. True when valid. */
export function checkAgainstSchema<T>(document: JsonDocument, validate: ValidateFunction<T>, problems: Problems): boolean {
  if (validate(document.value)) return true;
  for (const { pointer, message } of describeSchemaErrors(validate.errors ?? [])) problems.at(document, pointer, message);
  return false;
}

/** Turns ajv's errors into one readable message per mistake. A value that matches none of a oneOf's
 *  forms gets one message naming the forms, not one per form. */
export function describeSchemaErrors(errors: readonly ErrorObject[]): Array<{ pointer: string; message: string }> {
  const alternatives = errors.filter((error) => error.keyword === 'oneOf' || error.keyword === 'anyOf');
  const outermost = new Map<string, ErrorObject>();
  for (const error of alternatives) {
    const current = outermost.get(error.instancePath);
    if (!current || error.schemaPath.length < current.schemaPath.length) outermost.set(error.instancePath, error);
  }
  const coveredBy = (error: ErrorObject) =>
    [...outermost.keys()].some((path) => error.instancePath === path || error.instancePath.startsWith(`${path}/`));
  const kept = errors.filter((error) =>
    outermost.has(error.instancePath) ? outermost.get(error.instancePath) === error : !coveredBy(error),
  );
  // propertyNames reports the name once for itself and once for the failing rule: keep one.
  const described = kept
    .filter((error) => !(error.keyword !== 'propertyNames' && (error as { propertyName?: string }).propertyName !== undefined))
    .map(describe);
  const seen = new Set<string>();
  return described.filter(({ pointer, message }) => !seen.has(`${pointer}\n${message}`) && seen.add(`${pointer}\n${message}`));
}

function describe(error: ErrorObject): { pointer: string; message: string } {
  const pointer = error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const hint = allowed.length ? ` (allowed: ${allowed.join(', ')})` : '';
      return { pointer: `${pointer}${pointerOf(key)}`, message: `unknown key "${key}"${hint}` };
    }
    case 'required':
      return { pointer, message: `missing required key "${String(params.missingProperty)}"` };
    case 'enum':
      return {
        pointer,
        message: `${show(error.data)} is not allowed; must be one of: ${(params.allowedValues as unknown[]).map(show).join(', ')}`,
      };
    case 'type':
      return { pointer, message: `must be ${article(String(params.type))}, not ${kind(error.data)}` };
    case 'pattern':
      return { pointer, message: `${show(error.data)} must match the pattern ${String(params.pattern)}` };
    case 'propertyNames':
      return { pointer: `${pointer}${pointerOf(String(params.propertyName))}`, message: `invalid name ${show(params.propertyName)}` };
    case 'oneOf':
    case 'anyOf':
      return {
        pointer,
        message: `must be ${describeAlternatives(error.schema as object[])}, not ${show(error.data)}`,
      };
    default:
      return { pointer, message: error.message ?? `fails ${error.keyword}` };
  }
}

const KNOWN_REFERENCES: Record<string, string> = {
  secretRef: 'a secret reference {"env": "NAME"} or {"file": "path"}',
  conditionValue: 'a string, number or boolean',
};

function describeAlternatives(branches: object[]): string {
  const names = branches.map((branch) => {
    const { type, $ref, required } = branch as { type?: string | string[]; $ref?: string; required?: string[] };
    if ($ref) return KNOWN_REFERENCES[$ref.split('/').pop() ?? ''] ?? `a value as in ${$ref}`;
    if (type === 'array') return 'a non-empty list of them';
    if (typeof type === 'string') return article(type);
    if (required?.length) return `{"${required[0]}": …}`;
    return 'a value of another form';
  });
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : (names[0] ?? 'valid');
}

function article(type: string): string {
  return type.split(',').map((name) => (name === 'object' || name === 'array' || name === 'integer' ? `an ${name}` : `a ${name}`)).join(' or ');
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${show(value)}`;
}

/** A value in a message: JSON, cut to a readable length. */
export function show(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
