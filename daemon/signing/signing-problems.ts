// What is wrong with a destination's `signing` option (checked when destination.json is read), and
// with a sync's signing secrets once they are resolved (checked before the daemon runs the sync, as
// an unresolved secret is): each names its place, never a secret's value.
import type { DestinationDefinition } from '../../schema/generated/destination.js';
import { signingKeys, type SigningSync } from './request-signing.js';
import { SigningSecretError, WEBHOOK_HEADERS } from './standard-webhooks.js';

/** A problem at a JSON pointer of destination.json. */
export interface SigningDefinitionProblem {
  pointer: string;
  message: string;
}

/** The signing headers are the scheme's: a header template of the same name would be overwritten. */
const SIGNING_HEADER_NAMES: ReadonlySet<string> = new Set(Object.values(WEBHOOK_HEADERS));

export function signingDefinitionProblems(definition: DestinationDefinition): SigningDefinitionProblem[] {
  const signing = definition.signing;
  if (!signing) return [];
  const problems: SigningDefinitionProblem[] = [];
  const declared = definition.parameters ?? [];
  signing.secrets.forEach((name, index) => {
    const parameter = declared.find((candidate) => candidate.name === name);
    const pointer = `/signing/secrets/${index}`;
    if (!parameter) {
      problems.push({ pointer, message: `signing secret "${name}" is not a declared parameter${declared.length ? ` (declared: ${declared.map((p) => p.name).join(', ')})` : ''}` });
    } else if (!parameter.secret) {
      problems.push({ pointer, message: `signing secret "${name}" must be declared "secret": true: a signing key is given by reference and never shown` });
    }
  });
  for (const [request, headers] of [['request', definition.request.headers], ['identify', definition.identify?.headers]] as const) {
    for (const name of Object.keys(headers ?? {})) {
      if (SIGNING_HEADER_NAMES.has(name.toLowerCase())) {
        problems.push({ pointer: `/${request}/headers/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`, message: `header ${name} is set by "signing": remove it from the headers` });
      }
    }
  }
  return problems;
}

/** A sync's problem with a signing secret, in the shape of a load problem. */
export interface SigningSecretProblem {
  file: string;
  severity: 'error';
  pointer: string;
  message: string;
}

/** A resolved signing secret that is not a `whsec_` key: the sync cannot sign, so it must not run. */
export function signingSecretProblems(sync: SigningSync & { file: string }): SigningSecretProblem[] {
  const signing = sync.destination.definition.signing;
  if (!signing) return [];
  try {
    signingKeys(signing, sync.parameters.values);
    return [];
  } catch (error) {
    if (!(error instanceof SigningSecretError)) throw error;
    return [{ file: sync.file, severity: 'error', pointer: `/parameters/${error.parameter ?? signing.secrets[0]}`, message: error.message }];
  }
}
