// The table the derived runtime runs is the XState machine's own graph, read from the machine object;
// the delivery machine stays within the subset the table runs; anything outside it is refused,
// naming the state and what it uses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assign, not, setup, type AnyStateMachine } from 'xstate';
import { deliveryMachine, deriveMachineTable, MachineOutsideTableError, type MachineTable } from '../../daemon/delivery/index.js';

type Named = string | { type: string; params?: unknown };
const nameOf = (action: unknown): unknown =>
  typeof action === 'string' ? action : typeof action === 'function' ? (action as unknown as { type: string }).type : { type: (action as { type: string }).type, params: (action as { params?: unknown }).params };

/** XState's own reading of the machine: per state, its transitions by event (after events included) and its eventless ones. */
function xstateGraph(machine: AnyStateMachine) {
  return Object.entries(machine.root.states).map(([name, node]) => ({
    name,
    entry: node.entry.map(nameOf).filter((action) => action !== 'xstate.raise'),
    on: [...node.transitions.entries()].map(([type, list]) => [type, list.map((t) => [t.target?.map((n) => n.key), t.guard, t.actions.map(nameOf)])]),
    always: (node.always ?? []).map((t) => [t.target?.map((n) => n.key), t.guard, t.actions.map(nameOf)]),
  }));
}

function tableGraph(table: MachineTable) {
  const of = (name: string, params: unknown): Named => (params === undefined ? name : { type: name, params });
  const transition = (t: { target: { name: string }; guard?: { name: string }; actions: ReadonlyArray<{ name: string; params: unknown }> }) => [[t.target.name], t.guard?.name, t.actions.map((a) => of(a.name, a.params))];
  return [...table.states.values()].map((state) => ({
    name: state.name,
    entry: state.entry.map((a) => of(a.name, a.params)),
    on: [...[...state.on.entries()].map(([type, list]) => [type, list.map(transition)]), ...(state.after ? [[state.after.eventType, state.after.transitions.map(transition)]] : [])],
    always: state.always.map(transition),
  }));
}

const base = setup({
  actions: { a: () => {}, b: () => {}, set: assign({}) },
  guards: { g: () => true, h: not('g') },
  delays: { d: () => 10 },
});

function refused(machine: AnyStateMachine, pattern: RegExp): void {
  assert.throws(() => deriveMachineTable(machine), (error: unknown) => error instanceof MachineOutsideTableError && pattern.test(error.message));
}

describe('machine table', () => {
  it('derives the delivery machine: every state, transition, guard, action and params as XState reads them', () => {
    const table = deriveMachineTable(deliveryMachine);
    assert.equal(table.initial.name, 'idle');
    assert.deepEqual(tableGraph(table), xstateGraph(deliveryMachine));
  });

  it('uses the implementations the machine was given (provide), not copies', () => {
    const marker = () => {};
    const provided = deliveryMachine.provide({ actions: { begin: marker } });
    const table = deriveMachineTable(provided);
    assert.equal(table.states.get('idle')!.on.get('deliver')![0].actions[0].exec, marker);
  });

  it('refuses what it does not run, naming the state and what it uses', () => {
    const ok = { initial: 'one', states: { one: { on: { go: 'two' } }, two: {} } } as const;
    assert.doesNotThrow(() => deriveMachineTable(base.createMachine(ok)));
    refused(base.createMachine({ initial: 'one', states: { one: { initial: 'x', states: { x: {} } } } }), /state "one": uses "initial"/);
    refused(base.createMachine({ initial: 'one', states: { one: { on: { go: 'two' } }, two: { exit: 'a' } } }), /state "two": uses "exit"/);
    refused(base.createMachine({ initial: 'one', states: { one: { on: { go: 'two' } }, two: { type: 'final' } } }), /state "two": uses "type"/);
    refused(base.createMachine({ initial: 'one', states: { one: { on: { go: { target: 'two', actions: 'set' } } }, two: {} } }), /built-in action/);
    refused(base.createMachine({ initial: 'one', states: { one: { on: { go: { target: 'two', actions: () => {} } } }, two: {} } }), /inline or built-in action/);
    refused(base.createMachine({ initial: 'one', states: { one: { on: { go: { target: 'two', guard: 'h' } } }, two: {} } }), /guard "h"/);
    refused(base.createMachine({ initial: 'one', states: { one: { on: { go: { target: 'two', guard: { type: 'g' } } } }, two: {} } }), /not a plain name/);
    refused(base.createMachine({ initial: 'one', states: { one: { on: { go: 'one' } } } }), /self-transition/);
    refused(base.createMachine({ initial: 'one', states: { one: { on: { go: { actions: 'a' } } } } }), /without one target/);
    refused(base.createMachine({ initial: 'one', states: { one: { on: { go: 'two' } }, two: { after: { 1000: 'one' } } } }), /numeric delay/);
    refused(base.createMachine({ initial: 'one', states: { one: { on: { '*': 'two' } }, two: {} } }), /only exact event names/);
    refused(base.createMachine({ initial: 'one', states: { one: { on: { go: { target: 'two', reenter: true } } }, two: {} } }), /uses "reenter"/);
    refused(base.createMachine({ initial: 'one', states: { one: { entry: 'a', on: { go: 'two' } }, two: {} } }), /initial state and acts on entry/);
    refused(base.createMachine({ initial: 'one', states: { one: { on: { go: { target: 'two', actions: { type: 'a', params: () => 1 } } } }, two: {} } }), /params computed by a function/);
    refused(base.createMachine({ initial: 'one', states: { one: { invoke: { src: 'x' } as never } } }), /state "one": uses "invoke"/);
  });
});
