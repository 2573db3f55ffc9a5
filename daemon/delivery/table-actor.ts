// Runs a machine table (machine-table.ts) the way XState v5's interpreter runs the machine it was
// derived from, within the table's subset: one event at a time through a mailbox (an event sent
// while one is processed waits for it), a transition's actions, then the target's entry actions,
// then eventless transitions until none is enabled (their actions see the event that started the
// step), delayed transitions scheduled on the clock after the step and cancelled when their state is
// left, an action that throws stops the actor with status `error` and reports it once. What it does
// not do is XState's bookkeeping: no snapshot, Set or Map per microstep, no inspection events.
import type { MachineTable, TableArgs, TableState, TableTransition } from './machine-table.js';

/** XState's clock interface (a SimulatedClock in tests). */
export interface TableClock {
  setTimeout(fn: () => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

/** The timers of the moment, read when used (so t.mock.timers applies), as XState's default clock. */
const SYSTEM_CLOCK: TableClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

export type TableActorStatus = 'active' | 'stopped' | 'error';

export interface TableSnapshot<TContext> {
  readonly value: string;
  readonly status: TableActorStatus;
  readonly context: TContext;
}

const STOP = Symbol('stop');

export class TableActor<TContext, TEvent extends { type: string }> {
  #state: TableState;
  #status: TableActorStatus = 'active';
  readonly #context: TContext;
  readonly #table: MachineTable;
  readonly #clock: TableClock;
  readonly #onError: (error: unknown) => void;
  /** Events sent while one is processed (the mailbox), and a stop asked for meanwhile. */
  readonly #queue: Array<TEvent | typeof STOP> = [];
  #processing = false;
  /** The pending delayed event of the current state, if it has one. */
  #timer: unknown = undefined;
  #timerSet = false;
  /** Timer changes made during a step, applied after it as XState defers them. */
  readonly #deferred: Array<() => void> = [];
  /** One arguments object per actor: the implementations read it during the call only. */
  readonly #args: TableArgs;

  constructor(table: MachineTable, options: { input: unknown; clock?: TableClock; onError: (error: unknown) => void }) {
    this.#table = table;
    this.#state = table.initial;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#onError = options.onError;
    this.#context = table.context(options.input, this) as TContext;
    this.#args = { context: this.#context, event: { type: 'xstate.init' }, self: this };
  }

  getSnapshot(): TableSnapshot<TContext> {
    return { value: this.#state.name, status: this.#status, context: this.#context };
  }

  send(event: TEvent): void {
    if (this.#status !== 'active') return;
    if (this.#processing) {
      this.#queue.push(event);
      return;
    }
    this.#processing = true;
    try {
      let next: TEvent | typeof STOP | undefined = event;
      while (next !== undefined && this.#status === 'active') {
        if (next === STOP) this.#stopNow();
        else this.#process(next);
        next = this.#queue.shift();
      }
    } finally {
      this.#processing = false;
    }
  }

  /** Stops the actor (after the event being processed, as XState's mailbox does): its delayed event is cancelled. */
  stop(): void {
    if (this.#status !== 'active') return;
    if (this.#processing) this.#queue.push(STOP);
    else this.#stopNow();
  }

  #stopNow(): void {
    this.#status = 'stopped';
    this.#queue.length = 0;
    this.#cancelTimer();
  }

  /** One macrostep: the event's transition, then eventless transitions until none is enabled. */
  #process(event: TEvent): void {
    const before = this.#state;
    try {
      const after = before.after;
      const candidates = after !== undefined && event.type === after.eventType ? after.transitions : before.on.get(event.type);
      if (candidates === undefined) return;
      const args = this.#args;
      args.event = event;
      let transition = select(candidates, args);
      while (transition !== undefined) {
        this.#microstep(transition, args);
        transition = select(this.#state.always, args);
      }
      for (let i = 0; i < this.#deferred.length; i++) this.#deferred[i]();
      this.#deferred.length = 0;
    } catch (error) {
      // As XState: the actor keeps the state it was in, is stopped with status error, and reports it.
      this.#state = before;
      this.#deferred.length = 0;
      this.#stopNow();
      this.#status = 'error';
      this.#onError(error);
    }
  }

  #microstep(transition: TableTransition, args: TableArgs): void {
    if (this.#state.after !== undefined) this.#deferred.push(() => this.#cancelTimer());
    const actions = transition.actions;
    for (let i = 0; i < actions.length; i++) actions[i].exec(args, actions[i].params);
    const target = transition.target;
    this.#state = target;
    const entry = target.entry;
    for (let i = 0; i < entry.length; i++) entry[i].exec(args, entry[i].params);
    const after = target.after;
    if (after !== undefined) {
      // Resolved where XState resolves it: after the state's own entry actions.
      const ms = after.delay(args, undefined);
      if (typeof ms !== 'number') throw new Error(`delay "${after.delayName}" of state "${target.name}" gave no number`);
      const event = { type: after.eventType } as TEvent;
      this.#deferred.push(() => this.#schedule(event, ms));
    }
  }

  #schedule(event: TEvent, ms: number): void {
    this.#timerSet = true;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timerSet = false;
      this.#timer = undefined;
      this.send(event);
    }, ms);
  }

  #cancelTimer(): void {
    if (!this.#timerSet) return;
    this.#timerSet = false;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** The first transition whose guard passes (or that has none), as XState selects them. */
function select(candidates: readonly TableTransition[], args: TableArgs): TableTransition | undefined {
  for (let i = 0; i < candidates.length; i++) {
    const guard = candidates[i].guard;
    if (guard === undefined || guard.check(args, undefined)) return candidates[i];
  }
  return undefined;
}
