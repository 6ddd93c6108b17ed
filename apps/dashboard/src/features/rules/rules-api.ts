import {
  ALERT_RULES_PATH,
  alertRuleListSchema,
  alertRuleSchema,
  type AlertComparison,
  type AlertMetric,
  type AlertRule,
  type EventLevel,
} from '@vigil/protocol';
import { requestJson, withSchema } from '../../api/http';

export { ALERT_COMPARISONS, ALERT_METRICS } from '@vigil/protocol';
export type { AlertComparison, AlertMetric, AlertRule } from '@vigil/protocol';

const PATH = ALERT_RULES_PATH;
export const parseRule = withSchema(alertRuleSchema);
export const parseRuleList = withSchema(alertRuleListSchema);

/**
 * What a create or an update sends: every setting (a PUT replaces them all). The form sends what
 * the user typed even when it is not valid (a threshold that is not a number goes as null), so
 * that the backend's 400 names the field.
 */
export interface RuleInput {
  name: string;
  metric: AlertMetric;
  comparison: AlertComparison;
  threshold: number | null;
  forBeats: number | null;
  forMs: number | null;
  level: EventLevel;
  /** Null: every service. */
  service: string | null;
  enabled: boolean;
}

export function inputOf(rule: AlertRule): RuleInput {
  const { name, metric, comparison, threshold, forBeats, forMs, level, service, enabled } = rule;
  return { name, metric, comparison, threshold, forBeats, forMs, level, service, enabled };
}

export const listRules = async (signal?: AbortSignal) => (await requestJson(PATH, parseRuleList, { signal })).rules;
export const createRule = (input: RuleInput) => requestJson(PATH, parseRule, { method: 'POST', body: input });
export const updateRule = (id: string, input: RuleInput) =>
  requestJson(`${PATH}/${encodeURIComponent(id)}`, parseRule, { method: 'PUT', body: input });
export const deleteRule = (id: string) => requestJson(`${PATH}/${encodeURIComponent(id)}`, () => undefined, { method: 'DELETE' });
