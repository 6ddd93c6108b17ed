import type { Hook, Interceptor } from './interceptor-types';
import { AFTER, BEFORE, ON_THROW, runStepsWithoutContext, stepOf, type Step } from './hook-steps';

/**
 * An interceptor list as the wrapper runs it, made once when the list is set (wrap, unwrap, a
 * plugin switched on or off), never per call: the hooks present, in plain arrays per phase in the
 * order they run, and what the call path branches on. The hooks objects are read here only, so
 * a hook added to or removed from a declaration after it was wrapped counts from the next wrap.
 */
export class Plan {
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

export function planOf(interceptors: readonly Interceptor[]): Plan | undefined {
  return interceptors.length === 0 ? undefined : new Plan(interceptors);
}
