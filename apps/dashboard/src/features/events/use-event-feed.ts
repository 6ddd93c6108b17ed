import { useCallback, useEffect, useRef, useState } from 'react';
import type { EventRecord } from '@vigil/protocol';
import { useLive, useLiveStore } from '../../live/live-context';
import { mergeEvents } from '../../utils/merge-events';
import { withLiveEvent, type EventFeed } from './event-feed';
import { eventQuery, paramsFromEventFilters, timeBounds, type EventFilters } from './event-filters';
import { fetchEvents, fetchLevelCounts } from './events-api';

export type FeedState =
  | { status: 'loading'; feed: EventFeed | null }
  | { status: 'failed'; message: string; feed: EventFeed | null }
  | { status: 'loaded'; feed: EventFeed; loadingMore: boolean };

/** What the feed was loaded for, shared with the live listener. */
interface FeedContext {
  filters: EventFilters;
  bounds: { from: number | null; to: number | null };
  query: URLSearchParams;
  /** Live events that arrived while the REST answers were on their way. */
  pending: EventRecord[] | null;
}

/**
 * The events of a view: a page from the REST API (again after every reconnect, so nothing is
 * missed), then live events from the socket on top, and older pages on demand.
 */
export function useEventFeed(filters: EventFilters): { state: FeedState; loadMore: () => void } {
  const store = useLiveStore();
  const epoch = useLive((s) => s.epoch);
  const [state, setState] = useState<FeedState>({ status: 'loading', feed: null });
  const context = useRef<FeedContext | null>(null);
  const filterKey = paramsFromEventFilters(filters).toString();

  useEffect(() => {
    const now = Date.now() + store.getState().clockOffsetMs;
    const bounds = timeBounds(filters, now);
    const query = eventQuery(filters, bounds);
    const current: FeedContext = { filters, bounds, query, pending: [] };
    context.current = current;
    const abort = new AbortController();
    setState((s) => ({ status: 'loading', feed: s.feed }));
    Promise.all([fetchEvents(query, filters.levels, 0, abort.signal), fetchLevelCounts(query, abort.signal)]).then(
      ([list, counts]) => {
        let feed: EventFeed = { events: list.events, total: list.total, counts };
        for (const event of current.pending ?? []) feed = withLiveEvent(feed, event, filters, bounds);
        current.pending = null;
        setState({ status: 'loaded', feed, loadingMore: false });
      },
      (error: unknown) => {
        if (!abort.signal.aborted)
          setState((s) => ({ status: 'failed', message: error instanceof Error ? error.message : String(error), feed: s.feed }));
      },
    );
    return () => abort.abort();
    // `filters` is read through its key: an equal object must not reload.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [store, filterKey, epoch]);

  useEffect(
    () =>
      store.onEvents((events) => {
        const current = context.current;
        if (!current) return;
        if (current.pending) {
          current.pending.push(...events);
          return;
        }
        setState((s) => {
          if (s.status !== 'loaded') return s;
          let feed = s.feed;
          for (const event of events) feed = withLiveEvent(feed, event, current.filters, current.bounds);
          return feed === s.feed ? s : { ...s, feed };
        });
      }),
    [store],
  );

  const loadMore = useCallback(() => {
    const current = context.current;
    if (!current || state.status !== 'loaded' || state.loadingMore) return;
    setState({ ...state, loadingMore: true });
    fetchEvents(current.query, current.filters.levels, state.feed.events.length, new AbortController().signal).then(
      (page) =>
        setState((s) =>
          s.status === 'loaded' && context.current === current
            ? { ...s, loadingMore: false, feed: { ...s.feed, events: mergeEvents(s.feed.events, page.events) } }
            : s,
        ),
      (error: unknown) =>
        setState((s) => ({ status: 'failed', message: error instanceof Error ? error.message : String(error), feed: s.feed })),
    );
  }, [state]);

  return { state, loadMore };
}
