import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { installShutdownHooks, type Farewell, type HostProcess } from './shutdown-hooks';

/** A stand-in for `process`: listeners like the real one, and kill recorded instead of done. */
class FakeProcess extends EventEmitter {
  readonly pid = 4242;
  readonly kills: [number, string][] = [];
  kill(pid: number, signal: string): true {
    this.kills.push([pid, signal]);
    return true;
  }
}

const BUDGET_MS = 200;

/** A farewell whose asynchronous goodbye takes `ms` (or never ends), recording what was called and which goodbyes ended. */
function install(ms: number | 'never') {
  const host = new FakeProcess();
  const calls: string[] = [];
  const ended: string[] = [];
  const farewell: Farewell = {
    run: async (reason) => {
      calls.push(`run ${reason}`);
      await new Promise((resolve) => ms !== 'never' && setTimeout(resolve, ms));
      ended.push(reason);
    },
    runSync: (reason, budgetMs) => void calls.push(`sync ${reason} ${budgetMs > 0 && budgetMs <= BUDGET_MS ? 'within budget' : budgetMs}`),
  };
  installShutdownHooks({ farewell, budgetMs: BUDGET_MS, host: host as unknown as HostProcess });
  return { host, calls, ended };
}

describe('installShutdownHooks', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s that nothing else listens to, says goodbye, then raises the signal again without its listener',
    async (signal) => {
      const { host, calls } = install(20);
      host.emit(signal, signal);
      expect(host.listenerCount(signal)).toBe(0);
      expect(host.kills).toEqual([]);
      await vi.waitFor(() => expect(host.kills).toEqual([[4242, signal]]), { timeout: 10_000 });
      expect(calls).toEqual([`run ${signal}`]);
    },
  );

  it('raises the signal after the budget when the goodbye takes longer', async () => {
    // The goodbye never ends: only the budget can raise the signal.
    const { host } = install('never');
    host.emit('SIGTERM', 'SIGTERM');
    await vi.waitFor(() => expect(host.kills).toEqual([[4242, 'SIGTERM']]), { timeout: 10_000 });
  });

  it('says goodbye synchronously before a host that listens to the signal, which then sees no listener of the agent', () => {
    const { host, calls } = install(10);
    const seen: number[] = [];
    // What signal-exit does: re-raise only when it is the last listener.
    host.on('SIGTERM', () => seen.push(host.listenerCount('SIGTERM')));
    host.emit('SIGTERM', 'SIGTERM');
    expect(calls).toEqual(['sync SIGTERM within budget']);
    expect(seen).toEqual([1]);
    expect(host.kills).toEqual([]);
  });

  it('says goodbye once: a later signal or exit has nothing left to say', () => {
    const { host, calls } = install(10);
    host.on('SIGTERM', () => undefined);
    host.on('SIGINT', () => undefined);
    host.emit('SIGTERM', 'SIGTERM');
    host.emit('SIGINT', 'SIGINT');
    host.emit('exit', 0);
    expect(calls).toEqual(['sync SIGTERM within budget']);
    expect(host.kills).toEqual([]);
  });

  it('says goodbye asynchronously when the loop runs dry, once, and has nothing left to do on exit', async () => {
    const { host, calls, ended } = install(10);
    host.emit('beforeExit', 0);
    host.emit('beforeExit', 0);
    await vi.waitFor(() => expect(ended).toEqual(['exit']), { timeout: 10_000 });
    host.emit('exit', 0);
    expect(calls).toEqual(['run exit']);
  });

  it('gives up the asynchronous goodbye after the budget, and does not spend it twice', async () => {
    const { host, calls } = install('never');
    host.emit('beforeExit', 0);
    // Timers fire in the order they expire: the budget's has run out before this one fires.
    await new Promise((resolve) => setTimeout(resolve, BUDGET_MS + 50));
    host.emit('exit', 0);
    expect(calls).toEqual(['run exit']);
  });

  it('sends what is still owed synchronously on exit, within what is left of the budget', async () => {
    const { host, calls } = install('never');
    host.emit('beforeExit', 0);
    await new Promise((resolve) => setImmediate(resolve));
    host.emit('exit', 0);
    expect(calls).toEqual(['run exit', 'sync exit within budget']);
  });

  it('says goodbye synchronously on a process.exit() out of the blue', () => {
    const { host, calls } = install(10);
    host.emit('exit', 1);
    expect(calls).toEqual(['sync exit within budget']);
  });
});
