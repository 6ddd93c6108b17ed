import { formatDuration } from '../../utils/format-time';
import type { AlertMetric, AlertRule } from './rules-api';

const MIB = 1024 * 1024;

/** How the form and the list show a metric: its name, the unit of its threshold, and that unit's size in the API's unit. */
export const METRIC_INFO: Record<AlertMetric, { label: string; unit: string; factor: number }> = {
  cpu: { label: 'CPU', unit: '% of one core', factor: 1 },
  rss: { label: 'RSS', unit: 'MiB', factor: MIB },
  heapUsed: { label: 'heap used', unit: 'MiB', factor: MIB },
  heapUsedPercent: { label: 'heap used of its limit', unit: '%', factor: 1 },
  eventLoopDelayP99: { label: 'event-loop delay p99', unit: 'ms', factor: 1 },
  eventLoopDelayMax: { label: 'event-loop delay max', unit: 'ms', factor: 1 },
  eventLoopUtilization: { label: 'event-loop utilization', unit: '0 to 1', factor: 1 },
  gcPauseMs: { label: 'GC pause per beat', unit: 'ms', factor: 1 },
};

/** A threshold as the form shows it (bytes as MiB), without float noise. */
export function thresholdForField(metric: AlertMetric, threshold: number | null): string {
  if (threshold === null) return '';
  return String(Number((threshold / METRIC_INFO[metric].factor).toPrecision(12)));
}

/** The form's threshold text in the API's unit; null when it is not a number (the backend names the field). */
export function thresholdFromField(metric: AlertMetric, text: string): number | null {
  const value = text.trim() === '' ? NaN : Number(text);
  return Number.isFinite(value) ? value * METRIC_INFO[metric].factor : null;
}

/** A rule's condition in words: `event-loop delay p99 > 500 ms for 3 beats`, `RSS >= 512 MiB for 1 min`. */
export function describeCondition(rule: Pick<AlertRule, 'metric' | 'comparison' | 'threshold' | 'forBeats' | 'forMs'>): string {
  const info = METRIC_INFO[rule.metric];
  const unit = info.unit === '0 to 1' ? '' : info.unit.startsWith('%') ? ' %' : ` ${info.unit}`;
  const duration =
    rule.forBeats !== null ? `for ${rule.forBeats} ${rule.forBeats === 1 ? 'beat' : 'beats'}` : `for ${formatDuration(rule.forMs ?? 0)}`;
  return `${info.label} ${rule.comparison} ${thresholdForField(rule.metric, rule.threshold)}${unit} ${duration}`;
}
