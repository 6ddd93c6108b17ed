import type { EventRecord } from '@vigil/protocol';
import { formatFigure } from './alert-metric.js';
import type { StoredAlertRule } from './alert-rule-schema.js';
import type { AlertTransition } from './rule-evaluator.js';

/** Event types of alert rules; webhooks listing the prefix `alert.` get both. */
export const ALERT_EVENT_TYPES = { fired: 'alert.fired', cleared: 'alert.cleared' } as const;

/**
 * An alert's firing or clearing as an event-log entry: `alert.fired` at the rule's level,
 * `alert.cleared` at `normal`, both naming the rule, the metric, the value and the threshold in
 * attributes that webhook templates and filters can use.
 */
export function alertEvent(transition: AlertTransition): Omit<EventRecord, 'id'> {
  const { kind, rule, instanceId, service, value, time, reason } = transition;
  const figure = formatFigure(value);
  const attributes: Record<string, string> = {
    rule: rule.id,
    ruleName: rule.name,
    metric: rule.metric,
    comparison: rule.comparison,
    value: figure,
    threshold: formatFigure(rule.threshold),
    service,
  };
  if (kind === 'fired') {
    return {
      time,
      level: rule.level,
      type: ALERT_EVENT_TYPES.fired,
      origin: 'backend',
      message: `alert "${rule.name}": ${rule.metric} ${figure} ${rule.comparison} ${attributes.threshold} ${duration(rule)}`,
      instanceId,
      service,
      attributes,
    };
  }
  const why = reason === 'recovered' ? `${rule.metric} ${figure} no longer ${rule.comparison} ${attributes.threshold}` : reason;
  return {
    time,
    level: 'normal',
    type: ALERT_EVENT_TYPES.cleared,
    origin: 'backend',
    message: `alert "${rule.name}" cleared: ${why}`,
    instanceId,
    service,
    attributes: { ...attributes, reason: reason ?? 'recovered' },
  };
}

/** `for 3 beats`, `for 1 min`, `for 1500 ms`. */
export function duration(rule: Pick<StoredAlertRule, 'forBeats' | 'forMs'>): string {
  if (rule.forBeats !== null) return `for ${rule.forBeats} ${rule.forBeats === 1 ? 'beat' : 'beats'}`;
  const ms = rule.forMs ?? 0;
  if (ms % 3_600_000 === 0) return `for ${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `for ${ms / 60_000} min`;
  if (ms % 1_000 === 0) return `for ${ms / 1_000} s`;
  return `for ${ms} ms`;
}
