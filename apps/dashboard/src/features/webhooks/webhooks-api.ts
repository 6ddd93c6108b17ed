import { EVENT_LEVELS, type EventLevel } from '@vigil/protocol';
import { requestJson } from '../../api/http';

/** Message shapes the backend can send: the event as JSON, or each chat tool's text message. */
export const WEBHOOK_FORMATS = ['generic', 'slack', 'feishu', 'dingtalk'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** The body of a create or an update (an update replaces every setting). */
export interface WebhookInput {
  name: string;
  url: string;
  format: WebhookFormat;
  minLevel: EventLevel;
  enabled: boolean;
  /** Exact types or prefixes ending in `.`; absent: every type. */
  eventTypes?: string[];
}

export interface LastDelivery {
  time: number;
  ok: boolean;
  status?: number;
  error?: string;
  attempts: number;
}

export interface Webhook extends WebhookInput {
  id: string;
  delivery: { queued: number; delivered: number; failed: number; dropped: number; last: LastDelivery | null };
}

export interface TestOutcome {
  ok: boolean;
  status?: number;
  error?: string;
  durationMs: number;
}

const PATH = '/api/v1/webhooks';

// The webhook shapes are the backend's own (not in @vigil/protocol), so they are checked by hand here.

type Fields = Record<string, unknown>;

function fieldsOf(value: unknown, where: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: expected an object`);
  return value as Fields;
}

function take<T>(fields: Fields, key: string, where: string, check: (v: unknown) => v is T, expected: string): T {
  const value = fields[key];
  if (!check(value)) throw new Error(`${where}.${key}: expected ${expected}`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isOptional =
  <T,>(check: (v: unknown) => v is T) =>
  (v: unknown): v is T | undefined =>
    v === undefined || check(v);
const isOneOf =
  <T extends string>(values: readonly T[]) =>
  (v: unknown): v is T =>
    typeof v === 'string' && (values as readonly string[]).includes(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

function parseLast(value: unknown, where: string): LastDelivery | null {
  if (value === null || value === undefined) return null;
  const f = fieldsOf(value, where);
  return {
    time: take(f, 'time', where, isNumber, 'a time'),
    ok: take(f, 'ok', where, isBoolean, 'a boolean'),
    status: take(f, 'status', where, isOptional(isNumber), 'a number'),
    error: take(f, 'error', where, isOptional(isString), 'a string'),
    attempts: take(f, 'attempts', where, isNumber, 'a number'),
  };
}

export function parseWebhook(value: unknown, where = 'webhook'): Webhook {
  const f = fieldsOf(value, where);
  const delivery = fieldsOf(f.delivery, `${where}.delivery`);
  const eventTypes = take(f, 'eventTypes', where, isOptional(isStringList), 'a list of types');
  return {
    id: take(f, 'id', where, isString, 'a string'),
    name: take(f, 'name', where, isString, 'a string'),
    url: take(f, 'url', where, isString, 'a string'),
    format: take(f, 'format', where, isOneOf(WEBHOOK_FORMATS), WEBHOOK_FORMATS.join(' | ')),
    minLevel: take(f, 'minLevel', where, isOneOf(EVENT_LEVELS), EVENT_LEVELS.join(' | ')),
    enabled: take(f, 'enabled', where, isBoolean, 'a boolean'),
    ...(eventTypes && { eventTypes }),
    delivery: {
      queued: take(delivery, 'queued', `${where}.delivery`, isNumber, 'a number'),
      delivered: take(delivery, 'delivered', `${where}.delivery`, isNumber, 'a number'),
      failed: take(delivery, 'failed', `${where}.delivery`, isNumber, 'a number'),
      dropped: take(delivery, 'dropped', `${where}.delivery`, isNumber, 'a number'),
      last: parseLast(delivery.last, `${where}.delivery.last`),
    },
  };
}

export function parseWebhookList(body: unknown): Webhook[] {
  const list = fieldsOf(body, '(body)').webhooks;
  if (!Array.isArray(list)) throw new Error('webhooks: expected a list');
  return list.map((w, i) => parseWebhook(w, `webhooks.${i}`));
}

function parseTestOutcome(body: unknown): TestOutcome {
  const f = fieldsOf(body, '(body)');
  return {
    ok: take(f, 'ok', '(body)', isBoolean, 'a boolean'),
    status: take(f, 'status', '(body)', isOptional(isNumber), 'a number'),
    error: take(f, 'error', '(body)', isOptional(isString), 'a string'),
    durationMs: take(f, 'durationMs', '(body)', isNumber, 'a number'),
  };
}

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
