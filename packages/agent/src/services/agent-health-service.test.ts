import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../logger';
import { runInPlugin } from '../plugins/plugin-context';
import { AgentHealthService } from './agent-health-service';
import { HealthService, type IndicatorResult } from './health-service';
import { registerService, ServiceManager } from './service-manager';

/** A promise the test settles when it wants. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('AgentHealthService', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('reports nothing until an indicator is set, then each indicator by name and the worst status', () => {
    const health = new AgentHealthService();
    expect(health.collect()).toBeUndefined();
    health.setIndicator('queue', () => ({ status: 'degraded', details: { backlog: 1200 } }));
    health.setIndicator('db', () => ({ status: 'up' }));
    const report = health.collect();
    expect(report).toEqual({
      status: 'degraded',
      indicators: { db: { status: 'up' }, queue: { status: 'degraded', details: { backlog: '1200' } } },
    });
    // Sorted by name, so that an unchanged report serialises the same way (light beats depend on it).
    expect(Object.keys(report?.indicators ?? {})).toEqual(['db', 'queue']);
    health.setIndicator('cache', () => ({ status: 'down' }));
    expect(health.collect()?.status).toBe('down');
    health.removeIndicator('cache');
    health.removeIndicator('queue');
    expect(health.collect()).toEqual({ status: 'up', indicators: { db: { status: 'up' } } });
  });

  it('asks the providers on every collection, and a later provider of the same name replaces the earlier one', () => {
    const health = new AgentHealthService();
    let calls = 0;
    health.setIndicator('db', () => ({ status: 'up', details: { calls: ++calls } }));
    expect(health.collect()?.indicators.db?.details).toEqual({ calls: '1' });
    expect(health.collect()?.indicators.db?.details).toEqual({ calls: '2' });
    health.setIndicator('db', () => ({ status: 'down' }));
    expect(health.collect()).toEqual({ status: 'down', indicators: { db: { status: 'down' } } });
  });

  it('counts a provider that throws as down with its error, warning once', () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const health = new AgentHealthService();
    health.setIndicator('db', () => {
      throw new Error('connection refused');
    });
    health.setIndicator('app', () => ({ status: 'up' }));
    const expected = {
      status: 'down',
      indicators: { app: { status: 'up' }, db: { status: 'down', details: { error: 'connection refused' } } },
    };
    expect(health.collect()).toEqual(expected);
    expect(health.collect()).toEqual(expected);
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0]?.[0])).toBe('health indicator db threw: connection refused');
  });

  it('counts what is not an answer as down, saying why', () => {
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const health = new AgentHealthService();
    health.setIndicator('shouting', () => ({ status: 'UP' }) as unknown as IndicatorResult);
    health.setIndicator('nothing', () => undefined as unknown as IndicatorResult);
    health.setIndicator('list', () => ({ status: 'up', details: ['a'] }) as unknown as IndicatorResult);
    expect(health.collect()?.indicators).toEqual({
      list: { status: 'down', details: { error: 'answered details that are not a plain object or a Map, got an array' } },
      nothing: { status: 'down', details: { error: 'answered undefined, not { status, details? }' } },
      shouting: { status: 'down', details: { error: 'answered status "UP", not one of up, degraded, down' } },
    });
  });

  it('holds details to the protocol limits, stringified and sorted', () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const health = new AgentHealthService();
    const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${String(i).padStart(2, '0')}`, i]));
    health.setIndicator('db', () => ({ status: 'up', details: { ...many, k00: 'x'.repeat(2000), nested: { a: [1] } } }));
    const details = health.collect()?.indicators.db?.details ?? {};
    expect(Object.keys(details)).toHaveLength(16);
    expect(Object.keys(details)[0]).toBe('k00');
    expect(details.k00).toHaveLength(1024);
    expect(details.k01).toBe('1');
    expect(String(warn.mock.calls[0]?.[0])).toMatch(
      /health indicator db details: value of k00 cut to 1024 characters; details: 5 entries dropped: at most 16/,
    );
  });

  it('carries the latest settled answer of a provider that answers with a promise, from the collection after it settles', async () => {
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const health = new AgentHealthService();
    const answers = [deferred<IndicatorResult>(), deferred<IndicatorResult>()];
    let calls = 0;
    // After the two answers, a promise that never settles: the collections below may ask again.
    health.setIndicator('db', () => answers[calls++]?.promise ?? new Promise<IndicatorResult>(() => undefined));
    expect(health.collect()).toBeUndefined();
    answers[0]?.resolve({ status: 'up' });
    await vi.waitFor(() => expect(health.collect()).toEqual({ status: 'up', indicators: { db: { status: 'up' } } }), { timeout: 10_000 });
    answers[1]?.reject(new Error('pool exhausted'));
    await vi.waitFor(
      () =>
        expect(health.collect()).toEqual({ status: 'down', indicators: { db: { status: 'down', details: { error: 'pool exhausted' } } } }),
      { timeout: 10_000 },
    );
  });

  it('counts a provider that does not settle in time as down, does not ask it again while it is pending, and takes its late answer', async () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const health = new AgentHealthService(50);
    const slow = deferred<IndicatorResult>();
    const answers = [slow.promise, new Promise<IndicatorResult>(() => undefined)];
    let calls = 0;
    health.setIndicator('db', () => answers[calls++] as Promise<IndicatorResult>);
    health.setIndicator('app', () => ({ status: 'up' }));
    expect(health.collect()).toEqual({ status: 'up', indicators: { app: { status: 'up' } } });
    await vi.waitFor(
      () => expect(health.collect()?.indicators.db).toEqual({ status: 'down', details: { error: 'timed out after 50 ms' } }),
      { timeout: 10_000 },
    );
    expect(calls).toBe(1);
    expect(String(warn.mock.calls[0]?.[0])).toBe('health indicator db timed out after 50 ms (health.timeout); down until it answers');
    slow.resolve({ status: 'degraded', details: { slow: 'yes' } });
    // The collection that sees the late answer also asks again (the second promise never settles).
    await vi.waitFor(() => expect(health.collect()?.indicators.db).toEqual({ status: 'degraded', details: { slow: 'yes' } }), {
      timeout: 10_000,
    });
    expect(calls).toBe(2);
  });

  it('ignores the late answer of a provider that was removed or replaced meanwhile', async () => {
    const health = new AgentHealthService();
    const old = deferred<IndicatorResult>();
    health.setIndicator('db', () => old.promise);
    health.collect();
    health.setIndicator('db', () => ({ status: 'up' }));
    expect(health.collect()?.indicators.db).toEqual({ status: 'up' });
    old.resolve({ status: 'down' });
    await old.promise;
    await new Promise((resolve) => setImmediate(resolve));
    expect(health.collect()?.indicators.db).toEqual({ status: 'up' });
  });

  it('takes at most 32 indicators, warning once about the rest', () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const health = new AgentHealthService();
    for (let i = 0; i < 40; i += 1) health.setIndicator(`i${String(i).padStart(2, '0')}`, () => ({ status: 'up' }));
    const names = Object.keys(health.collect()?.indicators ?? {});
    expect(names).toHaveLength(32);
    expect(names.at(-1)).toBe('i31');
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0]?.[0])).toBe('health indicator i32 ignored: at most 32 indicators');
  });

  it('rejects a nameless indicator or a provider that is not a function', () => {
    const health = new AgentHealthService();
    expect(() => health.setIndicator('', () => ({ status: 'up' }))).toThrow(TypeError);
    expect(() => health.setIndicator('x'.repeat(257), () => ({ status: 'up' }))).toThrow(TypeError);
    expect(() => health.setIndicator('db', { status: 'up' } as never)).toThrow(TypeError);
    expect(health.collect()).toBeUndefined();
  });

  it("is what getService returns; a plugin's indicators are its own, and forgotten when its load fails", () => {
    const health = new AgentHealthService();
    registerService(HealthService, health);
    expect(ServiceManager.getService(HealthService)).toBe(health);
    const view = runInPlugin('template', () => ServiceManager.getService(HealthService));
    expect(view).not.toBe(health);
    // Set outside the plugin's context (a callback, after an await): still the plugin's.
    view.setIndicator('template', () => ({ status: 'up' }));
    runInPlugin('broken', () => health.setIndicator('broken', () => ({ status: 'down' })));
    health.setIndicator('app', () => ({ status: 'up' }));
    health.discardIndicatorsOf('broken');
    health.discardIndicatorsOf('template-not');
    expect(health.collect()).toEqual({ status: 'up', indicators: { app: { status: 'up' }, template: { status: 'up' } } });
  });
});
