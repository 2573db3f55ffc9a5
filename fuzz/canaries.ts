// Values planted where only an escape from the data could read them: the environment, the global
// object, and a secret of another sync. Random per process, so no input can hold one by chance;
// a check still skips an input that does (Jazzer.js steers inputs toward strings it sees compared).
import { randomUUID } from 'node:crypto';

const environmentCanary = `env-canary-${randomUUID()}`;
const globalCanary = `global-canary-${randomUUID()}`;

export const CANARY_ENV = 'DESTINATIONS_FUZZ_CANARY';
export const CANARY_GLOBAL = 'destinationsFuzzCanary';

process.env[CANARY_ENV] = environmentCanary;
(globalThis as Record<string, unknown>)[CANARY_GLOBAL] = globalCanary;

/** Every planted value; none may show in anything a template or an event produces. */
export const CANARIES: readonly string[] = [environmentCanary, globalCanary];

/** What V8 writes for a built-in function as text ("function Object() { [native code] }"): in an output, a template reached one. */
export const FUNCTION_MARKS: readonly string[] = ['{ [native code] }'];

/** The first planted value or function mark in `output` that is not already in `input`, or undefined. */
export function leakIn(output: string, input: string): string | undefined {
  for (const mark of [...CANARIES, ...FUNCTION_MARKS]) if (output.includes(mark) && !input.includes(mark)) return mark;
  return undefined;
}
