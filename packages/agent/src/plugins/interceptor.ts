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

/** One hook as a call runs it: what it is called on, the plugin it runs as, the interceptor it belongs to. */
interface Step {
  readonly hook: Hook;
  /** `this` of the hook: its interceptor's hooks object. */
  readonly receiver: InterceptorHooks;
  readonly pluginName: string;
  readonly interceptor: Interceptor;
  /** Position of the interceptor in the list: after / onThrow run only for interceptors entered. */
  readonly index: number;
  readonly phase: Phase;
}

function stepOf(hook: Hook, interceptor: Interceptor, index: number, phase: Phase): Step {
  return { hook, receiver: interceptor.hooks, pluginName: interceptor.pluginName, interceptor, index, phase };
}

/**
 * An interceptor list as the wrapper runs it, made once when the list is set (wrap, unwrap, a
 * plugin switched on or off), never per call: the hooks present, in plain arrays per phase in the
 * order they run, and what the call path branches on. The hooks objects are read here only, so
 * a hook added to or removed from a declaration after it was wrapped counts from the next wrap.
 */
class Plan {
  readonly count: number;
  /** In list order. */
  readonly befores: readonly Step[];
  /** In reverse list order, as they run. */
  readonly afters: readonly Step[];
  readonly onThrows: readonly Step[];
  /**
   * The before / after step when it is the only one (one plugin on the method, the common case):
   * read from a field, not an array, so that V8 can see the hook as a constant and inline it
   * where the wrapper is inlined, as long as the list does not change.
   */
  readonly soleBefore: Step | undefined;
  readonly soleAfter: Step | undefined;
  /** Some interceptor has an after or onThrow hook. */
  readonly exits: boolean;
  /** Index of the first interceptor with an after or onThrow hook; `count` if none has one. */
  readonly firstExit: number;
  /** Some hook may use the context; when none can, a call allocates neither context nor args array. */
  readonly context: boolean;
  /** For a call without a context: its exits on the settling of a Promise/thenable result, made once here. */
  readonly settled: (value: unknown) => unknown;
  readonly failed: (error: unknown) => never;

  constructor(interceptors: readonly Interceptor[]) {
    const befores: Step[] = [];
    const afters: Step[] = [];
    const onThrows: Step[] = [];
    let context = false;
    for (const [index, interceptor] of interceptors.entries()) {
      const { before, after, onThrow } = interceptor.hooks;
      if (before !== undefined) befores.push(stepOf(before, interceptor, index, BEFORE));
      if (after !== undefined) afters.unshift(stepOf(after, interceptor, index, AFTER));
      if (onThrow !== undefined) onThrows.unshift(stepOf(onThrow, interceptor, index, ON_THROW));
      for (const hook of [before, after, onThrow]) if (hook !== undefined && !ignoresContext(hook)) context = true;
    }
    this.count = interceptors.length;
    this.befores = befores;
    this.afters = afters;
    this.onThrows = onThrows;
    this.soleBefore = befores.length === 1 ? befores[0] : undefined;
    this.soleAfter = afters.length === 1 ? afters[0] : undefined;
    this.exits = afters.length > 0 || onThrows.length > 0;
    this.firstExit = Math.min(interceptors.length, ...afters.map(({ index }) => index), ...onThrows.map(({ index }) => index));
    this.context = context;
    this.settled = (value) => {
      runStepsWithoutContext(afters);
      return value;
    };
    this.failed = (error) => {
      runStepsWithoutContext(onThrows);
      throw error;
    };
  }
}

/**
 * Whether a hook cannot see the context it is called with: no declared parameter (length 0, and
 * an empty parameter list in its source, which rules out rest and default parameters) and no
 * `arguments` or `eval` in its source. Such a hook (a counter, a timestamp) is called with no
 * argument, so a call of its method allocates no context. Anything the source does not show
 * plainly (a bound or native function, a computed method name) counts as using the context.
 */
