import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../logger';
import { calculator, install } from '../test-support/interceptor-fixtures';
import { unwrap, wrap, type ExecuteContext } from './interceptor';
import { currentPlugin } from './plugin-context';

describe('interceptors', () => {
  let warn: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('runs before and after around the original, with target, method, args, result and plugin', () => {
    const calc = calculator();
    const seen: unknown[] = [];
    install(calc, 'multiply', {
      before: (ctx) => seen.push(['before', ctx.target, ctx.method, [...ctx.args], ctx.pluginName, currentPlugin()]),
      after: (ctx) => seen.push(['after', ctx.result]),
    });
    expect(calc.multiply(3, 4)).toBe(12);
    expect(seen).toEqual([
      ['before', calc, 'multiply', [3, 4], 'test', 'test'],
      ['after', 12],
    ]);
    expect(currentPlugin()).toBeUndefined();
  });

  it('lets before change the arguments', () => {
    const calc = calculator();
    install(calc, 'multiply', {
      before: (ctx) => {
        ctx.args[1] = 5;
      },
    });
    expect(calc.multiply(3, 4)).toBe(15);
    install(calc, 'multiply', {
      before: (ctx) => {
        ctx.args = [2, 2];
      },
    });
    expect(calc.multiply(3, 4)).toBe(4);
  });

  it('lets before skip the original with a result of its own', () => {
    const calc = calculator();
    const original = vi.spyOn(calc, 'multiply');
    const after = vi.fn((ctx: ExecuteContext) => expect(ctx.result).toBe(-1));
    install(calc, 'multiply', { before: (ctx) => ctx.skip(-1), after });
    expect(calc.multiply(3, 4)).toBe(-1);
    expect(original).not.toHaveBeenCalled();
    expect(after).toHaveBeenCalledOnce();
  });

  it('lets after change the result', () => {
    const calc = calculator();
    install(calc, 'multiply', {
      after: (ctx) => {
        ctx.result = (ctx.result as number) + 1;
      },
    });
    expect(calc.multiply(3, 4)).toBe(13);
  });

  it('runs onThrow with the error, which it may replace; after does not run', () => {
    const calc = calculator();
    const after = vi.fn();
    install(calc, 'fail', {
      onThrow: (ctx) => {
        expect((ctx.error as Error).message).toBe('boom');
        ctx.error = new Error('replaced');
      },
      after,
    });
    expect(() => calc.fail('boom')).toThrow('replaced');
    expect(after).not.toHaveBeenCalled();
  });

  it('runs after on the settled value of a promise and may change it', async () => {
    const calc = calculator();
    install(calc, 'later', {
      after: (ctx) => {
        expect(ctx.result).toBe(7);
        ctx.result = 8;
      },
    });
    await expect(calc.later(7)).resolves.toBe(8);
  });

  it('runs onThrow on a rejection and may replace the error', async () => {
    const calc = calculator();
    const after = vi.fn();
    install(calc, 'laterFail', {
      onThrow: (ctx) => {
        expect((ctx.error as Error).message).toBe('late boom');
        ctx.error = new Error('late replaced');
      },
      after,
    });
    await expect(calc.laterFail('late boom')).rejects.toThrow('late replaced');
    expect(after).not.toHaveBeenCalled();
  });

  it('returns the original promise untouched when no hook waits for it', () => {
    const calc = calculator();
    const promise = Promise.resolve(1);
    vi.spyOn(calc, 'later').mockReturnValue(promise);
    install(calc, 'later', { before: () => undefined });
    expect(calc.later(1)).toBe(promise);
  });

  it.each(['before', 'after'] as const)('leaves the host result unchanged when %s throws', (phase) => {
    const calc = calculator();
    install(calc, 'multiply', {
      [phase]: (ctx: ExecuteContext) => {
        ctx.args = [100, 100];
        ctx.result = 'garbage';
        throw new Error(`${phase} bug`);
      },
    });
    expect(calc.multiply(3, 4)).toBe(12);
    expect(calc.multiply(3, 4)).toBe(12);
    // Warned once, not on every call.
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0]?.[1])).toContain(`${phase} hook failed`);
  });

  it('leaves the host error unchanged when onThrow throws', () => {
    const calc = calculator();
    install(calc, 'fail', {
      onThrow: (ctx) => {
        ctx.error = new Error('hijacked');
        throw new Error('onThrow bug');
      },
    });
    expect(() => calc.fail('boom')).toThrow('boom');
  });

  it('undoes the in-place changes to the args of a before hook that throws, however many args there are', () => {
    const target = {
      collect(...values: unknown[]): unknown[] {
        return values;
      },
    };
    install(target, 'collect', {
      before: (ctx) => {
        ctx.args[0] = 'changed';
        ctx.args[ctx.args.length - 1] = 'changed too';
        ctx.args.push('added');
        throw new Error('bug');
      },
    });
    expect(target.collect(1, 2)).toEqual([1, 2]);
    expect(target.collect(1, 2, 3, 4, 5, 6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(target.collect()).toEqual([]);
  });

  it('keeps what an earlier interceptor changed when a later one throws', () => {
    const calc = calculator();
    install(calc, 'multiply', { before: (ctx) => void (ctx.args[0] = 5) }, 'a');
    install(
      calc,
      'multiply',
      {
        before: (ctx) => {
          ctx.args[1] = 100;
          throw new Error('bug');
        },
      },
      'b',
    );
    expect(calc.multiply(3, 4)).toBe(20);
  });

  it('hands the interceptors of a call one context, naming the plugin whose hook runs', async () => {
    const calc = calculator();
    const seen: [string, unknown, string, string | undefined][] = [];
    const record = (phase: string) => (ctx: ExecuteContext) => void seen.push([phase, ctx, ctx.pluginName, currentPlugin()]);
    install(calc, 'later', { before: record('a.before'), after: record('a.after') }, 'a');
    install(calc, 'later', { before: record('b.before'), after: record('b.after') }, 'b');
    await expect(calc.later(2)).resolves.toBe(2);
    expect(seen.map(([phase, , name, current]) => [phase, name, current])).toEqual([
      ['a.before', 'a', 'a'],
      ['b.before', 'b', 'b'],
      ['b.after', 'b', 'b'],
      ['a.after', 'a', 'a'],
    ]);
    expect(new Set(seen.map(([, ctx]) => ctx)).size).toBe(1);
    expect(currentPlugin()).toBeUndefined();
    // A new call, a new context.
    await calc.later(3);
    expect(new Set(seen.map(([, ctx]) => ctx)).size).toBe(2);
  });

  it('runs after / onThrow only for the interceptors entered before a skip', () => {
    const calc = calculator();
    const order: string[] = [];
    install(calc, 'multiply', { before: () => order.push('a.before'), after: () => order.push('a.after') }, 'a');
    install(calc, 'multiply', { before: (ctx) => ctx.skip(0), after: () => order.push('b.after') }, 'b');
    install(calc, 'multiply', { before: () => order.push('c.before'), after: () => order.push('c.after') }, 'c');
    expect(calc.multiply(3, 4)).toBe(0);
    expect(order).toEqual(['a.before', 'b.after', 'a.after']);
  });

  it('refuses args that are not an array, leaving the call as it was', () => {
    const calc = calculator();
    install(calc, 'multiply', {
      before: (ctx) => {
        (ctx as { args: unknown }).args = 'not an array';
      },
    });
    expect(calc.multiply(3, 4)).toBe(12);
    expect(String(warn.mock.calls[0]?.[1])).toContain('args must be an array');
  });

  it('undoes a skip when the before hook then throws', () => {
    const calc = calculator();
    install(calc, 'multiply', {
      before: (ctx) => {
        ctx.skip('skipped');
        throw new Error('bug');
      },
    });
    expect(calc.multiply(3, 4)).toBe(12);
  });

  it('keeps an async hook rejection from escaping', async () => {
    const calc = calculator();
    install(calc, 'multiply', {
      before: async () => {
        throw new Error('async bug');
      },
    });
    expect(calc.multiply(3, 4)).toBe(12);
    await vi.waitFor(() => expect(warn).toHaveBeenCalledOnce(), { timeout: 10_000 });
  });

  it('runs several interceptors as layers: befores in order, afters in reverse', () => {
    const calc = calculator();
    const order: string[] = [];
    install(calc, 'multiply', { before: () => order.push('a.before'), after: () => order.push('a.after') }, 'a');
    install(calc, 'multiply', { before: () => order.push('b.before'), after: () => order.push('b.after') }, 'b');
    calc.multiply(1, 1);
    expect(order).toEqual(['a.before', 'b.before', 'b.after', 'a.after']);
  });

  it('wraps idempotently and unwraps to the original', () => {
    const calc = calculator();
    const original = calc.multiply;
    const before = vi.fn();
    const interceptors = [{ pluginName: 'test', hooks: { before } }];
    wrap(calc, 'multiply', interceptors);
    const wrapper = calc.multiply;
    wrap(calc, 'multiply', interceptors);
    expect(calc.multiply).toBe(wrapper);
    calc.multiply(1, 2);
    expect(before).toHaveBeenCalledOnce();
    expect(calc.multiply).not.toBe(original);
    expect(calc.multiply.name).toBe('multiply');
    expect(calc.multiply.length).toBe(2);
    unwrap(calc, 'multiply');
    expect(calc.multiply).toBe(original);
    unwrap(calc, 'multiply');
    expect(calc.multiply).toBe(original);
  });

  it('turns copies of a wrapper into pass-throughs on unwrap, and brings them back on rewrap', () => {
    const calc = calculator();
    const before = vi.fn();
    wrap(calc, 'multiply', [{ pluginName: 'test', hooks: { before } }]);
    // What express does with its application methods, and a destructuring require does with exports.
    const copy = { factor: 10, multiply: calc.multiply };
    unwrap(calc, 'multiply');
    expect(copy.multiply(2, 3)).toBe(6);
    expect(before).not.toHaveBeenCalled();
    wrap(calc, 'multiply', [{ pluginName: 'test', hooks: { before } }]);
    expect(calc.multiply).toBe(copy.multiply);
    expect(copy.multiply(2, 3)).toBe(6);
    expect(before).toHaveBeenCalledOnce();
  });

  it('replaces the interceptor list of an existing wrapper', () => {
    const calc = calculator();
    const first = vi.fn();
    const second = vi.fn();
    wrap(calc, 'multiply', [{ pluginName: 'a', hooks: { before: first } }]);
    wrap(calc, 'multiply', [{ pluginName: 'b', hooks: { before: second } }]);
    calc.multiply(1, 1);
    expect(first).not.toHaveBeenCalled();
    expect(second).toHaveBeenCalledOnce();
  });

  it('leaves a wrapper stacked on ours in place on unwrap, and ours passes through', () => {
    const calc = calculator();
    const before = vi.fn();
    wrap(calc, 'multiply', [{ pluginName: 'test', hooks: { before } }]);
    const ours = calc.multiply;
    const theirs = function (this: unknown, a: number, b: number): number {
      return ours.call(this, a, b) + 1;
    };
    calc.multiply = theirs;
    unwrap(calc, 'multiply');
    expect(calc.multiply).toBe(theirs);
    expect(calc.multiply(2, 3)).toBe(7);
    expect(before).not.toHaveBeenCalled();
  });

  it('wraps an inherited method on the given object only, and unwrap removes the shadow', () => {
    class Base {
      greet(): string {
        return 'hello';
      }
    }
    class Child extends Base {}
    install(Child.prototype, 'greet', {
      after: (ctx) => {
        ctx.result = 'hi';
      },
    });
    expect(new Child().greet()).toBe('hi');
    expect(new Base().greet()).toBe('hello');
    unwrap(Child.prototype, 'greet');
    expect(Object.hasOwn(Child.prototype, 'greet')).toBe(false);
  });

  it('layers a wrapper on a subclass over the one on its base, each with its own interceptors', () => {
    class Base {
      greet(): string {
        return 'hello';
      }
    }
    class Child extends Base {}
    install(Base.prototype, 'greet', { after: (ctx) => void (ctx.result = `${String(ctx.result)} base`) });
    install(Child.prototype, 'greet', { after: (ctx) => void (ctx.result = `${String(ctx.result)} child`) });
    expect(new Base().greet()).toBe('hello base');
    expect(new Child().greet()).toBe('hello base child');
  });

  it('keeps constructors working with new and instanceof', () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const module = { Point };
    install(module, 'Point', {
      before: (ctx) => {
        ctx.args[0] = 1;
      },
    });
    const point = new module.Point(0, 2);
    expect(point).toBeInstanceOf(Point);
    expect(point).toEqual({ x: 1, y: 2 });
  });

  it('refuses what it cannot wrap', () => {
    expect(() => wrap({ value: 1 }, 'value', [])).toThrow('not a function');
    const owner = Object.defineProperty({}, 'getter', { get: () => () => 1 });
    expect(() => wrap(owner, 'getter', [])).toThrow('accessor');
  });
});
