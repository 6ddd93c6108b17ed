import type { EventRecord } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import type { PluginCommandState } from './commands-api';
import { concerns, describeProgress, isLifecycle, mergeCommands, outcomeOf, progressOf, withOutcomes } from './command-progress';

let nextId = 1;
function event(type: string, attributes: Record<string, string>, fields: Partial<EventRecord> = {}): EventRecord {
  const id = nextId++;
  return { id: String(id), time: 1000 + id, level: 'normal', type, origin: 'agent', message: `${type} message`, attributes, ...fields };
}

function command(id: string, fields: Partial<PluginCommandState> = {}): PluginCommandState {
  return {
    id,
    instanceId: `i-${id}`,
    service: 'orders',
    type: 'plugin.install',
    plugin: 'greeter',
    version: null,
    state: 'queued',
    reason: null,
    createdAt: 100,
    updatedAt: 100,
    expiresAt: 10_000,
    ...fields,
  };
}

describe('plugin command progress', () => {
  it('reads an agent’s outcome event: the command it answers, success or the reason it failed', () => {
    expect(outcomeOf(event('plugin.installed', { plugin: 'greeter', command: 'c1', version: '1.0.0' }))).toEqual({
      commandId: 'c1',
      state: 'succeeded',
      reason: null,
    });
    expect(outcomeOf(event('plugin.install-failed', { plugin: 'greeter', command: 'c2', reason: 'not found in plugins.dir' }))).toEqual({
      commandId: 'c2',
      state: 'failed',
      reason: 'not found in plugins.dir',
    });
    // An uninstall that left timers behind succeeded, and says what it did not release.
    expect(outcomeOf(event('plugin.uninstalled', { plugin: 'greeter', command: 'c3', leaked: 'timers:2' }))?.reason).toBe(
      'did not release timers:2',
    );
    // The backend's own `plugin.command-sent` (whose `command` is the type) and other events answer nothing.
    expect(outcomeOf(event('plugin.command-sent', { plugin: 'greeter', command: 'plugin.install' }, { origin: 'backend' }))).toBeNull();
    expect(outcomeOf(event('plugin.installed', { plugin: 'greeter', command: 'c4' }, { origin: 'backend' }))).toBeNull();
    expect(outcomeOf(event('plugin.loaded', { plugin: 'greeter', command: 'c5' }))).toBeNull();
    // Disable and enable answer too, and older agents name the command `commandId`.
    expect(outcomeOf(event('plugin.disabled', { plugin: 'greeter', commandId: 'c6' }))).toMatchObject({
      commandId: 'c6',
      state: 'succeeded',
    });
    expect(outcomeOf(event('plugin.command-failed', { plugin: 'greeter', commandId: 'c7', error: 'no such plugin' }))).toMatchObject({
      state: 'failed',
      reason: 'no such plugin',
    });
  });

  it('moves commands on with live outcomes, and leaves the others as they were', () => {
    const waiting = command('a', { state: 'delivered' });
    const other = command('b');
    const done = command('c', { state: 'succeeded', updatedAt: 5000 });
    const moved = withOutcomes(
      [waiting, other, done],
      [
        event('plugin.install-failed', { plugin: 'greeter', command: 'a', reason: 'ESM module already loaded' }),
        event('plugin.install-failed', { plugin: 'greeter', command: 'c', reason: 'late' }),
      ],
    );
    expect(moved[0]).toMatchObject({ id: 'a', state: 'failed', reason: 'ESM module already loaded' });
    expect(moved[0]!.updatedAt).toBeGreaterThan(100);
    expect(moved[1]).toBe(other);
    // A final state is not overturned by a later event...
    expect(moved[2]).toBe(done);
    // ...unless the backend gave up waiting: a late outcome is still what the agent did.
    const late = event('plugin.installed', { plugin: 'greeter', command: 'x' });
    expect(withOutcomes([command('x', { state: 'expired', reason: 'not delivered in time' })], [late])[0]?.state).toBe('succeeded');
    expect(withOutcomes([command('x', { state: 'failed', reason: 'no outcome' })], [late])[0]?.state).toBe('succeeded');
  });

  it('merges a fresh read with what is shown: a final state wins over a pending one, then the later update; newest first', () => {
    const shown = [command('old', { createdAt: 1, updatedAt: 10 }), command('new', { createdAt: 2, state: 'succeeded', updatedAt: 50 })];
    const read = [
      command('old', { createdAt: 1, state: 'delivered', updatedAt: 20 }),
      // The read was answered before the outcome reached the backend: it must not undo it.
      command('new', { createdAt: 2, state: 'delivered', updatedAt: 60 }),
      command('newest', { createdAt: 3 }),
    ];
    expect(mergeCommands(shown, read).map((c) => [c.id, c.state])).toEqual([
      ['newest', 'queued'],
      ['new', 'succeeded'],
      ['old', 'delivered'],
    ]);
  });

  it('counts the states and says how far a batch got', () => {
    const progress = progressOf([
      command('a', { state: 'succeeded' }),
      command('b', { state: 'failed' }),
      command('c', { state: 'delivered' }),
      command('d', { state: 'queued' }),
      command('e', { state: 'expired' }),
    ]);
    expect(progress).toMatchObject({ total: 5, pending: 2, byState: { succeeded: 1, failed: 1, expired: 1 } });
    expect(describeProgress(progress)).toBe('1 of 5 succeeded, 1 failed, 1 expired, 2 waiting for their agents');
    expect(describeProgress(progressOf([command('a', { state: 'succeeded' })]))).toBe('1 of 1 succeeded');
  });

  it('picks the plugin events of the instance, service and plugin listed', () => {
    const e = event('plugin.installed', { plugin: 'greeter', command: 'c' }, { instanceId: 'i-1', service: 'orders' });
    expect(concerns(e, { instanceId: 'i-1' })).toBe(true);
    expect(concerns(e, { service: 'orders', plugin: 'greeter' })).toBe(true);
    expect(concerns(e, { instanceId: 'i-2' })).toBe(false);
    expect(concerns(e, { service: 'orders', plugin: 'other' })).toBe(false);
    expect(concerns({ ...e, type: 'instance.lost' }, { instanceId: 'i-1' })).toBe(false);
  });

  it('tells install, upgrade and uninstall from disable and enable', () => {
    expect(['plugin.install', 'plugin.upgrade', 'plugin.uninstall', 'plugin.disable'].map((type) => isLifecycle({ type }))).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });
});
