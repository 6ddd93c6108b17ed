import type { EventLevel, EventRecord } from '@vigil/protocol';
import { matchesEvent, type EventFilters } from './event-filters';
import type { LevelCount } from './events-api';

/** The loaded events of a view and its level counts. */
export interface EventFeed {
  /** Newest first. */
  events: readonly EventRecord[];
  /** Events matching the filters, levels included, on every page. */
  total: number;
  counts: Readonly<Record<EventLevel, LevelCount>>;
}

/**
 * Adds a live event to a loaded feed. An event counts only if it is newer than what the REST
 * answers already counted (ids grow with time), so an event that arrived while they were on
 * their way is neither missed nor counted twice.
 */
export function withLiveEvent(
  feed: EventFeed,
  event: EventRecord,
  filters: EventFilters,
  bounds: { from: number | null; to: number | null },
): EventFeed {
  if (!matchesEvent(filters, bounds, event)) return feed;
  const id = Number(event.id);
  let next = feed;
  const count = feed.counts[event.level];
  if (id > count.newestId) next = { ...next, counts: { ...next.counts, [event.level]: { total: count.total + 1, newestId: id } } };
  const newestListed = Number(feed.events[0]?.id ?? 0);
  const levelShown = filters.levels.length === 0 || filters.levels.includes(event.level);
  if (levelShown && id > newestListed) next = { ...next, events: [event, ...next.events], total: next.total + 1 };
  return next;
}
