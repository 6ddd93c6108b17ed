/**
 * Keeps OpenTelemetry (and tracers on its API) from tracing the agent's own calls, without
 * depending on it: the API registers its globals under a registered symbol, and the SDK skips
 * every span started in a context whose suppress-tracing key is true (@opentelemetry/core's
 * `suppressTracing`, which is all it does). Context keys are registered symbols too
 * (`createContextKey` is `Symbol.for`), so this key is the one core reads.
 */

/** What the agent uses of the ContextManager that @opentelemetry/api keeps in its globals. */
interface ContextManager {
  active(): { setValue(key: symbol, value: unknown): unknown };
  with<T>(context: unknown, fn: () => T): T;
}

/** Where @opentelemetry/api 1.x registers its globals (`context` once an SDK installed a context manager). */
const OPENTELEMETRY_API = Symbol.for('opentelemetry.js.api.1');
const SUPPRESS_TRACING = Symbol.for('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

/**
 * Runs `fn` in a context where OpenTelemetry starts no span; what `fn` schedules inherits that
 * context. Without OpenTelemetry in the process, or with anything unexpected in its globals,
 * just runs `fn`.
 */
export function withoutTracing<T>(fn: () => T): T {
  let manager: ContextManager | undefined;
  let suppressed: unknown;
  try {
    const api = (globalThis as Record<symbol, { context?: ContextManager } | undefined>)[OPENTELEMETRY_API];
    manager = api?.context;
    suppressed = manager?.active().setValue(SUPPRESS_TRACING, true);
  } catch {
    // Someone else's globals: never let them break the agent's call.
    manager = undefined;
  }
  return manager === undefined ? fn() : manager.with(suppressed, fn);
}
