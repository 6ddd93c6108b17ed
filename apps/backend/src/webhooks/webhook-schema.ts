import { EVENT_LEVELS } from '@vigil/protocol';
import { z } from 'zod';
import { urlProblem } from './url-safety.js';

/** REST path of the webhook settings. */
export const WEBHOOKS_PATH = '/api/v1/webhooks';

/** Message shapes: the event as JSON, or the text message each chat tool's incoming webhook expects. */
export const WEBHOOK_FORMATS = ['generic', 'slack', 'feishu', 'dingtalk'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** Enough for every team's channels, small enough that queues and connections stay bounded. */
export const MAX_WEBHOOKS = 100;

/** `POST` and `PUT` bodies: a PUT replaces every setting, so leaving out `eventTypes` clears the filter. */
export const webhookInputSchema = z.object({
  name: z.string().trim().min(1).max(100),
  url: z
    .string()
    .trim()
    .max(2048)
    .superRefine((url, ctx) => {
      const problem = urlProblem(url);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  format: z.enum(WEBHOOK_FORMATS),
  minLevel: z.enum(EVENT_LEVELS),
  enabled: z.boolean(),
  /** Exact event types, or prefixes ending in `.` (`instance.` matches every instance event). */
  eventTypes: z
    .array(z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*\.?$/, 'must be an event type or a prefix ending in "."').max(64))
    .min(1, 'leave it out to match every type')
    .max(50)
    .optional(),
});
export type WebhookInput = z.output<typeof webhookInputSchema>;

/** One webhook as kept in the settings file. */
export const storedWebhookSchema = z.object({
  id: z.string().min(1),
  ...webhookInputSchema.shape,
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
});
export type StoredWebhook = z.output<typeof storedWebhookSchema>;

/** `<dataDir>/webhooks.json`; `version` lets a later release migrate the file instead of refusing it. */
export const webhookFileSchema = z.object({
  version: z.literal(1),
  webhooks: z.array(storedWebhookSchema),
});
