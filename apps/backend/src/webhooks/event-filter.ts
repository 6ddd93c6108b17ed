import { EVENT_LEVELS, type EventRecord } from '@vigil/protocol';
import type { StoredWebhook } from './webhook-schema.js';

/**
 * Whether a webhook fires for an event: enabled, the event at or above its level
 * (EVENT_LEVELS runs most severe first), and of a listed type when it lists types.
 */
export function firesFor(webhook: Pick<StoredWebhook, 'enabled' | 'minLevel' | 'eventTypes'>, event: EventRecord): boolean {
  if (!webhook.enabled) return false;
  if (EVENT_LEVELS.indexOf(event.level) > EVENT_LEVELS.indexOf(webhook.minLevel)) return false;
  return !webhook.eventTypes || webhook.eventTypes.some((t) => (t.endsWith('.') ? event.type.startsWith(t) : event.type === t));
}
