// The contract files destination.json names ("contract": {"request", "identify"}): each read, checked
// to be JSON Schema and compiled once, here, when the folder loads. A contract that cannot be read or
// compiled is an error naming its file.
import { existsSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import type { DestinationDefinition } from '../../schema/generated/destination.js';
import { compileContract, ContractSchemaError, CONTRACT_MAX_BYTES, type RequestContract } from '../contract/index.js';
import type { JsonDocument, Problems } from './problems.js';
import { insideFolder, readJson } from './read-json.js';
import type { RequestKind } from './render-for-sync.js';

export interface ReadContracts {
  contracts: Partial<Record<RequestKind, RequestContract>>;
  /** Each contract file's text, for the definition's version. */
  texts: Array<{ key: string; text: string }>;
}

export function readContracts(dir: string, document: JsonDocument, definition: DestinationDefinition, problems: Problems): ReadContracts {
  const read: ReadContracts = { contracts: {}, texts: [] };
  const named = definition.contract ?? {};
  for (const [key, kind] of [['request', 'track'], ['identify', 'identify']] as const) {
    const name = named[key];
    if (name === undefined) continue;
    const pointer = `/contract/${key}`;
    if (key === 'identify' && !definition.identify) problems.at(document, pointer, 'an identify contract needs an identify request');
    const file = insideFolder(dir, name);
    if (!file) {
      problems.at(document, pointer, `contract ${JSON.stringify(name)} must be a file inside the destination folder`);
      continue;
    }
    if (!existsSync(file) || !statSync(file).isFile()) {
      problems.at(document, pointer, `contract ${name} is missing`);
      continue;
    }
    if (statSync(file).size > CONTRACT_MAX_BYTES) {
      problems.error(file, `a contract over ${CONTRACT_MAX_BYTES / 1024} KiB: describe the request, not every value`);
      continue;
    }
    const contract = readJson(file, problems);
    if (!contract) continue;
    try {
      read.contracts[kind] = compileContract(contract.value, relative(dir, file));
      read.texts.push({ key: `contract:${key}`, text: contract.text });
    } catch (error) {
      if (!(error instanceof ContractSchemaError)) throw error;
      problems.error(file, `contract: ${error.message}`);
    }
  }
  return read;
}
