import { createContext, useContext } from 'react';
import { useNow } from '../hooks/use-now';
import { formatAge } from '../utils/format-age';
import { formatDateTime } from '../utils/format-time';

/**
 * Server clock minus this browser's clock, in ms. A context rather than a prop, so a new offset
 * (one per delta) re-renders only the times, not every row that contains one.
 */
export const ClockOffsetContext = createContext(0);

/** A server-clock time shown as a live age ("2 s ago"), with the exact local time on hover. */
export function RelativeTime({ time }: { time: number }) {
  const now = useNow();
  const offsetMs = useContext(ClockOffsetContext);
  return (
    <time dateTime={new Date(time).toISOString()} title={formatDateTime(time)}>
      {formatAge(now + offsetMs - time)}
    </time>
  );
}
