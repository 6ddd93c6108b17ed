import { LIMITS } from '../protocol';
import type { HealthIndicator, HealthReport } from '../protocol';
import { downBecause, healthReport, normalizeIndicator } from '../health/indicator-result';
import { describeError, logger } from '../logger';
import { DEFAULT_HEALTH_TIMEOUT_MS } from '../config';
import { currentPlugin } from '../plugins/plugin-context';
import { HealthService, type IndicatorProvider } from './health-service';
import type { PluginScopedService } from './service-manager';

interface Indicator {
  provider: IndicatorProvider;
  /** The plugin whose code set it (none: the application): a disabled plugin's indicators do not count. */
  owner: string | undefined;
  /** The latest settled answer; undefined until the provider first answered (or timed out). */
  latest: HealthIndicator | undefined;
  /** A promise of the provider's is pending: it is not called again until that settles. */
  pending: boolean;
  /** A provider answering badly is warned about once, not on every beat. */
  warned: boolean;
}

/**
 * The running health service. `collect()`, called before each beat, asks every provider that is
 * not still working on an earlier answer and returns the latest settled answers at once: a
 * provider answering synchronously counts in this very beat, one answering with a promise from
 * the beat after it settles, one that does not settle within the timeout counts `down` until it
 * does. Nothing here ever throws into the beat path or waits. It exists (and setIndicator works)
 * even when heartbeats are disabled.
 */
export class AgentHealthService extends HealthService implements PluginScopedService<HealthService> {
  private readonly indicators = new Map<string, Indicator>();
  private readonly disabledOwners = new Set<string>();
  private tooManyWarned = false;

  constructor(private readonly timeoutMs: number = DEFAULT_HEALTH_TIMEOUT_MS) {
    super();
  }

  /** Attributes the indicator to the plugin whose code is running, if any (see forPlugin). */
  override setIndicator(name: string, provider: IndicatorProvider): void {
    this.setIndicatorOf(currentPlugin(), name, provider);
  }

  /** The view getService hands a plugin: its indicators are the plugin's wherever it sets them (a callback, after an await). */
  forPlugin(pluginName: string): HealthService {
    return new PluginHealthService(this, pluginName);
  }

  setIndicatorOf(owner: string | undefined, name: string, provider: IndicatorProvider): void {
    if (typeof name !== 'string' || name.length === 0 || name.length > LIMITS.nameLength) {
      throw new TypeError(`setIndicator expects a name of 1 to ${LIMITS.nameLength} characters`);
    }
    if (typeof provider !== 'function') throw new TypeError('setIndicator expects a function that returns { status, details? }');
    if (!this.indicators.has(name) && this.indicators.size >= LIMITS.healthIndicators) {
      if (!this.tooManyWarned) {
        this.tooManyWarned = true;
        logger.warn(`health indicator ${name} ignored: at most ${LIMITS.healthIndicators} indicators`);
      }
      return;
    }
    this.indicators.set(name, { provider, owner, latest: undefined, pending: false, warned: false });
  }

  override removeIndicator(name: string): void {
    this.indicators.delete(name);
  }

  /** A plugin switched off at run time: its indicators are neither asked nor counted until it is switched on again. */
  setPluginEnabled(pluginName: string, enabled: boolean): void {
    if (enabled) this.disabledOwners.delete(pluginName);
    else this.disabledOwners.add(pluginName);
  }

  /** Forgets the indicators a plugin set while it was loading, when its load then failed. */
  discardIndicatorsOf(pluginName: string): void {
    for (const [name, indicator] of this.indicators) if (indicator.owner === pluginName) this.indicators.delete(name);
  }

  /** Asks the providers that are free, and returns the latest answers; undefined while no indicator has answered. */
  collect(): HealthReport | undefined {
    const answered = new Map<string, HealthIndicator>();
    for (const [name, indicator] of this.indicators) {
      if (indicator.owner !== undefined && this.disabledOwners.has(indicator.owner)) continue;
      if (!indicator.pending) this.ask(name, indicator);
      if (indicator.latest !== undefined) answered.set(name, indicator.latest);
    }
    return healthReport(answered);
  }

  private ask(name: string, indicator: Indicator): void {
    let answer: unknown;
    let thenable: boolean;
    try {
      answer = indicator.provider();
      thenable = isThenable(answer);
    } catch (error) {
      this.fail(name, indicator, 'threw', error);
      return;
    }
    if (!thenable) {
      this.settle(name, indicator, answer);
      return;
    }
    indicator.pending = true;
    const timer = setTimeout(() => {
      if (!indicator.pending) return;
      const reason = `timed out after ${this.timeoutMs} ms`;
      this.record(name, indicator, downBecause(reason), `${reason} (health.timeout); down until it answers`);
    }, this.timeoutMs).unref();
    const done = (): void => {
      clearTimeout(timer);
      indicator.pending = false;
    };
    // Promise.resolve adopts any thenable; one whose `then` throws becomes a rejection here.
    Promise.resolve(answer as PromiseLike<unknown>).then(
      (value) => {
        done();
        this.settle(name, indicator, value);
      },
      (error: unknown) => {
        done();
        this.fail(name, indicator, 'failed', error);
      },
    );
  }

  private fail(name: string, indicator: Indicator, how: string, error: unknown): void {
    const reason = describeError(error);
    this.record(name, indicator, downBecause(reason), `${how}: ${reason}`);
  }

  private settle(name: string, indicator: Indicator, answer: unknown): void {
    const { indicator: result, problems } = normalizeIndicator(answer);
    this.record(name, indicator, result, problems.length > 0 ? problems.join('; ') : undefined);
  }

  /** Keeps the answer, unless the indicator was removed or replaced meanwhile; a problem is warned about once per indicator. */
  private record(name: string, indicator: Indicator, result: HealthIndicator, problem?: string): void {
    if (this.indicators.get(name) !== indicator) return;
    indicator.latest = result;
    if (problem !== undefined && !indicator.warned) {
      indicator.warned = true;
      logger.warn(`health indicator ${name} ${problem}`);
    }
  }
}

/** The view of the health service that getService hands to one plugin. */
class PluginHealthService extends HealthService {
  constructor(
    private readonly service: AgentHealthService,
    private readonly pluginName: string,
  ) {
    super();
  }

  override setIndicator(name: string, provider: IndicatorProvider): void {
    this.service.setIndicatorOf(this.pluginName, name, provider);
  }

  override removeIndicator(name: string): void {
    this.service.removeIndicator(name);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
