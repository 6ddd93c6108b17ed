/**
 * What an indicator, and the instance, may be: `up` works; `degraded` works, impaired (the
 * backend still counts it healthy, flagged); `down` does not work (the backend shows it `unhealthy`).
 * Written out here rather than taken from @vigil/protocol, which the published agent does not depend on.
 */
export type HealthStatus = 'up' | 'degraded' | 'down';

/** What an indicator says: its status, and optional facts (the database's host, the error...); non-string values are stringified. */
export interface IndicatorResult {
  status: HealthStatus;
  details?: Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>;
}

/**
 * Called before beats, never on a request's path. It may answer at once or with a promise; the
 * beat never waits for it: it carries the latest answer. Throwing, rejecting, answering
 * something that is not an IndicatorResult, or not answering within `health.timeout` (2 s by
 * default) counts as `down`, with the reason as detail `error`. While its promise is pending it is
 * not called again.
 */
export type IndicatorProvider = () => IndicatorResult | PromiseLike<IndicatorResult>;

/**
 * The instance's own health as its beats report it (Spring Boot Admin's health indicators,
 * Consul's TTL checks, Eureka's UP/DOWN): named indicators, each `up`, `degraded` or `down`; the
 * instance is as healthy as its worst indicator, and the backend shows an instance whose health is
 * `down` as `unhealthy`. Fetch it with `ServiceManager.getService(HealthService)`, in a plugin
 * or in the application itself (`require('@vigil/agent')` / `import` gives the running agent).
 */
export abstract class HealthService {
  static readonly serviceName = 'vigil.health';

  /**
   * Sets the provider of the indicator `name` (1 to 256 characters); a later call with the same
   * name replaces it. At most 32 indicators: more are ignored, with a warning.
   */
  abstract setIndicator(name: string, provider: IndicatorProvider): void;

  /** Removes the indicator `name`; the instance's health no longer counts it. */
  abstract removeIndicator(name: string): void;
}
