import type { ConnectionState } from '../live/instance-store';

const LABELS: Record<ConnectionState, string> = {
  connecting: 'connecting…',
  connected: 'live',
  disconnected: 'reconnecting…',
};

/** The state of the live connection, as a word and a colour. */
export function ConnectionIndicator({ state }: { state: ConnectionState }) {
  return (
    <span className={`connection connection--${state}`} data-testid="connection" data-state={state} role="status">
      {LABELS[state]}
    </span>
  );
}
