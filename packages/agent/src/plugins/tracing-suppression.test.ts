import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { asAgent } from './interceptor';

const API = Symbol.for('opentelemetry.js.api.1');
const SUPPRESS_TRACING = Symbol.for('OpenTelemetry SDK Context Key SUPPRESS_TRACING');
const host = globalThis as Record<symbol, unknown>;

/** A stand-in for OpenTelemetry's context manager: immutable contexts in AsyncLocalStorage, as its async-hooks one keeps them. */
class Context {
  constructor(private readonly values = new Map<symbol, unknown>()) {}
  getValue(key: symbol): unknown {
    return this.values.get(key);
  }
  setValue(key: symbol, value: unknown): Context {
    return new Context(new Map(this.values).set(key, value));
  }
}

function installContextManager(): { suppressed: () => boolean } {
  const storage = new AsyncLocalStorage<Context>();
  const root = new Context();
  host[API] = {
    version: '1.9.0',
    context: {
      active: () => storage.getStore() ?? root,
      with: <T>(context: Context, fn: () => T): T => storage.run(context, fn),
    },
  };
  return { suppressed: () => (storage.getStore() ?? root).getValue(SUPPRESS_TRACING) === true };
}

describe("the agent's own calls beside OpenTelemetry", () => {
  afterEach(() => {
    delete host[API];
  });

  it('run with tracing suppressed, and so does what they schedule; the host’s calls do not', async () => {
    const { suppressed } = installContextManager();
    const later = await asAgent(() => {
      expect(suppressed()).toBe(true);
      return new Promise<boolean>((resolve) => setTimeout(() => resolve(suppressed()), 1));
    });
    expect(later).toBe(true);
    expect(suppressed()).toBe(false);
  });

  it('run as they are without OpenTelemetry, or when its globals are not what they should be', () => {
    expect(asAgent(() => 'plain')).toBe('plain');
    host[API] = {
      get context(): never {
        throw new Error('broken globals');
      },
    };
    expect(asAgent(() => 'despite broken globals')).toBe('despite broken globals');
    host[API] = { context: { active: () => ({}) } };
    expect(asAgent(() => 'despite a foreign context')).toBe('despite a foreign context');
  });
});
