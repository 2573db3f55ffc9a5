// The console's page, script and style: plain files in daemon/admin/console/ (no build step, no
// external asset, so it works offline), read once when the admin server starts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';

/** Scripts, styles, images and requests from this origin only; no inline script or style, no
 *  frames, no plugins, forms post here only. With it, markup smuggled into an event cannot run. */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export const CONSOLE_DIR = join(PACKAGE_ROOT, 'daemon', 'admin', 'console');

interface Asset {
  type: string;
  body: Buffer;
}

export interface ConsoleAssets {
  page: Asset;
  script: Asset;
  style: Asset;
}

export async function consoleAssets(): Promise<ConsoleAssets> {
  const [page, script, style] = await Promise.all(['index.html', 'console.js', 'console.css'].map((name) => readFile(join(CONSOLE_DIR, name))));
  return {
    page: { type: 'text/html; charset=utf-8', body: page },
    script: { type: 'text/javascript; charset=utf-8', body: script },
    style: { type: 'text/css; charset=utf-8', body: style },
  };
}

/** The page a browser without the session cookie gets at /: a form for the token, and nothing else. */
export function loginPage(failed: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>destinations console: token</title></head>
<body>
<h1>destinations console</h1>
<p>${failed ? 'That is not the admin token.' : 'This admin port requires its token (admin.token in the daemon config).'}</p>
<form method="post" action="/login"><label>Token <input type="password" name="token" autocomplete="current-password" autofocus></label> <button type="submit">Open the console</button></form>
</body></html>
`;
}
