#!/usr/bin/env node
// The one executable. Each subcommand lives in tools/commands/<name>.ts and exports `run`,
// which returns the exit code: 0 success, 1 failure (invalid, render error, non-2xx), 2 usage.
import { USAGE_EXIT, UsageError } from './commands/usage.js';

type Command = { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  validate: { summary: 'check destination folders (schema, templates on generated events, parameters, mappings, logo, examples)', load: () => import('./commands/validate.js') },
  preview: { summary: 'print the request an event would produce, as cURL or JSON', load: () => import('./commands/preview.js') },
  plan: { summary: 'what merging a destinations tree would change, against a running daemon, another tree or a git ref', load: () => import('./commands/plan.js') },
  send: { summary: 'render and send one event for real; print status and response', load: () => import('./commands/send.js') },
  daemon: { summary: 'run the daemon', load: () => import('./commands/daemon.js') },
  publish: { summary: 'publish events to the events stream (a file, a JSON array, or one event per line)', load: () => import('./commands/publish.js') },
  sink: { summary: 'run a local HTTP sink that prints every request it receives', load: () => import('./commands/sink.js') },
  dead: { summary: 'list, show and replay dead letters', load: () => import('./commands/dead.js') },
  catalog: { summary: 'print the catalog of destination folders as Markdown, JSON or a static HTML page with the logos', load: () => import('./commands/catalog.js') },
  status: { summary: "print the running daemon's destinations, syncs and limiter state", load: () => import('./commands/status.js') },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `usage: destinations <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun destinations <command> --help for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
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
    if (error instanceof UsageError) {
      console.error(`destinations ${name}: ${error.message}`);
      return USAGE_EXIT;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
