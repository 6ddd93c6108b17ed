import { describeError, logger } from '../logger';
import type { ExecuteContext, Hook, Interceptor, InterceptorHooks } from './interceptor-types';
import { enterPlugin, leavePlugin } from './plugin-context';

/**
 * How one hook runs in an intercepted call: the steps a plan is made of, the call's context, a
 * hook that throws undone and reported. Used by hook-plan.ts and interceptor.ts.
 */

export const BEFORE = 0;
export const AFTER = 1;
export const ON_THROW = 2;
export type Phase = typeof BEFORE | typeof AFTER | typeof ON_THROW;
const PHASE_NAMES: Record<Phase, keyof InterceptorHooks> = {
  [BEFORE]: 'before',
  [AFTER]: 'after',
  [ON_THROW]: 'onThrow',
};

/** One hook as a call runs it: what it is called on, the plugin it runs as, the interceptor it belongs to. */
export interface Step {
  readonly hook: Hook;
  /** `this` of the hook: its interceptor's hooks object. */
  readonly receiver: InterceptorHooks;
  readonly pluginName: string;
  readonly interceptor: Interceptor;
  /** Position of the interceptor in the list: after / onThrow run only for interceptors entered. */
  readonly index: number;
  readonly phase: Phase;
}

export function stepOf(hook: Hook, interceptor: Interceptor, index: number, phase: Phase): Step {
  return { hook, receiver: interceptor.hooks, pluginName: interceptor.pluginName, interceptor, index, phase };
}

export function runStepsWithoutContext(steps: readonly Step[]): void {
  for (let index = 0; index < steps.length; index += 1) runStepWithoutContext(steps[index] as Step);
}

export function runStepWithoutContext(step: Step): void {
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

/**
 * The one context of an intercepted call, handed to each of its interceptors' hooks in turn. A
 * call costs this object and its args array, nothing per interceptor or per hook: no copy of the
 * args (what a hook may change is kept in locals while it runs), no closure.
 */
export class CallContext implements ExecuteContext {
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

/** The after (or onThrow) steps of the interceptors entered, in the order they run. */
export function runSteps(steps: readonly Step[], entered: number, context: CallContext): void {
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
export function runStep(step: Step, context: CallContext): void {
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
function undo(
  context: CallContext,
  args: unknown[],
  length: number,
  a0: unknown,
  a1: unknown,
  a2: unknown,
  a3: unknown,
  rest: unknown[] | undefined,
  result: unknown,
  error: unknown,
  skipped: boolean,
): void {
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
export function checkReturned(step: Step, returned: unknown): void {
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

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
