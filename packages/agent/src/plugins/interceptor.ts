import { describeError, logger } from '../logger';
import { runInPlugin } from './plugin-context';

/**
 * What a hook receives. Each interceptor gets its own context for a call, but all contexts of one
 * call share its args, result and error, so a later interceptor sees an earlier one's changes.
 */
export interface ExecuteContext {
  /** `this` of the intercepted call; undefined for a call with `new`. */
  readonly target: unknown;
  /** Name of the intercepted method. */
  readonly method: string;
  /** Arguments the original will be called with; before hooks may change them (must stay an array). */
  args: unknown[];
  /** The return value (the settled value for a Promise/thenable); after hooks may replace it. */
  result: unknown;
  /** What the original threw (or rejected with); onThrow hooks may replace it. */
  error: unknown;
  /** The plugin this hook belongs to. */
  readonly pluginName: string;
  /** In before only: don't call the original, return `result` instead. */
  skip(result?: unknown): void;
}

/**
 * Hooks run synchronously (a returned promise is not awaited). Exactly one of after / onThrow
 * runs for a call that was entered: after when it returned, onThrow when it threw.
 */
export interface InterceptorHooks {
  before?(context: ExecuteContext): void;
  after?(context: ExecuteContext): void;
  onThrow?(context: ExecuteContext): void;
}

/** An interceptor as installed on a method: a plugin's hooks and the plugin they run as. */
export interface Interceptor {
  readonly pluginName: string;
  readonly hooks: InterceptorHooks;
}

type Phase = keyof InterceptorHooks;
type AnyFunction = (...args: unknown[]) => unknown;

/** What a wrapper runs now; an empty list makes it a plain pass-through to the original. */
interface WrapperState {
  readonly original: AnyFunction;
  interceptors: readonly Interceptor[];
  /** The method was inherited when wrapped, so unwrap deletes the own property instead of shadowing. */
  readonly inherited: boolean;
}

// A registered symbol, so that wrappers made by another copy of the agent are recognised too.
const STATE = Symbol.for('vigil.agent.wrapper');

interface Wrapper extends AnyFunction {
  [STATE]: WrapperState;
}

function isWrapper(value: unknown): value is Wrapper {
  return typeof value === 'function' && STATE in value;
}

/**
 * The wrapper made for each owner and method. Unwrapping cannot reach every copy of a wrapper
 * (express copies its application methods onto each app; `const { fn } = require(...)` keeps
 * one), so a wrapper is never thrown away: unwrap empties its list, which turns those copies
 * into pass-throughs, and a later wrap reinstalls the same function, which brings them back.
 */
const wrappers = new WeakMap<object, Map<string, Wrapper>>();

/**
 * Makes `owner[method]` run `interceptors` around the original. Idempotent: wrapping a method
 * that is already wrapped here replaces its list, it never stacks a second wrapper. Throws if
 * the property is not a plain function value that can be redefined.
 */
export function wrap(owner: object, method: string, interceptors: readonly Interceptor[]): void {
  const own = Object.getOwnPropertyDescriptor(owner, method);
  if (own !== undefined && !('value' in own)) throw new TypeError(`${method} is an accessor property`);
  const current: unknown = own === undefined ? Reflect.get(owner, method) : own.value;
  // Only an own wrapper is ours to update; an inherited one belongs to the prototype it sits on.
  if (own !== undefined && isWrapper(current)) {
    current[STATE].interceptors = interceptors;
    return;
  }
  if (typeof current !== 'function') throw new TypeError(`${method} is not a function`);
  let byMethod = wrappers.get(owner);
  if (byMethod === undefined) wrappers.set(owner, (byMethod = new Map()));
  let wrapper = byMethod.get(method);
  if (wrapper?.[STATE].original !== current) {
    wrapper = createWrapper(current as AnyFunction, method, own === undefined);
    byMethod.set(method, wrapper);
  }
  wrapper[STATE].interceptors = interceptors;
  Object.defineProperty(owner, method, {
    value: wrapper,
    writable: own?.writable ?? true,
    enumerable: own?.enumerable ?? false,
    configurable: true,
  });
}

/** Restores the original `owner[method]` and turns every copy of the wrapper into a pass-through. */
export function unwrap(owner: object, method: string): void {
  const own = Object.getOwnPropertyDescriptor(owner, method);
  const installed = own !== undefined && isWrapper(own.value) ? own.value : undefined;
  const wrapper = installed ?? wrappers.get(owner)?.get(method);
  if (wrapper === undefined) return;
  const state = wrapper[STATE];
  state.interceptors = [];
  // Someone else may have wrapped over ours since; their wrapper stays, ours now passes through.
  if (installed === undefined) return;
  if (state.inherited) {
    Reflect.deleteProperty(owner, method);
  } else {
    Object.defineProperty(owner, method, { value: state.original });
  }
}

