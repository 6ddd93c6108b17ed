import { alertRuleSchema } from '@vigil/protocol';
import { z } from 'zod';

export { ALERT_RULES_PATH, MAX_ALERT_RULES, alertRuleInputSchema } from '@vigil/protocol';
export type { AlertComparison, AlertMetric, AlertRule } from '@vigil/protocol';

/** A rule as kept (file or Redis): the API's shape without `firing`, which is live state. */
export const storedAlertRuleSchema = alertRuleSchema.omit({ firing: true });
export type StoredAlertRule = z.output<typeof storedAlertRuleSchema>;

/** A POST or PUT body once parsed: every setting, defaults applied. */
export type AlertRuleSettings = Omit<StoredAlertRule, 'id' | 'createdAt' | 'updatedAt'>;

/** `<dataDir>/alert-rules.json`; `version` lets a later release migrate the file instead of refusing it. */
export const alertRuleFileSchema = z.object({
  version: z.literal(1),
  rules: z.array(storedAlertRuleSchema),
});
