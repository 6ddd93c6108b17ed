import { z } from 'zod';
import { EVENT_LEVELS, LIMITS } from './constants.js';

/** REST path of the alert rules (docs/alert-rules.md). */
export const ALERT_RULES_PATH = '/api/v1/alert-rules';

/** Enough for every team's thresholds, few enough that judging them all costs little per beat. */
export const MAX_ALERT_RULES = 100;

/**
 * What a rule may watch: the figures of a beat's metrics (units as in METRIC_FIELDS: `cpu` % of
 * one core, `rss` and `heapUsed` bytes, `eventLoopDelay*` and `gcPauseMs` ms, `eventLoopUtilization`
 * 0..1), and `heapUsedPercent`, heapUsed / heapLimit x 100.
 */
export const ALERT_METRICS = [
  'cpu',
  'rss',
  'heapUsed',
  'heapUsedPercent',
  'eventLoopDelayP99',
  'eventLoopDelayMax',
  'eventLoopUtilization',
  'gcPauseMs',
] as const;

export const ALERT_COMPARISONS = ['>', '>=', '<', '<='] as const;

/** How long a breach must last: a count of consecutive beats, or a duration. */
export const ALERT_FOR_BEATS = { min: 1, max: 1000 } as const;
export const ALERT_FOR_MS = { min: 1_000, max: 86_400_000 } as const;

const ruleFields = {
  name: z.string().trim().min(1).max(128),
  metric: z.enum(ALERT_METRICS),
  comparison: z.enum(ALERT_COMPARISONS),
  threshold: z.number().finite(),
  level: z.enum(EVENT_LEVELS),
  /** The service whose instances the rule judges; null: every service. */
  service: z.string().min(1).max(LIMITS.nameLength).nullable(),
  enabled: z.boolean(),
};

/**
 * `POST` and `PUT` bodies (a PUT replaces every setting). Exactly one of `forBeats` (the breach
 * lasts that many consecutive beats) and `forMs` (the breach lasts that long, judged at each beat).
 */
export const alertRuleInputSchema = z
  .object({
    ...ruleFields,
    forBeats: z.number().int().min(ALERT_FOR_BEATS.min).max(ALERT_FOR_BEATS.max).nullable().default(null),
    forMs: z.number().int().min(ALERT_FOR_MS.min).max(ALERT_FOR_MS.max).nullable().default(null),
    service: ruleFields.service.default(null),
    enabled: ruleFields.enabled.default(true),
  })
  .superRefine((rule, ctx) => {
    if (rule.forBeats === null && rule.forMs === null) {
      ctx.addIssue({ code: 'custom', path: ['forBeats'], message: 'give forBeats (consecutive beats) or forMs (a duration in ms)' });
    } else if (rule.forBeats !== null && rule.forMs !== null) {
      ctx.addIssue({ code: 'custom', path: ['forMs'], message: 'give forBeats or forMs, not both' });
    }
  });

/** A rule as the API answers it: its settings, when they were made, and how many instances it fires for now. */
export const alertRuleSchema = z.object({
  id: z.string().min(1),
  ...ruleFields,
  forBeats: z.number().int().nullable(),
  forMs: z.number().int().nullable(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  firing: z.number().int().nonnegative(),
});

export const alertRuleListSchema = z.object({ rules: z.array(alertRuleSchema) });
