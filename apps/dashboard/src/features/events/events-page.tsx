import { useEffect, useMemo, useRef, useState } from 'react';
import { EVENT_LEVELS, type EventLevel } from '@vigil/protocol';
import { EventTable } from '../../components/event-table';
import { useLive, useLiveView } from '../../live/live-context';
import { FLEET_VIEW } from '../../live/live-store';
import { navigate } from '../../routing/hash-route';
import { eventFiltersFromParams, paramsFromEventFilters, RANGE_LABELS, RANGES, type EventFilters, type RangeKey } from './event-filters';
import { useEventFeed } from './use-event-feed';

/** Types worth offering in the type box; any other type or `prefix.` can be typed. */
const COMMON_TYPES = [
  'instance.',
  'instance.lost',
  'instance.offline',
  'instance.recovered',
  'instance.registered',
  'plugin.',
  'plugin.disabled',
  'plugin.enabled',
  'self-preservation.',
  'backend.stall',
  'log.',
];

/** `datetime-local` works in local time without a zone: convert both ways here. */
function toLocalInput(time: number | null): string {
  if (time === null) return '';
  const date = new Date(time);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

function fromLocalInput(value: string): number | null {
  const time = value ? new Date(value).getTime() : Number.NaN;
  return Number.isNaN(time) ? null : time;
}

/** A text filter applied after a pause in typing, written to the URL without a history entry per key. */
function useDebouncedText(value: string | null, apply: (value: string | null) => void): [string, (value: string) => void] {
  const [text, setText] = useState(value ?? '');
  // The latest callback, without restarting the pause each time the page re-renders with live data.
  const applyLatest = useRef(apply);
  useEffect(() => {
    applyLatest.current = apply;
  });
  // The URL may change under us (back button, a shared link): the box follows it, adjusted while
  // rendering (React's pattern for state that follows a prop) rather than in an effect.
  const [shown, setShown] = useState(value);
  if (shown !== value) {
    setShown(value);
    setText(value ?? '');
  }
  useEffect(() => {
    if (text.trim() === (value ?? '')) return;
    const timer = setTimeout(() => applyLatest.current(text.trim() || null), 300);
    return () => clearTimeout(timer);
  }, [text, value]);
  return [text, setText];
}

/**
 * `/events`: level cards, filters (service, instance, type, level, time range with shortcuts),
 * the matching events newest first; new ones appear live. Filters live in the URL.
 */
export function EventsPage({ params }: { params: URLSearchParams }) {
  useLiveView(FLEET_VIEW);
  const filters = useMemo(() => eventFiltersFromParams(params), [params]);
  const services = useLive((s) => s.services);
  const { state, loadMore } = useEventFeed(filters);
  const setFilters = (next: EventFilters, replace = false) => navigate('/events', paramsFromEventFilters(next), { replace });
  const [instanceText, setInstanceText] = useDebouncedText(filters.instanceId, (instanceId) =>
    setFilters({ ...filters, instanceId }, true),
  );
  const [typeText, setTypeText] = useDebouncedText(filters.type, (type) => setFilters({ ...filters, type }, true));

  const toggleLevel = (level: EventLevel) =>
    setFilters({
      ...filters,
      levels: filters.levels.includes(level)
        ? filters.levels.filter((l) => l !== level)
        : EVENT_LEVELS.filter((l) => l === level || filters.levels.includes(l)),
    });
  const setRange = (range: RangeKey) => setFilters({ ...filters, range, from: null, to: null });
  const custom = filters.range === null;
  const feed = state.feed;

  return (
    <div className="page page--events">
      <section className="level-cards" aria-label="Events by level">
        {EVENT_LEVELS.map((level) => (
          <button
            key={level}
            type="button"
            className={`count-card count-card--button level-card level-card--${level}`}
            data-testid={`level-${level}`}
            aria-pressed={filters.levels.includes(level)}
            title={`Show only ${level} events`}
            onClick={() => toggleLevel(level)}
          >
            <span className="count-card__label">{level}</span>
            <span className="count-card__value">{feed ? feed.counts[level].total.toLocaleString('en') : '–'}</span>
          </button>
        ))}
      </section>

      <form className="filter-bar" role="search" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
        <label className="field">
          <span className="field__label">Service</span>
          <select
            data-testid="events-service"
            value={filters.service ?? ''}
            onChange={(e) => setFilters({ ...filters, service: e.target.value || null })}
          >
            <option value="">All services</option>
            {[...new Set([...(filters.service ? [filters.service] : []), ...services.map((s) => s.service)])].map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field__label">Instance id</span>
          <input
            type="search"
            data-testid="events-instance"
            value={instanceText}
            onChange={(e) => setInstanceText(e.target.value)}
            placeholder="any"
          />
        </label>
        <label className="field">
          <span className="field__label">Type</span>
          <input
            type="search"
            data-testid="events-type"
            list="event-types"
            value={typeText}
            onChange={(e) => setTypeText(e.target.value)}
            placeholder="e.g. instance. or plugin.disabled"
          />
          <datalist id="event-types">
            {COMMON_TYPES.map((type) => (
              <option key={type} value={type} />
            ))}
          </datalist>
        </label>
        <fieldset className="field range-filter">
          <legend className="field__label">Time range</legend>
          <div className="segmented">
            {(Object.keys(RANGES) as RangeKey[]).map((range) => (
              <button
                key={range}
                type="button"
                data-testid={`range-${range}`}
                aria-pressed={filters.range === range}
                onClick={() => setRange(range)}
              >
                {RANGE_LABELS[range]}
              </button>
            ))}
          </div>
        </fieldset>
        <label className="field">
          <span className="field__label">From</span>
          <input
            type="datetime-local"
            value={custom ? toLocalInput(filters.from) : ''}
            onChange={(e) =>
              setFilters({
                ...filters,
                range: null,
                from: fromLocalInput(e.target.value) ?? Date.now() - RANGES['1d'],
                to: custom ? filters.to : null,
              })
            }
          />
        </label>
        <label className="field">
          <span className="field__label">To</span>
          <input
            type="datetime-local"
            value={custom ? toLocalInput(filters.to) : ''}
            onChange={(e) =>
              setFilters({
                ...filters,
                range: null,
                from: custom ? filters.from : Date.now() - RANGES['1d'],
                to: fromLocalInput(e.target.value),
              })
            }
          />
        </label>
      </form>

      <p className="result-line" aria-live="polite" data-testid="events-result-line">
        {state.status === 'failed'
          ? `Cannot load events: ${state.message}`
          : feed === null
            ? 'Loading…'
            : `${feed.total.toLocaleString('en')} ${feed.total === 1 ? 'event' : 'events'}${custom && filters.to !== null ? '' : ', new ones appear live'}${state.status === 'loading' ? ' (updating…)' : ''}`}
      </p>
      {feed && feed.events.length > 0 && (
        <div className={`panel panel--flush ${state.status === 'loading' ? 'is-updating' : ''}`}>
          <EventTable events={feed.events} />
        </div>
      )}
      {feed && feed.events.length === 0 && state.status === 'loaded' && (
        <p className="empty-state">No event matches these filters in this time range.</p>
      )}
      {state.status === 'loaded' && feed && feed.events.length < feed.total && (
        <p className="load-more">
          <button type="button" className="button" disabled={state.loadingMore} onClick={loadMore}>
            {state.loadingMore ? 'Loading…' : `Load older events (${(feed.total - feed.events.length).toLocaleString('en')} more)`}
          </button>
        </p>
      )}
    </div>
  );
}
