import { describeError, logger } from '../logger';
import { enterPlugin, leavePlugin } from './plugin-context';
import { withoutTracing } from './tracing-suppression';

/**
 * What a hook receives: one context per intercepted call, handed to each of its interceptors in
 * turn, so a later interceptor sees an earlier one's changes. Valid while the call's hooks run
 * (for an async original, until its after / onThrow hooks ran); `pluginName` names the plugin
 * whose hook runs now.
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
  /** The plugin whose hook is running. */
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

type AnyFunction = (...args: unknown[]) => unknown;
type Hook = (context: ExecuteContext) => void;

const BEFORE = 0;
const AFTER = 1;
const ON_THROW = 2;
type Phase = typeof BEFORE | typeof AFTER | typeof ON_THROW;
const PHASE_NAMES: Record<Phase, keyof InterceptorHooks> = { [BEFORE]: 'before', [AFTER]: 'after', [ON_THROW]: 'onThrow' };

/** What a wrapper runs now; an empty list makes it a plain pass-through to the original. */
interface WrapperState {
  readonly original: AnyFunction;
  /** Set only through `setInterceptors`, which keeps `exits` in step. */
  interceptors: readonly Interceptor[];
  /** Some interceptor has an after or onThrow hook: read once per list, not per call. */
  exits: boolean;
  /** The method was inherited when wrapped, so unwrap deletes the own property instead of shadowing. */
  readonly inherited: boolean;
}

function setInterceptors(state: WrapperState, interceptors: readonly Interceptor[]): void {
  state.interceptors = interceptors;
  state.exits = interceptors.some(({ hooks }) => hooks.after !== undefined || hooks.onThrow !== undefined);
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

/** Above 0 while the agent makes its own calls (`asAgent`): every wrapper then passes through. */
let agentDepth = 0;

/**
 * Runs `fn` with every interceptor off: for the agent's own calls into intercepted modules (its
 * requests to the backend), so plugins never see the agent's traffic. Covers what runs
 * synchronously in `fn`, not callbacks it schedules. OpenTelemetry, when the host runs it,
 * traces none of it either, callbacks included (see tracing-suppression).
 */
export function asAgent<T>(fn: () => T): T {
  agentDepth += 1;
  try {
    return withoutTracing(fn);
  } finally {
    agentDepth -= 1;
  }
}

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
    setInterceptors(current[STATE], interceptors);
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
  setInterceptors(wrapper[STATE], interceptors);
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
  setInterceptors(state, []);
  // Someone else may have wrapped over ours since; their wrapper stays, ours now passes through.
  if (installed === undefined) return;
  if (state.inherited) {
    Reflect.deleteProperty(owner, method);
  } else {
    Object.defineProperty(owner, method, { value: state.original });
  }
}

function createWrapper(original: AnyFunction, method: string, inherited: boolean): Wrapper {
  const state: WrapperState = { original, interceptors: [], exits: false, inherited };
  // `arguments`, not rest args: V8 forwards `Reflect.apply(f, this, arguments)` without making an
  // array, so a pass-through costs what a hand-written one does. The array hooks see is made only
  // for an intercepted call.
  const wrapper = function (this: unknown): unknown {
    if (state.interceptors.length === 0 || agentDepth !== 0) {
      return new.target === undefined ? Reflect.apply(original, this, arguments) : Reflect.construct(original, arguments, new.target);
    }
    const count = arguments.length;
    const args = new Array<unknown>(count);
    for (let index = 0; index < count; index += 1) args[index] = arguments[index];
    return intercept(original, method, state, new.target, this, args);
  } as Wrapper;
  // Look like the original to code that inspects functions; `prototype` keeps `new` and instanceof working.
  Object.defineProperty(wrapper, 'name', { value: original.name });
  Object.defineProperty(wrapper, 'length', { value: original.length });
  if (original.prototype !== undefined) wrapper.prototype = original.prototype;
  wrapper[STATE] = state;
  return wrapper;
}

/**
 * The one context of an intercepted call, handed to each of its interceptors' hooks in turn. A
 * call costs this object and its args array, nothing per interceptor or per hook: no copy of the
 * args (what a hook may change is kept in locals while it runs), no closure.
 */
class CallContext implements ExecuteContext {
  // Declared, not initialised as class fields: fields compile to a separate initialiser (a
  // define per field) that costs more than the hooks of a small method; assignments do not.
  declare readonly target: unknown;
  declare readonly method: string;
  /** The args as the original will get them; read and set through `args`, which checks them. */
  declare argv: unknown[];
  declare pluginName: string;
  declare result: unknown;
  declare error: unknown;
  declare skipped: boolean;
  declare phase: Phase;

  constructor(target: unknown, method: string, argv: unknown[]) {
    this.target = target;
    this.method = method;
    this.argv = argv;
    this.pluginName = '';
    this.result = undefined;
    this.error = undefined;
    this.skipped = false;
    this.phase = BEFORE;
  }

  get args(): unknown[] {
    return this.argv;
  }

  set args(args: unknown[]) {
    if (!Array.isArray(args)) throw new TypeError('args must be an array');
    this.argv = args;
  }

  skip(result?: unknown): void {
    if (this.phase !== BEFORE) throw new Error('skip() can only be called in before');
    this.skipped = true;
    this.result = result;
  }
}

