// The delivery machine as a table, derived from the XState machine object itself: each state's entry
// actions, eventless transitions, event transitions and delayed transitions, with the named guards,
// actions and delays of its `setup()` resolved once. `TableActor` (table-actor.ts) runs it on the
// hot path without XState's per-microstep Sets, Maps and snapshots. Nothing here is written beside
// the machine: a machine that uses more than this subset is refused with the state and key that
// leave it, and the daemon can always run XState's own interpreter instead (`deliveryRuntime`).
//
// The subset (what XState v5 does with it is what TableActor does; decisions.md, issue 23):
//  - one level of states (no nesting, parallel, history or final states), no invoke, no exit actions;
//  - transitions to another state by its name (no self-transitions, no targetless ones, no `reenter`);
//  - guards named in setup() (no inline functions, no and/or/not, no parameters);
//  - actions named in setup(), optionally with static params (no inline functions, no assign/raise/
//    sendTo or other built-in actions);
//  - `after` keyed by a delay named in setup() (no numeric delays), one per state, that gives a number
//    (XState raises at once on anything else; the table stops the actor with an error);
//  - an initial state with no entry actions, eventless or delayed transitions.
import type { AnyStateMachine } from 'xstate';

/** An action as XState calls it: `({ context, event, self }, params)`. */
export type TableActionFn = (args: TableArgs, params: unknown) => void;
export type TableGuardFn = (args: TableArgs, params: unknown) => boolean;
export type TableDelayFn = (args: TableArgs, params: unknown) => number;

/** What an implementation is given (XState passes the same names; `system` is not offered). */
export interface TableArgs {
  context: unknown;
  event: { type: string };
  self: unknown;
}

export interface TableAction {
  readonly name: string;
  readonly params: unknown;
  readonly exec: TableActionFn;
}

export interface TableTransition {
  readonly target: TableState;
  readonly guard: { readonly name: string; readonly check: TableGuardFn } | undefined;
  readonly actions: readonly TableAction[];
}

export interface TableState {
  readonly name: string;
  readonly entry: readonly TableAction[];
  readonly always: readonly TableTransition[];
  readonly on: ReadonlyMap<string, readonly TableTransition[]>;
  /** The state's delayed transitions: scheduled after its entry actions, cancelled when it is left. */
  readonly after: TableAfter | undefined;
}

export interface TableAfter {
  readonly delayName: string;
  readonly delay: TableDelayFn;
  /** The event XState raises when the delay ends (`xstate.after.<delay>.<machine id>.<state>`). */
  readonly eventType: string;
  readonly transitions: readonly TableTransition[];
}

export interface MachineTable {
  readonly id: string;
  readonly initial: TableState;
  readonly states: ReadonlyMap<string, TableState>;
  /** The machine's context: XState's `context` config (a factory of the input, or a value). */
  readonly context: (input: unknown, self: unknown) => unknown;
}

/** A machine that uses what the table cannot run, named by where it does. */
export class MachineOutsideTableError extends Error {
  override name = 'MachineOutsideTableError';
}

const MACHINE_KEYS = new Set(['id', 'context', 'initial', 'states', 'schemas', 'description']);
const STATE_KEYS = new Set(['entry', 'always', 'on', 'after', 'description']);
const TRANSITION_KEYS = new Set(['target', 'guard', 'actions', 'description']);
const ACTION_KEYS = new Set(['type', 'params']);

type Config = Record<string, unknown>;

