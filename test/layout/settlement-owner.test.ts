// Every settlement of a JetStream message is in one module (STYLE.md): no file under daemon/ or
// tools/ but daemon/consumer/outcomes.ts calls ack, nak or term on a message, and only the intake's
// heartbeat calls working(). Checked on the source text, so a new call elsewhere fails here.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../daemon/paths.js';

/** A call of a JetStream message act on a value: `msg.ack()`, `m.nak(delay)`, `x.term()`, `y.working()`. */
const ACT = /\b[A-Za-z_$][\w$]*(?:\]|\))?\s*\.\s*(ack|nak|term|working)\s*\(/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Each file's acts, as `file: act` lines (the `this.term()` of a parser is not a message). */
function actsIn(files: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(ACT)) {
      if (match[0].startsWith('this.')) continue;
      found.push(`${relative(PACKAGE_ROOT, file)}: ${match[1]}`);
    }
  }
  return found;
}

describe('layout settlement owner', () => {
  const files = ['daemon', 'tools'].flatMap((dir) => sourceFiles(join(PACKAGE_ROOT, dir)));

  it('finds the acts it looks for (the check can fail)', () => {
    const acts = actsIn(files);
    for (const act of ['ack', 'nak', 'term']) assert.ok(acts.includes(`daemon/consumer/outcomes.ts: ${act}`), `outcomes.ts: ${act} not found: the pattern is wrong`);
  });

  it('has outcomes.ts alone ack, nak or term a message, and the intake alone send working()', () => {
    const elsewhere = actsIn(files).filter((line) => !line.startsWith('daemon/consumer/outcomes.ts: ') && line !== 'daemon/consumer/intake.ts: working');
    assert.deepEqual(elsewhere, []);
  });
});
