// The catastrophic-pattern corpus (test/fixtures/catastrophic-patterns): templates whose replace
// pattern takes exponential or quadratic time, or memory, on JavaScript's backtracking matcher, each
// with the text that attacks it (`{# attack: "a" × 40 + "!" … #}` on its first line) and, where the
// linear-time matcher cannot run the pattern at all, a `{# refused #}` line.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../daemon/paths.js';

export const CATASTROPHIC_PATTERNS_DIR = join(PACKAGE_ROOT, 'test', 'fixtures', 'catastrophic-patterns');

export interface CatastrophicPattern {
  /** The file name without .njk: a destination slug. */
  slug: string;
  source: string;
  /** The text the pattern is run on (event_properties.s). */
  attack: string;
  /** validate, preview and the daemon's loader refuse it: the linear-time matcher cannot run it. */
  refused: boolean;
}

const ATTACK = /^\{# attack: "(.*?)" × (\d+) \+ "(.*?)"/;

export function catastrophicPatterns(): CatastrophicPattern[] {
  return readdirSync(CATASTROPHIC_PATTERNS_DIR)
    .filter((name) => name.endsWith('.njk'))
    .sort()
    .map((name) => {
      const source = readFileSync(join(CATASTROPHIC_PATTERNS_DIR, name), 'utf8');
      const attack = ATTACK.exec(source);
      if (!attack) throw new Error(`${name}: the first line must say {# attack: "a" × 40 + "!" #}`);
      return {
        slug: name.slice(0, -'.njk'.length),
        source,
        attack: attack[1].repeat(Number(attack[2])) + attack[3],
        refused: source.includes('{# refused #}'),
      };
    });
}

/** The event that attacks a pattern. */
export function attackEvent(pattern: CatastrophicPattern, index = 0): Record<string, unknown> {
  return { event_type: 'attack', user_id: 'attacker', insert_id: `attack-${pattern.slug}-${index}`, event_properties: { s: pattern.attack } };
}
