// The model-based test of the two runtimes of the delivery machine (issue 23): every path through
// the machine, walked exhaustively, runs on XState's interpreter and on the table derived from the
// machine, and both must enter the same states, call the same actions with the same params (and
// the same guards and delays, with the same answers), in the same order, and end the same way.
// The walk branches at every state where the machine waits for the world (sending: each kind of
// answer, an abort, a stray event; waiting: the timer, an abort, a stray event; one stray event a
// path at most), for each kind of
// render and each attempt position, then reuses the actor from the outcome it reached; a path ends
// at an outcome or a machine error. It checks that every transition of the table was taken.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor, SimulatedClock, type AnyStateMachine } from 'xstate';
import {
  classify,
  Delivery,
  deliveryMachine,
  deriveMachineTable,
  resolveRetryPolicy,
  TableActor,
  type DeliveryCancel,
  type DeliveryContext,
  type DeliveryEvent,
  type DeliveryHandle,
  type DeliveryRuntime,
  type DeliveryState,
  type RenderFailure,
  type SendResult,
} from '../../daemon/delivery/index.js';
import type { RenderedRequest } from '../../daemon/render/index.js';

const REQUEST: RenderedRequest = { method: 'POST', url: 'http://127.0.0.1:1/track', headers: {}, body: '{}' };
const RENDERS = ['ok', 'render_failed', 'contract_violation', 'throws'] as const;
type Render = (typeof RENDERS)[number];
/** maxAttempts 4: a first attempt, one with a retry left, and the last one. */
const ATTEMPTS = [1, 3, 4];

/** What the world may do while the machine waits in a state. */
const CHOICES = {
  sending: ['ok', '400', '500', 'retry-after 1', 'retry-after 120', 'abort', 'stray deliver'],
  waiting: ['timer', 'abort', 'stray sent'],
} as const;
type Choice = (typeof CHOICES)[keyof typeof CHOICES][number];
const STRAY = new Set<Choice>(['stray deliver', 'stray sent']);

const answers: Record<string, SendResult> = {
  ok: classify({ status: 200, headers: {} }),
  '400': classify({ status: 400, headers: {} }),
  '500': classify({ status: 500, headers: {} }),
  'retry-after 1': classify({ status: 503, headers: { 'retry-after': '1' }, now: 0 }),
  'retry-after 120': classify({ status: 429, headers: { 'retry-after': '120' }, now: 0 }),
};

type Log = unknown[];

/** The walk's choices for one path, and how far they are taken (a delivery that answers at once takes its own). */
interface Script {
  readonly choices: readonly Choice[];
  cursor: number;
}

/** What the world does, told to the machine through `to` (the actor, or `self` from inside an action). */
function tell(to: DeliveryHandle, choice: Choice, log: Log): void {
  if (choice === 'abort') to.send({ type: 'abort' });
  else if (choice === 'stray deliver') to.send({ type: 'deliver', delivery: new WalkDelivery(1, 'ok', log, 1) });
  else if (choice === 'stray sent') to.send({ type: 'sent', result: answers.ok });
  else to.send({ type: 'sent', result: answers[choice] });
}

/** A delivery that renders as told, records what the machine asks of it, and leaves the answers to the walk. */
class WalkDelivery extends Delivery {
  constructor(
    attempt: number,
    private readonly how: Render,
    private readonly log: Log,
    seed: number,
    /** Answers from inside `send` (self.send while the machine is in its step: the mailbox's case), taking the script's next choice. */
    private readonly script?: Script,
  ) {
    // The schedule: 1 s then 6 s (± 20 %), so a first 500 waits in process and a second goes back to the stream.
    let state = seed;
    super(attempt, {
      policy: resolveRetryPolicy({ maxAttempts: 4, initialDelayMs: 1_000, multiplier: 6, jitter: 0.2 }),
      maxInProcessWaitMs: 5_000,
      maxInProcessRetries: 3,
      random: () => (state = (state * 7_919 + 13) % 10_007) / 10_007,
    });
  }