function createWrapper(original: AnyFunction, method: string, inherited: boolean): Wrapper {
  const state: WrapperState = { original, interceptors: [], inherited };
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    const { interceptors } = state;
    if (interceptors.length === 0) {
      return new.target === undefined ? Reflect.apply(original, this, args) : Reflect.construct(original, args, new.target);
    }
    return intercept(original, method, interceptors, new.target, this, args);
  } as Wrapper;
  // Look like the original to code that inspects functions; `prototype` keeps `new` and instanceof working.
  Object.defineProperty(wrapper, 'name', { value: original.name });
  Object.defineProperty(wrapper, 'length', { value: original.length });
  if (original.prototype !== undefined) wrapper.prototype = original.prototype;
  wrapper[STATE] = state;
  return wrapper;
}

/** The state of one intercepted call, shared by the contexts of its interceptors. */
class Call {
  result: unknown;
  error: unknown;
  skipped = false;
  phase: Phase = 'before';

  constructor(
    readonly target: unknown,
    readonly method: string,
    public args: unknown[],
  ) {}

  snapshot(): Pick<Call, 'args' | 'result' | 'error' | 'skipped'> {
    return { args: [...this.args], result: this.result, error: this.error, skipped: this.skipped };
  }

  restore(saved: Pick<Call, 'args' | 'result' | 'error' | 'skipped'>): void {
    Object.assign(this, saved);
  }
}

class HookContext implements ExecuteContext {
  constructor(
    private readonly call: Call,
    readonly pluginName: string,
  ) {}

  get target(): unknown {
    return this.call.target;
  }

  get method(): string {
    return this.call.method;
  }

  get args(): unknown[] {
    return this.call.args;
  }

  set args(args: unknown[]) {
    if (!Array.isArray(args)) throw new TypeError('args must be an array');
    this.call.args = args;
  }

  get result(): unknown {
    return this.call.result;
  }

  set result(result: unknown) {
    this.call.result = result;
  }

  get error(): unknown {
    return this.call.error;
  }

  set error(error: unknown) {
    this.call.error = error;
  }

  skip(result?: unknown): void {
    if (this.call.phase !== 'before') throw new Error('skip() can only be called in before');
    this.call.skipped = true;
    this.call.result = result;
  }
}

interface Entered {
  interceptor: Interceptor;
  context: HookContext;
}

/**
 * One intercepted call: befores in order (a skip stops the chain and the original call), then,
 * in reverse order for the interceptors entered, after or onThrow. For a Promise/thenable result
 * they run when it settles, and the caller gets a promise of the possibly changed outcome.
 */
function intercept(
  original: AnyFunction,
  method: string,
  interceptors: readonly Interceptor[],
  newTarget: unknown,
  self: unknown,
  args: unknown[],
): unknown {
  const call = new Call(newTarget === undefined ? self : undefined, method, args);
  const entered: Entered[] = [];
  for (const interceptor of interceptors) {
    if (call.skipped) break;
    const current = { interceptor, context: new HookContext(call, interceptor.pluginName) };
    entered.push(current);
    runHook(current, 'before', call);
  }
  entered.reverse();
  if (!call.skipped) {
    try {
      call.result =
        newTarget === undefined
          ? Reflect.apply(original, self, call.args)
          : Reflect.construct(original, call.args, newTarget as AnyFunction);
    } catch (error) {
      call.error = error;
      for (const current of entered) runHook(current, 'onThrow', call);
      throw call.error;
    }
  }
  const settles = isThenable(call.result) && entered.some(({ interceptor: { hooks } }) => hooks.after || hooks.onThrow);
  if (settles) {
    try {
      return (call.result as PromiseLike<unknown>).then(
        (value) => {
          call.result = value;
          for (const current of entered) runHook(current, 'after', call);
          return call.result;
        },
        (error: unknown) => {
          call.error = error;
          for (const current of entered) runHook(current, 'onThrow', call);
          throw call.error;
        },
      );
    } catch {
      // A thenable whose `then` throws: hand it back untouched, as if no plugin were there.
      return call.result;
    }
  }
  for (const current of entered) runHook(current, 'after', call);
  return call.result;
}

/**
 * Runs one hook in its plugin's context. A hook that throws is reported and its changes to the
 * call are undone, so the host proceeds as if the plugin were absent.
 */
function runHook({ interceptor, context }: Entered, phase: Phase, call: Call): void {
  const hook = interceptor.hooks[phase];
  if (hook === undefined) return;
  call.phase = phase;
  const saved = call.snapshot();
  try {
    const returned: unknown = runInPlugin(interceptor.pluginName, () => hook.call(interceptor.hooks, context));
    // An async hook is not awaited, but its rejection must not escape as an unhandled one.
    if (isThenable(returned)) returned.then(undefined, (error: unknown) => reportHookError(interceptor, phase, error));
  } catch (error) {
    call.restore(saved);
    reportHookError(interceptor, phase, error);
  }
}

const reported = new WeakMap<InterceptorHooks, Set<Phase>>();

/** Warns the first time a hook fails, then logs at debug: a hook on a hot path must not flood the logs. */
function reportHookError(interceptor: Interceptor, phase: Phase, error: unknown): void {
  const phases = reported.get(interceptor.hooks) ?? new Set<Phase>();
  reported.set(interceptor.hooks, phases);
  const message = `plugin ${interceptor.pluginName}: ${phase} hook failed and was ignored: ${describeError(error)}`;
  if (phases.has(phase)) {
    logger.debug({ err: error }, message);
  } else {
    phases.add(phase);
    logger.warn({ err: error }, message);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
