import type { EventRecord } from '@vigil/protocol';

/** Merges event lists (a REST page, live events) by id, newest first, without duplicates. */
export function mergeEvents(...lists: Iterable<EventRecord>[]): EventRecord[] {
  const byId = new Map<string, EventRecord>();
  for (const list of lists) for (const event of list) byId.set(event.id, event);
  // Ids grow with time, so they order events exactly, even those recorded in the same ms.
  return [...byId.values()].sort((a, b) => Number(b.id) - Number(a.id));
}
