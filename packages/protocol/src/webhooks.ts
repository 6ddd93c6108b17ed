import { z } from 'zod';
import { EVENT_LEVELS } from './constants.js';

/** REST path of the webhook settings. */
export const WEBHOOKS_PATH = '/api/v1/webhooks';

/** Message shapes: the event as JSON, or the text message each chat tool's incoming webhook expects. */
export const WEBHOOK_FORMATS = ['generic', 'slack', 'feishu', 'dingtalk'] as const;

/** Enough for every team's channels, small enough that queues and connections stay bounded. */
export const MAX_WEBHOOKS = 100;

/**
 * `POST` and `PUT` bodies: a PUT replaces every setting, so leaving out `eventTypes` clears the
 * filter. The backend adds its URL safety check (scheme, resolvable host, private addresses).
 */
export const webhookInputSchema = z.object({
  name: z.string().trim().min(1).max(100),
  url: z.string().trim().max(2048),
  format: z.enum(WEBHOOK_FORMATS),
  minLevel: z.enum(EVENT_LEVELS),
  enabled: z.boolean(),
  /** Exact event types, or prefixes ending in `.` (`instance.` matches every instance event). */
  eventTypes: z
    .array(
      z
        .string()
        .regex(/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*\.?$/, 'must be an event type or a prefix ending in "."')
        .max(64),
    )
    .min(1, 'leave it out to match every type')
    .max(50)
    .optional(),
});

/** The last delivery attempt of a webhook, retries included. */
export const lastDeliverySchema = z.object({
  time: z.number(),
  eventId: z.string(),
  ok: z.boolean(),
  status: z.number().int().optional(),
  error: z.string().optional(),
  attempts: z.number().int().nonnegative(),
  durationMs: z.number().nonnegative(),
});

/** Delivery counts since the backend started (kept in memory only). */
export const deliveryStatsSchema = z.object({
  queued: z.number().int().nonnegative(),
  delivered: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  dropped: z.number().int().nonnegative(),
  last: lastDeliverySchema.nullable(),
});

/** A webhook as the API answers it: its settings, when they were made, and how delivery goes. */
export const webhookSchema = webhookInputSchema.extend({
  id: z.string().min(1),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  delivery: deliveryStatsSchema,
});

export const webhookListSchema = z.object({ webhooks: z.array(webhookSchema) });

/** The answer of `POST /api/v1/webhooks/:id/test`. */
export const webhookTestOutcomeSchema = z.object({
  ok: z.boolean(),
  status: z.number().int().optional(),
  error: z.string().optional(),
  durationMs: z.number().nonnegative(),
});
