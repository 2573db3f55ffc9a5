// A short, deterministic run of a target without Jazzer.js, for npm test: its seeds, its regression
// inputs, then inputs made from the seeds by a few simple mutations (byte flips, dictionary tokens
// spliced in, cuts, two seeds joined), until a count or a time bound, whichever comes first. Not
// coverage-guided: it proves the target runs, its seeds and regressions pass, and shallow damage
// finds nothing.
import type { FuzzTargetModule } from './fuzz-target.js';

export interface SmokeResult {
  inputs: number;
  /** The first input that threw, with what it threw. */
  failure?: { input: Buffer; error: unknown };
}

/** mulberry32: a small seeded generator, so a failing smoke input is the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function* mutants(seeds: readonly Buffer[], dictionary: readonly string[], maxLen: number, seed = 1): Generator<Buffer> {
  const next = random(seed);
  const below = (n: number) => Math.floor(next() * n);
  const tokens = dictionary.map((token) => Buffer.from(token));
  for (;;) {
    let data = Buffer.from(seeds[below(seeds.length)] ?? Buffer.alloc(0));
    for (let step = 1 + below(3); step > 0; step--) {
      const at = below(data.length + 1);
      switch (below(5)) {
        case 0:
          if (data.length > 0) data[Math.min(at, data.length - 1)] ^= 1 << below(8);
          break;
        case 1:
          if (tokens.length > 0) data = Buffer.concat([data.subarray(0, at), tokens[below(tokens.length)], data.subarray(at)]);
          break;
        case 2:
          data = Buffer.concat([data.subarray(0, at), data.subarray(Math.min(data.length, at + 1 + below(8)))]);
          break;
        case 3:
          data = Buffer.concat([data.subarray(0, at), seeds[below(seeds.length)]?.subarray(below(8)) ?? Buffer.alloc(0)]);
          break;
        default:
          data = Buffer.concat([data.subarray(0, at), Buffer.from([below(256)]), data.subarray(at)]);
      }
    }
    yield data.subarray(0, maxLen);
  }
}

/** Runs `fixed` inputs, then up to `count` mutants, stopping at `millis`. */
export function smoke(target: FuzzTargetModule, fixed: readonly Buffer[], seeds: readonly Buffer[], count: number, millis: number): SmokeResult {
  const deadline = performance.now() + millis;
  let inputs = 0;
  const attempt = (input: Buffer): SmokeResult | undefined => {
    inputs++;
    try {
      target.fuzz(input);
      return undefined;
    } catch (error) {
      return { inputs, failure: { input, error } };
    }
  };
  for (const input of fixed) {
    const failed = attempt(input);
    if (failed) return failed;
  }
  let made = 0;
  for (const input of mutants(seeds, target.info.dictionary, target.info.maxLen)) {
    if (made++ >= count || performance.now() > deadline) break;
    const failed = attempt(input);
    if (failed) return failed;
  }
  return { inputs };
}