const isRecord = (value: unknown): value is Config => typeof value === 'object' && value !== null && !Array.isArray(value);
const toArray = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Derives the table from `machine` (its config and its `setup()` implementations), or throws naming what it cannot run. */
export function deriveMachineTable(machine: AnyStateMachine): MachineTable {
  const config = machine.config as Config;
  const id = machine.id;
  const implementations = machine.implementations as { actions: Config; guards: Config; delays: Config; actors: Config };
  const refuse = (where: string, what: string): never => {
    throw new MachineOutsideTableError(`machine "${id}"${where ? ` ${where}` : ''}: ${what}, which the derived delivery runtime does not run (keep the machine within the subset in daemon/delivery/machine-table.ts, or set deliveryRuntime to "xstate")`);
  };
  for (const key of Object.keys(config)) if (!MACHINE_KEYS.has(key) && config[key] !== undefined) refuse('', `uses "${key}"`);
  if (Object.keys(implementations.actors ?? {}).length > 0) refuse('', 'names actors');
  if ((machine.options as { maxIterations?: number } | undefined)?.maxIterations !== undefined && machine.options.maxIterations !== Infinity) refuse('', 'sets maxIterations');
  const statesConfig = config.states;
  if (!isRecord(statesConfig) || Object.keys(statesConfig).length === 0) refuse('', 'has no states');
  if (typeof config.initial !== 'string' || !(config.initial in (statesConfig as Config))) refuse('', 'has no initial state named among its states');

  const action = (where: string, raw: unknown): TableAction => {
    if (typeof raw === 'string') return { name: raw, params: undefined, exec: named(where, raw) };
    if (isRecord(raw) && typeof raw.type === 'string') {
      for (const key of Object.keys(raw)) if (!ACTION_KEYS.has(key)) refuse(where, `gives action "${raw.type}" "${key}"`);
      if (typeof raw.params === 'function') refuse(where, `gives action "${raw.type}" params computed by a function`);
      return { name: raw.type, params: raw.params, exec: named(where, raw.type) };
    }
    return refuse(where, typeof raw === 'function' ? 'has an inline or built-in action (assign, raise, …)' : `has an action that is not a name: ${JSON.stringify(raw)}`);
  };
  const named = (where: string, name: string): TableActionFn => {
    const exec = implementations.actions?.[name];
    if (typeof exec !== 'function') return refuse(where, `names action "${name}", which setup() does not define`);
    // XState's built-ins (assign, raise, sendTo, …) are functions that carry a `resolve`: they act on XState's internals.
    if ('resolve' in exec || 'execute' in exec) return refuse(where, `defines action "${name}" as a built-in action (assign, raise, …)`);
    return exec as TableActionFn;
  };
  const guard = (where: string, raw: unknown): TableTransition['guard'] => {
    if (raw === undefined) return undefined;
    if (typeof raw !== 'string') return refuse(where, 'has a guard that is not a plain name (inline, parameterised, and/or/not)');
    const check = implementations.guards?.[raw];
    if (typeof check !== 'function' || 'check' in check || 'resolve' in check) return refuse(where, `names guard "${raw}", which setup() does not define as a function`);
    return { name: raw, check: check as TableGuardFn };
  };

  const states = new Map<string, TableState>();
  const pending: Array<() => void> = [];
  const transitions = (source: string, where: string, raw: unknown, into: TableTransition[]): void => {
    for (const [index, one] of toArray(raw).entries()) {
      const place = `${where}[${index}]`;
      const transition: Config = typeof one === 'string' ? { target: one } : isRecord(one) ? one : refuse(place, 'has a transition that is neither a target nor an object');
      for (const key of Object.keys(transition)) if (!TRANSITION_KEYS.has(key)) refuse(place, `uses "${key}" on a transition`);
      const target = transition.target;
      if (typeof target !== 'string') refuse(place, 'has a transition without one target state');
      if (target === source) refuse(place, 'has a self-transition');
      if (!(target as string in (statesConfig as Config)) || (target as string).includes('.') || (target as string).startsWith('#')) refuse(place, `targets "${target as string}", which is not a state beside it`);
      const actions = toArray(transition.actions).map((one) => action(place, one));
      const check = guard(place, transition.guard);
      // Targets are resolved once every state exists.
      pending.push(() => into.push({ target: states.get(target as string)!, guard: check, actions }));
    }
  };

  for (const [name, raw] of Object.entries(statesConfig as Config)) {
    const where = `state "${name}"`;
    if (!isRecord(raw)) refuse(where, 'is not an object');
    const state = raw as Config;
    for (const key of Object.keys(state)) if (!STATE_KEYS.has(key) && state[key] !== undefined) refuse(where, `uses "${key}"`);
    const entry = toArray(state.entry).map((one) => action(`${where} entry`, one));
    const always: TableTransition[] = [];
    transitions(name, `${where} always`, state.always, always);
    const on = new Map<string, TableTransition[]>();
    if (state.on !== undefined) {
      if (!isRecord(state.on)) refuse(where, '"on" is not an object');
      for (const [type, raw] of Object.entries(state.on as Config)) {
        if (type.includes('*') || type.startsWith('xstate.') || type === '') refuse(`${where} on`, `listens for "${type}" (only exact event names)`);
        const list: TableTransition[] = [];
        transitions(name, `${where} on.${type}`, raw, list);
        on.set(type, list);
      }
    }
    let after: TableAfter | undefined;
    if (state.after !== undefined) {
      if (!isRecord(state.after)) refuse(where, '"after" is not an object');
      const keys = Object.keys(state.after as Config);
      if (keys.length !== 1) refuse(`${where} after`, 'has other than one delay');
      const delayName = keys[0];
      if (!Number.isNaN(Number(delayName))) refuse(`${where} after`, `uses a numeric delay (${delayName})`);
      const delay = implementations.delays?.[delayName];
      if (typeof delay !== 'function') refuse(`${where} after`, `names delay "${delayName}", which setup() does not define as a function`);
      const list: TableTransition[] = [];
      transitions(name, `${where} after.${delayName}`, (state.after as Config)[delayName], list);
      after = { delayName, delay: delay as TableDelayFn, eventType: `xstate.after.${delayName}.${id}.${name}`, transitions: list };
    }
    states.set(name, { name, entry, always, on, after });
  }
  for (const resolve of pending) resolve();

  const initial = states.get(config.initial as string)!;
  if (initial.entry.length > 0 || initial.always.length > 0 || initial.after) refuse(`state "${initial.name}"`, 'is the initial state and acts on entry');
  const context = config.context;
  return {
    id,
    initial,
    states,
    context: typeof context === 'function' ? (input, self) => (context as (args: { input: unknown; self: unknown }) => unknown)({ input, self }) : () => context,
  };
}
