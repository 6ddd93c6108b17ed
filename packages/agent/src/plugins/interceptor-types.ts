/**
 * The interceptor's public types: what a plugin's hooks receive and how an interceptor is
 * installed (see interceptor.ts).
 */

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

export type AnyFunction = (...args: unknown[]) => unknown;
export type Hook = (context: ExecuteContext) => void;
