import type { EventRecord } from '@vigil/protocol';
import { routeHref } from '../routing/hash-route';
import { LevelBadge } from './level-badge';
import { RelativeTime } from './relative-time';

/** Events, newest first: when, level, type, where, what. Used by the events view and the instance detail. */
export function EventTable({ events, showInstance = true }: { events: readonly EventRecord[]; showInstance?: boolean }) {
  return (
    <table className="data-table event-table">
      <colgroup>
        <col className="col-time" />
        <col className="col-level" />
        <col className="col-type" />
        {showInstance && <col className="col-where" />}
        <col />
      </colgroup>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Level</th>
          <th scope="col">Type</th>
          {showInstance && <th scope="col">Service / instance</th>}
          <th scope="col">Message</th>
        </tr>
      </thead>
      <tbody>
        {events.map((event) => (
          <tr key={event.id} data-testid="event-row" data-event-type={event.type} data-level={event.level}>
            <td className="numeric">
              <RelativeTime time={event.time} />
            </td>
            <td>
              <LevelBadge level={event.level} />
            </td>
            <td className="mono">{event.type}</td>
            {showInstance && (
              <td className="truncate">
                {event.service ?? '—'}
                {event.instanceId && (
                  <>
                    {' / '}
                    <a href={routeHref(`/instances/${encodeURIComponent(event.instanceId)}`)} title={event.instanceId}>
                      {event.instanceId.slice(0, 8)}
                    </a>
                  </>
                )}
              </td>
            )}
            <td>
              <span className="event-message">{event.message}</span>
              {Object.keys(event.attributes).length > 0 && (
                <ul className="chips chips--wrap">
                  {Object.entries(event.attributes).map(([key, value]) => (
                    <li key={key} className="chip chip--ext">
                      {key}={value}
                    </li>
                  ))}
                </ul>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
