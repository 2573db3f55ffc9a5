// A rendered request as a cURL command that can be pasted into a POSIX shell and sends exactly
// the previewed method, URL, headers and body.
import type { RenderedRequest } from '../daemon/render/index.js';

/** Single-quotes a word for sh: inside single quotes nothing is special but the quote itself. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function toCurl(request: RenderedRequest): string {
  const parts = [`curl -X ${request.method} ${shellQuote(request.url)}`];
  for (const [name, value] of Object.entries(request.headers)) parts.push(`-H ${shellQuote(`${name}: ${value}`)}`);
  // --data-binary sends the bytes as they are, except that a leading @ names a file: such a body goes through stdin.
  if (request.body.startsWith('@')) {
    parts.push('--data-binary @-');
    return `printf '%s' ${shellQuote(request.body)} | ${parts.join(' \\\n  ')}`;
  }
  parts.push(`--data-binary ${shellQuote(request.body)}`);
  return parts.join(' \\\n  ');
}
