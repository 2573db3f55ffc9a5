import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { LimiterFullError, LimiterStoppedError, RateShaper, SyncLimiter, type SyncLimiterOptions } from '../../daemon/limit/index.js';

const BRAZE = { requests: 50_000, periodSeconds: 60 };
const START = 1_700_000_000_000;

/** setTimeout and Date are mocked; setImmediate stays real, so `turn()` lets the limiter's pump run. */
function mockTime(t: TestContext): void {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function advance(t: TestContext, ms: number): Promise<void> {
  t.mock.timers.tick(ms);
  await turn();
  await turn();
}

function limiter(options: Omit<SyncLimiterOptions, 'name'> = {}): SyncLimiter {
  return new SyncLimiter({ name: 'braze/main', clock: () => Date.now(), ...options });
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Most starts in any sliding window of `windowMs` (half-open, like "any second"). */
function maxInWindow(starts: number[], windowMs: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < starts.length; i++) {
    while (starts[i] - starts[j] >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** Keeps `backlog` requests queued for `durationMs` of mocked time, ticking `stepMs` at a time; returns start times. */
async function saturate(t: TestContext, subject: SyncLimiter, durationMs: number, backlog = 2_000, stepMs = 1): Promise<number[]> {
  const starts: number[] = [];
  const task = () => {
    starts.push(Date.now());
    return Promise.resolve();
  };
  const end = Date.now() + durationMs;
  while (Date.now() < end) {
    for (let queued = subject.state().queued; queued < backlog; queued++) subject.run(task).catch(() => undefined);
    await advance(t, stepMs);
  }
  await subject.stop().catch(() => undefined);
  return starts.filter((at) => at < end);
}

interface Traffic {
  /** Start times, by the limiter's clock. */
  starts: number[];
  /** Answer times: the latest a request can have reached the destination. */
  answers: number[];
}

/**
 * Like saturate(), but each request is answered `latencyMs(startedAt)` after it starts (a mocked
 * setTimeout), and `step(elapsedMs)` runs before each tick (to make the limiter's clock jump, say).
 */
async function saturateAnswered(
  t: TestContext,
  subject: SyncLimiter,
  durationMs: number,
  latencyMs: (startedAt: number) => number,
  clock: () => number = () => Date.now(),
  step: (elapsedMs: number) => void = () => undefined,
): Promise<Traffic> {
  const traffic: Traffic = { starts: [], answers: [] };
  const task = async () => {
    const startedAt = clock();
    traffic.starts.push(startedAt);
    await new Promise((resolve) => setTimeout(resolve, latencyMs(startedAt)));
    traffic.answers.push(clock());
  };
  const begin = Date.now();
  while (Date.now() < begin + durationMs) {
    for (let queued = subject.state().queued; queued < 2_000; queued++) subject.run(task).catch(() => undefined);
    step(Date.now() - begin);
    await advance(t, 1);
  }
  let stopped = false;
  void subject.stop().finally(() => (stopped = true));
  while (!stopped) await advance(t, 1);
  return traffic;
}

describe('limit sync-limiter', () => {
  it('runs a task at once when there is no limit, handing back its own promise', async () => {
    const subject = limiter();
    const gate = deferred();
    const running = subject.run(() => gate.promise);
    assert.equal(subject.state().running, 1);
    gate.resolve();
    await running;
    await turn();
    assert.equal(subject.state().running, 0);
    const promise = Promise.resolve(42);
    assert.equal(subject.run(() => promise), promise);
  });

  it('settles as the task does, rejections included', async () => {
    const subject = limiter({ maxConcurrency: 1 });
    assert.equal(await subject.run(async () => 'done'), 'done');
    await assert.rejects(
      subject.run(async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    await assert.rejects(
      subject.run(() => {
        throw new Error('sync boom');
      }),
      /sync boom/,
    );
    await turn();
    assert.equal(subject.state().running, 0);
  });

  it('never runs more than maxConcurrency at once, and frees a slot per request', async () => {
    const subject = limiter({ maxConcurrency: 3 });
    const gates = Array.from({ length: 10 }, deferred);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const all = gates.map((gate, i) =>
      subject.run(async () => {
        started.push(i);
        running++;
        most = Math.max(most, running);
        await gate.promise;
        running--;
      }),
    );
    await turn();
    assert.deepEqual(started, [0, 1, 2]);
    assert.deepEqual(subject.state(), { name: 'braze/main', queued: 7, running: 3, pausedUntil: 0, rate: null, share: 1, maxConcurrency: 3 });
    // The first of the group finishing lets the next in, while its siblings still run.
    gates[1].resolve();
    await turn();
    await turn();
    assert.deepEqual(started, [0, 1, 2, 3]);
    for (const gate of gates) gate.resolve();
    await Promise.all(all);
    assert.equal(most, 3);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('admits what arrives in one event-loop turn as one group', async (t) => {
    mockTime(t);
    const subject = limiter({ rate: BRAZE });
    const starts: number[] = [];
    for (let i = 0; i < 5; i++) void subject.run(async () => void starts.push(Date.now()));
    assert.equal(subject.state().queued, 5);
    await turn();
    assert.equal(starts.length, 5);
    assert.equal(subject.state().queued, 0);
  });

  it('pauses the whole limiter, then resumes; a shorter pause does not shorten it, a longer one extends it', async (t) => {
    mockTime(t);
    const subject = limiter();
    subject.pause(5_000);
    assert.equal(subject.pausedUntil, START + 5_000);
    subject.pause(1_000);
    assert.equal(subject.pausedUntil, START + 5_000);
    let started = 0;
    const all = [1, 2, 3].map(() => subject.run(async () => void started++));
    await advance(t, 4_000);
    assert.equal(started, 0);
    subject.pause(3_000);
    assert.equal(subject.pausedUntil, START + 7_000);
    assert.equal(subject.state().queued, 3);
    await advance(t, 2_999);
    assert.equal(started, 0);
    await advance(t, 1);
    assert.equal(started, 3);
    await Promise.all(all);
    assert.equal(subject.pausedUntil, 0);
    // Not paused any more: straight through.
    await subject.run(async () => void started++);
    assert.equal(started, 4);
  });

  it('pauses a rate-limited sync too', async (t) => {
    mockTime(t);
    const subject = limiter({ rate: BRAZE, maxConcurrency: 10 });
    subject.pause(30_000);
    let started = 0;
    for (let i = 0; i < 3; i++) void subject.run(async () => void started++);
    await advance(t, 29_999);
    assert.equal(started, 0);
    await advance(t, 1);
    assert.ok(started >= 1, 'the probe went');
    await advance(t, 1_000);
    assert.equal(started, 3, 'the rest followed it');
  });

  it('ends a pause with one request, then twice as many per round of answers: the queue does not go at once', async (t) => {
    mockTime(t);
    const subject = limiter();
    subject.pause(2_000);
    const answers: Deferred[] = [];
    const all = Array.from({ length: 40 }, () =>
      subject.run(() => {
        const answer = deferred();
        answers.push(answer);
        return answer.promise;
      }),
    );
    await advance(t, 2_000);
    assert.equal(answers.length, 1, 'one probe when the pause ends');
    const waves: number[] = [];
    let started = 1;
    while (started < 40) {
      for (const answer of answers.splice(0)) answer.resolve();
      await turn();
      await turn();
      assert.ok(answers.length > 0, `the queue moves on after ${started} answered`);
      waves.push(answers.length);
      started += answers.length;
    }
    assert.deepEqual(waves.slice(0, 4), [2, 4, 8, 16], 'each round of answers lets twice as many go');
    for (const answer of answers) answer.resolve();
    await Promise.all(all);
    // The ramp is over once it is wide open: an idle limiter runs a task at once again.
    for (let i = 0; i < 256; i++) await subject.run(async () => undefined);
    let ran = false;
    void subject.run(async () => void (ran = true));
    assert.equal(ran, true, 'straight through, no ramp left');
  });

  it('against a destination that keeps asking for a pause, sends one request per pause', async (t) => {
    mockTime(t);
    const subject = limiter();
    let requests = 0;
    // What the delivery machine does on a 429 with Retry-After: 1 s: pause the whole sync.
    const tooMany = () =>
      subject.run(async () => {
        requests += 1;
      }).then(() => subject.pause(1_000));
    subject.pause(1_000);
    const all = Array.from({ length: 256 }, () => tooMany());
    for (let second = 1; second <= 8; second++) await advance(t, 1_000);
    assert.ok(requests <= 9, `${requests} requests in 8 pauses of 1 s`);
    void subject.stop();
    await Promise.allSettled(all);
  });

  it('rejects at once with LimiterFullError when highWater requests are queued', async () => {
    const subject = limiter({ maxConcurrency: 1, highWater: 3 });
    const gate = deferred();
    const first = subject.run(() => gate.promise);
    const queued = [1, 2, 3].map(() => subject.run(async () => undefined));
    const error = await subject.run(async () => undefined).catch((caught: unknown) => caught);
    assert.ok(error instanceof LimiterFullError);
    assert.equal(error.code, 'limiter_full');
    assert.equal(subject.state().queued, 3);
    gate.resolve();
    await Promise.all([first, ...queued]);
  });

  it('stop() rejects queued requests, lets running ones finish and resolves when they have', async () => {
    const subject = limiter({ maxConcurrency: 1 });
    const gate = deferred();
    const running = subject.run(() => gate.promise);
    const queued = subject.run(async () => assert.fail('a queued request must not run after stop()'));
    let stopped = false;
    const stopping = subject.stop().then(() => (stopped = true));
    const error = await queued.catch((caught: unknown) => caught);
    assert.ok(error instanceof LimiterStoppedError);
    assert.equal(error.code, 'limiter_stopped');
    await turn();
    assert.equal(stopped, false);
    gate.resolve();
    await running;
    await stopping;
    assert.equal(stopped, true);
    await assert.rejects(subject.run(async () => undefined), LimiterStoppedError);
  });

  it('shapes Braze (50,000 per minute): never more than 833 in any second, within 1 % of the rate over a minute', async (t) => {
    mockTime(t);
    const subject = limiter({ rate: BRAZE });
    const starts = await saturate(t, subject, 60_000);
    assert.ok(maxInWindow(starts, 1_000) <= 833, `most in one second: ${maxInWindow(starts, 1_000)}`);
    assert.ok(starts.length <= 50_000 && starts.length >= 0.99 * 50_000, `in one minute: ${starts.length}`);
    // Spread, not bursts: no 100 ms holds more than a tenth of a second's share plus one group.
    const { maxGroup } = new RateShaper(BRAZE);
    assert.ok(maxInWindow(starts, 100) <= 84 + maxGroup, `most in 100 ms: ${maxInWindow(starts, 100)}`);
  });

  it('paces at its share when daemons share the sync, without letting the change through as a burst', async (t) => {
    mockTime(t);
    const subject = limiter({ rate: BRAZE });
    const starts: number[] = [];
    const task = () => {
      starts.push(Date.now());
      return Promise.resolve();
    };
    const keepBusy = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        for (let queued = subject.state().queued; queued < 2_000; queued++) subject.run(task).catch(() => undefined);
        await advance(t, 1);
      }
    };
    await keepBusy(3_000);
    const halvedAt = Date.now();
    subject.share(2);
    assert.equal(subject.state().share, 2);
    await keepBusy(4_000);
    const wholeAt = Date.now();
    subject.share(1);
    await keepBusy(3_000);
    await subject.stop();
    assert.ok(maxInWindow(starts, 1_000) <= 833, `most in one second: ${maxInWindow(starts, 1_000)}`);
    const halved = starts.filter((at) => at >= halvedAt && at < wholeAt);
    assert.ok(maxInWindow(halved, 1_000) <= 416, `most in one second at half: ${maxInWindow(halved, 1_000)}`);
    const settled = halved.filter((at) => at >= halvedAt + 1_000);
    assert.ok(settled.length >= 0.98 * 3 * 416, `at half, ${settled.length} in 3 s`);
    const whole = starts.filter((at) => at >= wholeAt + 1_000);
    assert.ok(whole.length >= 0.98 * 2 * 833, `alone again, ${whole.length} in 2 s`);
  });

  it('does not burst after being idle', async (t) => {
    mockTime(t);
    const subject = limiter({ rate: BRAZE });
    await advance(t, 120_000);
    const starts = await saturate(t, subject, 3_000);
    // One group at once, then paced: idle time earns no credit.
    const { maxGroup } = new RateShaper(BRAZE);
    const atOnce = starts.filter((at) => at === starts[0]).length;
    assert.equal(atOnce, maxGroup);
    assert.ok(maxInWindow(starts, 100) <= 84 + maxGroup, `most in 100 ms: ${maxInWindow(starts, 100)}`);
    assert.ok(maxInWindow(starts, 1_000) <= 833);
  });

  it('starts with one group, not a burst: the first second holds at most 833, spread like any other', async (t) => {
    mockTime(t);
    const subject = limiter({ rate: BRAZE });
    const starts = await saturate(t, subject, 1_000);
    const { maxGroup } = new RateShaper(BRAZE);
    assert.equal(starts.filter((at) => at === starts[0]).length, maxGroup);
    assert.ok(starts.length <= 833, `in the first second: ${starts.length}`);
    assert.ok(maxInWindow(starts, 100) <= 84 + maxGroup, `most in 100 ms: ${maxInWindow(starts, 100)}`);
  });

  it('makes up for a late timer (the process stalled 120 ms) within the minute, never exceeding 833 in a second', async (t) => {
    mockTime(t);
    let stalled = 0;
    const clock = () => Date.now() + stalled;
    const subject = limiter({ rate: BRAZE, clock });
    // After 2 s the clock jumps: the pending timer fires 120 ms late, as after a deschedule or a long GC.
    // The one-second window leaves room for ~4 more a second than the pace, so that is how fast it is made up.
    const { starts } = await saturateAnswered(t, subject, 60_000, () => 1, clock, (elapsed) => {
      if (elapsed === 2_000) stalled = 120;
    });
    const shaper = new RateShaper(BRAZE);
    const due = Math.min(60_120 / shaper.intervalMs, BRAZE.requests);
    assert.ok(starts.length >= due - 2 * shaper.maxGroup && starts.length <= due + shaper.maxGroup, `${starts.length} started, ${Math.round(due)} due`);
    assert.ok(maxInWindow(starts, 1_000) <= 833, `most in one second: ${maxInWindow(starts, 1_000)}`);
  });

  it('keeps a request that reached the destination late in its second: cold first requests answered after 300 ms', async (t) => {
    mockTime(t);
    const subject = limiter({ rate: BRAZE });
    // Connections being opened, a process busy starting: the first 100 ms of requests take 300 ms.
    const { starts, answers } = await saturateAnswered(t, subject, 5_000, (at) => (at < START + 100 ? 300 : 2));
    // Wherever between its start and its answer the destination saw a request, no second holds more than 833.
    assert.ok(maxInWindow(starts, 1_000) <= 833, `most started in one second: ${maxInWindow(starts, 1_000)}`);
    answers.sort((a, b) => a - b);
    assert.ok(maxInWindow(answers, 1_000) <= 833, `most answered in one second: ${maxInWindow(answers, 1_000)}`);
  });

  it('gives a distant destination its rate: latency every answer has (150 ms) holds nothing back after the first second', async (t) => {
    mockTime(t);
    const subject = limiter({ rate: BRAZE });
    const { starts, answers } = await saturateAnswered(t, subject, 10_000, () => 150);
    const steady = starts.filter((at) => at >= START + 3_000 && at < START + 10_000).length;
    assert.ok(steady >= 0.99 * 7 * (50_000 / 60), `from 3 s to 10 s: ${steady}`);
    assert.ok(maxInWindow(starts, 1_000) <= 833, `most started in one second: ${maxInWindow(starts, 1_000)}`);
    assert.ok(maxInWindow(answers, 1_000) <= 833, `most answered in one second: ${maxInWindow(answers, 1_000)}`);
  });

  it('keeps a slow rate exact over its period (100 per minute: at most 2 in a second, 100 in a minute)', async (t) => {
    mockTime(t);
    const subject = limiter({ rate: { requests: 100, periodSeconds: 60 } });
    const starts = await saturate(t, subject, 120_000, 5, 5);
    assert.ok(maxInWindow(starts, 60_000) <= 100);
    assert.ok(maxInWindow(starts, 1_000) <= 2);
    assert.ok(starts.length >= 198, `in two minutes: ${starts.length}`);
  });

  it('obeys rate and concurrency together', async (t) => {
    mockTime(t);
    const subject = limiter({ rate: { requests: 10, periodSeconds: 1 }, maxConcurrency: 2 });
    let running = 0;
    let most = 0;
    const starts: number[] = [];
    const all = Array.from({ length: 30 }, () =>
      subject.run(async () => {
        starts.push(Date.now());
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 150));
        running--;
      }),
    );
    while (starts.length < 30) await advance(t, 10);
    await advance(t, 200);
    await Promise.all(all);
    assert.equal(most, 2);
    assert.ok(maxInWindow(starts, 1_000) <= 10);
  });

  it('rejects settings that cannot limit anything', () => {
    assert.throws(() => limiter({ maxConcurrency: 0 }), RangeError);
    assert.throws(() => limiter({ highWater: 0 }), RangeError);
    assert.throws(() => limiter({ rate: { requests: 0, periodSeconds: 60 } }), RangeError);
    assert.throws(() => limiter({ rate: { requests: 10, periodSeconds: 0 } }), RangeError);
  });
});
