import { HEALTH_STATUSES, LIMITS } from '../protocol';
import type { HealthIndicator, HealthReport, HealthStatus } from '../protocol';
import { normalizeExtInfo } from '../heartbeat/ext-info';
import { describeError } from '../logger';

export interface NormalizedIndicator {
  indicator: HealthIndicator;
  /** What had to be cut to fit the protocol limits, or why the answer counts as `down`; empty when all was well. */
  problems: string[];
}

/** `down`, with the reason as detail `error` (cut to the protocol's value length). */
export function downBecause(reason: string): HealthIndicator {
  return { status: 'down', details: { error: reason.slice(0, LIMITS.extInfoValueLength) } };
}

/**
 * Turns what a provider answered into the wire's indicator: the status checked, details held to
 * the protocol limits (as ext-info is, so that one oversized value never costs the whole beat) and
 * sorted, so that an unchanged answer serialises the same way. Anything that is not an
 * IndicatorResult counts as `down`, saying why.
 */
export function normalizeIndicator(answer: unknown): NormalizedIndicator {
  if (typeof answer !== 'object' || answer === null) {
    const problem = `answered ${answer === null ? 'null' : typeof answer}, not { status, details? }`;
    return { indicator: downBecause(problem), problems: [problem] };
  }
  const { status, details } = answer as { status?: unknown; details?: unknown };
  if (!HEALTH_STATUSES.includes(status as HealthStatus)) {
    const problem = `answered status ${JSON.stringify(status) ?? String(status)}, not one of ${HEALTH_STATUSES.join(', ')}`;
    return { indicator: downBecause(problem), problems: [problem] };
  }
  if (details === undefined || details === null) return { indicator: { status: status as HealthStatus }, problems: [] };
  try {
    const { info, problems } = normalizeExtInfo(details, LIMITS.healthDetails);
    const indicator = Object.keys(info).length > 0 ? { status: status as HealthStatus, details: info } : { status: status as HealthStatus };
    return { indicator, problems: problems.map((problem) => `details: ${problem}`) };
  } catch (error) {
    const problem = `answered details that are ${describeError(error).replace(/^ext-info must be /, 'not ')}`;
    return { indicator: downBecause(problem), problems: [problem] };
  }
}

const SEVERITY: Record<HealthStatus, number> = { up: 0, degraded: 1, down: 2 };

/** The report of a beat: each indicator by name (sorted, so an unchanged report serialises the same way) and the worst status. */
export function healthReport(indicators: ReadonlyMap<string, HealthIndicator>): HealthReport | undefined {
  if (indicators.size === 0) return undefined;
  const names = [...indicators.keys()].sort();
  let status: HealthStatus = 'up';
  const entries: [string, HealthIndicator][] = [];
  for (const name of names) {
    const indicator = indicators.get(name) as HealthIndicator;
    if (SEVERITY[indicator.status] > SEVERITY[status]) status = indicator.status;
    entries.push([name, indicator]);
  }
  // fromEntries defines own properties, so a name like `__proto__` stays an ordinary indicator.
  return { status, indicators: Object.fromEntries(entries) };
}
