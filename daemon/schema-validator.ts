// A JSON schema validator compiled the first time it is called. Compiling a schema with ajv costs
// 0.1–0.3 s of CPU each, and every process that imports the registry, the config or the event
// decoder used to pay for all of them at start: `destinations --help` as much as the daemon.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ajv, ValidateFunction } from 'ajv';
import { SCHEMA_DIR } from './paths.js';

/** A ValidateFunction for schema/<file> that compiles it with `ajv` on first use; `.errors` as ajv's. */
export function schemaValidator<T>(ajv: Ajv, file: string): ValidateFunction<T> {
  let compiled: ValidateFunction<T> | undefined;
  const validate = ((data: unknown) => {
    compiled ??= ajv.compile<T>(JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')));
    const valid = compiled(data);
    validate.errors = compiled.errors;
    return valid;
  }) as ValidateFunction<T>;
  return validate;
}