function ignoresContext(hook: Hook): boolean {
  if (hook.length !== 0) return false;
  let source: string;
  try {
    source = Function.prototype.toString.call(hook);
  } catch {
    return false;
  }
  const open = source.indexOf('(');
  return (
    open !== -1 &&
    /^(?:async\s+)?(?:function\s*\*?\s*)?[\w$]*\s*$/.test(source.slice(0, open)) &&
    /^\(\s*\)/.test(source.slice(open)) &&
    !/\barguments\b|\beval\b|\[native code\]/.test(source)
  );
}

/** What a wrapper runs now; no plan makes it a plain pass-through to the original. */
interface WrapperState {
  readonly original: AnyFunction;
  readonly method: string;
  /** Set when the wrapper is made and through `setInterceptors`. */
  plan: Plan | undefined;
  /** The method was inherited when wrapped, so unwrap deletes the own property instead of shadowing. */
  readonly inherited: boolean;
}

function planOf(interceptors: readonly Interceptor[]): Plan | undefined {
  return interceptors.length === 0 ? undefined : new Plan(interceptors);
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
function interceptWithoutContext(plan: Plan, original: AnyFunction, self: unknown, count: number, a: unknown, b: unknown, c: unknown, d: unknown): unknown {
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

function runStepsWithoutContext(steps: readonly Step[]): void {
  for (let index = 0; index < steps.length; index += 1) runStepWithoutContext(steps[index] as Step);
}

function runStepWithoutContext(step: Step): void {
  const previous = enterPlugin(step.pluginName);
  let returned: unknown;
  try {
    returned = (step.hook as () => unknown).call(step.receiver);
  } catch (failure) {
    leavePlugin(previous);
    reportHookError(step, failure);
    return;
  }
  leavePlugin(previous);
  if (returned !== undefined) checkReturned(step, returned);
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
      context.result = newTarget === undefined ? applyWith(original, self, context.argv) : Reflect.construct(original, context.argv, newTarget as AnyFunction);
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

/** The after (or onThrow) steps of the interceptors entered, in the order they run. */
function runSteps(steps: readonly Step[], entered: number, context: CallContext): void {
  for (let index = 0; index < steps.length; index += 1) {
    const step = steps[index] as Step;
    if (step.index < entered) runStep(step, context);
  }
}

/**
 * Runs one hook in its plugin's context. A hook that throws is reported and its changes to the
 * call are undone (the args array and its elements, result, error, skip), so the host proceeds
 * as if the plugin were absent. What it may change is kept in locals, not copied: only a call
 * with more than four args copies the rest.
 */
function runStep(step: Step, context: CallContext): void {
  context.phase = step.phase;
  context.pluginName = step.pluginName;
  const args = context.argv;
  const length = args.length;
  // Past the end these read undefined, which is what undo then writes back: nothing.
  const a0 = args[0];
  const a1 = args[1];
  const a2 = args[2];
  const a3 = args[3];
  const rest = length > 4 ? args.slice(4) : undefined;
  const { result, error, skipped } = context;
  const previous = enterPlugin(step.pluginName);
  let returned: unknown;
  try {
    returned = step.hook.call(step.receiver, context);
  } catch (failure) {
    leavePlugin(previous);
    undo(context, args, length, a0, a1, a2, a3, rest, result, error, skipped);
    reportHookError(step, failure);
    return;
  }
  leavePlugin(previous);
  if (returned !== undefined) checkReturned(step, returned);
}

/** Puts back what a hook that threw may have changed. */
function undo(context: CallContext, args: unknown[], length: number, a0: unknown, a1: unknown, a2: unknown, a3: unknown, rest: unknown[] | undefined, result: unknown, error: unknown, skipped: boolean): void {
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
}

/** An async hook is not awaited, but its rejection must not escape as an unhandled one. */
function checkReturned(step: Step, returned: unknown): void {
  if (isThenable(returned)) returned.then(undefined, (failure: unknown) => reportHookError(step, failure));
}

const reported = new WeakMap<InterceptorHooks, Set<Phase>>();

/** Warns the first time a hook fails, then logs at debug: a hook on a hot path must not flood the logs. */
function reportHookError({ interceptor, phase }: Step, error: unknown): void {
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
