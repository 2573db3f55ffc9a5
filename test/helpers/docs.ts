// Reading what the docs say, for the tests that hold them to the code.
import assert from 'node:assert/strict';

/** The codes in the first column of the table under `### Reason codes` in docs/cli.md. */
export function cliReasonTable(markdown: string): string[] {
  const section = markdown.split(/^### Reason codes$/m)[1]?.split(/^#{1,3} /m)[0];
  assert.ok(section, 'docs/cli.md has a "### Reason codes" section');
  return [...section.matchAll(/^\| `([a-z0-9_]+)` \|/gm)].map((match) => match[1]);
}