  render(): RenderedRequest | RenderFailure {
    this.log.push(['render', this.how]);
    if (this.how === 'throws') throw new Error('a bug in render');
    if (this.how === 'render_failed') return { failed: true, code: 'render_failed', message: 'body.njk:1:1: boom' };
    if (this.how === 'contract_violation') {
      const detail = { contract: 'contract.json', part: 'body' as const, pointer: '/event', schemaPath: '#/properties/event/maxLength', message: 'too long' };
      return { failed: true, code: 'contract_violation', message: 'body /event: too long', request: REQUEST, detail: detail as never };
    }
    return REQUEST;
  }

  send(self: DeliveryHandle, request: RenderedRequest, cancel: DeliveryCancel): void {
    this.log.push(['send', request === REQUEST, cancel === this.cancel, this.requests, this.jitterDraw]);
    const script = this.script;
    if (script && script.cursor < script.choices.length && (CHOICES.sending as readonly Choice[]).includes(script.choices[script.cursor])) {
      const choice = script.choices[script.cursor++];
      this.log.push(['world at once', choice]);
      tell(self, choice, this.log);
      this.log.push(['told at once', choice]);
    }
  }

  pause(ms: number): void {
    this.log.push(['pause', ms]);
  }

  override entered(state: DeliveryState): void {
    this.log.push(['entered', state]);
  }

  settled(): void {
    this.log.push(['settled', this.outcome]);
  }

  failed(error: unknown): void {
    this.log.push(['failed', (error as Error).message]);
  }

  /** What the delivery ended with, as the daemon reads it. */
  result() {
    const { outcome, reason, status, message, delayMs, attempt, requests, localRetries, retry, jitterDraw, request, detail } = this;
    return { outcome, reason, status, message, delayMs, attempt, requests, localRetries, retry, jitterDraw, request, detail, cancelled: this.cancel.aborted };
  }
}

type Impl = (args: { event: { type: string } }, params: unknown) => unknown;

/** The delivery machine with every guard, action and delay recording its call (name, params, the event it saw, its answer) in `recorder.log`. */
function recordingMachine(recorder: { log: Log }): AnyStateMachine {
  const wrap = (kind: string, implementations: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(implementations).map(([name, implementation]) => [
        name,
        (args: { event: { type: string } }, params: unknown) => {
          const entry: unknown[] = [kind, name, params, args.event.type];
          recorder.log.push(entry);
          const answer = (implementation as Impl)(args, params);
          if (kind !== 'action') entry.push(answer);
          return answer;
        },
      ]),
    );
  const { actions, guards, delays } = deliveryMachine.implementations;
  return deliveryMachine.provide({ actions: wrap('action', actions), guards: wrap('guard', guards), delays: wrap('delay', delays) } as never);
}

interface Runner {
  send(event: DeliveryEvent): void;
  getSnapshot(): { value: unknown; status: string; context: DeliveryContext };
}

/** Made once: making a machine (provide) and deriving its table cost more than a path's run. */
const recorder: { log: Log } = { log: [] };
const recording = recordingMachine(recorder);
const recordingTable = deriveMachineTable(recording);

function actorOf(runtime: DeliveryRuntime, log: Log, clock: SimulatedClock): Runner {
  recorder.log = log;
  const input = { onIdle: () => log.push(['idle']) };
  if (runtime === 'xstate') {
    const actor = createActor(recording, { clock, input });
    actor.subscribe({ error: (error: unknown) => log.push(['error', (error as Error).message]) });
    actor.start();
    return actor as unknown as Runner;
  }
  return new TableActor<DeliveryContext, DeliveryEvent>(recordingTable, {
    input,
    clock,
    onError: (error) => log.push(['error', (error as Error).message]),
  });
}

interface Start {
  attempt: number;
  render: Render;
  /** The delivery answers from inside its send action. */
  atOnce?: boolean;
}

