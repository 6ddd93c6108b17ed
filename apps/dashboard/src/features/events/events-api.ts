import { EVENT_LEVELS, eventListSchema, type EventLevel, type EventList } from '@vigil/protocol';
import { requestJson, withSchema } from '../../api/http';

/** Events shown per page of the list. */
export const PAGE_SIZE = 50;

const parseList = withSchema(eventListSchema);

export function fetchEvents(
  query: URLSearchParams,
  levels: readonly EventLevel[],
  offset: number,
  signal: AbortSignal,
): Promise<EventList> {
  const params = new URLSearchParams(query);
  if (levels.length > 0) params.set('level', levels.join(','));
  params.set('offset', String(offset));
  params.set('limit', String(PAGE_SIZE));
  return requestJson(`/api/v1/events?${params}`, parseList, { signal });
}

/** How many events of a level match, and the id of the newest (to tell later live events from counted ones). */
export interface LevelCount {
  total: number;
  newestId: number;
}

/** One count per level, with every other filter applied, from the list's totals. */
export async function fetchLevelCounts(query: URLSearchParams, signal: AbortSignal): Promise<Record<EventLevel, LevelCount>> {
  const counts = await Promise.all(
    EVENT_LEVELS.map(async (level) => {
      const params = new URLSearchParams(query);
      params.set('level', level);
      params.set('limit', '1');
      const { events, total } = await requestJson(`/api/v1/events?${params}`, parseList, { signal });
      return [level, { total, newestId: Number(events[0]?.id ?? 0) }] as const;
    }),
  );
  return Object.fromEntries(counts) as Record<EventLevel, LevelCount>;
}
