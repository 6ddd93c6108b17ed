import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../logger';
import { calculator, install } from '../test-support/interceptor-fixtures';
import { unwrap, wrap, type ExecuteContext } from './interceptor';
import { currentPlugin } from './plugin-context';

/**
 * The interceptor's call paths: hooks that take no context (a call then allocates none), and
 * arguments passed on as given, however many. The behaviour of hooks with a context is in
 * interceptor.test.ts.
 */
describe('interceptors: call paths', () => {
  let warn: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('calls a hook that declares no parameter without a context, in its plugin, around sync and async calls', async () => {
    const calc = calculator();
    const order: unknown[] = [];
    const hooks = {
      before() {
        order.push(['before', currentPlugin(), this === hooks]);
      },
      after: function () {
        order.push(['after', currentPlugin()]);
      },
      onThrow: () => {
        order.push(['onThrow']);
      },
    };
    for (const method of ['multiply', 'fail', 'later', 'laterFail'] as const) install(calc, method, hooks, 'bare');
    expect(calc.multiply(3, 4)).toBe(12);
    expect(() => calc.fail('boom')).toThrow('boom');
    await expect(calc.later(5)).resolves.toBe(5);
    await expect(calc.laterFail('late')).rejects.toThrow('late');
    const before = ['before', 'bare', true];
    expect(order).toEqual([before, ['after', 'bare'], before, ['onThrow'], before, ['after', 'bare'], before, ['onThrow']]);
    expect(currentPlugin()).toBeUndefined();
  });

  it('hands the context to a hook that may reach it without a declared parameter', () => {
    const calc = calculator();
    const seen: unknown[] = [];
    install(calc, 'multiply', {
      before(...rest: ExecuteContext[]) {
        seen.push(rest[0]?.args);
      },
    });
    install(calc, 'multiply', {
      before() {
        // eslint-disable-next-line prefer-rest-params -- the case under test: a hook reading `arguments`
        seen.push((arguments[0] as ExecuteContext).method);
      },
    });
    install(calc, 'multiply', {
      before: function (ctx = undefined as ExecuteContext | undefined) {
        seen.push(ctx?.target === calc);
      },
    });
    expect(calc.multiply(3, 4)).toBe(12);
    expect(seen).toEqual([[3, 4], 'multiply', true]);
  });

  it('reports a throwing hook that takes no context and leaves the call alone', () => {
    const calc = calculator();
    install(calc, 'multiply', {
      before() {
        throw new Error('bare bug');
      },
    });
    expect(calc.multiply(3, 4)).toBe(12);
    expect(String(warn.mock.calls[0]?.[1])).toContain('before hook failed and was ignored: bare bug');
  });

  it('passes every argument, however many, and the count the caller gave', () => {
    const target = {
      collect(...values: unknown[]): unknown[] {
        return values;
      },
    };
    const counted: number[] = [];
    install(target, 'collect', { before: (ctx) => void counted.push(ctx.args.length) });
    expect(target.collect()).toEqual([]);
    expect(target.collect(1)).toEqual([1]);
    expect(target.collect(1, undefined)).toEqual([1, undefined]);
    expect(target.collect(1, 2, 3, 4)).toEqual([1, 2, 3, 4]);
    expect(target.collect(1, 2, 3, 4, 5, 6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(counted).toEqual([0, 1, 2, 4, 6]);
    unwrap(target, 'collect');
    const bare = { collect: target.collect };
    wrap(bare, 'collect', [{ pluginName: 'test', hooks: { before() {} } }]);
    expect(bare.collect(1, undefined)).toEqual([1, undefined]);
    expect(bare.collect(1, 2, 3, 4, 5)).toEqual([1, 2, 3, 4, 5]);
  });

  it('calls an original that has a property named call as a function', () => {
    const original = Object.assign((a: number, b: number) => a + b, { call: () => 'not this' });
    const owner = { original };
    install(owner, 'original', { before() {} });
    expect(owner.original(1, 2)).toBe(3);
    install(owner, 'original', { before: (ctx) => void (ctx.args[0] = 10) });
    expect(owner.original(1, 2)).toBe(12);
  });
});