/**
 * One intercepted call: befores in order (a skip stops the chain and the original call), then,
 * in reverse order for the interceptors entered, after or onThrow. For a Promise/thenable result
 * they run when it settles, and the caller gets a promise of the possibly changed outcome.
 */
function intercept(original: AnyFunction, method: string, state: WrapperState, newTarget: unknown, self: unknown, args: unknown[]): unknown {
  const { interceptors } = state;
  const context = new CallContext(newTarget === undefined ? self : undefined, method, args);
  const count = interceptors.length;
  // Interceptors are entered in order until one skips; only the entered get after / onThrow.
  let entered = 0;
  while (entered < count && !context.skipped) {
    const interceptor = interceptors[entered] as Interceptor;
    entered += 1;
    const hook = interceptor.hooks.before;
    if (hook !== undefined) runHook(interceptor, hook, BEFORE, context);
  }
  if (!context.skipped) {
    try {
      context.result =
        newTarget === undefined
          ? Reflect.apply(original, self, context.argv)
          : Reflect.construct(original, context.argv, newTarget as AnyFunction);
    } catch (error) {
      context.error = error;
      runExits(interceptors, entered, ON_THROW, context);
      throw context.error;
    }
  }
  const result = context.result;
  if (state.exits && isThenable(result) && hasExitHooks(interceptors, entered)) return settleLater(result, interceptors, entered, context);
  runExits(interceptors, entered, AFTER, context);
  return context.result;
}

/**
 * The exits of a call whose result is a Promise/thenable, run when it settles. A function of its
 * own: closures in `intercept` would make V8 allocate a context for every call, sync ones too.
 */
function settleLater(result: PromiseLike<unknown>, interceptors: readonly Interceptor[], entered: number, context: CallContext): unknown {
  try {
    return result.then(
      (value) => {
        context.result = value;
        runExits(interceptors, entered, AFTER, context);
        return context.result;
      },
      (error: unknown) => {
        context.error = error;
        runExits(interceptors, entered, ON_THROW, context);
        throw context.error;
      },
    );
  } catch {
    // A thenable whose `then` throws: hand it back untouched, as if no plugin were there.
    return result;
  }
}

function hasExitHooks(interceptors: readonly Interceptor[], entered: number): boolean {
  for (let index = 0; index < entered; index += 1) {
    const { hooks } = interceptors[index] as Interceptor;
    if (hooks.after !== undefined || hooks.onThrow !== undefined) return true;
  }
  return false;
}

/** The after (or onThrow) hooks of the entered interceptors, last entered first. */
function runExits(interceptors: readonly Interceptor[], entered: number, phase: Phase, context: CallContext): void {
  for (let index = entered - 1; index >= 0; index -= 1) {
    const interceptor = interceptors[index] as Interceptor;
    const hook = phase === AFTER ? interceptor.hooks.after : interceptor.hooks.onThrow;
    if (hook !== undefined) runHook(interceptor, hook, phase, context);
  }
}

/**
 * Runs one hook in its plugin's context. A hook that throws is reported and its changes to the
 * call are undone (the args array and its elements, result, error, skip), so the host proceeds
 * as if the plugin were absent. What it may change is kept in locals, not copied: only a call
 * with more than four args copies the rest.
 */
function runHook(interceptor: Interceptor, hook: Hook, phase: Phase, context: CallContext): void {
  context.phase = phase;
  context.pluginName = interceptor.pluginName;
  const { argv: args, result, error, skipped } = context;
  const length = args.length;
  const a0 = length > 0 ? args[0] : undefined;
  const a1 = length > 1 ? args[1] : undefined;
  const a2 = length > 2 ? args[2] : undefined;
  const a3 = length > 3 ? args[3] : undefined;
  const rest = length > 4 ? args.slice(4) : undefined;
  const previous = enterPlugin(interceptor.pluginName);
  try {
    const returned: unknown = hook.call(interceptor.hooks, context);
    // An async hook is not awaited, but its rejection must not escape as an unhandled one.
    if (returned !== undefined && isThenable(returned)) catchRejection(interceptor, phase, returned);
  } catch (failure) {
    args.length = length;
    if (length > 0) args[0] = a0;
    if (length > 1) args[1] = a1;
    if (length > 2) args[2] = a2;
    if (length > 3) args[3] = a3;
    if (rest !== undefined) for (let index = 0; index < rest.length; index += 1) args[index + 4] = rest[index];
    context.argv = args;
    context.result = result;
    context.error = error;
    context.skipped = skipped;
    reportHookError(interceptor, phase, failure);
  } finally {
    leavePlugin(previous);
  }
}

/** Out of `runHook`, whose every call would otherwise allocate a context for this closure. */
function catchRejection(interceptor: Interceptor, phase: Phase, returned: PromiseLike<unknown>): void {
  returned.then(undefined, (failure: unknown) => reportHookError(interceptor, phase, failure));
}

const reported = new WeakMap<InterceptorHooks, Set<Phase>>();

/** Warns the first time a hook fails, then logs at debug: a hook on a hot path must not flood the logs. */
function reportHookError(interceptor: Interceptor, phase: Phase, error: unknown): void {
  const phases = reported.get(interceptor.hooks) ?? new Set<Phase>();
  reported.set(interceptor.hooks, phases);
  const message = `plugin ${interceptor.pluginName}: ${PHASE_NAMES[phase]} hook failed and was ignored: ${describeError(error)}`;
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
