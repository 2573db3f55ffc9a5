// Generates TypeScript types from schema/*.schema.json. The schemas are the source of truth;
// by default this checks that the checked-in files are current (the test suite runs it) and
// names each stale file; with --write it rewrites them.
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { compile, type JSONSchema } from 'json-schema-to-typescript';
import { GENERATED_TYPES_DIR, PACKAGE_ROOT, SCHEMA_DIR } from '../daemon/paths.js';

const BANNER = (source: string) =>
  `/* eslint-disable */\n/**\n * Generated from schema/${source} by tools/generate-types.ts. DO NOT EDIT BY HAND:\n * change the schema and run \`npm run generate-types\`.\n */`;

export interface GeneratedFile {
  path: string;
  content: string;
}

export async function generateTypes(): Promise<GeneratedFile[]> {
  const schemas = readdirSync(SCHEMA_DIR).filter((name) => name.endsWith('.schema.json')).sort();
  const files: GeneratedFile[] = [];
  for (const name of schemas) {
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, name), 'utf8')) as JSONSchema;
    const typeName = String(schema.title);
    const content = await compile(schema, typeName, {
      bannerComment: BANNER(name),
      additionalProperties: false,
      strictIndexSignatures: true,
      unknownAny: true,
      cwd: SCHEMA_DIR,
      style: { singleQuote: true, printWidth: 110 },
    });
    files.push({ path: join(GENERATED_TYPES_DIR, name.replace('.schema.json', '.ts')), content });
  }
  return files;
}

/** Returns the generated files whose checked-in content (in `dir`) differs; missing counts as stale. */
export async function staleGeneratedTypes(dir = GENERATED_TYPES_DIR): Promise<string[]> {
  const stale: string[] = [];
  for (const file of await generateTypes()) {
    let current = '';
    try {
      current = readFileSync(join(dir, basename(file.path)), 'utf8');
    } catch {
      // missing: stale
    }
    if (current !== file.content) stale.push(relative(PACKAGE_ROOT, join(dir, basename(file.path))));
  }
  return stale;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--write')) {
    mkdirSync(GENERATED_TYPES_DIR, { recursive: true });
    for (const file of await generateTypes()) {
      writeFileSync(file.path, file.content);
      console.log(`wrote ${relative(PACKAGE_ROOT, file.path)}`);
    }
    return 0;
  }
  const stale = await staleGeneratedTypes();
  for (const path of stale) console.error(`${path}: stale generated types; run npm run generate-types`);
  return stale.length === 0 ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
