import { webhookInputSchema as wireInputSchema, webhookSchema, type WebhookInput as WireInput } from '@vigil/protocol';
import { z } from 'zod';
import { urlProblem } from './url-safety.js';

export { MAX_WEBHOOKS, WEBHOOK_FORMATS, WEBHOOKS_PATH } from '@vigil/protocol';
export type { WebhookFormat } from '@vigil/protocol';

/** `POST` and `PUT` bodies: the wire shape, plus the URL safety check only the backend can make. */
export const webhookInputSchema = wireInputSchema.extend({
  url: wireInputSchema.shape.url.superRefine((url, ctx) => {
    const problem = urlProblem(url);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
});
export type WebhookInput = WireInput;

/** One webhook as kept in the settings file: the API's shape without the delivery counts. */
export const storedWebhookSchema = webhookSchema.omit({ delivery: true });
export type StoredWebhook = z.output<typeof storedWebhookSchema>;

/** `<dataDir>/webhooks.json`; `version` lets a later release migrate the file instead of refusing it. */
export const webhookFileSchema = z.object({
  version: z.literal(1),
  webhooks: z.array(storedWebhookSchema),
});
