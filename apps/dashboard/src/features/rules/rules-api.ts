import { ALERT_METRICS, alertRuleListSchema, alertRuleSchema, type EventLevel } from '@vigil/protocol';
import { requestJson, withSchema } from '../../api/http';

/** REST path of the alert rules. */
const PATH = '/api/v1/alert-rules';

export const parseRule = withSchema(alertRuleSchema);
export const parseRuleList = withSchema(alertRuleListSchema);

export type AlertRule = ReturnType<typeof parseRule>;
export type AlertMetric = AlertRule['metric'];
export type Comparison = AlertRule['comparison'];
export { ALERT_METRICS };

/** What a create or an update sends: every setting, exactly one of `forBeats` and `forMs` set. */
export interface RuleInput {
  name: string;
  metric: AlertMetric;
  comparison: Comparison;
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
