import { createContext, useContext } from 'react';
import { useNow } from '../hooks/use-now';
import { formatAge } from '../utils/format-age';

/**
 * Server clock minus this browser's clock, in ms. A context rather than a prop, so a new offset
 * (one per delta) re-renders only the times, not every row that contains one.
 */
export const ClockOffsetContext = createContext(0);

/** A server-clock time shown as a live age ("2 s ago"), with the exact ISO time on hover. */
export function RelativeTime({ time }: { time: number }) {
  const now = useNow();
  const offsetMs = useContext(ClockOffsetContext);
  const iso = new Date(time).toISOString();
  return (
    <time dateTime={iso} title={iso}>
      {formatAge(now + offsetMs - time)}
    </time>
  );
}
