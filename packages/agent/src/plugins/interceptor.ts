import { planOf, type Plan } from './hook-plan';
import { CallContext, isThenable, runStep, runSteps, runStepWithoutContext, runStepsWithoutContext, type Step } from './hook-steps';
import type { AnyFunction, Interceptor } from './interceptor-types';
import { withoutTracing } from './tracing-suppression';

export type { ExecuteContext, Interceptor, InterceptorHooks } from './interceptor-types';

/*
 * Wrapping a method with plugins' interceptors: the wrapper, the call paths with and without a
 * context, and the agent's own calls passing through (`asAgent`). A list of interceptors becomes
 * a plan once, when it is set (hook-plan.ts); how each hook runs is in hook-steps.ts.
 */

/** What a wrapper runs now; no plan makes it a plain pass-through to the original. */
interface WrapperState {
  readonly original: AnyFunction;
  readonly method: string;
  /** Set when the wrapper is made and through `setInterceptors`. */
  plan: Plan | undefined;
  /** The method was inherited when wrapped, so unwrap deletes the own property instead of shadowing. */
  readonly inherited: boolean;
}

function setInterceptors(state: WrapperState, interceptors: readonly Interceptor[]): void {
  state.plan = planOf(interceptors);
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
  if (wrapper?.[STATE].original === current) {
    setInterceptors(wrapper[STATE], interceptors);
  } else {
    wrapper = createWrapper(current as AnyFunction, method, own === undefined, interceptors);
    byMethod.set(method, wrapper);
  }
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

function createWrapper(original: AnyFunction, method: string, inherited: boolean, interceptors: readonly Interceptor[]): Wrapper {
  // The plan is set here, not assigned after: a field V8 has only seen initialised counts as a
  // constant in optimised code (until some wrapper's list changes), so a wrapper inlined into its
  // caller can inline its hooks too.
  const state: WrapperState = { original, method, plan: planOf(interceptors), inherited };
  // Up to four arguments arrive as parameters and go on as parameters, whatever the original
  // declares: no `arguments` object, rest array or spread on the common path. More arguments,
  // and calls with `new`, take the general path. The wrapper and the functions of the common
  // path are kept small (the rare paths in functions of their own) so that V8 can inline them
  // into the caller, as it would a hand-written pass-through.
  const wrapper = function (this: unknown, a: unknown, b: unknown, c: unknown, d: unknown): unknown {
    const count = arguments.length;
    if (count > 4 || new.target !== undefined) {
      const args = new Array<unknown>(count);
      // eslint-disable-next-line prefer-rest-params -- the rare path copies them once
      for (let index = 0; index < count; index += 1) args[index] = arguments[index];
      return interceptAny(state, new.target, this, args);
    }
    const plan = state.plan;
    if (plan === undefined || agentDepth !== 0) return callWith(original, this, count, a, b, c, d);
    if (plan.context) return intercept(plan, original, method, undefined, this, argsOf(count, a, b, c, d));
    return interceptWithoutContext(plan, original, this, count, a, b, c, d);
  } as Wrapper;
  // Look like the original to code that inspects functions; `prototype` keeps `new` and instanceof working.
  Object.defineProperty(wrapper, 'name', { value: original.name });
  Object.defineProperty(wrapper, 'length', { value: original.length });
  if (original.prototype !== undefined) wrapper.prototype = original.prototype;
  wrapper[STATE] = state;
  return wrapper;
}

/** A call with `new` or with more than four arguments. */
function interceptAny(state: WrapperState, newTarget: unknown, self: unknown, args: unknown[]): unknown {
  const { original, plan } = state;
  if (plan !== undefined && agentDepth === 0) return intercept(plan, original, state.method, newTarget, self, args);
  return newTarget === undefined ? Reflect.apply(original, self, args) : Reflect.construct(original, args, newTarget as AnyFunction);
}

const { call } = Function.prototype;

/**
 * Calls `original` with the first `count` (0 to 4) of the given arguments, as a hand-written
 * wrapper would. Through `Function.prototype.call` as it was when the agent loaded, not the
 * original's own `call` (a function may have a property of that name); V8 turns either into a
 * direct call.
 */
function callWith(original: AnyFunction, self: unknown, count: number, a: unknown, b: unknown, c: unknown, d: unknown): unknown {
  switch (count) {
    case 0:
      return call.call(original, self);
    case 1:
      return call.call(original, self, a);
    case 2:
      return call.call(original, self, a, b);
    case 3:
      return call.call(original, self, a, b, c);
    default:
      return call.call(original, self, a, b, c, d);
  }
}

function argsOf(count: number, a: unknown, b: unknown, c: unknown, d: unknown): unknown[] {
  switch (count) {
    case 0:
      return [];
    case 1:
      return [a];
    case 2:
      return [a, b];
    case 3:
      return [a, b, c];
    default:
      return [a, b, c, d];
  }
}

/** Calls `original` with `args`, spelled out up to four of them. */
function applyWith(original: AnyFunction, self: unknown, args: unknown[]): unknown {
  const count = args.length;
  return count > 4 ? Reflect.apply(original, self, args) : callWith(original, self, count, args[0], args[1], args[2], args[3]);
}

/**
 * A call whose hooks all ignore their context (see `ignoresContext`): nothing for them to change,
 * so the befores run, the original gets the wrapper's arguments as they came, and the exits run.
 */
function interceptWithoutContext(
  plan: Plan,
  original: AnyFunction,
  self: unknown,
  count: number,
  a: unknown,
  b: unknown,
  c: unknown,
  d: unknown,
): unknown {
  const before = plan.soleBefore;
  if (before !== undefined) runStepWithoutContext(before);
  else runStepsWithoutContext(plan.befores);
  let result: unknown;
  try {
    result = callWith(original, self, count, a, b, c, d);
  } catch (error) {
    if (plan.exits) runStepsWithoutContext(plan.onThrows);
    throw error;
  }
  // Nothing waits for the outcome: a Promise goes back as it came, with no extra hop.
  if (!plan.exits) return result;
  if (isThenable(result)) return settleWithoutContext(result, plan);
  const after = plan.soleAfter;
  if (after !== undefined) runStepWithoutContext(after);
  else runStepsWithoutContext(plan.afters);
  return result;
}

/** `settleLater` for a call without a context: the callbacks are the plan's, nothing is made per call but the promise. */
function settleWithoutContext(result: PromiseLike<unknown>, plan: Plan): unknown {
  try {
    return result.then(plan.settled, plan.failed);
  } catch {
    // A thenable whose `then` throws: hand it back untouched, as if no plugin were there.
    return result;
  }
}

/**
 * One intercepted call: befores in order (a skip stops the chain and the original call), then,
 * in reverse order for the interceptors entered, after or onThrow. For a Promise/thenable result
 * they run when it settles, and the caller gets a promise of the possibly changed outcome. Small,
 * with the rarer paths in functions of their own, so that V8 inlines it (and the hooks) into the
 * wrapper.
 */
function intercept(plan: Plan, original: AnyFunction, method: string, newTarget: unknown, self: unknown, args: unknown[]): unknown {
  const context = new CallContext(newTarget === undefined ? self : undefined, method, args);
  // Interceptors are entered in order until one skips; only the entered get after / onThrow.
  const before = plan.soleBefore;
  let entered = plan.count;
  if (before !== undefined) {
    runStep(before, context);
    if (context.skipped) entered = before.index + 1;
  } else if (plan.befores.length > 0) {
    entered = runBefores(plan.befores, plan.count, context);
  }
  if (!context.skipped) {
    try {
      context.result =
        newTarget === undefined
          ? applyWith(original, self, context.argv)
          : Reflect.construct(original, context.argv, newTarget as AnyFunction);
    } catch (error) {
      throw thrown(plan, entered, context, error);
    }
  }
  return entered > plan.firstExit ? exit(plan, entered, context) : context.result;
}

/** The original threw: the onThrow hooks of the interceptors entered; returns what to throw. */
function thrown(plan: Plan, entered: number, context: CallContext, error: unknown): unknown {
  if (entered <= plan.firstExit) return error;
  context.error = error;
  runSteps(plan.onThrows, entered, context);
  return context.error;
}

/** The original returned (or a before skipped it): the after hooks, now or when a Promise/thenable settles. */
function exit(plan: Plan, entered: number, context: CallContext): unknown {
  const result = context.result;
  if (isThenable(result)) return settleLater(result, plan, entered, context);
  const after = plan.soleAfter;
  if (after !== undefined) {
    if (after.index < entered) runStep(after, context);
  } else {
    runSteps(plan.afters, entered, context);
  }
  return context.result;
}

/** Runs the befores until one skips; returns how many interceptors were entered. */
function runBefores(steps: readonly Step[], count: number, context: CallContext): number {
  for (let index = 0; index < steps.length; index += 1) {
    const step = steps[index] as Step;
    runStep(step, context);
    if (context.skipped) return step.index + 1;
  }
  return count;
}

/**
 * The exits of a call whose result is a Promise/thenable, run when it settles. A function of its
 * own: closures in `intercept` would make V8 allocate a context for every call, sync ones too.
 */
function settleLater(result: PromiseLike<unknown>, plan: Plan, entered: number, context: CallContext): unknown {
  try {
    return result.then(
      (value) => {
        context.result = value;
        runSteps(plan.afters, entered, context);
        return context.result;
      },
      (error: unknown) => {
        context.error = error;
        runSteps(plan.onThrows, entered, context);
        throw context.error;
      },
    );
  } catch {
    // A thenable whose `then` throws: hand it back untouched, as if no plugin were there.
    return result;
  }
}
