// destinations catalog [DIR] [--format markdown|json|html] [--json] [--category NAME] [--out FILE]
// Prints the catalog of the destination folders under DIR (default: destinations): name, category,
// summary, description, version, syncs, and what registry/catalog-facts.ts derives (limits, auth,
// hashing, the vendor's reference; the console shows the same), as Markdown (a pull request
// description, a docs page), JSON, or one static HTML page with the logos inside it (data: URLs).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { catalogFacts, formatProblem, limitsText, loadDestinations, type CatalogFacts, type LoadedDestination } from '../../daemon/registry/index.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = 'destinations catalog [DIR] [--format markdown|json|html] [--json] [--category NAME] [--out FILE]';
export const CATALOG_FORMATS = ['markdown', 'json', 'html'] as const;
export type CatalogFormat = (typeof CATALOG_FORMATS)[number];

export interface CatalogEntry extends CatalogFacts {
  description: string;
  version: string;
  /** The logo's path relative to where the output goes (the --out file's folder, else the working directory). */
  logo: string;
  syncs: Array<{ id: string; enabled: boolean; description?: string }>;
}

export function catalogEntries(destinations: LoadedDestination[], base: string): CatalogEntry[] {
  return [...destinations]
    .sort((a, b) => a.definition.name.localeCompare(b.definition.name))
    .map((destination) => ({
      ...catalogFacts(destination),
      description: destination.definition.description,
      version: destination.version,
      logo: relative(base, destination.logoFile),
      syncs: destination.syncs.map((sync) => ({ id: sync.id, enabled: sync.enabled, description: sync.definition.description })),
    }));
}

/** Markdown text from a folder: a table cell cannot hold a newline or an unescaped pipe. */
function markdownCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;')).replace(/\s*\n\s*/g, ' ');
}

export function catalogMarkdown(entries: CatalogEntry[]): string {
  const rows = entries.map(
    (entry) =>
      `| <img src="${encodeURI(entry.logo)}" alt="" width="32" height="32"> | **${markdownCell(entry.name)}** (\`${entry.slug}\`) | ${markdownCell(entry.category)} | ${markdownCell(entry.summary)} | ${markdownCell(limitsText(entry.limits))} | ${markdownCell(entry.auth.join(', '))} | ${entry.hashing.map((name) => `\`${name}\``).join(', ') || '–'} | ${entry.vendor ? `[reference](${encodeURI(entry.vendor.reference).replace(/[()]/g, (c) => (c === '(' ? '%28' : '%29'))}) (read ${entry.vendor.read})` : '–'} | ${entry.syncs.map((sync) => `\`${sync.id}\`${sync.enabled ? '' : ' (disabled)'}`).join(', ') || '–'} | \`${entry.version.slice(0, 12)}\` |`,
  );
  return ['# Destinations', '', '| | Destination | Category | Summary | Limits | Auth | Hashing | Vendor | Syncs | Version |', '|---|---|---|---|---|---|---|---|---|---|', ...rows, ''].join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function catalogHtml(entries: CatalogEntry[], base: string): string {
  const cards = entries.map((entry) => {
    const logo = `data:image/png;base64,${readFileSync(resolve(base, entry.logo)).toString('base64')}`;
    const syncs = entry.syncs.map((sync) => `<li><code>${escapeHtml(sync.id)}</code>${sync.enabled ? '' : ' (disabled)'}</li>`).join('');
    return `<article>
  <img src="${logo}" alt="${escapeHtml(entry.name)} logo" width="48" height="48">
  <h2>${escapeHtml(entry.name)}</h2>
  <p class="category">${escapeHtml(entry.category)} · version <code>${escapeHtml(entry.version.slice(0, 12))}</code></p>
  <p><strong>${escapeHtml(entry.summary)}</strong></p>
  <p>${escapeHtml(entry.description)}</p>
  <p class="facts">limits: ${escapeHtml(limitsText(entry.limits))} · auth: ${escapeHtml(entry.auth.join(', '))} · hashing: ${escapeHtml(entry.hashing.join(', ') || 'none')}${entry.vendor ? ` · vendor reference: <code>${escapeHtml(entry.vendor.reference)}</code> (read ${escapeHtml(entry.vendor.read)})` : ''}</p>
  ${syncs ? `<ul>${syncs}</ul>` : ''}
</article>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>Destinations catalog</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #1d2430; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 1em; }
article { border: 1px solid #dde2ea; border-radius: 8px; padding: 1em; }
article img { float: left; margin-right: 0.8em; border-radius: 8px; }
h2 { margin: 0; font-size: 1.1em; }
.category, .facts { color: #6a7382; margin: 0 0 0.6em; font-size: 0.9em; }
</style>
</head>
<body>
<h1>Destinations</h1>
<main>
${cards.join('\n')}
</main>
</body>
</html>
`;
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { format: { type: 'string' }, json: { type: 'boolean' }, category: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } },
    USAGE,
  );
  if (values.help) {
    console.log(`usage: ${USAGE}`);
    return 0;
  }
  if (values.json && values.format !== undefined && values.format !== 'json') throw new UsageError(`--json is --format json, not --format ${values.format}\n\nusage: ${USAGE}`);
  const format = (values.json ? 'json' : (values.format ?? 'markdown')) as CatalogFormat;
  if (!CATALOG_FORMATS.includes(format)) throw new UsageError(`--format is one of ${CATALOG_FORMATS.join(', ')}, not ${JSON.stringify(values.format)}\n\nusage: ${USAGE}`);
  if (positionals.length > 1) throw new UsageError(`one DIR at most\n\nusage: ${USAGE}`);
  const dir = positionals[0] ?? 'destinations';
  // The catalog shows what a reviewer approved: a folder with errors is left out and named.
  const loaded = await loadDestinations(dir, { resolveSecrets: false });
  const errors = loaded.problems.filter((problem) => problem.severity === 'error');
  for (const problem of errors) console.error(formatProblem(problem));
  const base = values.out ? dirname(resolve(values.out)) : process.cwd();
  const all = catalogEntries(loaded.destinations, base);
  const category = values.category;
  if (category !== undefined && !all.some((entry) => entry.category === category)) {
    const known = [...new Set(all.map((entry) => entry.category))].sort();
    throw new UsageError(`no destination of category ${JSON.stringify(category)}; the catalog has ${known.join(', ')}\n\nusage: ${USAGE}`);
  }
  const entries = category === undefined ? all : all.filter((entry) => entry.category === category);
  const text = format === 'json' ? `${JSON.stringify(entries, null, 2)}\n` : format === 'html' ? catalogHtml(entries, base) : catalogMarkdown(entries);
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(text);
  return errors.length > 0 ? 1 : 0;
}
