#!/usr/bin/env node
// The one executable. Each subcommand lives in tools/commands/<name>.ts and exports `run`,
// which returns the exit code: 0 success, 1 failure (invalid, render error, non-2xx), 2 usage, and
// 3 to 7 for an operator's mistakes (exit-codes.ts). Whatever a command throws is printed here as
// one line without secrets; the stack trace only with --debug.
import { PACKAGE_VERSION } from '../daemon/paths.js';
import { HelpRequest, USAGE_EXIT, UsageError } from './commands/usage.js';
import { EXIT } from './exit-codes.js';

type Command = { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  validate: { summary: 'check destination folders (schema, templates on generated events, parameters, mappings, logo, examples)', load: () => import('./commands/validate.js') },
  preview: { summary: 'print the request an event would produce, as cURL or JSON', load: () => import('./commands/preview.js') },
  plan: { summary: 'what merging a destinations tree would change, against a running daemon, another tree or a git ref', load: () => import('./commands/plan.js') },
  send: { summary: 'render and send one event for real; print status and response', load: () => import('./commands/send.js') },
  daemon: { summary: 'run the daemon', load: () => import('./commands/daemon.js') },
  ingest: { summary: "run the ingest: Amplitude's and Segment's HTTP APIs in, the events stream out (answered once JetStream has the events)", load: () => import('./commands/ingest.js') },
  publish: { summary: 'publish events to the events stream (a file, a JSON array, or one event per line)', load: () => import('./commands/publish.js') },
  sink: { summary: 'run a local HTTP sink that prints every request it receives', load: () => import('./commands/sink.js') },
  dead: { summary: 'list, show and replay dead letters', load: () => import('./commands/dead.js') },
  catalog: { summary: 'print the catalog of destination folders as Markdown, JSON or a static HTML page with the logos', load: () => import('./commands/catalog.js') },
  init: { summary: "make a team's config repository: destinations/, schemas, CI that validates and plans each pull request", load: () => import('./commands/init.js') },
  schema: { summary: 'write the JSON schemas into DIR/schema (where a config repository\'s "$schema" points)', load: () => import('./commands/schema.js') },
  status: { summary: "print the running daemon's destinations, syncs and limiter state", load: () => import('./commands/status.js') },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `usage: destinations <command> [options] [--debug]\n\ncommands:\n${lines.join('\n')}\n\nRun destinations <command> --help for a command's options. --debug prints the stack trace of an unexpected error.`;
}

/** --debug anywhere before a `--`, taken out so that no command's parser sees it. */
function takeDebug(argv: string[]): { debug: boolean; args: string[] } {
  const end = argv.indexOf('--');
  const head = end < 0 ? argv : argv.slice(0, end);
  const tail = end < 0 ? [] : argv.slice(end);
  return { debug: head.includes('--debug'), args: [...head.filter((arg) => arg !== '--debug'), ...tail] };
}

async function main(argv: string[]): Promise<number> {
  const { debug, args: rest } = takeDebug(argv);
  const [name, ...args] = rest;
  if (name === '--version' || name === '-V') {
    console.log(PACKAGE_VERSION);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : USAGE_EXIT;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`destinations: unknown command ${JSON.stringify(name)}\n\n${help()}`);
    return USAGE_EXIT;
  }
  try {
    return await (await command.load()).run(args);
  } catch (error) {
    if (error instanceof HelpRequest) {
      console.log(error.message);
      return EXIT.ok;
    }
    // Loaded only for a failure: they bring the NATS client and the config schemas (~0.5 s of CPU
    // a call), which --version, --help, init and a valid run of most commands never need.
    const [{ explainError }, { printable }] = await Promise.all([import('./operator-error.js'), import('./printable.js')]);
    if (error instanceof UsageError) {
      console.error(printable(`destinations ${name}: ${error.message}`));
      return USAGE_EXIT;
    }
    const explained = explainError(error);
    const message = explained?.message ?? (error instanceof Error ? error.message : String(error));
    const hint = explained || debug ? '' : ' (run it again with --debug for the stack trace)';
    console.error(printable(`destinations ${name}: ${message}${hint}`));
    if (debug) console.error(printable(stackOf(error)));
    return explained ? EXIT[explained.exit] : EXIT.failed;
  }
}

/** The stack trace, with each cause's after it. */
function stackOf(error: unknown): string {
  const lines: string[] = [];
  for (let at = error, depth = 0; at !== undefined && depth < 5; at = (at as { cause?: unknown }).cause, depth++) {
    lines.push(`${depth === 0 ? '' : 'caused by: '}${at instanceof Error ? (at.stack ?? at.message) : String(at)}`);
  }
  return lines.join('\n');
}

process.exitCode = await main(process.argv.slice(2));
