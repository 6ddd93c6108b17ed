import {
  WEBHOOKS_PATH,
  webhookListSchema,
  webhookSchema,
  webhookTestOutcomeSchema,
  type Webhook,
  type WebhookInput,
} from '@vigil/protocol';
import { requestJson, withSchema } from '../../api/http';

export { WEBHOOK_FORMATS } from '@vigil/protocol';
export type { LastDelivery, Webhook, WebhookFormat, WebhookInput, WebhookTestOutcome as TestOutcome } from '@vigil/protocol';

const PATH = WEBHOOKS_PATH;
export const parseWebhook = withSchema(webhookSchema);
export const parseWebhookList = (body: unknown): Webhook[] => withSchema(webhookListSchema)(body).webhooks;
const parseTestOutcome = withSchema(webhookTestOutcomeSchema);

/** The settings of a webhook, as a create or update sends them. */
export function inputOf(webhook: Webhook): WebhookInput {
  const { name, url, format, minLevel, enabled, eventTypes } = webhook;
  return { name, url, format, minLevel, enabled, ...(eventTypes && { eventTypes }) };
}

export const listWebhooks = (signal?: AbortSignal) => requestJson(PATH, parseWebhookList, { signal });
export const createWebhook = (input: WebhookInput) => requestJson(PATH, parseWebhook, { method: 'POST', body: input });
export const updateWebhook = (id: string, input: WebhookInput) =>
  requestJson(`${PATH}/${encodeURIComponent(id)}`, parseWebhook, { method: 'PUT', body: input });
export const deleteWebhook = (id: string) => requestJson(`${PATH}/${encodeURIComponent(id)}`, () => undefined, { method: 'DELETE' });
export const testWebhook = (id: string) => requestJson(`${PATH}/${encodeURIComponent(id)}/test`, parseTestOutcome, { method: 'POST' });