/** Runs one path on one runtime: the log of everything the machine did, and where everything ended. */
function runPath(runtime: DeliveryRuntime, start: Start, choices: readonly Choice[]) {
  const log: Log = [];
  const clock = new SimulatedClock();
  const actor = actorOf(runtime, log, clock);
  const script: Script = { choices, cursor: 0 };
  const delivery = new WalkDelivery(start.attempt, start.render, log, 17, start.atOnce ? script : undefined);
  actor.send({ type: 'deliver', delivery });
  while (script.cursor < choices.length) {
    const choice = choices[script.cursor++];
    log.push(['world', choice]);
    if (choice === 'timer') {
      clock.increment(delivery.delayMs! - 1);
      log.push(['one ms before the wait ends', actor.getSnapshot().value]);
      clock.increment(1);
    } else tell(actor, choice, log);
  }
  const rest = { value: actor.getSnapshot().value, status: actor.getSnapshot().status, holds: actor.getSnapshot().context.run.delivery !== undefined };
  const first = delivery.result();
  // From an outcome, the actor takes the next delivery as it would from idle.
  let next: unknown;
  if (rest.status === 'active' && !CHOICES_AT(rest.value)) {
    const again = new WalkDelivery(1, 'ok', log, 5);
    actor.send({ type: 'deliver', delivery: again });
    actor.send({ type: 'sent', result: answers.ok });
    next = { result: again.result(), value: actor.getSnapshot().value };
  }
  return { log, rest, first, next };
}

const CHOICES_AT = (value: unknown): readonly Choice[] | undefined => CHOICES[value as keyof typeof CHOICES];

/** Every path from `start`: the choices at each wait, with at most one stray event a path (they change nothing; more only multiply the paths). */
function* paths(start: Start, prefix: Choice[] = []): Generator<Choice[]> {
  const { rest } = runPath('derived', start, prefix);
  const choices = rest.status === 'active' ? CHOICES_AT(rest.value) : undefined;
  if (!choices) {
    yield prefix;
    return;
  }
  for (const choice of choices) {
    if (STRAY.has(choice) && prefix.some((taken) => STRAY.has(taken))) continue;
    yield* paths(start, [...prefix, choice]);
  }
}

/** The states a log went through, `deciding` read from its entry action (it announces nothing). */
function statePath(log: Log): string[] {
  const states = ['idle'];
  for (const entry of log as unknown[][]) {
    if (entry[0] === 'entered') states.push(entry[1] as string);
    if (entry[0] === 'action' && entry[1] === 'decideRetry') states.push('deciding');
  }
  return states;
}

describe('delivery runtimes', () => {
  it('the derived table and XState run every path of the machine alike: states, actions and params, guards, delays, outcome', () => {
    const table = deriveMachineTable(deliveryMachine);
    const edges = new Set<string>();
    for (const state of table.states.values()) {
      for (const transition of [...state.always, ...[...state.on.values()].flat(), ...(state.after?.transitions ?? [])]) edges.add(`${state.name} → ${transition.target.name}`);
    }
    const taken = new Set<string>();
    let count = 0;
    const starts: Start[] = ATTEMPTS.flatMap((attempt) => RENDERS.map((render) => ({ attempt, render })));
    starts.push({ attempt: 1, render: 'ok', atOnce: true });
    for (const start of starts) {
      for (const choices of paths(start)) {
        count += 1;
        const xstate = runPath('xstate', start, choices);
        const derived = runPath('derived', start, choices);
        assert.deepEqual(derived, xstate, `${JSON.stringify(start)}, then ${choices.join(', ') || 'nothing'}`);
        const states = statePath(xstate.log);
        for (let i = 1; i < states.length; i++) taken.add(`${states[i - 1]} → ${states[i]}`);
      }
    }
    assert.ok(count > 500, `${count} paths walked`);
    assert.deepEqual([...edges].filter((edge) => !taken.has(edge)), [], 'every transition of the machine is taken by some path');
  });

  it('the walk would see a difference: a runtime that skipped an action is caught', () => {
    const start: Start = { attempt: 1, render: 'ok' };
    const xstate = runPath('xstate', start, ['retry-after 1', 'timer', 'ok']);
    const derived = runPath('derived', start, ['retry-after 1', 'timer', 'ok']);
    const skipped = derived.log.filter((entry) => !(Array.isArray(entry) && entry[1] === 'countLocalRetry'));
    assert.notDeepEqual({ ...derived, log: skipped }, xstate);
  });
});
