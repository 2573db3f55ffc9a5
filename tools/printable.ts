// The last guard before a message reaches the operator's terminal: URL userinfo and every secret
// value the command holds (a NATS password, token or seed) are taken out, in any of their forms.
import { textWithoutUserinfo } from '../daemon/nats/index.js';
import { redact } from '../daemon/secrets/index.js';

const held: string[] = [];

/** Secrets this process resolved: never printed, whatever message quotes them. */
export function keepOutOfOutput(values: Iterable<string>): void {
  for (const value of values) if (value !== '' && !held.includes(value)) held.push(value);
}

export function printable(text: string): string {
  return redact(textWithoutUserinfo(text), [...held]);
}
